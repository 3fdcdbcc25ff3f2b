//! What kind of message a packet or stream carries, read from its type
//! bytes alone (no MessagePack decoding), so counting traffic by kind stays
//! cheap enough to leave on for ten thousand nodes.

use crate::wire::{compound, msg_type};

/// The kinds of message the simulator counts traffic by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum MessageType {
    /// A direct probe.
    Ping,
    /// A probe through a helper (ping-req).
    IndirectPing,
    /// An answer to a probe (ack or nack).
    Ack,
    /// Gossip: a member is suspected.
    Suspect,
    /// Gossip: a member is alive (joins, refutations, metadata).
    Alive,
    /// Gossip: a member is dead or left.
    Dead,
    /// A full state exchange over a stream.
    PushPull,
    /// A user message (broadcast, direct, or plain memberlist).
    User,
    /// A write to the replicated map, or a step of its anti-entropy.
    State,
    /// Anything else: encrypted bodies the simulator cannot read, errors.
    Other,
}

impl MessageType {
    /// How many kinds there are.
    pub const COUNT: usize = 10;

    /// Every kind, in order.
    pub const ALL: [MessageType; Self::COUNT] = [
        MessageType::Ping,
        MessageType::IndirectPing,
        MessageType::Ack,
        MessageType::Suspect,
        MessageType::Alive,
        MessageType::Dead,
        MessageType::PushPull,
        MessageType::User,
        MessageType::State,
        MessageType::Other,
    ];

    /// Its name in lower case, as the Python binding spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Ping => "ping",
            MessageType::IndirectPing => "indirect",
            MessageType::Ack => "ack",
            MessageType::Suspect => "suspect",
            MessageType::Alive => "alive",
            MessageType::Dead => "dead",
            MessageType::PushPull => "push_pull",
            MessageType::User => "user",
            MessageType::State => "state",
            MessageType::Other => "other",
        }
    }
}

/// rumour's user-message envelope (see `proto::user`): kinds 3 and 4 belong
/// to the replicated map.
const ENVELOPE: &[u8; 4] = b"RMR\x01";

fn of_message(body: &[u8]) -> MessageType {
    match body.first().copied() {
        Some(msg_type::PING) => MessageType::Ping,
        Some(msg_type::INDIRECT_PING) => MessageType::IndirectPing,
        Some(msg_type::ACK_RESP | msg_type::NACK_RESP) => MessageType::Ack,
        Some(msg_type::SUSPECT) => MessageType::Suspect,
        Some(msg_type::ALIVE) => MessageType::Alive,
        Some(msg_type::DEAD) => MessageType::Dead,
        Some(msg_type::PUSH_PULL) => MessageType::PushPull,
        Some(msg_type::USER) => match body[1..].strip_prefix(ENVELOPE).and_then(|r| r.first()) {
            Some(3 | 4) => MessageType::State,
            _ => MessageType::User,
        },
        _ => MessageType::Other,
    }
}

/// Splits a packet or stream into `(kind, bytes)` parts, calling `each` for
/// every message in it. The bytes of the framing (label, checksum, compound
/// and compression headers) go to the first message: the packet exists
/// because of it, the rest rides along.
pub(crate) fn classify(payload: &[u8], mut each: impl FnMut(MessageType, usize)) {
    let mut body = payload;
    if body.first() == Some(&msg_type::HAS_LABEL) && body.len() >= 2 {
        body = body.get(2 + body[1] as usize..).unwrap_or(&[]);
    }
    if body.first() == Some(&msg_type::HAS_CRC) && body.len() >= 5 {
        body = &body[5..];
    }
    let overhead = payload.len() - body.len();
    let mut first = true;
    walk(body, 0, &mut |kind, bytes| {
        let extra = if std::mem::take(&mut first) { overhead } else { 0 };
        each(kind, bytes + extra);
    });
    if first {
        each(MessageType::Other, payload.len());
    }
}

fn walk(body: &[u8], depth: u32, each: &mut dyn FnMut(MessageType, usize)) {
    match body.first().copied() {
        Some(msg_type::COMPOUND) if depth < 4 => match compound::decode(&body[1..]) {
            Ok((parts, _)) => {
                let framing = body.len() - parts.iter().map(|p| p.len()).sum::<usize>();
                for (i, part) in parts.iter().enumerate() {
                    let mut extra = if i == 0 { framing } else { 0 };
                    walk(part, depth + 1, &mut |k, b| each(k, b + std::mem::take(&mut extra)));
                }
            }
            Err(_) => each(MessageType::Other, body.len()),
        },
        // Compressed: the kinds inside, the compressed bytes shared out in
        // proportion to what each part was before compression.
        Some(msg_type::COMPRESS) if depth < 4 => {
            match crate::wire::packet::decompress_message(&body[1..], 1 << 24).ok().map(|(inner, _)| inner) {
                Some(inner) => {
                    let mut parts = Vec::new();
                    walk(&inner, depth + 1, &mut |k, b| parts.push((k, b)));
                    let total: usize = parts.iter().map(|p| p.1).sum::<usize>().max(1);
                    let mut left = body.len();
                    let n = parts.len();
                    for (i, (k, b)) in parts.into_iter().enumerate() {
                        let share = if i + 1 == n { left } else { body.len() * b / total };
                        left -= share.min(left);
                        each(k, share);
                    }
                }
                None => each(MessageType::Other, body.len()),
            }
        }
        _ => each(of_message(body), body.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(payload: &[u8]) -> Vec<(MessageType, usize)> {
        let mut v = Vec::new();
        classify(payload, |k, b| v.push((k, b)));
        v
    }

    #[test]
    fn compound_packets_are_split_and_add_up() {
        let ping = vec![msg_type::PING, 1, 2, 3];
        let mut user = vec![msg_type::USER];
        user.extend_from_slice(b"RMR\x01\x03rest");
        let alive = vec![msg_type::ALIVE; 10];
        let packet = compound::encode(&[ping, user, alive]);
        let got = parts(&packet);
        assert_eq!(
            got.iter().map(|p| p.0).collect::<Vec<_>>(),
            [MessageType::Ping, MessageType::State, MessageType::Alive]
        );
        assert_eq!(got.iter().map(|p| p.1).sum::<usize>(), packet.len());
        assert_eq!(got[2].1, 10);
    }

    #[test]
    fn garbage_is_other_and_counted_whole() {
        assert_eq!(parts(&[200, 1, 2]), vec![(MessageType::Other, 3)]);
        assert_eq!(parts(&[]), vec![(MessageType::Other, 0)]);
        assert_eq!(parts(&[msg_type::COMPOUND, 9]), vec![(MessageType::Other, 2)]);
    }
}
