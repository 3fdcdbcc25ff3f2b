//! The replicated map of a running node (see [`crate::proto`]'s `kv`
//! module documentation for the semantics).

use std::time::{Duration, Instant};

use super::dispatch::EventStream;
use super::error::NodeError;
use super::node::Node;
use crate::proto::{Lifetime, StateEntry, StateSummary, Timestamp};

/// The cluster-wide key-value map as this node holds it: every node has a
/// replica, writes spread at once, and anti-entropy repairs what gossip
/// missed. Get it with [`Node::state`].
///
/// Any node may write any key; the write with the highest (timestamp,
/// writer) wins everywhere. A write leaves this node at its next gossip
/// round (within one `gossip_interval`); [`Node::shutdown`] without
/// [`Node::leave`] before then takes it along, as a crash would. Keys are UTF-8, 1 to 256 bytes; values up to
/// `config.state.max_value_bytes` (64 KiB by default).
///
/// ```
/// use std::time::Duration;
/// use rumour::{Config, Event, Node};
///
/// let config = |name: &str| Config { name: name.into(), bind: "127.0.0.1:0".into(), ..Config::local() };
/// let a = Node::start(config("a"))?;
/// let b = Node::start(config("b"))?;
/// b.join(&[a.addr().to_string()])?;
/// let mut watch = b.state().watch("service/");
/// a.state().put("service/web", b"10.0.0.7:8080")?;
/// match watch.next_blocking(Duration::from_secs(10)) {
///     Some(Event::StateChanged(change)) => assert_eq!(change.value.as_deref(), Some(&b"10.0.0.7:8080"[..])),
///     other => panic!("expected the write, got {other:?}"),
/// }
/// assert_eq!(b.state().get("service/web")?.map(|e| e.writer), Some("a".to_string()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct State<'a> {
    pub(super) node: &'a Node,
}

impl State<'_> {
    /// Writes `key = value` until someone deletes it. Returns the write's
    /// timestamp.
    pub fn put(&self, key: &str, value: &[u8]) -> Result<Timestamp, NodeError> {
        self.write(key, value, Lifetime::UntilDeleted)
    }

    /// Writes `key = value` for as long as this node is a member: when it
    /// leaves or is declared failed, every node deletes the key (service
    /// registration).
    pub fn put_ephemeral(&self, key: &str, value: &[u8]) -> Result<Timestamp, NodeError> {
        self.write(key, value, Lifetime::Ephemeral)
    }

    /// Writes `key = value` for `ttl`; then every node deletes it.
    pub fn put_with_ttl(&self, key: &str, value: &[u8], ttl: Duration) -> Result<Timestamp, NodeError> {
        self.write(key, value, Lifetime::Ttl(ttl))
    }

    fn write(&self, key: &str, value: &[u8], lifetime: Lifetime) -> Result<Timestamp, NodeError> {
        let (key, value) = (key.to_string(), value.to_vec());
        self.node.call(move |d| d.proto.state_put(&key, &value, lifetime, Instant::now()))?.map_err(NodeError::from)
    }

    /// Deletes `key`. Returns the delete's timestamp, or `None` when the
    /// key held no value (nothing is written then).
    pub fn delete(&self, key: &str) -> Result<Option<Timestamp>, NodeError> {
        let key = key.to_string();
        self.node.call(move |d| d.proto.state_delete(&key, Instant::now()))?.map_err(NodeError::from)
    }

    /// The value of `key` in this node's replica, if it has one.
    pub fn get(&self, key: &str) -> Result<Option<StateEntry>, NodeError> {
        let key = key.to_string();
        self.node.call(move |d| d.proto.state_get(&key))
    }

    /// Every live entry whose key starts with `prefix` ("" for all), in
    /// key order.
    pub fn entries(&self, prefix: &str) -> Result<Vec<StateEntry>, NodeError> {
        let prefix = prefix.to_string();
        self.node.call(move |d| d.proto.state_entries(&prefix))
    }

    /// Size, Merkle root and horizon of this node's replica (two nodes
    /// with equal roots hold the same map).
    pub fn summary(&self) -> Result<StateSummary, NodeError> {
        self.node.call(|d| d.proto.state_summary())
    }

    /// The changes from now on to keys starting with `prefix`, as
    /// [`crate::Event::StateChanged`] events (and [`crate::Event::EventsLost`]
    /// if the stream is not read fast enough). "Now" as in
    /// [`crate::Node::events`]: changes produced just before the call and
    /// not yet handed out may come too.
    pub fn watch(&self, prefix: &str) -> EventStream {
        self.node.subscribers.subscribe(Some(prefix.to_string()))
    }
}
