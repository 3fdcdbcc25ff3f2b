// Command capture runs a few real HashiCorp memberlist (Debian package 0.2.2)
// nodes on 127.0.0.1, records every byte they put on the wire through a
// wrapping Transport, and writes a selection of the captured messages as
// golden vectors plus a JSON manifest describing their decoded content.
//
// Usage: capture -out <dir-for-.bin> -manifest <vectors.json> [-debug <dir>]
//
// The decoding of the captured bytes (decode.go) uses memberlist's own
// msgpack library (github.com/hashicorp/go-msgpack/codec, MsgpackHandle{})
// and Go's crypto/aes, crypto/cipher, compress/lzw and hash/crc32.
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// ---------------------------------------------------------------------------
// Recording

type record struct {
	ID        int
	Scenario  string
	Phase     string
	Transport string // "packet" | "stream"
	Direction string // "" for packets, "initiator" | "responder" for streams
	From      string // node that wrote these bytes
	To        string // peer node name (resolved at the end for responders)
	ToAddr    string // packet destination / stream peer address
	ConnKey   string // dialer-side local address of the TCP connection

	mu   sync.Mutex
	data []byte
}

func (r *record) append(p []byte) {
	r.mu.Lock()
	r.data = append(r.data, p...)
	r.mu.Unlock()
}

func (r *record) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.data...)
}

type recorder struct {
	mu       sync.Mutex
	records  []*record
	scenario string
	phase    string
	portName map[int]string    // listening port -> node name
	dialers  map[string]string // dialer local addr -> node name
}

func newRecorder() *recorder {
	return &recorder{portName: map[int]string{}, dialers: map[string]string{}}
}

func (rc *recorder) setScenario(s string) {
	rc.mu.Lock()
	rc.scenario, rc.phase = s, "start"
	rc.mu.Unlock()
}

func (rc *recorder) setPhase(p string) {
	rc.mu.Lock()
	rc.phase = p
	rc.mu.Unlock()
	log.Printf("  phase %s", p)
}

func (rc *recorder) add(r *record) *record {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	r.ID = len(rc.records)
	r.Scenario = rc.scenario
	r.Phase = rc.phase
	rc.records = append(rc.records, r)
	return r
}

func (rc *recorder) nameOfAddr(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	port, _ := strconv.Atoi(p)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.portName[port]
}

// recTransport wraps memberlist.NetTransport and records outgoing bytes.
type recTransport struct {
	inner    *memberlist.NetTransport
	rc       *recorder
	node     string
	packetCh chan *memberlist.Packet
	streamCh chan net.Conn
	done     chan struct{}
	once     sync.Once
	dropPort int32 // incoming packets from this source port are discarded
}

var _ memberlist.NodeAwareTransport = (*recTransport)(nil)

func newRecTransport(rc *recorder, node string, port int, logger *log.Logger) (*recTransport, error) {
	inner, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{"127.0.0.1"},
		BindPort:  port,
		Logger:    logger,
	})
	if err != nil {
		return nil, err
	}
	t := &recTransport{
		inner:    inner,
		rc:       rc,
		node:     node,
		packetCh: make(chan *memberlist.Packet),
		streamCh: make(chan net.Conn),
		done:     make(chan struct{}),
	}
	go t.pumpPackets()
	go t.pumpStreams()
	return t, nil
}

func (t *recTransport) pumpPackets() {
	for {
		select {
		case p := <-t.inner.PacketCh():
			if dp := atomic.LoadInt32(&t.dropPort); dp != 0 {
				if ua, ok := p.From.(*net.UDPAddr); ok && ua.Port == int(dp) {
					continue
				}
			}
			select {
			case t.packetCh <- p:
			case <-t.done:
				return
			}
		case <-t.done:
			return
		}
	}
}

func (t *recTransport) pumpStreams() {
	for {
		select {
		case c := <-t.inner.StreamCh():
			r := t.rc.add(&record{
				Transport: "stream",
				Direction: "responder",
				From:      t.node,
				ToAddr:    c.RemoteAddr().String(),
				ConnKey:   c.RemoteAddr().String(),
			})
			wrapped := &recConn{Conn: c, r: r}
			select {
			case t.streamCh <- wrapped:
			case <-t.done:
				c.Close()
				return
			}
		case <-t.done:
			return
		}
	}
}

func (t *recTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return t.inner.FinalAdvertiseAddr(ip, port)
}

func (t *recTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

func (t *recTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	t.rc.add(&record{
		Transport: "packet",
		From:      t.node,
		To:        t.rc.nameOfAddr(a.Addr),
		ToAddr:    a.Addr,
		data:      append([]byte(nil), b...),
	})
	return t.inner.WriteToAddress(b, a)
}

func (t *recTransport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }

func (t *recTransport) IngestPacket(conn net.Conn, addr net.Addr, now time.Time, shouldClose bool) error {
	return t.inner.IngestPacket(conn, addr, now, shouldClose)
}

func (t *recTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (t *recTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	c, err := t.inner.DialAddressTimeout(a, timeout)
	if err != nil {
		return nil, err
	}
	local := c.LocalAddr().String()
	t.rc.mu.Lock()
	t.rc.dialers[local] = t.node
	t.rc.mu.Unlock()
	r := t.rc.add(&record{
		Transport: "stream",
		Direction: "initiator",
		From:      t.node,
		To:        t.rc.nameOfAddr(a.Addr),
		ToAddr:    a.Addr,
		ConnKey:   local,
	})
	return &recConn{Conn: c, r: r}, nil
}

func (t *recTransport) StreamCh() <-chan net.Conn { return t.streamCh }

func (t *recTransport) IngestStream(conn net.Conn) error { return t.inner.IngestStream(conn) }

func (t *recTransport) Shutdown() error {
	t.once.Do(func() { close(t.done) })
	return t.inner.Shutdown()
}

// recConn records everything written to the connection.
type recConn struct {
	net.Conn
	r *record
}

func (c *recConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.r.append(p[:n])
	}
	return n, err
}

// ---------------------------------------------------------------------------
// Delegate

type delegate struct {
	mu         sync.Mutex
	meta       []byte
	localState []byte
	bcast      []byte
	bcastLeft  int
	received   [][]byte
	remote     []string
}

func (d *delegate) NodeMeta(limit int) []byte { return d.meta }

func (d *delegate) NotifyMsg(b []byte) {
	d.mu.Lock()
	d.received = append(d.received, append([]byte(nil), b...))
	d.mu.Unlock()
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bcastLeft > 0 && len(d.bcast)+overhead <= limit {
		d.bcastLeft--
		return [][]byte{append([]byte(nil), d.bcast...)}
	}
	return nil
}

func (d *delegate) LocalState(join bool) []byte { return d.localState }

func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	d.mu.Lock()
	d.remote = append(d.remote, fmt.Sprintf("join=%v %q", join, buf))
	d.mu.Unlock()
}

func (d *delegate) queueBroadcast(b []byte, times int) {
	d.mu.Lock()
	d.bcast, d.bcastLeft = b, times
	d.mu.Unlock()
}

func (d *delegate) gotMsg(s string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range d.received {
		if string(m) == s {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Nodes

type nodeSpec struct {
	name       string
	port       int
	pv         uint8
	compress   bool
	key        []byte
	localState []byte
	pushPull   time.Duration
}

type nodeCfg struct {
	PV       uint8
	Compress bool
	Key      []byte
}

type node struct {
	spec nodeSpec
	ml   *memberlist.Memberlist
	tr   *recTransport
	del  *delegate
	down bool
}

type harness struct {
	rc     *recorder
	logw   io.Writer
	cfgs   map[string]nodeCfg // scenario/name -> config
	nodes  []*node
	failed []string
}

func (h *harness) start(scenario string, s nodeSpec) *node {
	logger := log.New(h.logw, "["+scenario+"/"+s.name+"] ", log.Lmicroseconds)
	h.rc.mu.Lock()
	h.rc.portName[s.port] = s.name
	h.rc.mu.Unlock()
	h.cfgs[scenario+"/"+s.name] = nodeCfg{PV: s.pv, Compress: s.compress, Key: s.key}

	tr, err := newRecTransport(h.rc, s.name, s.port, logger)
	if err != nil {
		log.Fatalf("transport for %s: %v", s.name, err)
	}
	del := &delegate{meta: []byte("meta-" + s.name[len(s.name)-1:]), localState: s.localState}

	conf := memberlist.DefaultLocalConfig()
	conf.Name = s.name
	conf.BindAddr = "127.0.0.1"
	conf.BindPort = s.port
	conf.AdvertiseAddr = "127.0.0.1"
	conf.AdvertisePort = s.port
	conf.Transport = tr
	conf.Delegate = del
	conf.Logger = logger
	conf.ProtocolVersion = s.pv
	conf.EnableCompression = s.compress
	conf.SecretKey = s.key
	conf.TCPTimeout = time.Second
	conf.ProbeInterval = 300 * time.Millisecond
	conf.ProbeTimeout = 100 * time.Millisecond
	conf.GossipInterval = 100 * time.Millisecond
	conf.GossipToTheDeadTime = 2 * time.Second
	conf.SuspicionMult = 2
	conf.IndirectChecks = 1
	// Broadcasts stay queued for a few gossip rounds, so probes and acks
	// also get them piggybacked (compound packets).
	conf.RetransmitMult = 4
	conf.PushPullInterval = s.pushPull // 0 disables periodic anti-entropy

	ml, err := memberlist.Create(conf)
	if err != nil {
		log.Fatalf("create %s: %v", s.name, err)
	}
	n := &node{spec: s, ml: ml, tr: tr, del: del}
	h.nodes = append(h.nodes, n)
	return n
}

func (h *harness) kill(n *node) {
	if !n.down {
		n.down = true
		n.ml.Shutdown()
	}
}

func (h *harness) stopAll() {
	for _, n := range h.nodes {
		h.kill(n)
	}
	h.nodes = nil
	time.Sleep(100 * time.Millisecond)
}

func (h *harness) join(n *node, target *node) {
	addr := fmt.Sprintf("127.0.0.1:%d", target.spec.port)
	if _, err := n.ml.Join([]string{addr}); err != nil {
		log.Printf("  join %s -> %s failed: %v", n.spec.name, target.spec.name, err)
	}
}

func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

func member(n *node, name string) *memberlist.Node {
	for _, m := range n.ml.Members() {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Scenarios

var (
	key16 = seqKey(16)
	key32 = seqKey(32)
)

func seqKey(n int) []byte {
	k := make([]byte, n)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

func (h *harness) scenarioPlain() {
	h.rc.setScenario("plain")
	base := 17946
	spec := func(name string, off int) nodeSpec {
		return nodeSpec{name: name, port: base + off, pv: 2}
	}
	b := h.start("plain", spec("go-b", 1))
	a := h.start("plain", spec("go-a", 0))

	h.rc.setPhase("join")
	h.join(a, b)

	h.rc.setPhase("converge")
	waitFor(2*time.Second, func() bool { return a.ml.NumMembers() == 2 && b.ml.NumMembers() == 2 })
	time.Sleep(700 * time.Millisecond)

	h.rc.setPhase("broadcast")
	a.del.queueBroadcast([]byte("hello-broadcast"), 2)
	waitFor(2*time.Second, func() bool { return b.del.gotMsg("hello-broadcast") })

	h.rc.setPhase("reliable")
	if err := a.ml.SendReliable(member(a, "go-b"), []byte("hello-reliable")); err != nil {
		log.Printf("  SendReliable: %v", err)
	}
	waitFor(time.Second, func() bool { return b.del.gotMsg("hello-reliable") })

	h.rc.setPhase("besteffort")
	if err := a.ml.SendBestEffort(member(a, "go-b"), []byte("hello-best-effort")); err != nil {
		log.Printf("  SendBestEffort: %v", err)
	}
	waitFor(time.Second, func() bool { return b.del.gotMsg("hello-best-effort") })

	// go-b silently discards every UDP packet coming from go-a, so go-a's
	// probe of go-b fails over UDP and falls back to a TCP ping (and go-b's
	// probe of go-a never sees the ack and does the same).
	h.rc.setPhase("tcpfallback")
	atomic.StoreInt32(&b.tr.dropPort, int32(a.spec.port))
	time.Sleep(900 * time.Millisecond)
	atomic.StoreInt32(&b.tr.dropPort, 0)
	time.Sleep(300 * time.Millisecond)

	h.rc.setPhase("join-c")
	c := h.start("plain", spec("go-c", 2))
	h.join(c, a)
	waitFor(3*time.Second, func() bool {
		return a.ml.NumMembers() == 3 && b.ml.NumMembers() == 3 && c.ml.NumMembers() == 3
	})
	time.Sleep(600 * time.Millisecond)

	// go-c disappears without leaving: the others ping it, ask each other
	// for indirect pings (getting nacks), suspect it and declare it dead.
	h.rc.setPhase("kill-c")
	h.kill(c)
	if !waitFor(8*time.Second, func() bool { return a.ml.NumMembers() == 2 && b.ml.NumMembers() == 2 }) {
		log.Printf("  go-c was not declared dead in time")
	}
	time.Sleep(500 * time.Millisecond)

	h.rc.setPhase("leave")
	if err := a.ml.Leave(2 * time.Second); err != nil {
		log.Printf("  Leave: %v", err)
	}
	waitFor(2*time.Second, func() bool { return b.ml.NumMembers() == 1 })
	time.Sleep(200 * time.Millisecond)
	h.stopAll()
}

func (h *harness) scenarioUserState() {
	h.rc.setScenario("userstate")
	base := 17956
	b := h.start("userstate", nodeSpec{name: "go-b", port: base + 1, pv: 2,
		localState: []byte("user-state-b"), pushPull: 800 * time.Millisecond})
	a := h.start("userstate", nodeSpec{name: "go-a", port: base, pv: 2,
		localState: []byte("user-state-a"), pushPull: 800 * time.Millisecond})
	h.rc.setPhase("join")
	h.join(a, b)
	h.rc.setPhase("antientropy")
	time.Sleep(1800 * time.Millisecond)
	for _, n := range []*node{a, b} {
		n.del.mu.Lock()
		log.Printf("  %s MergeRemoteState calls: %v", n.spec.name, n.del.remote)
		n.del.mu.Unlock()
	}
	h.stopAll()
}

func (h *harness) scenarioPair(scenario string, base int, pv uint8, compress bool, key []byte) {
	h.rc.setScenario(scenario)
	b := h.start(scenario, nodeSpec{name: "go-b", port: base + 1, pv: pv, compress: compress, key: key})
	a := h.start(scenario, nodeSpec{name: "go-a", port: base, pv: pv, compress: compress, key: key})
	h.rc.setPhase("join")
	h.join(a, b)
	h.rc.setPhase("converge")
	waitFor(2*time.Second, func() bool { return a.ml.NumMembers() == 2 && b.ml.NumMembers() == 2 })
	time.Sleep(700 * time.Millisecond)
	h.rc.setPhase("besteffort")
	msg := "hello-best-effort"
	if compress {
		// Packets are only sent compressed if that makes them smaller, so
		// also send something that certainly compresses.
		msg = "hello-compressed hello-compressed hello-compressed hello-compressed"
	}
	if m := member(a, "go-b"); m != nil {
		if err := a.ml.SendBestEffort(m, []byte(msg)); err != nil {
			log.Printf("  SendBestEffort: %v", err)
		}
		waitFor(time.Second, func() bool { return b.del.gotMsg(msg) })
	}
	time.Sleep(300 * time.Millisecond)
	h.stopAll()
}

// An encrypted node tries to join a plaintext node, which answers with errMsg.
func (h *harness) scenarioErrResp() {
	h.rc.setScenario("errresp")
	base := 18006
	b := h.start("errresp", nodeSpec{name: "go-b", port: base + 1, pv: 2})
	a := h.start("errresp", nodeSpec{name: "go-a", port: base, pv: 2, key: key16})
	h.rc.setPhase("join")
	h.join(a, b)
	time.Sleep(300 * time.Millisecond)
	h.stopAll()
}

// ---------------------------------------------------------------------------
// Selection of vectors

type capRec struct {
	*record
	Data  []byte
	Cfg   nodeCfg
	Dec   *decoded
	Types []string // all message types, flattened
}

func (c *capRec) has(t string) bool {
	for _, x := range c.Types {
		if x == t {
			return true
		}
	}
	return false
}

func (c *capRec) hasLayer(l string) bool {
	for _, x := range c.Dec.Layers {
		if x == l {
			return true
		}
	}
	return false
}

// top returns the type of the single top-level message, or "".
func (c *capRec) top() string {
	if len(c.Dec.Messages) != 1 {
		return ""
	}
	return c.Dec.Messages[0].Type
}

func (c *capRec) payload(t, s string) bool {
	found := false
	walk(c.Dec.Messages, func(m *msgJSON) {
		if m.Type == t && m.Payload != nil && *m.Payload == s {
			found = true
		}
	})
	return found
}

func (c *capRec) deadLeave(leave bool) bool {
	found := false
	walk(c.Dec.Messages, func(m *msgJSON) {
		if m.Type == "dead" && (m.Fields["Node"] == m.Fields["From"]) == leave {
			found = true
		}
	})
	return found
}

func (c *capRec) pushPullJoin(join bool) bool {
	return c.top() == "pushPull" && c.Dec.Messages[0].Fields["Join"] == join
}

func walk(ms []msgJSON, f func(*msgJSON)) {
	for i := range ms {
		f(&ms[i])
		walk(ms[i].Parts, f)
	}
}

type want struct {
	file     string
	scenario string
	desc     string
	required bool
	match    func(c *capRec) bool
	prefer   func(c *capRec) bool // optional: first try records that also satisfy this
}

func isPacket(c *capRec) bool { return c.Transport == "packet" }
func isInit(c *capRec) bool   { return c.Transport == "stream" && c.Direction == "initiator" }
func isResp(c *capRec) bool   { return c.Transport == "stream" && c.Direction == "responder" }

func wants() []want {
	return []want{
		// plain
		{"ping.bin", "plain", "bare ping packet (probe)", true, func(c *capRec) bool {
			return isPacket(c) && len(c.Dec.Layers) == 0 && c.top() == "ping" && c.From == "go-a" && c.To == "go-b"
		}, nil},
		{"ack.bin", "plain", "bare ackResp packet answering a probe", true, func(c *capRec) bool {
			return isPacket(c) && len(c.Dec.Layers) == 0 && c.top() == "ackResp" && c.From == "go-b" && c.To == "go-a"
		}, nil},
		{"compound_piggyback_alive.bin", "plain", "compound packet: a ping or ack (sent with encodeAndSendMsg, no CRC) with piggybacked alive broadcasts", true, func(c *capRec) bool {
			return isPacket(c) && len(c.Dec.Layers) == 0 && c.top() == "compound" && c.has("alive")
		}, nil},
		{"gossip_alive_crc.bin", "plain", "gossip packet carrying an alive broadcast; gossip passes the target node so a hasCrc header is added (target PMax=5)", false, func(c *capRec) bool {
			return isPacket(c) && c.hasLayer("crc") && c.has("alive") && !c.has("ping")
		}, nil},
		{"pushpull_join_initiator.bin", "plain", "push-pull stream of a join, bytes written by the joiner", true, func(c *capRec) bool {
			return isInit(c) && c.Phase == "join" && c.pushPullJoin(true)
		}, nil},
		{"pushpull_join_responder.bin", "plain", "push-pull stream of a join, bytes written by the node being joined", true, func(c *capRec) bool {
			return isResp(c) && c.Phase == "join" && c.pushPullJoin(true)
		}, nil},
		{"user_broadcast.bin", "plain", "packet carrying a user message from Delegate.GetBroadcasts", true, func(c *capRec) bool {
			return isPacket(c) && c.payload("user", "hello-broadcast")
		}, nil},
		{"user_reliable_stream.bin", "plain", "SendReliable: user message over a stream", true, func(c *capRec) bool {
			return isInit(c) && c.payload("user", "hello-reliable")
		}, nil},
		{"user_best_effort_crc.bin", "plain", "SendBestEffort: user message packet, hasCrc header because the target node is passed explicitly", true, func(c *capRec) bool {
			return isPacket(c) && c.payload("user", "hello-best-effort")
		}, nil},
		{"tcp_ping_initiator.bin", "plain", "TCP fallback ping stream (prober side)", false, func(c *capRec) bool {
			return isInit(c) && c.top() == "ping"
		}, nil},
		{"tcp_ack_responder.bin", "plain", "ackResp written back on a TCP fallback ping stream", false, func(c *capRec) bool {
			return isResp(c) && c.top() == "ackResp"
		}, nil},
		{"indirect_ping.bin", "plain", "indirect ping request (ping-req) sent to a helper when go-c stopped answering", true, func(c *capRec) bool {
			return isPacket(c) && c.has("indirectPing")
		}, nil},
		{"nack.bin", "plain", "nackResp sent by the helper after the indirect probe timed out", false, func(c *capRec) bool {
			return isPacket(c) && c.has("nackResp")
		}, nil},
		{"compound_ping_suspect_crc.bin", "plain", "probe of a suspect node: compound [ping, suspect] with hasCrc header", false, func(c *capRec) bool {
			return isPacket(c) && c.hasLayer("crc") && c.top() == "compound" && c.has("ping") && c.has("suspect")
		}, nil},
		{"suspect.bin", "plain", "gossiped suspect message", true, func(c *capRec) bool {
			return isPacket(c) && c.has("suspect") && !c.has("ping")
		}, func(c *capRec) bool { return c.To != "go-c" && c.top() == "suspect" }},
		{"dead.bin", "plain", "gossiped dead message (From != Node)", true, func(c *capRec) bool {
			return isPacket(c) && c.deadLeave(false)
		}, func(c *capRec) bool { return c.To != "go-c" && c.top() == "dead" }},
		{"leave.bin", "plain", "leave: dead message with From == Node, sent after Leave()", true, func(c *capRec) bool {
			return isPacket(c) && c.Phase == "leave" && c.deadLeave(true)
		}, func(c *capRec) bool { return c.To == "go-b" }},
		// user state
		{"pushpull_userstate_join_initiator.bin", "userstate", "join push-pull with Delegate.LocalState user state (joiner)", true, func(c *capRec) bool {
			return isInit(c) && c.pushPullJoin(true)
		}, nil},
		{"pushpull_userstate_join_responder.bin", "userstate", "join push-pull with Delegate.LocalState user state (joined node)", true, func(c *capRec) bool {
			return isResp(c) && c.pushPullJoin(true)
		}, nil},
		{"pushpull_userstate_sync_initiator.bin", "userstate", "periodic anti-entropy push-pull (Join=false), initiator", false, func(c *capRec) bool {
			return isInit(c) && c.pushPullJoin(false)
		}, nil},
		{"pushpull_userstate_sync_responder.bin", "userstate", "periodic anti-entropy push-pull (Join=false), responder", false, func(c *capRec) bool {
			return isResp(c) && c.pushPullJoin(false)
		}, nil},
		// compression
		{"compressed_packet.bin", "compressed", "packet sent with EnableCompression=true that was actually compressed", true, func(c *capRec) bool {
			return isPacket(c) && c.hasLayer("compress")
		}, nil},
		{"compressed_pushpull_initiator.bin", "compressed", "compressed join push-pull stream (joiner)", true, func(c *capRec) bool {
			return isInit(c) && c.hasLayer("compress") && c.pushPullJoin(true)
		}, nil},
		{"compressed_pushpull_responder.bin", "compressed", "compressed join push-pull stream (joined node)", true, func(c *capRec) bool {
			return isResp(c) && c.hasLayer("compress") && c.pushPullJoin(true)
		}, nil},
		// encryption, 16-byte key
		{"enc16_packet.bin", "enc16", "encrypted packet (AES-128-GCM), compression enabled", true, func(c *capRec) bool {
			return isPacket(c) && c.hasLayer("encrypt") && c.top() == "ping"
		}, nil},
		{"enc16_pushpull_initiator.bin", "enc16", "encrypted+compressed join push-pull stream (joiner)", true, func(c *capRec) bool {
			return isInit(c) && c.hasLayer("encrypt") && c.pushPullJoin(true)
		}, nil},
		{"enc16_pushpull_responder.bin", "enc16", "encrypted+compressed join push-pull stream (joined node)", true, func(c *capRec) bool {
			return isResp(c) && c.hasLayer("encrypt") && c.pushPullJoin(true)
		}, nil},
		// encryption, 32-byte key
		{"enc32_packet.bin", "enc32", "encrypted packet (AES-256-GCM), compression enabled, compressed+crc payload", false, func(c *capRec) bool {
			return isPacket(c) && c.hasLayer("encrypt") && c.hasLayer("compress") && c.hasLayer("crc")
		}, nil},
		{"enc32_packet_ping.bin", "enc32", "encrypted ping packet (AES-256-GCM)", true, func(c *capRec) bool {
			return isPacket(c) && c.hasLayer("encrypt") && c.top() == "ping"
		}, nil},
		{"enc32_pushpull_initiator.bin", "enc32", "encrypted+compressed join push-pull stream (joiner)", true, func(c *capRec) bool {
			return isInit(c) && c.hasLayer("encrypt") && c.pushPullJoin(true)
		}, nil},
		{"enc32_pushpull_responder.bin", "enc32", "encrypted+compressed join push-pull stream (joined node)", true, func(c *capRec) bool {
			return isResp(c) && c.hasLayer("encrypt") && c.pushPullJoin(true)
		}, nil},
		// protocol version 5
		{"pv5_ping.bin", "pv5", "ping packet from a ProtocolVersion=5 node", true, func(c *capRec) bool {
			return isPacket(c) && c.top() == "ping" && c.From == "go-a"
		}, nil},
		{"pv5_user_best_effort_crc.bin", "pv5", "SendBestEffort from a ProtocolVersion=5 node: hasCrc wrapper", true, func(c *capRec) bool {
			return isPacket(c) && c.hasLayer("crc") && c.payload("user", "hello-best-effort")
		}, nil},
		{"pv5_gossip_crc.bin", "pv5", "gossip packet from a ProtocolVersion=5 node: hasCrc wrapper", false, func(c *capRec) bool {
			return isPacket(c) && c.hasLayer("crc") && c.has("alive")
		}, nil},
		{"pv5_pushpull_initiator.bin", "pv5", "join push-pull from a ProtocolVersion=5 node (Vsn pcur=5)", true, func(c *capRec) bool {
			return isInit(c) && c.pushPullJoin(true)
		}, nil},
		// error response
		{"err_resp_responder.bin", "errresp", "errMsg written by a plaintext node that received an encrypted stream", true, func(c *capRec) bool {
			return isResp(c) && c.top() == "err"
		}, nil},
	}
}

// ---------------------------------------------------------------------------
// Manifest

type manifestEntry struct {
	File            string                   `json:"file"`
	Scenario        string                   `json:"scenario"`
	Description     string                   `json:"description"`
	Transport       string                   `json:"transport"`
	Direction       *string                  `json:"direction"`
	From            string                   `json:"from"`
	To              string                   `json:"to"`
	ProtocolVersion uint8                    `json:"protocol_version"`
	Compression     bool                     `json:"compression"`
	KeyHex          *string                  `json:"key_hex"`
	Size            int                      `json:"size"`
	Layers          []string                 `json:"layers"`
	LayerDetails    []map[string]interface{} `json:"layer_details"`
	PlainHex        string                   `json:"plain_hex"`
	Messages        []msgJSON                `json:"messages"`
}

func main() {
	outDir := flag.String("out", "vectors", "directory for the .bin vectors")
	manifest := flag.String("manifest", "vectors.json", "manifest path")
	debugDir := flag.String("debug", "", "if set, dump every captured record and the memberlist log here")
	flag.Parse()
	log.SetFlags(log.Lmicroseconds)

	var logw io.Writer = ioutil.Discard
	if *debugDir != "" {
		os.MkdirAll(*debugDir, 0o755)
		f, err := os.Create(filepath.Join(*debugDir, "memberlist.log"))
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		logw = f
	}

	h := &harness{rc: newRecorder(), logw: logw, cfgs: map[string]nodeCfg{}}
	started := time.Now()
	log.Printf("scenario plain")
	h.scenarioPlain()
	log.Printf("scenario userstate")
	h.scenarioUserState()
	log.Printf("scenario compressed")
	h.scenarioPair("compressed", 17966, 2, true, nil)
	log.Printf("scenario enc16")
	h.scenarioPair("enc16", 17976, 2, true, key16)
	log.Printf("scenario enc32")
	h.scenarioPair("enc32", 17986, 2, true, key32)
	log.Printf("scenario pv5")
	h.scenarioPair("pv5", 17996, 5, false, nil)
	log.Printf("scenario errresp")
	h.scenarioErrResp()
	log.Printf("all scenarios done in %v, %d records", time.Since(started).Round(time.Millisecond), len(h.rc.records))

	// Resolve peers of accepted streams and decode everything.
	var caps []*capRec
	for _, r := range h.rc.records {
		if r.Direction == "responder" {
			r.To = h.rc.dialers[r.ConnKey]
		}
		data := r.bytes()
		if len(data) == 0 {
			continue
		}
		cfg := h.cfgs[r.Scenario+"/"+r.From]
		var d *decoded
		if r.Transport == "packet" {
			d = decodePacket(data, cfg.Key)
		} else {
			d = decodeStream(data, cfg.Key)
		}
		c := &capRec{record: r, Data: data, Cfg: cfg, Dec: d}
		walk(d.Messages, func(m *msgJSON) { c.Types = append(c.Types, m.Type) })
		caps = append(caps, c)
	}

	if *debugDir != "" {
		dumpAll(*debugDir, caps)
	}
	bad := 0
	for _, c := range caps {
		if c.Dec.Err != "" {
			bad++
			log.Printf("record #%d (%s/%s %s %s) failed to decode: %s", c.ID, c.Scenario, c.Phase, c.Transport, c.Direction, c.Dec.Err)
		}
	}
	log.Printf("decoded %d non-empty records, %d failures", len(caps), bad)

	os.MkdirAll(*outDir, 0o755)
	var entries []manifestEntry
	var missing []string
	for _, w := range wants() {
		var hit, preferred *capRec
		for _, c := range caps {
			if c.Scenario == w.scenario && c.Dec.Err == "" && w.match(c) {
				if hit == nil {
					hit = c
				}
				if w.prefer != nil && w.prefer(c) {
					preferred = c
					break
				}
			}
		}
		if preferred != nil {
			hit = preferred
		}
		if hit == nil {
			log.Printf("MISSING %s (%s, required=%v)", w.file, w.scenario, w.required)
			if w.required {
				missing = append(missing, w.file)
			}
			continue
		}
		if err := ioutil.WriteFile(filepath.Join(*outDir, w.file), hit.Data, 0o644); err != nil {
			log.Fatal(err)
		}
		e := manifestEntry{
			File:            w.file,
			Scenario:        w.scenario,
			Description:     w.desc,
			Transport:       hit.Transport,
			From:            hit.From,
			To:              hit.To,
			ProtocolVersion: hit.Cfg.PV,
			Compression:     hit.Cfg.Compress,
			Size:            len(hit.Data),
			Layers:          hit.Dec.Layers,
			LayerDetails:    hit.Dec.LayerDetails,
			PlainHex:        hex.EncodeToString(hit.Dec.Plain),
			Messages:        hit.Dec.Messages,
		}
		if e.Layers == nil {
			e.Layers = []string{}
		}
		if e.LayerDetails == nil {
			e.LayerDetails = []map[string]interface{}{}
		}
		if hit.Direction != "" {
			d := hit.Direction
			e.Direction = &d
		}
		if hit.Cfg.Key != nil {
			k := hex.EncodeToString(hit.Cfg.Key)
			e.KeyHex = &k
		}
		entries = append(entries, e)
		log.Printf("wrote %-40s %4d bytes  %s %s->%s layers=%v types=%v", w.file, len(hit.Data), hit.Transport, hit.From, hit.To, hit.Dec.Layers, hit.Types)
	}
	js, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	if err := ioutil.WriteFile(*manifest, append(js, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %d vectors, manifest %s, total %v", len(entries), *manifest, time.Since(started).Round(time.Millisecond))
	if len(missing) > 0 {
		log.Printf("required vectors missing: %v", missing)
		os.Exit(1)
	}
}

func dumpAll(dir string, caps []*capRec) {
	var buf bytes.Buffer
	for _, c := range caps {
		fmt.Fprintf(&buf, "#%d %s/%s %s %s %s->%s(%s) len=%d layers=%v types=%v err=%q\n  %x\n",
			c.ID, c.Scenario, c.Phase, c.Transport, c.Direction, c.From, c.To, c.ToAddr,
			len(c.Data), c.Dec.Layers, c.Types, c.Dec.Err, c.Data)
		js, _ := json.Marshal(c.Dec.Messages)
		fmt.Fprintf(&buf, "  %s\n", js)
	}
	ioutil.WriteFile(filepath.Join(dir, "records.txt"), buf.Bytes(), 0o644)
}
