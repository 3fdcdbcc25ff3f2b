//! rumour: gossip membership with SWIM and the Lifeguard refinements,
//! speaking the HashiCorp memberlist wire protocol.
//!
//! - [`wire`]: the memberlist wire format (messages, compound, CRC, label,
//!   LZW compression, AES-GCM encryption).
//! - [`proto`]: the protocol as a sans-io state machine: no sockets, no clock,
//!   no global randomness.
//! - [`runtime`]: real nodes ([`Node`]) on UDP and TCP, each with its own
//!   tokio runtime thread and an event dispatch thread.
//! - [`metrics`]: the node's metrics under memberlist's names, for the
//!   `metrics` facade and the Prometheus text format.
//! - [`sim`]: a deterministic simulator running many [`proto`] instances on a
//!   virtual clock and a modelled network.

#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub)]

pub mod metrics;
pub mod proto;
pub mod runtime;
pub mod sim;
pub mod wire;

pub use proto::{
    Config, ConfigError, Digest, Event, JoinStatus, Lifetime, Member, MemberState, SeedFailure, StateChange,
    StateConfig, StateEntry, StateError, Timestamp,
};
pub use runtime::{JoinError, Node, NodeError, NodeStats, SharedRuntime, StartError, State};

/// The README's Rust examples, compiled (and the runnable ones run) as
/// doctests, so the front page cannot drift from the API.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
