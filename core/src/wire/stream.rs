//! Stream (TCP) messages: push-pull, the fallback ping and its ack, reliable
//! user messages and error replies (`net.go`: `sendLocalState`,
//! `rawSendMsgStream`, `readStream`, `readRemoteState`, `readUserMsg`).
//!
//! A stream message has no outer length unless it is encrypted, so a reader
//! learns where it ends by decoding it: [`open`] returns
//! [`DecodeError::Truncated`] until the buffer holds a whole message, and the
//! runtime reads more and tries again.

use super::messages::{Ack, Ping, PushNodeState, PushNodeView, PushPullHeader};
use super::msgpack::{Reader, Writer};
use super::packet::{compress_message, decompress_message, Layers};
use super::security::{self, NONCE_SIZE};
use super::{label, msg_type, DecodeError, MAX_PUSH_STATE_BYTES};

/// A message carried over a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamMessage {
    /// Full state exchange.
    PushPull {
        /// Whether the sender is joining.
        join: bool,
        /// Every member the sender knows.
        nodes: Vec<PushNodeState>,
        /// Opaque user state (memberlist's `LocalState`).
        user_state: Vec<u8>,
    },
    /// Fallback probe.
    Ping(Ping),
    /// Answer to the fallback probe.
    Ack(Ack),
    /// Reliable user message.
    User(Vec<u8>),
    /// The peer could not read what we sent.
    Err(String),
}

impl StreamMessage {
    /// The message without any layer: type byte, then body.
    pub fn encode_plain(&self) -> Vec<u8> {
        match self {
            StreamMessage::PushPull { join, nodes, user_state } => {
                encode_push_pull(*join, nodes.iter().map(PushNodeState::view), user_state)
            }
            StreamMessage::Ping(p) => p.encode(),
            StreamMessage::Ack(a) => a.encode(),
            StreamMessage::User(bytes) => {
                let mut w = Writer::with_type(msg_type::USER);
                w.map_len(1);
                w.field_uint("UserMsgLen", bytes.len() as u64);
                w.buf.extend_from_slice(bytes);
                w.buf
            }
            StreamMessage::Err(text) => {
                let mut w = Writer::with_type(msg_type::ERR);
                w.map_len(1);
                w.field_str("Error", text);
                w.buf
            }
        }
    }
}

/// A push-pull message without any layer, encoded straight from borrowed
/// member states (what [`StreamMessage::encode_plain`] gives for the owned form).
pub fn encode_push_pull<'a>(
    join: bool,
    nodes: impl ExactSizeIterator<Item = PushNodeView<'a>>,
    user_state: &[u8],
) -> Vec<u8> {
    let mut w = Writer::with_type(msg_type::PUSH_PULL);
    PushPullHeader { nodes: nodes.len(), user_state_len: user_state.len(), join }.write(&mut w);
    for n in nodes {
        n.write(&mut w);
    }
    w.buf.extend_from_slice(user_state);
    w.buf
}

/// Wraps a stream message for the wire: compression (always, when enabled,
/// as Go does for streams), encryption with the `[10][len]` header bound as
/// additional data, then the label header.
pub fn seal(layers: &Layers, msg: &StreamMessage, nonce: [u8; NONCE_SIZE]) -> Vec<u8> {
    seal_encoded(layers, msg.encode_plain(), nonce)
}

/// [`seal`] for a message already encoded without layers.
pub fn seal_encoded(layers: &Layers, plain: Vec<u8>, nonce: [u8; NONCE_SIZE]) -> Vec<u8> {
    seal_compressed(layers, compress_for(layers, plain), nonce)
}

/// The first layer of [`seal_encoded`]: compression, when the layers ask
/// for it. Apart, so that a sender can reuse its result.
pub fn compress_for(layers: &Layers, plain: Vec<u8>) -> Vec<u8> {
    if layers.compress {
        compress_message(&plain)
    } else {
        plain
    }
}

/// The rest of [`seal_encoded`], for a body [`compress_for`] made:
/// encryption (with this nonce), then the label.
pub fn seal_compressed(layers: &Layers, mut body: Vec<u8>, nonce: [u8; NONCE_SIZE]) -> Vec<u8> {
    if let (Some(ring), true) = (&layers.keyring, layers.verify_outgoing) {
        let len = (security::ENCRYPT_OVERHEAD + body.len()) as u32;
        let mut header = vec![msg_type::ENCRYPT];
        header.extend_from_slice(&len.to_be_bytes());
        let mut aad = header.clone();
        aad.extend_from_slice(layers.label.as_bytes());
        header.extend_from_slice(&security::encrypt(ring, nonce, &body, &aad));
        body = header;
    }
    label::add(&layers.label, &body)
}

/// Decodes one stream message from the front of `buf`; returns it and the
/// bytes it used. `Truncated` means: read more, then call again.
pub fn open(layers: &Layers, buf: &[u8]) -> Result<(StreamMessage, usize), DecodeError> {
    let body = label::check(&layers.label, buf)?;
    let label_len = buf.len() - body.len();
    let (&ty, rest) = body.split_first().ok_or(DecodeError::Truncated)?;
    if ty == msg_type::ENCRYPT {
        let Some(ring) = &layers.keyring else {
            return Err(DecodeError::EncryptionMismatch("stream is encrypted and no key is configured"));
        };
        if rest.len() < 4 {
            return Err(DecodeError::Truncated);
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len > MAX_PUSH_STATE_BYTES {
            return Err(DecodeError::TooLarge { what: "encrypted stream", len, limit: MAX_PUSH_STATE_BYTES });
        }
        let sealed = rest[4..].get(..len).ok_or(DecodeError::Truncated)?;
        let mut aad = body[..5].to_vec();
        aad.extend_from_slice(layers.label.as_bytes());
        let plain = security::decrypt(ring, sealed, &aad)?;
        let (msg, _) = open_plain(&plain, 0)?;
        return Ok((msg, label_len + 5 + len));
    }
    if layers.keyring.is_some() && layers.verify_incoming {
        return Err(DecodeError::EncryptionMismatch("encryption is configured and the stream is plaintext"));
    }
    let (msg, used) = open_plain(body, 0)?;
    Ok((msg, label_len + used))
}

/// The smallest encoding of a push-pull node state: a map of two entries,
/// `Name` (an empty string) and `Addr` (four bytes), the fields the decoder
/// requires.
const MIN_NODE_STATE_BYTES: usize = 18;

fn open_plain(body: &[u8], depth: u32) -> Result<(StreamMessage, usize), DecodeError> {
    let (&ty, rest) = body.split_first().ok_or(DecodeError::Truncated)?;
    let mut r = Reader::new(rest);
    let msg = match ty {
        msg_type::COMPRESS if depth == 0 => {
            let (inner, used) = decompress_message(rest, MAX_PUSH_STATE_BYTES)?;
            // The inner message must be whole: a truncated one is corrupt,
            // not a reason to read more.
            let (msg, _) = open_plain(&inner, 1).map_err(|e| match e {
                DecodeError::Truncated => DecodeError::Decompress("compressed stream message is incomplete"),
                e => e,
            })?;
            return Ok((msg, 1 + used));
        }
        msg_type::PUSH_PULL => {
            let h = PushPullHeader::read(&mut r)?;
            if h.user_state_len > MAX_PUSH_STATE_BYTES {
                return Err(DecodeError::TooLarge {
                    what: "user state",
                    len: h.user_state_len,
                    limit: MAX_PUSH_STATE_BYTES,
                });
            }
            // A node state takes at least MIN_NODE_STATE_BYTES, so a count
            // whose states could not fit in the limit cannot be honest: it is
            // refused at once, before any allocation sized by it.
            let least = h.nodes.saturating_mul(MIN_NODE_STATE_BYTES).saturating_add(h.user_state_len);
            if least > MAX_PUSH_STATE_BYTES {
                return Err(DecodeError::TooLarge {
                    what: "push-pull node count",
                    len: h.nodes,
                    limit: MAX_PUSH_STATE_BYTES,
                });
            }
            // Nor is a stream decoded again, as it grows, before it can
            // possibly hold what its header announces: a peer trickling a
            // long message would otherwise cost a decode of everything so
            // far at every read.
            if r.remaining().len() < least {
                return Err(DecodeError::Truncated);
            }
            // Capacity for the states the bytes at hand can hold: a
            // `PushNodeState` is several times its smallest encoding.
            let mut nodes = Vec::with_capacity(h.nodes.min(r.remaining().len() / MIN_NODE_STATE_BYTES));
            for _ in 0..h.nodes {
                nodes.push(PushNodeState::read(&mut r)?);
            }
            let user_state = r.take(h.user_state_len)?.to_vec();
            StreamMessage::PushPull { join: h.join, nodes, user_state }
        }
        msg_type::PING => {
            let (p, used) = whole_body(rest, Ping::decode_body)?;
            r.take(used)?;
            StreamMessage::Ping(p)
        }
        msg_type::ACK_RESP => {
            let (a, used) = whole_body(rest, Ack::decode_body)?;
            r.take(used)?;
            StreamMessage::Ack(a)
        }
        msg_type::USER => {
            let n = r.map_len()?;
            let mut len = None;
            for _ in 0..n {
                match r.raw()? {
                    b"UserMsgLen" => len = Some(r.uint()? as usize),
                    _ => r.skip_value()?,
                }
            }
            let len = len.ok_or(DecodeError::MissingField("UserMsgLen"))?;
            if len > MAX_PUSH_STATE_BYTES {
                return Err(DecodeError::TooLarge { what: "user message", len, limit: MAX_PUSH_STATE_BYTES });
            }
            StreamMessage::User(r.take(len)?.to_vec())
        }
        msg_type::ERR => {
            let n = r.map_len()?;
            let mut text = String::new();
            for _ in 0..n {
                match r.raw()? {
                    b"Error" => text = r.string()?,
                    _ => r.skip_value()?,
                }
            }
            StreamMessage::Err(text)
        }
        other => return Err(DecodeError::UnexpectedMessage(other)),
    };
    Ok((msg, 1 + r.position()))
}

/// Ping and ack bodies are single maps; measure the map first so the body
/// decoder sees exactly its bytes and trailing stream bytes are left alone.
fn whole_body<T>(rest: &[u8], decode: fn(&[u8]) -> Result<T, DecodeError>) -> Result<(T, usize), DecodeError> {
    let mut probe = Reader::new(rest);
    probe.skip_value()?;
    let used = probe.position();
    Ok((decode(&rest[..used])?, used))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::messages::NodeStateKind;
    use crate::wire::Keyring;

    fn push_pull() -> StreamMessage {
        StreamMessage::PushPull {
            join: true,
            nodes: (0..20)
                .map(|i| PushNodeState {
                    name: format!("node-{i}"),
                    addr: format!("127.0.0.{}:7946", i + 1).parse().unwrap(),
                    meta: if i % 2 == 0 { vec![] } else { b"role=web".to_vec() },
                    incarnation: i,
                    state: NodeStateKind::Alive,
                    vsn: [1, 5, 2, 0, 0, 0],
                })
                .collect(),
            user_state: b"user-state".to_vec(),
        }
    }

    fn all_messages() -> Vec<StreamMessage> {
        vec![
            push_pull(),
            StreamMessage::Ping(Ping { seq_no: 3, node: "b".into(), source: None, source_node: "a".into() }),
            StreamMessage::Ack(Ack { seq_no: 3, payload: vec![] }),
            StreamMessage::User(b"reliable".to_vec()),
            StreamMessage::Err("bad".into()),
        ]
    }

    #[test]
    fn every_stream_message_round_trips_through_every_layer() {
        for keyed in [false, true] {
            for compress in [false, true] {
                for label in ["", "green"] {
                    let layers = Layers {
                        label: label.into(),
                        keyring: keyed.then(|| Keyring::new(&[1; 32], &[]).unwrap()),
                        compress,
                        verify_incoming: true,
                        verify_outgoing: true,
                    };
                    for m in all_messages() {
                        let mut wire = seal(&layers, &m, [4; 12]);
                        let whole = wire.len();
                        wire.extend_from_slice(b"trailing");
                        assert_eq!(open(&layers, &wire).unwrap(), (m, whole));
                    }
                }
            }
        }
    }

    #[test]
    fn every_prefix_of_a_stream_message_asks_for_more() {
        let layers = Layers::default();
        let wire = seal(&layers, &push_pull(), [0; 12]);
        for cut in 0..wire.len() {
            assert_eq!(open(&layers, &wire[..cut]), Err(DecodeError::Truncated), "cut at {cut}");
        }
    }

    #[test]
    fn encrypted_and_plain_peers_refuse_each_other() {
        let keyed = Layers {
            keyring: Some(Keyring::new(&[1; 16], &[]).unwrap()),
            verify_incoming: true,
            verify_outgoing: true,
            ..Layers::default()
        };
        let plain = Layers::default();
        let from_plain = seal(&plain, &push_pull(), [0; 12]);
        let from_keyed = seal(&keyed, &push_pull(), [0; 12]);
        assert!(matches!(open(&keyed, &from_plain), Err(DecodeError::EncryptionMismatch(_))));
        assert!(matches!(open(&plain, &from_keyed), Err(DecodeError::EncryptionMismatch(_))));
    }

    #[test]
    fn a_huge_declared_node_count_is_refused_cheaply() {
        let mut w = Writer::with_type(msg_type::PUSH_PULL);
        PushPullHeader { nodes: usize::MAX >> 1, user_state_len: 0, join: false }.write(&mut w);
        assert!(open(&Layers::default(), &w.buf).is_err());
    }

    #[test]
    fn a_count_whose_states_could_not_fit_is_refused_and_a_short_stream_waits_undecoded() {
        // 20 million states of at least 18 bytes cannot fit in 20 MiB.
        let mut w = Writer::with_type(msg_type::PUSH_PULL);
        PushPullHeader { nodes: 20_000_000, user_state_len: 0, join: false }.write(&mut w);
        assert!(matches!(open(&Layers::default(), &w.buf), Err(DecodeError::TooLarge { .. })));
        // A count that fits, with fewer bytes than its smallest states take:
        // more is needed, whatever the bytes are.
        let mut w = Writer::with_type(msg_type::PUSH_PULL);
        PushPullHeader { nodes: 1_000, user_state_len: 0, join: false }.write(&mut w);
        let mut buf = w.buf;
        buf.extend_from_slice(&[0xff; 17_000]);
        assert!(matches!(open(&Layers::default(), &buf), Err(DecodeError::Truncated)));
        // A whole message still opens.
        let whole = seal(&Layers::default(), &push_pull(), [0; 12]);
        assert_eq!(open(&Layers::default(), &whole).map(|(m, _)| m), Ok(push_pull()));
    }
}
