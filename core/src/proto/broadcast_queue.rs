//! The transmit-limited queue (memberlist `queue.go`).
//!
//! Each rumour is sent at most `retransmit_limit` times. Fewer-sent rumours
//! go first; among equals, larger then newer ones, so packets fill well and
//! fresh news overtakes stale. A named rumour (one about a member) replaces
//! any queued rumour with the same name, because only the newest state of a
//! member is worth spreading.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// An encoded rumour, shared between the queue and the packets that carry
/// it: each is sent up to a retransmit limit of times (16 at 1,000
/// members), and a copy each time was a visible share of a join storm.
pub(crate) type Rumour = Arc<[u8]>;

/// memberlist's `retransmitLimit`: `mult * ceil(log10(n + 1))`.
pub fn retransmit_limit(retransmit_mult: u32, n: usize) -> u32 {
    let node_scale = ((n + 1) as f64).log10().ceil() as u32;
    retransmit_mult * node_scale
}

type Key = (u32, Reverse<usize>, Reverse<u64>);

#[derive(Debug)]
struct Item {
    transmits: u32,
    msg: Rumour,
    name: Option<Arc<str>>,
    token: Option<u64>,
}

/// A queue of encoded rumours, each with a transmit count.
#[derive(Debug, Default)]
pub(crate) struct BroadcastQueue {
    order: BTreeSet<Key>,
    // Lookups only (the order is `order`'s): a fast hash, randomly seeded
    // as names come from peers. Every gossip round goes through these.
    items: HashMap<u64, Item, foldhash::fast::RandomState>,
    names: HashMap<Arc<str>, u64, foldhash::fast::RandomState>,
    next_id: u64,
    /// Tokens of rumours that finished (sent enough, replaced or pruned).
    finished: Vec<u64>,
}

impl BroadcastQueue {
    /// Queues `msg`. A `name` replaces the queued rumour of that name; a
    /// `token` is reported through [`Self::take_finished`] when the rumour is done.
    pub(crate) fn push(&mut self, name: Option<&str>, msg: Vec<u8>, token: Option<u64>) {
        if let Some(old) = name.and_then(|n| self.names.get(n).copied()) {
            self.remove(old);
        }
        self.next_id += 1;
        let id = self.next_id;
        self.order.insert((0, Reverse(msg.len()), Reverse(id)));
        let name: Option<Arc<str>> = name.map(Arc::from);
        if let Some(n) = &name {
            self.names.insert(n.clone(), id);
        }
        self.items.insert(id, Item { transmits: 0, msg: msg.into(), name, token });
    }

    fn remove(&mut self, id: u64) -> Option<Item> {
        let item = self.items.remove(&id)?;
        self.order.remove(&(item.transmits, Reverse(item.msg.len()), Reverse(id)));
        if let Some(n) = &item.name {
            self.names.remove(&**n);
        }
        if let Some(t) = item.token {
            self.finished.push(t);
        }
        if self.items.is_empty() {
            self.next_id = 0;
        }
        Some(item)
    }

    /// Takes rumours that fit in `limit` bytes, counting `overhead` bytes for
    /// each, and charges each one a transmit (`GetBroadcasts`).
    pub(crate) fn take(&mut self, overhead: usize, limit: usize, transmit_limit: u32) -> Vec<Rumour> {
        let mut out = Vec::new();
        let (Some(&(min_tr, ..)), Some(&(max_tr, ..))) = (self.order.first(), self.order.last()) else {
            return out;
        };
        let mut used = 0usize;
        let mut reinsert = Vec::new();
        let mut tier = min_tr;
        while tier <= max_tr {
            let Some(free) = limit.checked_sub(used + overhead).filter(|f| *f > 0) else { break };
            let from = (tier, Reverse(free), Reverse(u64::MAX));
            let to = (tier + 1, Reverse(usize::MAX), Reverse(u64::MAX));
            let Some(&key) = self.order.range(from..to).next() else {
                tier += 1;
                continue;
            };
            let id = key.2 .0;
            self.order.remove(&key);
            let item = self.items.get_mut(&id).expect("queue index and items agree");
            used += overhead + item.msg.len();
            out.push(Arc::clone(&item.msg));
            if item.transmits + 1 >= transmit_limit {
                // Put it back in the index so `remove` finds it, then finish it.
                self.order.insert(key);
                self.remove(id);
            } else {
                item.transmits += 1;
                reinsert.push((item.transmits, Reverse(item.msg.len()), Reverse(id)));
            }
        }
        self.order.extend(reinsert);
        out
    }

    /// Drops the most-sent rumours until at most `max` remain (`Prune`).
    pub(crate) fn prune(&mut self, max: usize) {
        while self.items.len() > max {
            let Some(&(_, _, Reverse(id))) = self.order.last() else { break };
            self.remove(id);
        }
    }

    /// Rumours waiting.
    /// Whether a rumour with this name is still waiting to be sent.
    pub(crate) fn holds(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no rumour is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Tokens of rumours finished since the last call.
    pub(crate) fn take_finished(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retransmit_limit_matches_memberlist() {
        // util_test.go TestRetransmitLimit.
        assert_eq!(retransmit_limit(3, 0), 0);
        assert_eq!(retransmit_limit(3, 1), 3);
        assert_eq!(retransmit_limit(3, 99), 6);
        assert_eq!(retransmit_limit(4, 1000), 16);
    }

    #[test]
    fn fewer_sent_then_larger_then_newer_rumours_go_first() {
        let mut q = BroadcastQueue::default();
        q.push(Some("a"), b"a".to_vec(), None);
        q.push(Some("bb"), b"bb".to_vec(), None);
        q.push(Some("c"), b"c".to_vec(), None);
        assert_eq!(q.take(0, 100, 10), [&b"bb"[..], b"c", b"a"].map(Rumour::from));
        q.push(Some("d"), b"d".to_vec(), None);
        assert_eq!(&*q.take(0, 100, 10)[0], b"d", "an unsent rumour overtakes sent ones");
    }

    #[test]
    fn a_named_rumour_replaces_its_predecessor() {
        let mut q = BroadcastQueue::default();
        q.push(Some("n1"), b"suspect".to_vec(), Some(1));
        q.push(Some("n1"), b"alive".to_vec(), None);
        assert_eq!(q.len(), 1);
        assert_eq!(q.take_finished(), vec![1]);
        assert_eq!(q.take(0, 100, 10), [Rumour::from(&b"alive"[..])]);
    }

    #[test]
    fn rumours_stop_at_the_transmit_limit_and_respect_the_byte_limit() {
        let mut q = BroadcastQueue::default();
        q.push(None, vec![0; 10], Some(7));
        q.push(None, vec![1; 10], None);
        assert_eq!(q.take(2, 12, 3).len(), 1, "only one 10-byte rumour fits in 12 with overhead 2");
        for _ in 0..5 {
            q.take(2, 100, 3);
        }
        assert_eq!(q.len(), 0);
        assert_eq!(q.take_finished(), vec![7]);
    }

    #[test]
    fn prune_drops_the_most_sent() {
        let mut q = BroadcastQueue::default();
        q.push(None, b"old".to_vec(), None);
        q.take(0, 100, 10);
        q.push(None, b"new".to_vec(), None);
        q.prune(1);
        assert_eq!(q.take(0, 100, 10), [Rumour::from(&b"new"[..])]);
    }
}
