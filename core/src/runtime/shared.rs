//! Many nodes on one runtime: for tests, sidecars and experiments that run
//! hundreds of nodes on real sockets in one process.
//!
//! By default a node owns its runtime thread, so a service's node never
//! waits behind anything else. Five hundred such nodes are five hundred
//! threads, each woken for its own timers and packets. A [`SharedRuntime`]
//! runs the protocol tasks of every node started through it on a few
//! worker threads instead, so their timers share one wheel and their
//! wake-ups share those threads. Each node still has its own sockets,
//! protocol state and event dispatch thread, and behaves the same way.

use std::sync::Arc;

use super::dispatch::Callback;
use super::error::StartError;
use super::node::Node;
use crate::proto::{Config, Event};

/// A tokio runtime lent to many nodes ([`SharedRuntime::start`]). Cloning
/// it is cheap and shares the same threads; the threads stop once the
/// runtime and every node started on it are dropped.
///
/// Never call a node's blocking methods (such as [`Node::shutdown`]) from a
/// task running on this runtime: with one worker thread, that thread would
/// wait for itself.
///
/// ```
/// use rumour::{Config, SharedRuntime};
///
/// let shared = SharedRuntime::new(1)?;
/// let config = |name: &str| Config { name: name.into(), bind: "127.0.0.1:0".into(), ..Config::local() };
/// let a = shared.start(config("a"))?;
/// let b = shared.start(config("b"))?;
/// assert_eq!(b.join(&[a.addr().to_string()])?, 1);
/// b.shutdown();
/// a.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct SharedRuntime {
    pool: Arc<SharedPool>,
}

/// The runtime itself, shut down without blocking when the last holder
/// drops it (which may happen inside another runtime's task, where a
/// blocking shutdown would panic).
#[derive(Debug)]
pub(super) struct SharedPool {
    runtime: Option<tokio::runtime::Runtime>,
}

impl SharedPool {
    pub(super) fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime.as_ref().expect("present until dropped").handle()
    }
}

impl Drop for SharedPool {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl SharedRuntime {
    /// A runtime with `threads` worker threads (at least 1; one or two
    /// carry hundreds of idle nodes).
    pub fn new(threads: usize) -> Result<SharedRuntime, StartError> {
        if threads == 0 {
            return Err(StartError::Runtime(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a shared runtime needs at least one thread (threads = 0)",
            )));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("rumour-shared")
            .enable_all()
            .build()
            .map_err(StartError::Runtime)?;
        Ok(SharedRuntime { pool: Arc::new(SharedPool { runtime: Some(runtime) }) })
    }

    /// [`Node::start`], with the node's protocol task on this runtime.
    pub fn start(&self, config: Config) -> Result<Node, StartError> {
        Node::start_on(config, None, Some(&self.pool))
    }

    /// [`Node::start_with_callback`], with the node's protocol task on this runtime.
    pub fn start_with_callback(
        &self,
        config: Config,
        callback: impl FnMut(&Event) + Send + 'static,
    ) -> Result<Node, StartError> {
        Node::start_on(config, Some(Callback::Each(Box::new(callback))), Some(&self.pool))
    }

    /// [`Node::start_with_batch_callback`], with the node's protocol task on
    /// this runtime.
    pub fn start_with_batch_callback(
        &self,
        config: Config,
        callback: impl FnMut(&[Event]) + Send + 'static,
    ) -> Result<Node, StartError> {
        Node::start_on(config, Some(Callback::Batch(Box::new(callback))), Some(&self.pool))
    }
}
