// The Go side of rumour's interop tests: one HashiCorp memberlist node
// (Debian's 0.2.2), driven by the test harness. Commands arrive as JSON
// lines on stdin; answers and events leave as JSON lines on stdout.
//
// Commands:  {"cmd":"start","name":"g1","preset":"lan|local|wan","meta":"...",
//
//	 "keys":["hex",...],"compress":true,"protocol":5}
//	{"cmd":"join","seeds":["127.0.0.1:7946"]}
//	{"cmd":"members"}  {"cmd":"meta","meta":"..."}
//	{"cmd":"leave","timeout_ms":2000}  {"cmd":"shutdown"}
//	{"cmd":"key","op":"install|use|remove","key":"hex"}
//	{"cmd":"state","data":"hex"} (what LocalState returns from now on)
//
// Answers:   {"ok":true,...} or {"ok":false,"error":"..."}, one per command.
// Events:    {"event":"join|update|leave","name":"...","addr":"ip:port","meta":"..."}
//
//	{"event":"msg","data":"hex"} (a user message, broadcast or direct)
//	{"event":"remote_state","data":"hex","join":true} (MergeRemoteState)
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

type command struct {
	Cmd        string   `json:"cmd"`
	Name       string   `json:"name"`
	Preset     string   `json:"preset"`
	Meta       string   `json:"meta"`
	Keys       []string `json:"keys"`
	Compress   *bool    `json:"compress"`
	Protocol   int      `json:"protocol"`
	Retransmit int      `json:"retransmit_mult"`
	Seeds      []string `json:"seeds"`
	TimeoutMs  int      `json:"timeout_ms"`
	Op         string   `json:"op"`
	Key        string   `json:"key"`
	Data       string   `json:"data"`
	To         string   `json:"to"`
	Port       int      `json:"port"`
}

var (
	outMu sync.Mutex
	out   = json.NewEncoder(os.Stdout)
)

func emit(v map[string]interface{}) {
	outMu.Lock()
	defer outMu.Unlock()
	_ = out.Encode(v)
}

type peer struct {
	mu    sync.Mutex
	meta  []byte
	state []byte
	queue *memberlist.TransmitLimitedQueue
}

// userBroadcast is one user broadcast in the delegate's queue.
type userBroadcast []byte

func (b userBroadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b userBroadcast) Message() []byte                       { return b }
func (b userBroadcast) Finished()                             {}

func (p *peer) NodeMeta(limit int) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.meta
}
func (p *peer) NotifyMsg(b []byte) {
	emit(map[string]interface{}{"event": "msg", "data": hex.EncodeToString(b)})
}
func (p *peer) GetBroadcasts(overhead, limit int) [][]byte {
	if p.queue == nil {
		return nil
	}
	return p.queue.GetBroadcasts(overhead, limit)
}
func (p *peer) LocalState(join bool) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}
func (p *peer) MergeRemoteState(buf []byte, join bool) {
	if len(buf) > 0 {
		emit(map[string]interface{}{"event": "remote_state", "data": hex.EncodeToString(buf), "join": join})
	}
}

type events struct{}

func nodeEvent(kind string, n *memberlist.Node) {
	emit(map[string]interface{}{"event": kind, "name": n.Name, "addr": n.Address(), "meta": string(n.Meta)})
}
func (events) NotifyJoin(n *memberlist.Node)   { nodeEvent("join", n) }
func (events) NotifyLeave(n *memberlist.Node)  { nodeEvent("leave", n) }
func (events) NotifyUpdate(n *memberlist.Node) { nodeEvent("update", n) }

func main() {
	var m *memberlist.Memberlist
	var ring *memberlist.Keyring
	p := &peer{}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		var c command
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			emit(map[string]interface{}{"ok": false, "error": "bad command: " + err.Error()})
			continue
		}
		fail := func(err error) { emit(map[string]interface{}{"ok": false, "error": err.Error()}) }
		switch c.Cmd {
		case "start":
			var cfg *memberlist.Config
			switch c.Preset {
			case "wan":
				cfg = memberlist.DefaultWANConfig()
			case "local":
				cfg = memberlist.DefaultLocalConfig()
			default:
				cfg = memberlist.DefaultLANConfig()
			}
			cfg.Name = c.Name
			cfg.BindAddr = "127.0.0.1"
			cfg.BindPort = c.Port // 0: any free port
			cfg.LogOutput = io.Discard
			cfg.Delegate = p
			cfg.Events = events{}
			if c.Compress != nil {
				cfg.EnableCompression = *c.Compress
			}
			if c.Retransmit != 0 {
				cfg.RetransmitMult = c.Retransmit
			}
			if c.Protocol != 0 {
				cfg.ProtocolVersion = uint8(c.Protocol)
			}
			if len(c.Keys) > 0 {
				keys := make([][]byte, len(c.Keys))
				for i, k := range c.Keys {
					b, err := hex.DecodeString(k)
					if err != nil {
						fail(err)
						continue
					}
					keys[i] = b
				}
				var err error
				if ring, err = memberlist.NewKeyring(keys, keys[0]); err != nil {
					fail(err)
					continue
				}
				cfg.Keyring = ring
			}
			p.meta = []byte(c.Meta)
			var err error
			if m, err = memberlist.Create(cfg); err != nil {
				fail(err)
				continue
			}
			mm := m
			p.queue = &memberlist.TransmitLimitedQueue{NumNodes: mm.NumMembers, RetransmitMult: cfg.RetransmitMult}
			emit(map[string]interface{}{"ok": true, "addr": m.LocalNode().Address()})
		case "join":
			n, err := m.Join(c.Seeds)
			if err != nil && n == 0 {
				fail(err)
				continue
			}
			emit(map[string]interface{}{"ok": true, "joined": n})
		case "members":
			var list []map[string]interface{}
			for _, n := range m.Members() {
				list = append(list, map[string]interface{}{"name": n.Name, "addr": n.Address(), "meta": string(n.Meta)})
			}
			emit(map[string]interface{}{"ok": true, "members": list})
		case "state":
			data, err := hex.DecodeString(c.Data)
			if err != nil {
				fail(err)
				continue
			}
			p.mu.Lock()
			p.state = data
			p.mu.Unlock()
			emit(map[string]interface{}{"ok": true})
		case "meta":
			p.mu.Lock()
			p.meta = []byte(c.Meta)
			p.mu.Unlock()
			if err := m.UpdateNode(5 * time.Second); err != nil {
				fail(err)
				continue
			}
			emit(map[string]interface{}{"ok": true})
		case "leave":
			if err := m.Leave(time.Duration(c.TimeoutMs) * time.Millisecond); err != nil {
				fail(err)
				continue
			}
			emit(map[string]interface{}{"ok": true})
		case "key":
			key, err := hex.DecodeString(c.Key)
			if err == nil && ring == nil {
				err = fmt.Errorf("started without keys")
			}
			if err == nil {
				switch c.Op {
				case "install":
					err = ring.AddKey(key)
				case "use":
					err = ring.UseKey(key)
				case "remove":
					err = ring.RemoveKey(key)
				default:
					err = fmt.Errorf("unknown key op %q", c.Op)
				}
			}
			if err != nil {
				fail(err)
				continue
			}
			emit(map[string]interface{}{"ok": true})
		case "broadcast":
			b, err := hex.DecodeString(c.Data)
			if err != nil {
				fail(err)
				continue
			}
			p.queue.QueueBroadcast(userBroadcast(b))
			emit(map[string]interface{}{"ok": true})
		case "send":
			b, err := hex.DecodeString(c.Data)
			if err != nil {
				fail(err)
				continue
			}
			var to *memberlist.Node
			for _, n := range m.Members() {
				if n.Name == c.To {
					to = n
				}
			}
			if to == nil {
				fail(fmt.Errorf("no member %q", c.To))
				continue
			}
			if err := m.SendReliable(to, b); err != nil {
				fail(err)
				continue
			}
			emit(map[string]interface{}{"ok": true})
		case "shutdown":
			if m != nil {
				_ = m.Shutdown()
			}
			emit(map[string]interface{}{"ok": true})
			return
		default:
			fail(fmt.Errorf("unknown command %q", c.Cmd))
		}
	}
}
