//! The simulator's event log: every membership change at every observer,
//! every change to every replica of the map, and every message with its
//! kind, size and fate. Each part is switched on by [`Recording`], since a
//! log of every message at ten thousand nodes is large.

use std::time::Duration;

use super::traffic::MessageType;

/// What the simulator writes to its log (all off by default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recording {
    /// Every membership change each node saw ([`MembershipRecord`]).
    pub membership: bool,
    /// Every change to each node's replica of the map ([`StateRecord`]).
    pub state: bool,
    /// Every message sent ([`MessageRecord`]); implies `traffic`.
    pub messages: bool,
    /// Messages and bytes sent per node and [`MessageType`], without a
    /// record per message ([`super::Metrics::traffic_by_type`]).
    pub traffic: bool,
}

/// A membership change as one node saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRecord {
    /// When, since the start.
    pub at: Duration,
    /// The node that saw it.
    pub observer: u32,
    /// The member it is about (its index; `u32::MAX` for a name that is not
    /// a simulated node).
    pub subject: u32,
    /// `joined`, `updated`, `suspect`, `recovered`, `failed` or `left`.
    pub change: &'static str,
    /// The member's incarnation in that view.
    pub incarnation: u32,
}

/// A change to one node's replica of the replicated map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRecord {
    /// When, since the start.
    pub at: Duration,
    /// The node whose replica changed.
    pub observer: u32,
    /// The key.
    pub key: String,
    /// Whether the key was deleted (or expired) rather than written.
    pub deleted: bool,
    /// The node whose write it is (`u32::MAX`: not a simulated node).
    pub writer: u32,
}

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// It arrived.
    Delivered,
    /// Lost on the way: packet loss, or a full egress queue.
    Lost,
    /// It could not go: a partition, a one-way cut, a muted sender, or a
    /// stream to a node that is down.
    Unreachable,
}

impl Fate {
    /// Its name in lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Fate::Delivered => "delivered",
            Fate::Lost => "lost",
            Fate::Unreachable => "unreachable",
        }
    }
}

/// One message: a packet carries several (a probe with gossip riding
/// along), each recorded on its own with its share of the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// When it was sent, since the start.
    pub at: Duration,
    /// The sender.
    pub from: u32,
    /// The addressee (`u32::MAX`: an address that is no simulated node).
    pub to: u32,
    /// What kind of message.
    pub kind: MessageType,
    /// Its bytes on the wire.
    pub bytes: u32,
    /// Whether it went over a stream (TCP) rather than a packet.
    pub stream: bool,
    /// What became of it.
    pub fate: Fate,
    /// The time on the network when delivered (zero otherwise).
    pub latency: Duration,
}

/// Everything logged, with the per-node traffic counters.
#[derive(Debug, Clone, Default)]
pub(crate) struct Log {
    pub(crate) recording: Recording,
    pub(crate) membership: Vec<MembershipRecord>,
    pub(crate) state: Vec<StateRecord>,
    pub(crate) messages: Vec<MessageRecord>,
    /// `(messages, bytes)` sent per node and kind.
    pub(crate) traffic: Vec<[(u64, u64); MessageType::COUNT]>,
}

impl Log {
    pub(crate) fn new(recording: Recording, nodes: usize) -> Self {
        let counting = recording.traffic || recording.messages;
        Log {
            recording,
            traffic: if counting { vec![Default::default(); nodes] } else { Vec::new() },
            ..Log::default()
        }
    }

    /// Whether anything per message is wanted (so classification can be skipped).
    pub(crate) fn wants_messages(&self) -> bool {
        self.recording.messages || self.recording.traffic
    }
}
