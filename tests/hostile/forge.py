"""The attacker's encoder: memberlist wire messages built by hand, as a
hostile host would build them. Written from core/src/wire/ and the golden
vectors in core/tests/golden/ (test_attacker_codec.py checks it against
Go's captured bytes), not from the Rust code's helpers, so a bug shared
by both sides cannot hide.

A message is one type byte then a MessagePack map keyed by Go field names;
around it, outermost first: label, encryption, CRC, compression, compound.
"""

from __future__ import annotations

import ipaddress
import os
import struct
import zlib

import aes_gcm

# Message type bytes (memberlist net.go).
PING, INDIRECT_PING, ACK, SUSPECT, ALIVE, DEAD, PUSH_PULL, COMPOUND = range(8)
USER, COMPRESS, ENCRYPT, NACK, HAS_CRC, ERR = 8, 9, 10, 11, 12, 13
HAS_LABEL = 244

# Limits the victim enforces (core/src/wire/mod.rs, packet.rs, stream.rs).
MAX_PUSH_STATE_BYTES = 20 * 1024 * 1024
MAX_PACKET_DECOMPRESSED = 64 * 1024
MAX_DATAGRAM = 65_507  # the largest UDP payload over IPv4


# ---- MessagePack, the subset go-msgpack writes ----


def raw(b: bytes | str) -> bytes:
    """A string or byte slice as go-msgpack's old spec writes it."""
    if isinstance(b, str):
        b = b.encode()
    n = len(b)
    if n < 32:
        return bytes([0xA0 | n]) + b
    if n <= 0xFFFF:
        return b"\xda" + struct.pack(">H", n) + b
    return b"\xdb" + struct.pack(">I", n) + b


def uint(v: int) -> bytes:
    if v < 128:
        return bytes([v])
    if v <= 0xFF:
        return b"\xcc" + bytes([v])
    if v <= 0xFFFF:
        return b"\xcd" + struct.pack(">H", v)
    if v <= 0xFFFF_FFFF:
        return b"\xce" + struct.pack(">I", v)
    return b"\xcf" + struct.pack(">Q", v)


def map_header(n: int) -> bytes:
    if n < 16:
        return bytes([0x80 | n])
    if n <= 0xFFFF:
        return b"\xde" + struct.pack(">H", n)
    return b"\xdf" + struct.pack(">I", n)


def value(v: object) -> bytes:
    if v is None:
        return b"\xc0"
    if isinstance(v, bool):
        return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        return uint(v)
    if isinstance(v, (bytes, str)):
        return raw(v)
    raise TypeError(f"no msgpack form for {type(v).__name__}")


def struct_map(fields: dict[str, object]) -> bytes:
    """A Go struct: a map keyed by field name, keys sorted as go-msgpack writes them."""
    return map_header(len(fields)) + b"".join(raw(k) + value(v) for k, v in sorted(fields.items()))


def message(msg_type: int, fields: dict[str, object]) -> bytes:
    return bytes([msg_type]) + struct_map(fields)


# ---- packet messages ----


def ip(addr: str) -> bytes:
    return ipaddress.ip_address(addr).packed


def ping(seq: int, node: str) -> bytes:
    """A probe without a source address: the victim acks to the sending socket."""
    return message(PING, {"Node": node, "SeqNo": seq})


def ack(seq: int) -> bytes:
    return message(ACK, {"Payload": None, "SeqNo": seq})


def nack(seq: int) -> bytes:
    return message(NACK, {"SeqNo": seq})


def suspect(node: str, incarnation: int, sender: str) -> bytes:
    return message(SUSPECT, {"From": sender, "Incarnation": incarnation, "Node": node})


def dead(node: str, incarnation: int, sender: str) -> bytes:
    return message(DEAD, {"From": sender, "Incarnation": incarnation, "Node": node})


VSN = bytes([1, 5, 2, 0, 1, 0])  # protocol 1..5, speaking 2; delegate 0..1, speaking 0


def alive(node: str, incarnation: int, host: str, port: int, vsn: bytes = VSN) -> bytes:
    return message(
        ALIVE,
        {"Addr": ip(host), "Incarnation": incarnation, "Meta": None, "Node": node, "Port": port, "Vsn": vsn},
    )


def user(payload: bytes) -> bytes:
    return bytes([USER]) + payload


def compound(parts: list[bytes], count: int | None = None, lengths: list[int] | None = None) -> bytes:
    """`[7][count][count x u16 BE lengths][parts]`; `count` and `lengths`
    may lie about the parts."""
    count = len(parts) if count is None else count
    lengths = [len(p) for p in parts] if lengths is None else lengths
    return bytes([COMPOUND, count]) + b"".join(struct.pack(">H", n) for n in lengths) + b"".join(parts)


def crc(payload: bytes) -> bytes:
    return bytes([HAS_CRC]) + struct.pack(">I", zlib.crc32(payload)) + payload


def label(name: bytes | str, payload: bytes, length: int | None = None) -> bytes:
    """`[244][len][label]payload`; `length` may lie about the label."""
    if isinstance(name, str):
        name = name.encode()
    return bytes([HAS_LABEL, len(name) if length is None else length]) + name + payload


def encrypt(key: bytes, payload: bytes, aad: bytes = b"", nonce: bytes | None = None) -> bytes:
    """`[version 1][12-byte nonce][AES-GCM ciphertext + tag]`; the additional
    data of a packet is the cluster label."""
    nonce = os.urandom(12) if nonce is None else nonce
    return b"\x01" + nonce + aes_gcm.seal(key, nonce, payload, aad)


def sealed_packet(payload: bytes, key: bytes | None = None, cluster_label: str = "") -> bytes:
    """A packet as a member of a cluster with this key and label sends it."""
    if key is not None:
        payload = encrypt(key, payload, cluster_label.encode())
    return label(cluster_label, payload) if cluster_label else payload


# ---- LZW (Go's compress/lzw, LSB order, 8-bit literals) ----

_CLEAR, _EOF, _MAX_CODE = 256, 257, 4095


class _Bits:
    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.bits = 0

    def put(self, code: int, width: int) -> None:
        self.acc |= code << self.bits
        self.bits += width
        while self.bits >= 8:
            self.out.append(self.acc & 0xFF)
            self.acc >>= 8
            self.bits -= 8

    def finish(self) -> bytes:
        if self.bits:
            self.out.append(self.acc & 0xFF)
        return bytes(self.out)


def lzw_compress(data: bytes) -> bytes:
    """What Go's `lzw.NewWriter(w, lzw.LSB, 8)` writes for `data` (for small
    inputs: one dictionary step per byte, in Python)."""
    bits = _Bits()
    width, hi, overflow = 9, _EOF, 512
    bits.put(_CLEAR, width)
    if not data:
        bits.put(_EOF, width)
        return bits.finish()
    table: dict[tuple[int, int], int] = {}

    def next_code() -> bool:
        nonlocal hi, width, overflow
        hi += 1
        if hi == overflow:
            width += 1
            overflow <<= 1
        if hi == _MAX_CODE:
            bits.put(_CLEAR, width)
            width, hi, overflow = 9, _EOF, 512
            return True
        return False

    code = data[0]
    for b in data[1:]:
        nxt = table.get((code, b))
        if nxt is not None:
            code = nxt
            continue
        bits.put(code, width)
        prev, code = code, b
        if next_code():
            table.clear()
        else:
            table[(prev, b)] = hi
    bits.put(code, width)
    next_code()
    bits.put(_EOF, width)
    return bits.finish()


def lzw_bomb(size: int, prefix: bytes = b"", byte: int = 0) -> bytes:
    """An LZW stream that expands to `prefix` then copies of `byte`, at most
    `size` bytes in all (and more than `size - 3839`), the cheapest way the
    reader allows: each code names the previous string plus one byte (1, 2,
    3... bytes long), and once the table is full the longest string (3,839
    bytes) is repeated, 12 bits a time. About 430 bytes expand to 64 KiB
    and 11 KB to 20 MiB. Codes are written as the reader expects them (its
    width and table state mirrored here), not by compressing `size` bytes,
    which would take minutes in Python."""
    bits = _Bits()
    width, hi, overflow = 9, _EOF, 512
    bits.put(_CLEAR, width)
    for literal in (*prefix, byte):
        bits.put(literal, width)
        hi += 1  # the reader moves on after every code
    produced, longest, extending = len(prefix) + 1, 1, True
    while True:
        # While the table has room, each code is the one being defined
        # (the previous string plus its first byte); then the longest again.
        code, length = (hi, longest + 1) if extending else (_MAX_CODE, longest)
        if produced + length > size:
            break
        bits.put(code, width)
        produced, longest = produced + length, length
        hi += 1
        if hi >= overflow:
            if width == 12:
                hi -= 1
                extending = False
            else:
                width += 1
                overflow <<= 1
    bits.put(_EOF, width)
    return bits.finish()


def lzw_decompress(data: bytes, limit: int = MAX_PUSH_STATE_BYTES) -> bytes:
    """Reads an LZW stream (to read the victim's compressed replies)."""
    prefix, suffix = [0] * 4096, [0] * 4096
    out = bytearray()
    width, hi, overflow, last = 9, _EOF, 512, None
    acc = bits = pos = 0
    while True:
        while bits < width:
            acc |= data[pos] << bits
            pos += 1
            bits += 8
        code = acc & ((1 << width) - 1)
        acc >>= width
        bits -= width
        if code == _CLEAR:
            width, hi, overflow, last = 9, _EOF, 512, None
            continue
        if code == _EOF:
            return bytes(out)
        if code < _CLEAR:
            chunk = bytes([code])
        else:
            kwkwk = code == hi and last is not None
            cur = last if kwkwk else code
            assert cur is not None and (cur < _CLEAR or _EOF < cur <= hi), "corrupt LZW stream"
            rev = bytearray()
            while cur >= _CLEAR:
                rev.append(suffix[cur])
                cur = prefix[cur]
            rev.append(cur)
            chunk = bytes(reversed(rev)) + (bytes([cur]) if kwkwk else b"")
        out += chunk
        assert len(out) <= limit, "LZW output past the limit"
        if last is not None:
            suffix[hi], prefix[hi] = chunk[0], last
        last = code
        hi += 1
        if hi >= overflow:
            if width == 12:
                hi -= 1
                last = None
            else:
                width += 1
                overflow <<= 1


def _read_map(data: bytes) -> dict[str, object]:
    """The few msgpack forms the victim's replies use: a map of raw or
    uint values (enough for `{Algo, Buf}` and `{Error}`)."""
    tag = data[0]
    n = tag & 0x0F if 0x80 <= tag <= 0x8F else struct.unpack(">H", data[1:3])[0]
    pos = 1 if 0x80 <= tag <= 0x8F else 3

    def item() -> object:
        nonlocal pos
        t = data[pos]
        pos += 1
        if t < 0x80:
            return t
        size = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}.get(t)
        if size is not None:
            v = int.from_bytes(data[pos : pos + size], "big")
            pos += size
            return v
        if 0xA0 <= t <= 0xBF:
            length = t & 0x1F
        else:
            size = {0xD9: 1, 0xC4: 1, 0xDA: 2, 0xC5: 2, 0xDB: 4, 0xC6: 4}[t]
            length = int.from_bytes(data[pos : pos + size], "big")
            pos += size
        v = data[pos : pos + length]
        pos += length
        return v

    out: dict[str, object] = {}
    for _ in range(n):
        key = item()
        out[bytes(key).decode()] = item()  # type: ignore[arg-type]
    return out


def packet_body(packet: bytes) -> bytes:
    """An unencrypted, unlabelled packet from the victim without its CRC and
    compression layers (an ack may come compressed, with gossip on it)."""
    if packet[:1] == bytes([HAS_CRC]):
        packet = packet[5:]
    if packet[:1] == bytes([COMPRESS]):
        packet = lzw_decompress(_read_map(packet[1:])["Buf"])  # type: ignore[arg-type]
    return packet


def stream_error(reply: bytes) -> str | None:
    """The text of an unencrypted error reply (`[13]{Error}`, maybe
    compressed), or None when the reply is something else."""
    if reply[:1] == bytes([COMPRESS]):
        reply = lzw_decompress(_read_map(reply[1:])["Buf"])  # type: ignore[arg-type]
    if reply[:1] != bytes([ERR]):
        return None
    return bytes(_read_map(reply[1:])["Error"]).decode()  # type: ignore[arg-type]


def compress(payload: bytes) -> bytes:
    """`[9]` + `{Algo: 0, Buf: lzw}`: a compressed message."""
    return compressed_buf(lzw_compress(payload))


def compressed_buf(buf: bytes) -> bytes:
    return bytes([COMPRESS]) + struct_map({"Algo": 0, "Buf": buf})


# ---- rumour's user-message envelope and the replicated map ----

RUMOUR_MAGIC = b"RMR\x01"
KIND_STATE = 3
FLAG_TOMBSTONE, FLAG_EPHEMERAL, FLAG_TTL = 1, 2, 8


def hlc(unix_ms: int, counter: int = 0) -> int:
    """A replicated-map timestamp: milliseconds in the high 48 bits."""
    return (unix_ms << 16) | counter


def state_entry(
    key: str, writer: str, ts: int, value_bytes: bytes | None, flags: int = 0, expires_ms: int = 0
) -> bytes:
    """`key len u16 | key | writer len u16 | writer | ts u64 | flags u8 |
    [expires u64] | [value len u32 | value]` (core/src/proto/kv/codec.rs)."""
    k, w = key.encode(), writer.encode()
    if value_bytes is None:
        flags |= FLAG_TOMBSTONE
    if expires_ms:
        flags |= FLAG_TTL
    out = struct.pack(">H", len(k)) + k + struct.pack(">H", len(w)) + w + struct.pack(">QB", ts, flags)
    if expires_ms:
        out += struct.pack(">Q", expires_ms)
    if value_bytes is not None:
        out += struct.pack(">I", len(value_bytes)) + value_bytes
    return out


def state_rumour(origin: str, entry: bytes) -> bytes:
    """A write to the map as a user message body (without the type byte):
    `RMR 1 | kind 3 | origin len u16 | origin | entry`."""
    o = origin.encode()
    return RUMOUR_MAGIC + bytes([KIND_STATE]) + struct.pack(">H", len(o)) + o + entry


# ---- streams (TCP) ----


def push_pull_header(nodes: int, user_state_len: int, join: bool = False) -> bytes:
    return message(PUSH_PULL, {"Join": join, "Nodes": nodes, "UserStateLen": user_state_len})


def push_node_state(name: str, host: str = "127.0.0.1", port: int = 0, vsn: bytes | None = None) -> bytes:
    """A member entry; without `port` and `vsn`, the smallest the victim
    parses (Name and Addr, 18 bytes for a one-letter name), which it reads
    but then refuses to merge (protocol versions 0)."""
    fields: dict[str, object] = {"Addr": ip(host), "Name": name}
    if port:
        fields["Port"] = port
    if vsn is not None:
        fields["Vsn"] = vsn
    return struct_map(fields)


def user_stream(payload: bytes) -> bytes:
    """A reliable user message: `[8]{UserMsgLen}` then the bytes."""
    return message(USER, {"UserMsgLen": len(payload)}) + payload


def stream_ping(seq: int, node: str) -> bytes:
    return ping(seq, node)
