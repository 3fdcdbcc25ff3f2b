//! rumour's envelope for user messages, carried inside memberlist's user
//! message (type 8) so Go peers pass it along as opaque bytes.
//!
//! `"RMR" 1 | kind | origin length u16 BE | origin | [seq u64 BE] | payload`;
//! kind 1 is a broadcast (with a sequence number, so receivers drop
//! duplicates and relay it once), kind 2 a direct message, kind 3 a write to
//! the replicated map, kind 4 a step of its anti-entropy (see `kv`). Bytes
//! without the prefix are a plain memberlist user message and are delivered
//! as they are.

use std::collections::{HashSet, VecDeque};

const MAGIC: &[u8; 4] = b"RMR\x01";
const KIND_BROADCAST: u8 = 1;
const KIND_DIRECT: u8 = 2;
const KIND_STATE: u8 = 3;
const KIND_SYNC: u8 = 4;
/// How many broadcast ids a node remembers to drop duplicates. A rumour
/// lives for a few seconds of gossip; this covers far more than that at any
/// plausible broadcast rate.
const SEEN_CAPACITY: usize = 65_536;

/// A decoded envelope.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Envelope<'a> {
    Broadcast {
        origin: String,
        seq: u64,
        payload: &'a [u8],
    },
    Direct {
        origin: String,
        payload: &'a [u8],
    },
    /// A write to the replicated map (one encoded entry).
    State {
        payload: &'a [u8],
    },
    /// A step of the map's anti-entropy.
    Sync {
        payload: &'a [u8],
    },
}

/// Bytes the envelope adds around a broadcast payload, type byte included.
pub(crate) fn envelope_overhead(origin: &str) -> usize {
    1 + MAGIC.len() + 1 + 2 + origin.len() + 8
}

fn header(kind: u8, origin: &str) -> Vec<u8> {
    let mut out = vec![crate::wire::msg_type::USER];
    out.extend_from_slice(MAGIC);
    out.push(kind);
    out.extend_from_slice(&(origin.len() as u16).to_be_bytes());
    out.extend_from_slice(origin.as_bytes());
    out
}

/// A broadcast as a complete user message (type byte included).
pub(crate) fn encode_broadcast(origin: &str, seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = header(KIND_BROADCAST, origin);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A direct message as a complete user message (type byte included).
pub(crate) fn encode_direct(origin: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = header(KIND_DIRECT, origin);
    out.extend_from_slice(payload);
    out
}

/// A replicated-map message (`sync` picks the kind) as a complete user
/// message (type byte included).
pub(crate) fn encode_state(origin: &str, sync: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = header(if sync { KIND_SYNC } else { KIND_STATE }, origin);
    out.extend_from_slice(payload);
    out
}

/// A plain memberlist user message (type byte included), for
/// `raw_user_messages`.
pub(crate) fn encode_raw(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + payload.len());
    out.push(crate::wire::msg_type::USER);
    out.extend_from_slice(payload);
    out
}

/// Reads an envelope from a user message body; `None` for foreign bytes.
pub(crate) fn decode(body: &[u8]) -> Option<Envelope<'_>> {
    let rest = body.strip_prefix(MAGIC)?;
    let (&kind, rest) = rest.split_first()?;
    let len = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]) as usize;
    let origin = std::str::from_utf8(rest.get(2..2 + len)?).ok()?.to_string();
    let rest = &rest[2 + len..];
    match kind {
        KIND_BROADCAST => {
            let seq = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
            Some(Envelope::Broadcast { origin, seq, payload: &rest[8..] })
        }
        KIND_DIRECT => Some(Envelope::Direct { origin, payload: rest }),
        KIND_STATE => Some(Envelope::State { payload: rest }),
        KIND_SYNC => Some(Envelope::Sync { payload: rest }),
        _ => None,
    }
}

/// Broadcast ids already delivered, oldest forgotten first.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    set: HashSet<(String, u64)>,
    order: VecDeque<(String, u64)>,
}

impl Seen {
    /// Records an id; false when it was already there.
    pub(crate) fn insert(&mut self, origin: &str, seq: u64) -> bool {
        let key = (origin.to_string(), seq);
        if !self.set.insert(key.clone()) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > SEEN_CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_and_foreign_bytes_pass_through() {
        let b = encode_broadcast("node-a", 42, b"payload");
        assert_eq!(b.len(), envelope_overhead("node-a") + 7);
        assert_eq!(
            decode(&b[1..]),
            Some(Envelope::Broadcast { origin: "node-a".into(), seq: 42, payload: b"payload" })
        );
        let d = encode_direct("node-b", b"hi");
        assert_eq!(decode(&d[1..]), Some(Envelope::Direct { origin: "node-b".into(), payload: b"hi" }));
        assert_eq!(decode(b"plain go bytes"), None);
        assert_eq!(decode(b"RMR\x01\x01\x00\x09abc"), None, "truncated origin");
    }

    #[test]
    fn seen_drops_duplicates_and_stays_bounded() {
        let mut s = Seen::default();
        assert!(s.insert("a", 1));
        assert!(!s.insert("a", 1));
        for i in 0..(SEEN_CAPACITY as u64 + 10) {
            s.insert("b", i);
        }
        assert!(s.set.len() <= SEEN_CAPACITY);
        assert!(s.insert("a", 1), "the oldest ids are forgotten");
    }
}
