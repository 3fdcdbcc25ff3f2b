//! Real nodes: [`crate::proto`] on UDP and TCP sockets, driven by a tokio
//! runtime the node owns (one thread per node, started by [`Node::start`],
//! stopped by [`Node::shutdown`]), or by one a [`SharedRuntime`] lends to
//! many nodes, with events delivered on one dispatch thread or as an async
//! [`EventStream`].
//!
//! The node creates its threads when it starts, so it works in a process
//! that forked earlier, and it never touches the caller's tokio runtime, so
//! it works from inside one.

mod admission;
mod block;
mod dispatch;
mod driver;
mod error;
mod node;
mod peers_file;
mod shared;
mod state;
mod streams;

pub use dispatch::EventStream;
pub use error::{JoinError, NodeError, SeedFailure, StartError};
pub use node::{Node, NodeStats};
pub use shared::SharedRuntime;
pub use state::State;
