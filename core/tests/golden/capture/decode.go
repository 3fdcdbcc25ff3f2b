package main

// Decoding of captured memberlist bytes. The message structs below are our
// own declarations with the same field names and Go types as the unexported
// structs in memberlist 0.2.2 net.go, decoded with memberlist's msgpack
// library and handle (codec.MsgpackHandle{} with default options).

import (
	"bytes"
	"compress/lzw"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io/ioutil"
	"net"

	"github.com/hashicorp/go-msgpack/codec"
)

// Message type bytes (memberlist net.go messageType, iota order).
var typeNames = map[byte]string{
	0: "ping", 1: "indirectPing", 2: "ackResp", 3: "suspect", 4: "alive",
	5: "dead", 6: "pushPull", 7: "compound", 8: "user", 9: "compress",
	10: "encrypt", 11: "nackResp", 12: "hasCrc", 13: "err",
}

type wPing struct {
	SeqNo      uint32
	Node       string
	SourceAddr []byte `codec:",omitempty"`
	SourcePort uint16 `codec:",omitempty"`
	SourceNode string `codec:",omitempty"`
}

type wIndirectPingReq struct {
	SeqNo      uint32
	Target     []byte
	Port       uint16
	Node       string
	Nack       bool
	SourceAddr []byte `codec:",omitempty"`
	SourcePort uint16 `codec:",omitempty"`
	SourceNode string `codec:",omitempty"`
}

type wAckResp struct {
	SeqNo   uint32
	Payload []byte
}

type wNackResp struct {
	SeqNo uint32
}

type wErrResp struct {
	Error string
}

type wSuspect struct {
	Incarnation uint32
	Node        string
	From        string
}

type wAlive struct {
	Incarnation uint32
	Node        string
	Addr        []byte
	Port        uint16
	Meta        []byte
	Vsn         []uint8
}

type wDead struct {
	Incarnation uint32
	Node        string
	From        string
}

type wPushPullHeader struct {
	Nodes        int
	UserStateLen int
	Join         bool
}

type wUserMsgHeader struct {
	UserMsgLen int
}

type wPushNodeState struct {
	Name        string
	Addr        []byte
	Port        uint16
	Meta        []byte
	Incarnation uint32
	State       int
	Vsn         []uint8
}

type wCompress struct {
	Algo uint8
	Buf  []byte
}

// ---------------------------------------------------------------------------

// wireField describes one map entry as it appeared on the wire, in wire
// order: "Key: value-format" (keys are fixstr; otherwise the key format is
// given in parentheses).
type wireField string

type msgJSON struct {
	Type      string                   `json:"type"`
	TypeByte  int                      `json:"type_byte"`
	Fields    map[string]interface{}   `json:"fields,omitempty"`
	Wire      []wireField              `json:"wire,omitempty"`
	Parts     []msgJSON                `json:"parts,omitempty"`
	Nodes     []map[string]interface{} `json:"nodes,omitempty"`
	NodeWire  []wireField              `json:"node_wire,omitempty"`
	UserState *string                  `json:"user_state,omitempty"`
	Payload   *string                  `json:"payload,omitempty"`
}

type decoded struct {
	Layers       []string
	LayerDetails []map[string]interface{}
	Plain        []byte
	Messages     []msgJSON
	Err          string
}

func strp(s string) *string { return &s }

// ---------------------------------------------------------------------------
// Minimal msgpack walker (our own), used to find value boundaries and to
// report which msgpack formats Go chose.

func mpSkip(b []byte) (int, string, error) {
	if len(b) == 0 {
		return 0, "", fmt.Errorf("msgpack: empty")
	}
	c := b[0]
	need := func(n int) error {
		if len(b) < n {
			return fmt.Errorf("msgpack: truncated (%d < %d) at 0x%02x", len(b), n, c)
		}
		return nil
	}
	be := func(off, size int) int {
		switch size {
		case 1:
			return int(b[off])
		case 2:
			return int(binary.BigEndian.Uint16(b[off:]))
		default:
			return int(binary.BigEndian.Uint32(b[off:]))
		}
	}
	container := func(hdr, count int, perEntry int, name string) (int, string, error) {
		off := hdr
		for i := 0; i < count*perEntry; i++ {
			n, _, err := mpSkip(b[off:])
			if err != nil {
				return 0, "", err
			}
			off += n
		}
		return off, name, nil
	}
	sized := func(hdr, size int, name string) (int, string, error) {
		if err := need(hdr); err != nil {
			return 0, "", err
		}
		l := be(1, size)
		if err := need(hdr + l); err != nil {
			return 0, "", err
		}
		return hdr + l, name, nil
	}
	switch {
	case c <= 0x7f:
		return 1, "positive fixint", nil
	case c >= 0xe0:
		return 1, "negative fixint", nil
	case c >= 0x80 && c <= 0x8f:
		return container(1, int(c&0x0f), 2, "fixmap")
	case c >= 0x90 && c <= 0x9f:
		return container(1, int(c&0x0f), 1, "fixarray")
	case c >= 0xa0 && c <= 0xbf:
		l := int(c & 0x1f)
		if err := need(1 + l); err != nil {
			return 0, "", err
		}
		return 1 + l, "fixstr", nil
	}
	switch c {
	case 0xc0:
		return 1, "nil", nil
	case 0xc2:
		return 1, "false", nil
	case 0xc3:
		return 1, "true", nil
	case 0xc4:
		return sized(2, 1, "bin8")
	case 0xc5:
		return sized(3, 2, "bin16")
	case 0xc6:
		return sized(5, 4, "bin32")
	case 0xca:
		return 5, "float32", need(5)
	case 0xcb:
		return 9, "float64", need(9)
	case 0xcc:
		return 2, "uint8", need(2)
	case 0xcd:
		return 3, "uint16", need(3)
	case 0xce:
		return 5, "uint32", need(5)
	case 0xcf:
		return 9, "uint64", need(9)
	case 0xd0:
		return 2, "int8", need(2)
	case 0xd1:
		return 3, "int16", need(3)
	case 0xd2:
		return 5, "int32", need(5)
	case 0xd3:
		return 9, "int64", need(9)
	case 0xd9:
		return sized(2, 1, "str8")
	case 0xda:
		return sized(3, 2, "str16")
	case 0xdb:
		return sized(5, 4, "str32")
	case 0xdc:
		if err := need(3); err != nil {
			return 0, "", err
		}
		return container(3, be(1, 2), 1, "array16")
	case 0xdd:
		if err := need(5); err != nil {
			return 0, "", err
		}
		return container(5, be(1, 4), 1, "array32")
	case 0xde:
		if err := need(3); err != nil {
			return 0, "", err
		}
		return container(3, be(1, 2), 2, "map16")
	case 0xdf:
		if err := need(5); err != nil {
			return 0, "", err
		}
		return container(5, be(1, 4), 2, "map32")
	}
	return 0, "", fmt.Errorf("msgpack: unsupported type byte 0x%02x", c)
}

// mpMapWire returns the total size of the map at b and its keys/value formats in wire order.
func mpMapWire(b []byte) (int, []wireField, error) {
	n, f, err := mpSkip(b)
	if err != nil {
		return 0, nil, err
	}
	var count, off int
	switch f {
	case "fixmap":
		count, off = int(b[0]&0x0f), 1
	case "map16":
		count, off = int(binary.BigEndian.Uint16(b[1:])), 3
	case "map32":
		count, off = int(binary.BigEndian.Uint32(b[1:])), 5
	default:
		return 0, nil, fmt.Errorf("expected a msgpack map, got %s", f)
	}
	var fields []wireField
	for i := 0; i < count; i++ {
		kn, kf, err := mpSkip(b[off:])
		if err != nil {
			return 0, nil, err
		}
		var key string
		switch kf {
		case "fixstr":
			key = string(b[off+1 : off+kn])
		case "str8":
			key = string(b[off+2 : off+kn])
		case "str16":
			key = string(b[off+3 : off+kn])
		default:
			key = "?" + kf
		}
		off += kn
		vn, vf, err := mpSkip(b[off:])
		if err != nil {
			return 0, nil, err
		}
		off += vn
		if kf != "fixstr" {
			key += " (" + kf + " key)"
		}
		fields = append(fields, wireField(key+": "+vf))
	}
	return n, fields, nil
}

// decodeValue decodes the one msgpack map at b into out with memberlist's
// handle and returns the number of bytes it occupies plus its wire layout.
func decodeValue(b []byte, out interface{}) (int, []wireField, error) {
	n, wire, err := mpMapWire(b)
	if err != nil {
		return 0, nil, err
	}
	hd := codec.MsgpackHandle{}
	if err := codec.NewDecoder(bytes.NewReader(b[:n]), &hd).Decode(out); err != nil {
		return 0, nil, err
	}
	return n, wire, nil
}

func ipString(b []byte) interface{} {
	if b == nil {
		return nil
	}
	return net.IP(b).String()
}

func bytesString(b []byte) interface{} {
	if b == nil {
		return nil
	}
	return string(b)
}

func vsnInts(v []uint8) interface{} {
	if v == nil {
		return nil
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// ---------------------------------------------------------------------------

func gcmOpen(key, msg, aad []byte) (byte, []byte, []byte, error) {
	if len(msg) < 1+12+16 {
		return 0, nil, nil, fmt.Errorf("ciphertext too short")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return 0, nil, nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return 0, nil, nil, err
	}
	nonce := msg[1:13]
	plain, err := gcm.Open(nil, nonce, msg[13:], aad)
	return msg[0], nonce, plain, err
}

func lzwInflate(b []byte) ([]byte, error) {
	r := lzw.NewReader(bytes.NewReader(b), lzw.LSB, 8)
	defer r.Close()
	return ioutil.ReadAll(r)
}

// decodeCompressWrapper decodes a compress{} struct at b (after the type byte).
func decodeCompressWrapper(b []byte) (int, []byte, map[string]interface{}, error) {
	var c wCompress
	n, wire, err := decodeValue(b, &c)
	if err != nil {
		return 0, nil, nil, err
	}
	inner, err := lzwInflate(c.Buf)
	if err != nil {
		return 0, nil, nil, err
	}
	det := map[string]interface{}{
		"layer":            "compress",
		"type_byte":        9,
		"Algo":             c.Algo,
		"compressed_len":   len(c.Buf),
		"decompressed_len": len(inner),
		"wire":             wire,
		"lzw":              "compress/lzw, LSB order, litWidth 8",
	}
	return n, inner, det, nil
}

// decodeMessage decodes one packet-style message (type byte + body). For
// packet messages the body must be consumed completely.
func decodeMessage(buf []byte) (msgJSON, error) {
	if len(buf) == 0 {
		return msgJSON{}, fmt.Errorf("empty message")
	}
	t := buf[0]
	body := buf[1:]
	m := msgJSON{Type: typeNames[t], TypeByte: int(t)}
	if m.Type == "" {
		return m, fmt.Errorf("unknown message type %d", t)
	}
	var n int
	var err error
	switch t {
	case 7: // compound
		if len(body) < 1 {
			return m, fmt.Errorf("compound: no count")
		}
		cnt := int(body[0])
		if len(body) < 1+2*cnt {
			return m, fmt.Errorf("compound: truncated lengths")
		}
		lens := make([]int, cnt)
		for i := range lens {
			lens[i] = int(binary.BigEndian.Uint16(body[1+2*i:]))
		}
		off := 1 + 2*cnt
		m.Fields = map[string]interface{}{"count": cnt, "lengths": lens}
		for _, l := range lens {
			if off+l > len(body) {
				return m, fmt.Errorf("compound: truncated part")
			}
			part, err := decodeMessage(body[off : off+l])
			if err != nil {
				return m, err
			}
			m.Parts = append(m.Parts, part)
			off += l
		}
		if off != len(body) {
			return m, fmt.Errorf("compound: %d trailing bytes", len(body)-off)
		}
		return m, nil
	case 9: // compress nested inside something
		n, inner, det, err := decodeCompressWrapper(body)
		if err != nil {
			return m, err
		}
		m.Fields = det
		part, err := decodeMessage(inner)
		if err != nil {
			return m, err
		}
		m.Parts = []msgJSON{part}
		if n != len(body) {
			return m, fmt.Errorf("compress: trailing bytes")
		}
		return m, nil
	case 8: // user: raw payload follows the type byte
		m.Payload = strp(string(body))
		return m, nil
	case 0:
		var p wPing
		n, m.Wire, err = decodeValue(body, &p)
		m.Fields = map[string]interface{}{"SeqNo": p.SeqNo, "Node": p.Node,
			"SourceAddr": ipString(p.SourceAddr), "SourcePort": p.SourcePort, "SourceNode": p.SourceNode}
	case 1:
		var p wIndirectPingReq
		n, m.Wire, err = decodeValue(body, &p)
		m.Fields = map[string]interface{}{"SeqNo": p.SeqNo, "Target": ipString(p.Target), "Port": p.Port,
			"Node": p.Node, "Nack": p.Nack, "SourceAddr": ipString(p.SourceAddr),
			"SourcePort": p.SourcePort, "SourceNode": p.SourceNode}
	case 2:
		var p wAckResp
		n, m.Wire, err = decodeValue(body, &p)
		m.Fields = map[string]interface{}{"SeqNo": p.SeqNo, "Payload": bytesString(p.Payload)}
	case 3:
		var p wSuspect
		n, m.Wire, err = decodeValue(body, &p)
		m.Fields = map[string]interface{}{"Incarnation": p.Incarnation, "Node": p.Node, "From": p.From}
	case 4:
		var p wAlive
		n, m.Wire, err = decodeValue(body, &p)
		m.Fields = map[string]interface{}{"Incarnation": p.Incarnation, "Node": p.Node, "Addr": ipString(p.Addr),
			"Port": p.Port, "Meta": bytesString(p.Meta), "Vsn": vsnInts(p.Vsn)}
	case 5:
		var p wDead
		n, m.Wire, err = decodeValue(body, &p)
		m.Fields = map[string]interface{}{"Incarnation": p.Incarnation, "Node": p.Node, "From": p.From}
	case 11:
		var p wNackResp
		n, m.Wire, err = decodeValue(body, &p)
		m.Fields = map[string]interface{}{"SeqNo": p.SeqNo}
	case 13:
		var p wErrResp
		n, m.Wire, err = decodeValue(body, &p)
		m.Fields = map[string]interface{}{"Error": p.Error}
	default:
		return m, fmt.Errorf("message type %s not expected here", m.Type)
	}
	if err != nil {
		return m, err
	}
	if n != len(body) {
		return m, fmt.Errorf("%s: %d trailing bytes", m.Type, len(body)-n)
	}
	return m, nil
}

// decodePacket undoes the packet layers in the order memberlist's
// ingestPacket/handleCommand does: decrypt, CRC, then compress.
func decodePacket(buf []byte, key []byte) *decoded {
	d := &decoded{}
	fail := func(err error) *decoded { d.Err = err.Error(); return d }
	if key != nil {
		vsn, nonce, plain, err := gcmOpen(key, buf, nil)
		if err != nil {
			return fail(fmt.Errorf("decrypt: %v", err))
		}
		d.Layers = append(d.Layers, "encrypt")
		d.LayerDetails = append(d.LayerDetails, map[string]interface{}{
			"layer": "encrypt", "version": vsn, "nonce_hex": hex.EncodeToString(nonce),
			"aad_hex": "", "plaintext_len": len(plain), "tag_len": 16,
			"cipher": fmt.Sprintf("AES-%d-GCM", len(key)*8),
		})
		buf = plain
	}
	if len(buf) >= 5 && buf[0] == 12 {
		want := binary.BigEndian.Uint32(buf[1:5])
		got := crc32.ChecksumIEEE(buf[5:])
		if want != got {
			return fail(fmt.Errorf("crc mismatch %08x != %08x", want, got))
		}
		d.Layers = append(d.Layers, "crc")
		d.LayerDetails = append(d.LayerDetails, map[string]interface{}{
			"layer": "crc", "type_byte": 12, "crc32_ieee": want, "crc_hex": hex.EncodeToString(buf[1:5]),
		})
		buf = buf[5:]
	}
	if len(buf) >= 1 && buf[0] == 9 {
		n, inner, det, err := decodeCompressWrapper(buf[1:])
		if err != nil {
			return fail(fmt.Errorf("compress: %v", err))
		}
		if 1+n != len(buf) {
			return fail(fmt.Errorf("compress: trailing bytes"))
		}
		d.Layers = append(d.Layers, "compress")
		d.LayerDetails = append(d.LayerDetails, det)
		buf = inner
	}
	d.Plain = buf
	m, err := decodeMessage(buf)
	d.Messages = []msgJSON{m}
	if err != nil {
		return fail(err)
	}
	return d
}

// decodeStream undoes the stream layers the way readStream does: an
// encryptMsg frame [10][u32 BE length][vsn][nonce][ct+tag] with the first 5
// bytes as AES-GCM additional data, then an optional compress message.
func decodeStream(buf []byte, key []byte) *decoded {
	d := &decoded{}
	fail := func(err error) *decoded { d.Err = err.Error(); return d }
	if len(buf) >= 5 && buf[0] == 10 {
		l := int(binary.BigEndian.Uint32(buf[1:5]))
		if 5+l != len(buf) {
			return fail(fmt.Errorf("encrypt frame length %d, have %d", l, len(buf)-5))
		}
		if key == nil {
			return fail(fmt.Errorf("encrypted stream without key"))
		}
		vsn, nonce, plain, err := gcmOpen(key, buf[5:], buf[:5])
		if err != nil {
			return fail(fmt.Errorf("decrypt: %v", err))
		}
		d.Layers = append(d.Layers, "encrypt")
		d.LayerDetails = append(d.LayerDetails, map[string]interface{}{
			"layer": "encrypt", "type_byte": 10, "length_field": l, "version": vsn,
			"nonce_hex": hex.EncodeToString(nonce), "aad_hex": hex.EncodeToString(buf[:5]),
			"plaintext_len": len(plain), "tag_len": 16, "cipher": fmt.Sprintf("AES-%d-GCM", len(key)*8),
		})
		buf = plain
	}
	if len(buf) >= 1 && buf[0] == 9 {
		n, inner, det, err := decodeCompressWrapper(buf[1:])
		if err != nil {
			return fail(fmt.Errorf("compress: %v", err))
		}
		if 1+n != len(buf) {
			return fail(fmt.Errorf("compressed stream: %d trailing bytes", len(buf)-1-n))
		}
		d.Layers = append(d.Layers, "compress")
		d.LayerDetails = append(d.LayerDetails, det)
		buf = inner
	}
	d.Plain = buf
	if len(buf) == 0 {
		return fail(fmt.Errorf("empty stream"))
	}
	t := buf[0]
	body := buf[1:]
	m := msgJSON{Type: typeNames[t], TypeByte: int(t)}
	switch t {
	case 6: // pushPull: header, Nodes x pushNodeState, UserStateLen raw bytes
		var hdr wPushPullHeader
		n, wire, err := decodeValue(body, &hdr)
		if err != nil {
			return fail(err)
		}
		m.Wire = wire
		m.Fields = map[string]interface{}{"Nodes": hdr.Nodes, "UserStateLen": hdr.UserStateLen, "Join": hdr.Join}
		off := n
		for i := 0; i < hdr.Nodes; i++ {
			var ns wPushNodeState
			n, wire, err := decodeValue(body[off:], &ns)
			if err != nil {
				return fail(err)
			}
			if i == 0 {
				m.NodeWire = wire
			}
			off += n
			m.Nodes = append(m.Nodes, map[string]interface{}{
				"Name": ns.Name, "Addr": ipString(ns.Addr), "Port": ns.Port, "Meta": bytesString(ns.Meta),
				"Incarnation": ns.Incarnation, "State": ns.State, "Vsn": vsnInts(ns.Vsn),
			})
		}
		if off+hdr.UserStateLen != len(body) {
			return fail(fmt.Errorf("pushPull: %d bytes after nodes, UserStateLen %d", len(body)-off, hdr.UserStateLen))
		}
		m.UserState = strp(string(body[off:]))
	case 8: // user over stream: userMsgHeader then raw payload
		var hdr wUserMsgHeader
		n, wire, err := decodeValue(body, &hdr)
		if err != nil {
			return fail(err)
		}
		m.Wire = wire
		m.Fields = map[string]interface{}{"UserMsgLen": hdr.UserMsgLen}
		if n+hdr.UserMsgLen != len(body) {
			return fail(fmt.Errorf("user stream length mismatch"))
		}
		m.Payload = strp(string(body[n:]))
	case 0, 2, 13: // ping / ackResp / err over a stream: a single struct
		mm, err := decodeMessage(buf)
		if err != nil {
			return fail(err)
		}
		m = mm
	default:
		return fail(fmt.Errorf("unexpected stream message type %d", t))
	}
	d.Messages = []msgJSON{m}
	return d
}
