//! The protocol as a sans-io state machine: SWIM failure detection with the
//! Lifeguard refinements, gossip dissemination and push-pull anti-entropy,
//! with memberlist's semantics so it can talk to memberlist.
//!
//! Nothing here touches a socket, reads a clock or uses global randomness:
//! time comes in as an argument, randomness from a seeded [`Rng`], and every
//! output is pulled ([`Proto::poll_transmit`], [`Proto::poll_stream`],
//! [`Proto::poll_event`], [`Proto::poll_timeout`]). The runtime and the
//! simulator drive the same code; the runtime, which pays for every
//! wake-up, also calls [`Proto::park_idle_gossip`] so it sleeps through
//! gossip ticks that would send nothing.

mod awareness;
mod broadcast_queue;
mod catch_up;
mod config;
mod gossip;
mod keys;
mod kv;
mod machine;
mod members;
mod peer_file;
mod probe;
mod push_pull;
mod rng;
mod seeds;
mod state;
mod suspicion;
mod user;

#[cfg(test)]
mod tests;

pub use broadcast_queue::retransmit_limit;
pub use config::{Config, ConfigError, Experiment, ProbeSelection};
pub use kv::{
    Lifetime, StateChange, StateConfig, StateEntry, StateError, StateSummary, Timestamp, MAX_CLOCK_AHEAD,
    MAX_KEY_BYTES, MAX_TTL, STATE_DELEGATE_VERSION,
};
pub use machine::{
    CommandError, Digest, Event, MessageKind, Proto, ProtoStats, ReplyOutcome, StreamFailure, StreamId, StreamOutcome,
    StreamRequest, Trace, Transmit, PROTOCOL_VERSION_MAX, PROTOCOL_VERSION_MIN,
};
pub use members::{Member, MemberState};
pub use peer_file::{PeerFileError, PeerSnapshot, MAX_PEERS, MAX_PEER_FILE_BYTES};
pub use push_pull::push_pull_scale;
pub use rng::Rng;
pub use seeds::{
    retry_join_delay, with_default_port, JoinStatus, ResolveId, ResolveRequest, Resolved, SeedFailure, DEFAULT_PORT,
};
pub use suspicion::{suspicion_timeout, suspicion_timeout_after};
