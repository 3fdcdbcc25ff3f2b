//! What can go wrong at run time, one enum per call family. Every variant
//! says what was wrong and whether anything changed.

use std::net::SocketAddr;

use crate::proto::{CommandError, ConfigError, StateError};
use crate::wire::KeyringError;

/// [`super::Node::start`] failed; nothing is running and nothing is bound.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A config field cannot work; the field is named.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `bind` or `advertise` does not resolve to an address.
    #[error("config field `{field}`: cannot resolve {value:?}: {reason}")]
    Resolve {
        /// `bind` or `advertise`.
        field: &'static str,
        /// The value given.
        value: String,
        /// Why resolution failed.
        reason: String,
    },
    /// The UDP socket or TCP listener could not be bound (port in use, no
    /// permission, address not local).
    #[error("cannot bind {addr} ({what}): {source}")]
    Bind {
        /// The address tried.
        addr: SocketAddr,
        /// "udp" or "tcp".
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The runtime thread could not be created.
    #[error("cannot start the runtime thread: {0}")]
    Runtime(std::io::Error),
}

/// [`super::Node::join`] reached none of the seeds, or
/// [`super::Node::joined`] did not see the node join. The node keeps
/// running (and, with configured seeds, keeps trying); joining again later
/// is fine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// No seed was given.
    #[error("no seeds given")]
    NoSeeds,
    /// Every seed failed; each is listed with its reason.
    #[error("no seed answered: {}", SeedFailure::list(.0))]
    NoneAnswered(Vec<SeedFailure>),
    /// [`super::Node::joined`]: the node had not joined within this long.
    /// It keeps trying its seeds.
    #[error("not joined within {0:?}: no seed or peer has answered yet")]
    Timeout(std::time::Duration),
    /// [`super::Node::joined`]: `retry_join_max_attempts` attempts failed;
    /// the last one's failures are listed. Gossip to seeds goes on, so the
    /// node still joins if a seed comes up.
    #[error("gave up joining after {attempts} attempts; last: {}", SeedFailure::list(failures))]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// Why each address of the last attempt failed.
        failures: Vec<SeedFailure>,
    },
    /// The node is shut down.
    #[error("the node is shut down")]
    Shutdown,
}

pub use crate::proto::SeedFailure;

/// A call on a running [`super::Node`] was refused; the node is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The protocol refused the command (too large, unknown member, left).
    #[error(transparent)]
    Command(#[from] CommandError),
    /// A keyring change was refused.
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// A write to the replicated map was refused (bad key, too large, map full).
    #[error(transparent)]
    State(#[from] StateError),
    /// `leave` did not finish spreading the news in time; the node has left
    /// anyway, and peers that missed it will learn it from others or fail it.
    #[error("leave was not confirmed within {0:?}")]
    LeaveTimeout(std::time::Duration),
    /// The node is shut down.
    #[error("the node is shut down")]
    Shutdown,
}
