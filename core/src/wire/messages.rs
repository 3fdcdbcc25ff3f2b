//! memberlist's message structs (`net.go`) and their MessagePack form.
//!
//! Field names follow the Go declarations, because go-msgpack keys each map
//! entry by the Go field name; it writes the keys in sorted order (seen in
//! the golden vectors), and so do we.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::msg_type;
use super::msgpack::{Reader, Writer};
use super::DecodeError;

/// A direct probe (`ping`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    /// Sequence number the ack echoes.
    pub seq_no: u32,
    /// Name of the intended target, so a restarted node under another name
    /// does not answer for the old one.
    pub node: String,
    /// Where to send the ack, when the sender says (`SourceAddr`/`SourcePort`).
    pub source: Option<SocketAddr>,
    /// Name of the sender (`SourceNode`); empty when absent.
    pub source_node: String,
}

/// A probe through a helper (`indirectPingReq`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndirectPing {
    /// Sequence number of the requester's probe.
    pub seq_no: u32,
    /// Address of the member to probe.
    pub target: SocketAddr,
    /// Name of the member to probe.
    pub node: String,
    /// Whether the requester wants a nack when the target stays silent.
    pub nack: bool,
    /// Where to forward the ack.
    pub source: Option<SocketAddr>,
    /// Name of the requester; empty when absent.
    pub source_node: String,
}

/// Answer to a ping (`ackResp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The ping's sequence number.
    pub seq_no: u32,
    /// Optional payload (memberlist's PingDelegate).
    pub payload: Vec<u8>,
}

/// A helper could not reach the target in time (`nackResp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nack {
    /// The requester's sequence number.
    pub seq_no: u32,
}

/// Rumour that `node` is suspected, raised by `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspect {
    /// Incarnation the suspicion is about.
    pub incarnation: u32,
    /// The suspected member.
    pub node: String,
    /// Who suspects it.
    pub from: String,
}

/// Rumour that `node` is alive, at an address, with metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alive {
    /// The member's incarnation.
    pub incarnation: u32,
    /// Its name.
    pub node: String,
    /// Its advertised address.
    pub addr: SocketAddr,
    /// Its metadata.
    pub meta: Vec<u8>,
    /// Protocol versions: pmin, pmax, pcur, delegate min, max, cur.
    pub vsn: [u8; 6],
}

/// Rumour that `node` is dead; when `from == node`, that it left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dead {
    /// Incarnation the verdict is about.
    pub incarnation: u32,
    /// The member.
    pub node: String,
    /// Who declares it.
    pub from: String,
}

/// Header of a push-pull exchange (`pushPullHeader`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushPullHeader {
    /// How many node states follow.
    pub nodes: usize,
    /// How many bytes of user state follow the node states.
    pub user_state_len: usize,
    /// Whether this exchange is a join.
    pub join: bool,
}

/// Member states as memberlist numbers them (`NodeStateType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeStateKind {
    /// Answering probes.
    Alive = 0,
    /// Missed a probe; may refute.
    Suspect = 1,
    /// Declared failed.
    Dead = 2,
    /// Left gracefully.
    Left = 3,
}

impl NodeStateKind {
    fn from_wire(v: u64) -> Result<Self, DecodeError> {
        Ok(match v {
            0 => Self::Alive,
            1 => Self::Suspect,
            2 => Self::Dead,
            3 => Self::Left,
            _ => return Err(DecodeError::OutOfRange("State")),
        })
    }
}

/// One member's state inside a push-pull (`pushNodeState`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushNodeState {
    /// Name.
    pub name: String,
    /// Address.
    pub addr: SocketAddr,
    /// Metadata.
    pub meta: Vec<u8>,
    /// Incarnation.
    pub incarnation: u32,
    /// State.
    pub state: NodeStateKind,
    /// Protocol versions, as in [`Alive::vsn`].
    pub vsn: [u8; 6],
}

/// A borrowed [`PushNodeState`]: a member table is encoded from it without
/// copying names and metadata first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushNodeView<'a> {
    /// Name.
    pub name: &'a str,
    /// Address.
    pub addr: SocketAddr,
    /// Metadata.
    pub meta: &'a [u8],
    /// Incarnation.
    pub incarnation: u32,
    /// State.
    pub state: NodeStateKind,
    /// Protocol versions, as in [`Alive::vsn`].
    pub vsn: [u8; 6],
}

/// A message that can travel in a packet, after the layers are peeled off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Direct probe.
    Ping(Ping),
    /// Probe through a helper.
    IndirectPing(IndirectPing),
    /// Answer to a probe.
    Ack(Ack),
    /// Helper's negative answer.
    Nack(Nack),
    /// Suspicion rumour.
    Suspect(Suspect),
    /// Alive rumour.
    Alive(Alive),
    /// Dead or left rumour.
    Dead(Dead),
    /// Opaque user bytes.
    User(Vec<u8>),
}

impl Message {
    /// The message in wire form: type byte then body.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Message::Ping(m) => m.encode(),
            Message::IndirectPing(m) => m.encode(),
            Message::Ack(m) => m.encode(),
            Message::Nack(m) => m.encode(),
            Message::Suspect(m) => m.encode(),
            Message::Alive(m) => m.encode(),
            Message::Dead(m) => m.encode(),
            Message::User(bytes) => {
                let mut out = Vec::with_capacity(bytes.len() + 1);
                out.push(msg_type::USER);
                out.extend_from_slice(bytes);
                out
            }
        }
    }

    /// Decodes one plain message (no compound, compress or crc layer).
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let (&ty, body) = buf.split_first().ok_or(DecodeError::Truncated)?;
        Ok(match ty {
            msg_type::PING => Message::Ping(Ping::decode_body(body)?),
            msg_type::INDIRECT_PING => Message::IndirectPing(IndirectPing::decode_body(body)?),
            msg_type::ACK_RESP => Message::Ack(Ack::decode_body(body)?),
            msg_type::NACK_RESP => Message::Nack(Nack::decode_body(body)?),
            msg_type::SUSPECT => Message::Suspect(Suspect::decode_body(body)?),
            msg_type::ALIVE => Message::Alive(Alive::decode_body(body)?),
            msg_type::DEAD => Message::Dead(Dead::decode_body(body)?),
            msg_type::USER => Message::User(body.to_vec()),
            msg_type::PUSH_PULL | msg_type::ERR | msg_type::ENCRYPT => return Err(DecodeError::UnexpectedMessage(ty)),
            other => return Err(DecodeError::UnknownMessageType(other)),
        })
    }
}

pub(crate) fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// Go's `net.IP`: 4 bytes, or 16 (an IPv4-mapped IPv6 address reads as IPv4).
pub(crate) fn ip_from_bytes(b: &[u8]) -> Result<IpAddr, DecodeError> {
    match b.len() {
        4 => Ok(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(b);
            Ok(Ipv6Addr::from(o).to_canonical())
        }
        n => Err(DecodeError::BadAddress(n)),
    }
}

/// Iterates the entries of a MessagePack map, handing each key to `field`,
/// which reads the value or returns `false` to have it skipped.
fn decode_map<'a>(
    body: &'a [u8],
    mut field: impl FnMut(&[u8], &mut Reader<'a>) -> Result<bool, DecodeError>,
) -> Result<usize, DecodeError> {
    let mut r = Reader::new(body);
    decode_map_from(&mut r, &mut field)?;
    Ok(r.position())
}

fn decode_map_from<'a>(
    r: &mut Reader<'a>,
    field: &mut impl FnMut(&[u8], &mut Reader<'a>) -> Result<bool, DecodeError>,
) -> Result<(), DecodeError> {
    let n = r.map_len()?;
    for _ in 0..n {
        // Keys are compared as bytes: only the known ASCII ones are read,
        // and any other key is skipped, so validating UTF-8 buys nothing.
        let key = r.raw()?;
        if !field(key, r)? {
            r.skip_value()?;
        }
    }
    Ok(())
}

/// The optional `SourceAddr`, `SourceNode`, `SourcePort` fields, in Go's
/// sorted key order.
fn write_source(w: &mut Writer, source: Option<SocketAddr>, source_node: &str) {
    if let Some(src) = source {
        w.field_raw("SourceAddr", &ip_bytes(src.ip()));
    }
    if !source_node.is_empty() {
        w.field_str("SourceNode", source_node);
    }
    if let Some(src) = source {
        w.field_uint("SourcePort", src.port() as u64);
    }
}

fn source_addr(addr: Option<Vec<u8>>, port: u16) -> Result<Option<SocketAddr>, DecodeError> {
    match addr {
        Some(a) if !a.is_empty() && port > 0 => Ok(Some(SocketAddr::new(ip_from_bytes(&a)?, port))),
        _ => Ok(None),
    }
}

impl Ping {
    /// Wire form with type byte.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_type(msg_type::PING);
        let has_source = self.source.is_some();
        let has_node = !self.source_node.is_empty();
        w.map_len(2 + 2 * has_source as usize + has_node as usize);
        w.field_str("Node", &self.node);
        w.field_uint("SeqNo", self.seq_no as u64);
        write_source(&mut w, self.source, &self.source_node);
        w.buf
    }

    /// Decodes the body (after the type byte).
    pub fn decode_body(body: &[u8]) -> Result<Self, DecodeError> {
        let (mut seq, mut node, mut saddr, mut sport, mut snode) = (None, String::new(), None, 0, String::new());
        decode_map(body, |k, r| {
            match k {
                b"SeqNo" => seq = Some(r.u32("SeqNo")?),
                b"Node" => node = r.string()?,
                b"SourceAddr" => saddr = Some(r.raw()?.to_vec()),
                b"SourcePort" => sport = r.u16("SourcePort")?,
                b"SourceNode" => snode = r.string()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Ping {
            seq_no: seq.ok_or(DecodeError::MissingField("SeqNo"))?,
            node,
            source: source_addr(saddr, sport)?,
            source_node: snode,
        })
    }
}

impl IndirectPing {
    /// Wire form with type byte.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_type(msg_type::INDIRECT_PING);
        let has_source = self.source.is_some();
        let has_node = !self.source_node.is_empty();
        w.map_len(5 + 2 * has_source as usize + has_node as usize);
        w.field_bool("Nack", self.nack);
        w.field_str("Node", &self.node);
        w.field_uint("Port", self.target.port() as u64);
        w.field_uint("SeqNo", self.seq_no as u64);
        write_source(&mut w, self.source, &self.source_node);
        w.field_raw("Target", &ip_bytes(self.target.ip()));
        w.buf
    }

    /// Decodes the body (after the type byte).
    pub fn decode_body(body: &[u8]) -> Result<Self, DecodeError> {
        let (mut seq, mut target, mut port, mut node, mut nack) = (None, None, 0u16, String::new(), false);
        let (mut saddr, mut sport, mut snode) = (None, 0u16, String::new());
        decode_map(body, |k, r| {
            match k {
                b"SeqNo" => seq = Some(r.u32("SeqNo")?),
                b"Target" => target = Some(ip_from_bytes(r.raw()?)?),
                b"Port" => port = r.u16("Port")?,
                b"Node" => node = r.string()?,
                b"Nack" => nack = r.bool()?,
                b"SourceAddr" => saddr = Some(r.raw()?.to_vec()),
                b"SourcePort" => sport = r.u16("SourcePort")?,
                b"SourceNode" => snode = r.string()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(IndirectPing {
            seq_no: seq.ok_or(DecodeError::MissingField("SeqNo"))?,
            target: SocketAddr::new(target.ok_or(DecodeError::MissingField("Target"))?, port),
            node,
            nack,
            source: source_addr(saddr, sport)?,
            source_node: snode,
        })
    }
}

impl Ack {
    /// Wire form with type byte.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_type(msg_type::ACK_RESP);
        w.map_len(2);
        w.field_opt_raw("Payload", &self.payload);
        w.field_uint("SeqNo", self.seq_no as u64);
        w.buf
    }

    /// Decodes the body (after the type byte).
    pub fn decode_body(body: &[u8]) -> Result<Self, DecodeError> {
        let (mut seq, mut payload) = (None, Vec::new());
        decode_map(body, |k, r| {
            match k {
                b"SeqNo" => seq = Some(r.u32("SeqNo")?),
                b"Payload" => payload = r.raw()?.to_vec(),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Ack { seq_no: seq.ok_or(DecodeError::MissingField("SeqNo"))?, payload })
    }
}

impl Nack {
    /// Wire form with type byte.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_type(msg_type::NACK_RESP);
        w.map_len(1);
        w.field_uint("SeqNo", self.seq_no as u64);
        w.buf
    }

    /// Decodes the body (after the type byte).
    pub fn decode_body(body: &[u8]) -> Result<Self, DecodeError> {
        let mut seq = None;
        decode_map(body, |k, r| {
            if k == b"SeqNo" {
                seq = Some(r.u32("SeqNo")?);
                return Ok(true);
            }
            Ok(false)
        })?;
        Ok(Nack { seq_no: seq.ok_or(DecodeError::MissingField("SeqNo"))? })
    }
}

/// Suspect and dead share one shape: Incarnation, Node, From.
fn encode_verdict(ty: u8, incarnation: u32, node: &str, from: &str) -> Vec<u8> {
    let mut w = Writer::with_type(ty);
    w.map_len(3);
    w.field_str("From", from);
    w.field_uint("Incarnation", incarnation as u64);
    w.field_str("Node", node);
    w.buf
}

fn decode_verdict(body: &[u8]) -> Result<(u32, String, String), DecodeError> {
    let (mut inc, mut node, mut from) = (0u32, None, String::new());
    decode_map(body, |k, r| {
        match k {
            b"Incarnation" => inc = r.u32("Incarnation")?,
            b"Node" => node = Some(r.string()?),
            b"From" => from = r.string()?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok((inc, node.ok_or(DecodeError::MissingField("Node"))?, from))
}

impl Suspect {
    /// Wire form with type byte.
    pub fn encode(&self) -> Vec<u8> {
        encode_verdict(msg_type::SUSPECT, self.incarnation, &self.node, &self.from)
    }

    /// Decodes the body (after the type byte).
    pub fn decode_body(body: &[u8]) -> Result<Self, DecodeError> {
        let (incarnation, node, from) = decode_verdict(body)?;
        Ok(Suspect { incarnation, node, from })
    }
}

impl Dead {
    /// Wire form with type byte.
    pub fn encode(&self) -> Vec<u8> {
        encode_verdict(msg_type::DEAD, self.incarnation, &self.node, &self.from)
    }

    /// Decodes the body (after the type byte).
    pub fn decode_body(body: &[u8]) -> Result<Self, DecodeError> {
        let (incarnation, node, from) = decode_verdict(body)?;
        Ok(Dead { incarnation, node, from })
    }
}

/// Alive and pushNodeState carry the same member description.
struct MemberFields {
    name: Option<String>,
    addr: Option<IpAddr>,
    port: u16,
    meta: Vec<u8>,
    incarnation: u32,
    state: NodeStateKind,
    vsn: [u8; 6],
}

fn decode_member(r: &mut Reader<'_>, name_key: &str) -> Result<MemberFields, DecodeError> {
    let mut f = MemberFields {
        name: None,
        addr: None,
        port: 0,
        meta: Vec::new(),
        incarnation: 0,
        state: NodeStateKind::Alive,
        vsn: [0; 6],
    };
    decode_map_from(r, &mut |k: &[u8], r: &mut Reader<'_>| {
        match k {
            k if k == name_key.as_bytes() => f.name = Some(r.string()?),
            b"Addr" => f.addr = Some(ip_from_bytes(r.raw()?)?),
            b"Port" => f.port = r.u16("Port")?,
            b"Meta" => f.meta = r.raw()?.to_vec(),
            b"Incarnation" => f.incarnation = r.u32("Incarnation")?,
            b"State" => f.state = NodeStateKind::from_wire(r.uint()?)?,
            b"Vsn" => r.bytes_into(&mut f.vsn)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    if f.meta.len() > super::META_MAX_SIZE {
        return Err(DecodeError::TooLarge { what: "Meta", len: f.meta.len(), limit: super::META_MAX_SIZE });
    }
    Ok(f)
}

impl Alive {
    /// Wire form with type byte.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_type(msg_type::ALIVE);
        w.map_len(6);
        w.field_raw("Addr", &ip_bytes(self.addr.ip()));
        w.field_uint("Incarnation", self.incarnation as u64);
        w.field_opt_raw("Meta", &self.meta);
        w.field_str("Node", &self.node);
        w.field_uint("Port", self.addr.port() as u64);
        w.field_raw("Vsn", &self.vsn);
        w.buf
    }

    /// Decodes the body (after the type byte).
    pub fn decode_body(body: &[u8]) -> Result<Self, DecodeError> {
        let f = decode_member(&mut Reader::new(body), "Node")?;
        Ok(Alive {
            incarnation: f.incarnation,
            node: f.name.ok_or(DecodeError::MissingField("Node"))?,
            addr: SocketAddr::new(f.addr.ok_or(DecodeError::MissingField("Addr"))?, f.port),
            meta: f.meta,
            vsn: f.vsn,
        })
    }
}

impl PushPullHeader {
    pub(crate) fn write(&self, w: &mut Writer) {
        w.map_len(3);
        w.field_bool("Join", self.join);
        w.field_uint("Nodes", self.nodes as u64);
        w.field_uint("UserStateLen", self.user_state_len as u64);
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut h = PushPullHeader { nodes: 0, user_state_len: 0, join: false };
        decode_map_from(r, &mut |k: &[u8], r: &mut Reader<'_>| {
            match k {
                b"Nodes" => h.nodes = usize::try_from(r.uint()?).map_err(|_| DecodeError::OutOfRange("Nodes"))?,
                b"UserStateLen" => {
                    h.user_state_len =
                        usize::try_from(r.uint()?).map_err(|_| DecodeError::OutOfRange("UserStateLen"))?
                }
                b"Join" => h.join = r.bool()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(h)
    }
}

impl PushNodeState {
    /// Borrows it for encoding.
    pub fn view(&self) -> PushNodeView<'_> {
        PushNodeView {
            name: &self.name,
            addr: self.addr,
            meta: &self.meta,
            incarnation: self.incarnation,
            state: self.state,
            vsn: self.vsn,
        }
    }
}

impl PushNodeView<'_> {
    pub(crate) fn write(&self, w: &mut Writer) {
        w.map_len(7);
        w.field_raw("Addr", &ip_bytes(self.addr.ip()));
        w.field_uint("Incarnation", self.incarnation as u64);
        w.field_opt_raw("Meta", self.meta);
        w.field_str("Name", self.name);
        w.field_uint("Port", self.addr.port() as u64);
        w.field_uint("State", self.state as u64);
        w.field_raw("Vsn", &self.vsn);
    }
}

impl PushNodeState {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let f = decode_member(r, "Name")?;
        Ok(PushNodeState {
            name: f.name.ok_or(DecodeError::MissingField("Name"))?,
            addr: SocketAddr::new(f.addr.ok_or(DecodeError::MissingField("Addr"))?, f.port),
            meta: f.meta,
            incarnation: f.incarnation,
            state: f.state,
            vsn: f.vsn,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn every_packet_message_round_trips() {
        let msgs = vec![
            Message::Ping(Ping {
                seq_no: 7,
                node: "b".into(),
                source: Some(addr("127.0.0.1:7946")),
                source_node: "a".into(),
            }),
            Message::Ping(Ping { seq_no: 8, node: "b".into(), source: None, source_node: String::new() }),
            Message::IndirectPing(IndirectPing {
                seq_no: 9,
                target: addr("[::1]:1234"),
                node: "c".into(),
                nack: true,
                source: Some(addr("10.1.2.3:5")),
                source_node: "a".into(),
            }),
            Message::Ack(Ack { seq_no: 1, payload: vec![] }),
            Message::Ack(Ack { seq_no: 1, payload: b"rtt".to_vec() }),
            Message::Nack(Nack { seq_no: u32::MAX }),
            Message::Suspect(Suspect { incarnation: 3, node: "x".into(), from: "y".into() }),
            Message::Alive(Alive {
                incarnation: 300,
                node: "n".repeat(40),
                addr: addr("192.0.2.1:65535"),
                meta: vec![1; 512],
                vsn: [1, 5, 2, 0, 0, 0],
            }),
            Message::Dead(Dead { incarnation: 0, node: "x".into(), from: "x".into() }),
            Message::User(b"hello".to_vec()),
        ];
        for m in msgs {
            assert_eq!(Message::decode(&m.encode()).unwrap(), m);
        }
    }

    #[test]
    fn ipv4_mapped_addresses_read_as_ipv4() {
        let mut mapped = vec![0u8; 10];
        mapped.extend_from_slice(&[0xff, 0xff, 127, 0, 0, 1]);
        assert_eq!(ip_from_bytes(&mapped).unwrap(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(ip_from_bytes(&[1, 2, 3]), Err(DecodeError::BadAddress(3)));
    }

    #[test]
    fn unknown_fields_are_skipped() {
        let mut w = Writer::with_type(msg_type::NACK_RESP);
        w.map_len(2);
        w.field_str("Future", "field");
        w.field_uint("SeqNo", 5);
        assert_eq!(Message::decode(&w.buf).unwrap(), Message::Nack(Nack { seq_no: 5 }));
    }

    #[test]
    fn oversized_meta_is_rejected() {
        let a = Alive { incarnation: 1, node: "n".into(), addr: addr("127.0.0.1:1"), meta: vec![0; 513], vsn: [0; 6] };
        assert!(matches!(Message::decode(&a.encode()), Err(DecodeError::TooLarge { .. })));
    }

    #[test]
    fn a_ping_without_seq_no_is_an_error() {
        let mut w = Writer::with_type(msg_type::PING);
        w.map_len(1);
        w.field_str("Node", "b");
        assert_eq!(Message::decode(&w.buf), Err(DecodeError::MissingField("SeqNo")));
    }
}
