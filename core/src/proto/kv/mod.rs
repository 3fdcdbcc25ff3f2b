//! The replicated key-value map ("state"): every node holds a replica,
//! each write spreads at once as a rumour, and anti-entropy on push-pull
//! repairs whatever the rumours missed.
//!
//! - **Conflicts**: last writer wins on (hybrid logical clock timestamp,
//!   writer name), so replicas that have seen the same writes hold the same
//!   values whatever order the writes came in. At an exact tie (the same
//!   write, seen live by one node and expired or reaped by another) the
//!   tombstone wins.
//! - **Deletes** are tombstones, kept for `tombstone_grace`, then collected.
//!   The newest collected tombstone's timestamp is this replica's
//!   *horizon*: an entry a peer lacks that is older than the peer's horizon
//!   may be a key the peer deleted and forgot, so it is dropped rather than
//!   pushed back. That is how a node away longer than the grace period
//!   resynchronises instead of resurrecting deleted keys.
//! - **Ephemeral** keys belong to their writer: when it leaves or is
//!   declared failed, every node deletes them (a "reaped" tombstone). An
//!   owner still alive that sees its key reaped writes it again.
//! - **TTL** keys carry their expiry; each node turns them into tombstones
//!   when its clock passes it.
//!
//! Only nodes that advertise rumour's delegate protocol (see
//! [`STATE_DELEGATE_VERSION`]) are sent state, so Go memberlist peers in
//! the cluster never see these bytes.

pub(crate) mod codec;
#[cfg(test)]
mod hostile_tests;
pub(crate) mod sync;
pub(crate) mod tree;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use codec::Summary;
use tree::{Tree, FANOUT, LEAF_LEVEL};

/// The delegate protocol maximum a rumour node advertises in its version
/// vector (memberlist's `DelegateProtocolMax`; the current version stays 0,
/// so Go peers' version checks pass). Peers advertising it are sent state.
pub const STATE_DELEGATE_VERSION: u8 = 1;

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 256;

/// Longest TTL: ten years. Expiry times from peers beyond their write by
/// more than this are refused, so a forged one cannot pin a tombstone forever.
pub const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// How far ahead of this node's wall clock a peer's timestamp may be. A
/// write from further in the future is refused (and counted): accepting it
/// would drag every node's clock forward and make the key impossible to
/// overwrite until that time.
pub const MAX_CLOCK_AHEAD: Duration = Duration::from_secs(600);

/// A hybrid logical clock reading: milliseconds since the Unix epoch in the
/// high 48 bits, a counter in the low 16 that orders writes within one
/// millisecond and keeps a node's clock ahead of every timestamp it has
/// seen, so a write always wins over what its writer had already seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The wall-clock part: milliseconds since the Unix epoch.
    pub fn unix_ms(self) -> u64 {
        self.0 >> 16
    }

    /// The logical counter within that millisecond.
    pub fn counter(self) -> u16 {
        self.0 as u16
    }
}

/// Bounds and timing of the replicated map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateConfig {
    /// Largest value, in bytes. Default 64 KiB.
    pub max_value_bytes: usize,
    /// Most entries, tombstones included. Default 1,000,000.
    pub max_entries: usize,
    /// Most bytes of keys, values and writer names together. Default 256 MiB.
    pub max_bytes: usize,
    /// How long a tombstone is kept before it is collected. A node away
    /// for longer resynchronises from its peers, losing the writes it made
    /// while away that are older than what they have collected. Keep it
    /// far above the time anti-entropy needs to reach every node. Default
    /// one hour.
    pub tombstone_grace: Duration,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            max_value_bytes: 64 * 1024,
            max_entries: 1_000_000,
            max_bytes: 256 * 1024 * 1024,
            tombstone_grace: Duration::from_secs(3600),
        }
    }
}

/// How long a written key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lifetime {
    /// Until someone deletes it.
    #[default]
    UntilDeleted,
    /// Until deleted, or until the writer leaves or is declared failed.
    Ephemeral,
    /// Until deleted, or until this long after the write.
    Ttl(Duration),
}

/// One live key of the map, as [`crate::proto::Proto::state_get`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateEntry {
    /// The key.
    pub key: String,
    /// Its value.
    pub value: Vec<u8>,
    /// Name of the node that wrote it.
    pub writer: String,
    /// When it was written.
    pub timestamp: Timestamp,
    /// Whether it disappears when its writer leaves or fails.
    pub ephemeral: bool,
    /// When it expires (milliseconds since the Unix epoch), for TTL keys.
    pub expires_unix_ms: Option<u64>,
}

/// A key changed in this node's replica: written (locally or by a peer),
/// deleted, expired, or reaped with its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// The key.
    pub key: String,
    /// The new value; `None` when the key was deleted.
    pub value: Option<Vec<u8>>,
    /// The node whose write this is (for a reaped ephemeral key, the node
    /// that reaped it).
    pub writer: String,
    /// The write's timestamp.
    pub timestamp: Timestamp,
}

/// Why a write was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The key is empty.
    #[error("key is empty")]
    EmptyKey,
    /// The key is too long.
    #[error("key is {len} bytes; at most {limit} are allowed")]
    KeyTooLong {
        /// Its length.
        len: usize,
        /// The most allowed.
        limit: usize,
    },
    /// The value is larger than `max_value_bytes`.
    #[error("value is {len} bytes; at most {limit} are allowed (state.max_value_bytes)")]
    ValueTooLarge {
        /// Its length.
        len: usize,
        /// The most allowed.
        limit: usize,
    },
    /// The map already holds `max_entries` entries.
    #[error("the map holds {limit} entries, its limit (state.max_entries)")]
    TooManyEntries {
        /// The limit.
        limit: usize,
    },
    /// The write would take the map past `max_bytes`.
    #[error("the write would take the map to {would_be} bytes, past its limit of {limit} (state.max_bytes)")]
    TooManyBytes {
        /// Keys and values after the write.
        would_be: usize,
        /// The limit.
        limit: usize,
    },
    /// A TTL of zero.
    #[error("ttl must be positive")]
    ZeroTtl,
    /// A TTL above [`MAX_TTL`].
    #[error("ttl {ttl:?} is longer than the {limit:?} allowed")]
    TtlTooLong {
        /// The TTL asked for.
        ttl: Duration,
        /// The most allowed.
        limit: Duration,
    },
    /// The node has left the cluster.
    #[error("this node has left the cluster")]
    Left,
}

/// Size and agreement figures of a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StateSummary {
    /// Live keys.
    pub live: usize,
    /// Tombstones not yet collected.
    pub tombstones: usize,
    /// Bytes of keys and values.
    pub bytes: usize,
    /// Merkle root: two replicas with the same entries have the same root.
    pub root: u64,
    /// Timestamp of the newest collected tombstone.
    pub horizon: Timestamp,
}

/// One entry of the replica (live, or a tombstone when `value` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) value: Option<Vec<u8>>,
    pub(crate) ts: u64,
    pub(crate) writer: Arc<str>,
    /// `FLAG_EPHEMERAL` and `FLAG_REAPED` only; the others follow from the fields.
    pub(crate) flags: u8,
    /// Expiry in Unix ms; 0 for none.
    pub(crate) expires_ms: u64,
    /// Hash of the encoded entry, key included: what the Merkle tree sums.
    pub(crate) digest: u64,
}

impl Entry {
    pub(crate) fn new(
        key: &str,
        value: Option<Vec<u8>>,
        ts: u64,
        writer: Arc<str>,
        flags: u8,
        expires_ms: u64,
    ) -> Entry {
        let mut e = Entry { value, ts, writer, flags, expires_ms, digest: 0 };
        let mut buf = Vec::with_capacity(key.len() + e.writer.len() + 32);
        codec::encode_entry(&mut buf, key, &e);
        e.digest = xxhash_rust::xxh3::xxh3_64(&buf);
        e
    }

    pub(crate) fn is_live(&self) -> bool {
        self.value.is_some()
    }

    pub(crate) fn is_ephemeral(&self) -> bool {
        self.flags & codec::FLAG_EPHEMERAL != 0
    }

    pub(crate) fn is_reaped(&self) -> bool {
        self.flags & codec::FLAG_REAPED != 0
    }

    /// Whether this version replaces `other`: newer timestamp, then greater
    /// writer, then a tombstone over a live value, then the greater digest
    /// (so the choice never depends on arrival order).
    pub(crate) fn wins_over(&self, other: &Entry) -> bool {
        (self.ts, &self.writer, !self.is_live(), self.digest)
            > (other.ts, &other.writer, !other.is_live(), other.digest)
    }

    /// The tombstone this entry becomes when its TTL runs out: same
    /// timestamp and writer, so every node that expires it agrees (and the
    /// tombstone wins the tie).
    pub(crate) fn expired(&self, key: &str) -> Entry {
        Entry::new(key, None, self.ts, self.writer.clone(), 0, self.expires_ms)
    }

    /// The tombstone an ephemeral entry becomes when its owner is gone:
    /// same timestamp and writer, so every reaper writes the same one and a
    /// later write by anyone else still wins over it.
    pub(crate) fn reaped(&self, key: &str) -> Entry {
        Entry::new(key, None, self.ts, self.writer.clone(), codec::FLAG_REAPED, 0)
    }

    fn bytes(&self, key: &str) -> usize {
        key.len() + self.writer.len() + self.value.as_ref().map_or(0, Vec::len)
    }

    pub(crate) fn public(&self, key: &str) -> StateEntry {
        StateEntry {
            key: key.to_string(),
            value: self.value.clone().unwrap_or_default(),
            writer: self.writer.to_string(),
            timestamp: Timestamp(self.ts),
            ephemeral: self.is_ephemeral(),
            expires_unix_ms: (self.expires_ms != 0).then_some(self.expires_ms),
        }
    }
}

/// The key's position in the Merkle tree.
pub(crate) fn key_hash(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

/// What a change to the replica means to the user, if anything: a new
/// live value, or a live value gone.
pub(crate) fn visible_change(key: &str, old: Option<&Entry>, new: Option<&Entry>) -> Option<StateChange> {
    let was_live = old.is_some_and(Entry::is_live);
    match new {
        Some(n) if n.is_live() => Some(StateChange {
            key: key.to_string(),
            value: n.value.clone(),
            writer: n.writer.to_string(),
            timestamp: Timestamp(n.ts),
        }),
        Some(n) if was_live => Some(StateChange {
            key: key.to_string(),
            value: None,
            writer: n.writer.to_string(),
            timestamp: Timestamp(n.ts),
        }),
        None if was_live => {
            let o = old.expect("was live");
            Some(StateChange {
                key: key.to_string(),
                value: None,
                writer: o.writer.to_string(),
                timestamp: Timestamp(o.ts),
            })
        }
        _ => None,
    }
}

/// This node's replica with its indexes.
#[derive(Debug)]
pub(crate) struct Replica {
    pub(crate) cfg: StateConfig,
    entries: BTreeMap<Arc<str>, Entry>,
    /// (key hash, key): the keys of a leaf are one range.
    by_hash: BTreeSet<(u64, Arc<str>)>,
    /// Allocated with the first entry (a node that never uses state pays nothing).
    tree: Option<Box<Tree>>,
    /// Live TTL entries by expiry (Unix ms).
    expiries: BTreeSet<(u64, Arc<str>)>,
    /// Tombstones by collection time (Unix ms).
    collections: BTreeSet<(u64, Arc<str>)>,
    /// Live ephemeral entries by owner.
    ephemeral: BTreeSet<(Arc<str>, Arc<str>)>,
    bytes: usize,
    live: usize,
    /// Timestamp of the newest collected tombstone.
    pub(crate) horizon: u64,
    /// Wall time (Unix ms) this replica last finished an exchange that left
    /// it holding everything its peer held; none yet for a new node.
    pub(crate) synced_ms: Option<u64>,
    /// Below the oldest remote write this replica refused (over its bounds).
    refused_floor: u64,
    /// The hybrid logical clock.
    clock: u64,
}

impl Replica {
    pub(crate) fn new(cfg: StateConfig) -> Self {
        Replica {
            cfg,
            entries: BTreeMap::new(),
            by_hash: BTreeSet::new(),
            tree: None,
            expiries: BTreeSet::new(),
            collections: BTreeSet::new(),
            ephemeral: BTreeSet::new(),
            bytes: 0,
            live: 0,
            horizon: 0,
            synced_ms: None,
            refused_floor: u64::MAX,
            clock: 0,
        }
    }

    /// The horizon this replica may vouch for: an entry at or below it
    /// that this replica lacks was deleted. Only a replica that has been
    /// complete can say so: a new node still copying the map, or one away
    /// from its peers, lacks entries it never saw, so it vouches only up to
    /// its last complete exchange less the grace period (and below any
    /// write it refused).
    pub(crate) fn vouched_horizon(&self) -> u64 {
        let Some(synced) = self.synced_ms else { return 0 };
        let since = synced.saturating_sub(self.cfg.tombstone_grace.as_millis() as u64) << 16;
        self.horizon.min(since).min(self.refused_floor)
    }

    /// A remote write with timestamp `ts` was refused: stop vouching for it.
    pub(crate) fn refused(&mut self, ts: u64) {
        self.refused_floor = self.refused_floor.min(ts.saturating_sub(1));
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// The stored key (shared) for `key`, if present.
    pub(crate) fn key(&self, key: &str) -> Option<Arc<str>> {
        self.entries.get_key_value(key).map(|(k, _)| k.clone())
    }

    /// Live entries whose key starts with `prefix`, in key order.
    pub(crate) fn live_with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a Arc<str>, &'a Entry)> {
        self.entries
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .filter(|(_, e)| e.is_live())
    }

    /// A timestamp for a new write at wall time `wall_ms`, after every
    /// timestamp this node has issued or seen.
    pub(crate) fn tick(&mut self, wall_ms: u64) -> u64 {
        let physical = wall_ms << 16;
        self.clock = if physical > self.clock { physical } else { self.clock.saturating_add(1) };
        self.clock
    }

    /// Moves the clock past a timestamp seen from a peer.
    pub(crate) fn observe(&mut self, ts: u64) {
        self.clock = self.clock.max(ts);
    }

    /// When a tombstone may be forgotten.
    fn collection_ms(&self, e: &Entry) -> u64 {
        (e.ts >> 16).max(e.expires_ms).saturating_add(self.cfg.tombstone_grace.as_millis() as u64)
    }

    /// Checks that `key` may hold `new` within the bounds.
    pub(crate) fn fits(&self, key: &str, new: &Entry) -> Result<(), StateError> {
        if let Some(v) = &new.value {
            if v.len() > self.cfg.max_value_bytes {
                return Err(StateError::ValueTooLarge { len: v.len(), limit: self.cfg.max_value_bytes });
            }
        }
        let old = self.entries.get(key);
        if old.is_none() && self.entries.len() >= self.cfg.max_entries {
            return Err(StateError::TooManyEntries { limit: self.cfg.max_entries });
        }
        let would_be = self.bytes - old.map_or(0, |o| o.bytes(key)) + new.bytes(key);
        if would_be > self.cfg.max_bytes && would_be > self.bytes {
            return Err(StateError::TooManyBytes { would_be, limit: self.cfg.max_bytes });
        }
        Ok(())
    }

    /// Stores `new` under `key` (no checks), keeping every index, and
    /// returns what was there.
    pub(crate) fn replace(&mut self, key: Arc<str>, new: Entry) -> Option<Entry> {
        let hash = key_hash(&key);
        let old = self.remove_inner(&key, hash);
        let tree = self.tree.get_or_insert_with(|| Box::new(Tree::new()));
        tree.toggle(hash, new.digest);
        self.by_hash.insert((hash, key.clone()));
        self.bytes += new.bytes(&key);
        if new.is_live() {
            self.live += 1;
            if new.expires_ms != 0 {
                self.expiries.insert((new.expires_ms, key.clone()));
            }
            if new.is_ephemeral() {
                self.ephemeral.insert((new.writer.clone(), key.clone()));
            }
        } else {
            self.collections.insert((self.collection_ms(&new), key.clone()));
        }
        self.entries.insert(key, new);
        old
    }

    /// Forgets `key` entirely (no tombstone).
    pub(crate) fn remove(&mut self, key: &str) -> Option<Entry> {
        self.remove_inner(key, key_hash(key))
    }

    fn remove_inner(&mut self, key: &str, hash: u64) -> Option<Entry> {
        let (k, old) = self.entries.remove_entry(key)?;
        if let Some(t) = self.tree.as_mut() {
            t.toggle(hash, old.digest);
        }
        self.by_hash.remove(&(hash, k.clone()));
        self.bytes -= old.bytes(&k);
        if old.is_live() {
            self.live -= 1;
            self.expiries.remove(&(old.expires_ms, k.clone()));
            self.ephemeral.remove(&(old.writer.clone(), k));
        } else {
            let at = self.collection_ms(&old);
            self.collections.remove(&(at, k));
        }
        Some(old)
    }

    /// Keys of live ephemeral entries owned by `owner`.
    pub(crate) fn owned_by(&self, owner: &str) -> Vec<Arc<str>> {
        let from: Arc<str> = Arc::from(owner);
        self.ephemeral
            .range((Bound::Included((from.clone(), Arc::from(""))), Bound::Unbounded))
            .take_while(|(o, _)| **o == *owner)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// The next instant (Unix ms) something expires or is collected.
    pub(crate) fn next_due(&self) -> Option<u64> {
        let a = self.expiries.first().map(|(t, _)| *t);
        let b = self.collections.first().map(|(t, _)| *t);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Live TTL entries due at `wall_ms`, to be expired by the caller.
    pub(crate) fn due_expiries(&self, wall_ms: u64) -> Vec<Arc<str>> {
        self.expiries.iter().take_while(|(t, _)| *t <= wall_ms).map(|(_, k)| k.clone()).collect()
    }

    /// Forgets tombstones due at `wall_ms` and moves the horizon past them.
    pub(crate) fn collect(&mut self, wall_ms: u64) {
        let due: Vec<Arc<str>> =
            self.collections.iter().take_while(|(t, _)| *t <= wall_ms).map(|(_, k)| k.clone()).collect();
        for k in due {
            if let Some(old) = self.remove(&k) {
                self.horizon = self.horizon.max(old.ts);
            }
        }
    }

    /// Whether a tombstone would already be due for collection.
    pub(crate) fn past_grace(&self, e: &Entry, wall_ms: u64) -> bool {
        !e.is_live() && self.collection_ms(e) <= wall_ms
    }

    /// Digests at `level` of the children of `parent` (zeros for an empty map).
    pub(crate) fn children(&self, level: u8, parent: usize) -> Option<[u64; FANOUT]> {
        match &self.tree {
            Some(t) => t.children(level, parent),
            None => tree::in_range(level, parent).then_some([0; FANOUT]),
        }
    }

    pub(crate) fn root(&self) -> u64 {
        self.tree.as_ref().map_or(0, |t| t.root())
    }

    /// Entries in leaf `leaf`, with their key hashes.
    pub(crate) fn leaf(&self, leaf: usize) -> impl Iterator<Item = (u64, &Arc<str>, &Entry)> {
        let lo = (leaf as u64) << (64 - 4 * u32::from(LEAF_LEVEL));
        let hi = (leaf as u64 + 1).checked_shl(64 - 4 * u32::from(LEAF_LEVEL)).filter(|&h| h > lo);
        let end = match hi {
            Some(h) => Bound::Excluded((h, Arc::from(""))),
            None => Bound::Unbounded,
        };
        self.by_hash
            .range((Bound::Included((lo, Arc::<str>::from(""))), end))
            .filter_map(|(h, k)| self.entries.get(k).map(|e| (*h, k, e)))
    }

    /// Summaries of leaf `leaf`'s entries.
    pub(crate) fn leaf_summaries(&self, leaf: usize) -> Vec<Summary> {
        self.leaf(leaf).map(|(key_hash, _, e)| Summary { key_hash, ts: e.ts, digest: e.digest }).collect()
    }

    /// Keys whose hash is `hash` (one, barring a collision).
    pub(crate) fn keys_with_hash(&self, hash: u64) -> Vec<Arc<str>> {
        let end = match hash.checked_add(1) {
            Some(h) => Bound::Excluded((h, Arc::from(""))),
            None => Bound::Unbounded,
        };
        self.by_hash.range((Bound::Included((hash, Arc::<str>::from(""))), end)).map(|(_, k)| k.clone()).collect()
    }

    pub(crate) fn summary(&self) -> StateSummary {
        StateSummary {
            live: self.live,
            tombstones: self.entries.len() - self.live,
            bytes: self.bytes,
            root: self.root(),
            horizon: Timestamp(self.horizon),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(key: &str, v: &[u8], ts: u64, writer: &str) -> Entry {
        Entry::new(key, Some(v.to_vec()), ts, Arc::from(writer), 0, 0)
    }

    #[test]
    fn the_winner_does_not_depend_on_arrival_order() {
        let a = live("k", b"a", 10, "n1");
        let b = live("k", b"b", 10, "n2");
        let c = live("k", b"c", 11, "n0");
        assert!(b.wins_over(&a) && !a.wins_over(&b), "same time: greater writer");
        assert!(c.wins_over(&b), "newer time first");
        let dead = a.expired("k");
        assert!(dead.wins_over(&a) && !a.wins_over(&dead), "an expiry beats the live copy of the same write");
        assert!(!a.wins_over(&a));
    }

    #[test]
    fn clock_is_monotonic_and_passes_what_it_saw() {
        let mut r = Replica::new(StateConfig::default());
        let t1 = r.tick(1000);
        let t2 = r.tick(1000);
        let t3 = r.tick(999);
        assert!(t1 < t2 && t2 < t3);
        r.observe(u64::MAX);
        assert_eq!(r.tick(1), u64::MAX, "saturates instead of wrapping or panicking");
        let mut r = Replica::new(StateConfig::default());
        r.observe(5000 << 16);
        assert!(r.tick(1001) > 5000 << 16);
        assert_eq!(Timestamp(t1).unix_ms(), 1000);
    }

    #[test]
    fn indexes_follow_replacements_and_collection_moves_the_horizon() {
        let cfg = StateConfig { tombstone_grace: Duration::from_millis(100), ..StateConfig::default() };
        let mut r = Replica::new(cfg);
        r.replace(Arc::from("a"), live("a", b"1", 1000 << 16, "n"));
        r.replace(Arc::from("b"), live("b", b"22", 1000 << 16, "n"));
        assert_eq!(r.summary().bytes, 7, "keys, values and writer names");
        let root_ab = r.root();
        r.replace(Arc::from("a"), Entry::new("a", None, 1001 << 16, Arc::from("n"), 0, 0));
        assert_eq!((r.summary().live, r.summary().tombstones, r.summary().bytes), (1, 1, 6));
        assert_ne!(r.root(), root_ab);
        assert_eq!(r.next_due(), Some(1101));
        r.collect(1100);
        assert_eq!(r.summary().tombstones, 1);
        r.collect(1101);
        assert_eq!((r.summary().tombstones, r.horizon), (0, 1001 << 16));
        r.remove("b");
        assert_eq!((r.root(), r.summary().bytes), (0, 0));
        let leaf_of = |k: &str| tree::index(key_hash(k), LEAF_LEVEL);
        r.replace(Arc::from("c"), live("c", b"x", 5, "n"));
        assert_eq!(r.leaf_summaries(leaf_of("c")).len(), 1);
        assert_eq!(r.keys_with_hash(key_hash("c")), vec![Arc::<str>::from("c")]);
    }

    #[test]
    fn bounds_are_enforced() {
        let cfg = StateConfig { max_value_bytes: 4, max_entries: 2, max_bytes: 9, ..StateConfig::default() };
        let mut r = Replica::new(cfg);
        assert_eq!(r.fits("k", &live("k", b"12345", 1, "n")), Err(StateError::ValueTooLarge { len: 5, limit: 4 }));
        r.replace(Arc::from("a"), live("a", b"123", 1, "n"));
        assert_eq!(r.fits("b", &live("b", b"1234", 1, "n")), Err(StateError::TooManyBytes { would_be: 11, limit: 9 }));
        r.replace(Arc::from("b"), live("b", b"1", 1, "n"));
        assert_eq!(r.fits("c", &live("c", b"", 1, "n")), Err(StateError::TooManyEntries { limit: 2 }));
        assert_eq!(r.fits("a", &live("a", b"12", 2, "n")), Ok(()), "replacing an existing key is no new entry");
    }
}
