//! The member table: every known member in probe order, with a name index
//! (memberlist's `nodes` slice and `nodeMap`).

use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use super::rng::Rng;
use crate::wire::NodeStateKind;

/// A member's state as this node sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberState {
    /// Answering probes.
    Alive,
    /// Missed a probe; it has until the suspicion timeout to refute.
    Suspect,
    /// Declared failed.
    Dead,
    /// Left gracefully.
    Left,
}

impl MemberState {
    pub(crate) fn to_wire(self) -> NodeStateKind {
        match self {
            MemberState::Alive => NodeStateKind::Alive,
            MemberState::Suspect => NodeStateKind::Suspect,
            MemberState::Dead => NodeStateKind::Dead,
            MemberState::Left => NodeStateKind::Left,
        }
    }

    /// Its name in lower case, as the bindings and the metrics' `node_state` label spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberState::Alive => "alive",
            MemberState::Suspect => "suspect",
            MemberState::Dead => "dead",
            MemberState::Left => "left",
        }
    }

    /// Dead or left: no longer a member.
    pub fn is_gone(self) -> bool {
        matches!(self, MemberState::Dead | MemberState::Left)
    }
}

/// A member of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Unique name. Shared, not copied: a simulated cluster of N nodes holds
    /// N² member entries.
    pub name: Arc<str>,
    /// Address it advertises; `join` accepts it.
    pub addr: SocketAddr,
    /// Its metadata.
    pub meta: Vec<u8>,
    /// Its state.
    pub state: MemberState,
    /// Its incarnation: it raises it to refute suspicion or change metadata.
    pub incarnation: u32,
    /// Protocol versions: min, max and current of the protocol, then of the
    /// delegate (memberlist's `Vsn`).
    pub protocol: [u8; 6],
}

#[derive(Debug, Clone)]
pub(crate) struct NodeState {
    pub(crate) member: Member,
    pub(crate) state_change: Instant,
}

/// Members in probe order plus an index by name.
///
/// The index holds only positions (4 bytes per member) and hashes names
/// with a key drawn from the node's seeded RNG: lookups stay deterministic,
/// and names chosen by a remote peer cannot be aimed at one bucket.
#[derive(Debug)]
pub(crate) struct Members {
    nodes: Vec<NodeState>,
    index: HashTable<u32>,
    hasher: FixedState,
}

impl Members {
    /// An empty table whose name hashing is keyed with `hash_key`.
    pub(crate) fn new(hash_key: u64) -> Self {
        Members { nodes: Vec::new(), index: HashTable::new(), hasher: FixedState::with_seed(hash_key) }
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    fn position(&self, name: &str) -> Option<usize> {
        let nodes = &self.nodes;
        self.index.find(self.hasher.hash_one(name), |&i| *nodes[i as usize].member.name == *name).map(|&i| i as usize)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&NodeState> {
        self.position(name).map(|i| &self.nodes[i])
    }

    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut NodeState> {
        self.position(name).map(|i| &mut self.nodes[i])
    }

    pub(crate) fn at(&self, i: usize) -> &NodeState {
        &self.nodes[i]
    }

    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = &NodeState> {
        self.nodes.iter()
    }

    /// Adds a member at a random position, so that members joining in order
    /// are not probed in order (which would lengthen detection).
    pub(crate) fn insert(&mut self, node: NodeState, rng: &mut Rng) {
        let n = self.nodes.len();
        let offset = rng.below(n + 1).min(n);
        self.nodes.push(node);
        self.index_at(n);
        self.swap(offset, n);
    }

    /// Adds the members whose names are not in the table yet, in random
    /// order: for the members added, the same order a run of
    /// [`Members::insert`] gives in distribution, at a fraction of the cost
    /// for a large table (one pass, no rehashing).
    pub(crate) fn extend(&mut self, nodes: impl IntoIterator<Item = NodeState>, rng: &mut Rng) {
        let mut fresh: Vec<NodeState> = nodes.into_iter().collect();
        rng.shuffle(&mut fresh);
        self.nodes.reserve_exact(fresh.len());
        let hasher = &self.hasher;
        let nodes = &self.nodes;
        self.index.reserve(fresh.len(), |&j| hasher.hash_one(&*nodes[j as usize].member.name));
        for node in fresh {
            if self.position(&node.member.name).is_none() {
                self.nodes.push(node);
                self.index_at(self.nodes.len() - 1);
            }
        }
    }

    fn index_at(&mut self, i: usize) {
        let (nodes, hasher) = (&self.nodes, &self.hasher);
        let hash = hasher.hash_one(&*nodes[i].member.name);
        self.index.insert_unique(hash, i as u32, |&j| hasher.hash_one(&*nodes[j as usize].member.name));
    }

    /// Repoints the index entry of `name` from position `from` to `to`.
    /// Positions in the index are unique, so `from` alone picks the entry.
    fn repoint(&mut self, name: &str, from: u32, to: u32) {
        if let Some(slot) = self.index.find_mut(self.hasher.hash_one(name), |&i| i == from) {
            *slot = to;
        }
    }

    fn swap(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        // Through a placeholder, so that no two entries ever hold the same
        // position while they are being found by it.
        const MOVING: u32 = u32::MAX;
        let (name_a, name_b) = (self.nodes[a].member.name.clone(), self.nodes[b].member.name.clone());
        self.repoint(&name_a, a as u32, MOVING);
        self.repoint(&name_b, b as u32, a as u32);
        self.repoint(&name_a, MOVING, b as u32);
        self.nodes.swap(a, b);
    }

    /// At the end of a probe round: forgets members dead or left for longer
    /// than `gossip_to_the_dead`, then shuffles the rest (`resetNodes`).
    /// Returns the members forgotten.
    pub(crate) fn reset(&mut self, now: Instant, gossip_to_the_dead: Duration, rng: &mut Rng) -> Vec<Member> {
        let (keep, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut self.nodes).into_iter().partition(|n| {
            !(n.member.state.is_gone() && now.saturating_duration_since(n.state_change) > gossip_to_the_dead)
        });
        self.nodes = keep;
        rng.shuffle(&mut self.nodes);
        self.reindex();
        gone.into_iter().map(|n| n.member).collect()
    }

    fn reindex(&mut self) {
        self.index.clear();
        self.index.reserve(self.nodes.len(), |_| 0);
        for i in 0..self.nodes.len() {
            self.index_at(i);
        }
    }

    /// Up to `k` distinct members passing `keep`, chosen at random with at
    /// most `3n` draws (`kRandomNodes`).
    pub(crate) fn random(&self, k: usize, rng: &mut Rng, keep: impl Fn(&NodeState) -> bool) -> Vec<usize> {
        let n = self.nodes.len();
        let mut out: Vec<usize> = Vec::with_capacity(k);
        for _ in 0..3 * n {
            if out.len() >= k {
                break;
            }
            let i = rng.below(n);
            if keep(&self.nodes[i]) && !out.contains(&i) {
                out.push(i);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, state: MemberState, at: Instant) -> NodeState {
        NodeState {
            member: Member {
                name: name.into(),
                addr: "127.0.0.1:1".parse().unwrap(),
                meta: vec![],
                state,
                incarnation: 1,
                protocol: [1, 5, 2, 0, 0, 0],
            },
            state_change: at,
        }
    }

    #[test]
    fn reset_forgets_members_gone_past_the_gossip_to_the_dead_time() {
        let t0 = Instant::now();
        let mut rng = Rng::new(1);
        let mut m = Members::new(7);
        m.insert(node("alive", MemberState::Alive, t0), &mut rng);
        m.insert(node("old-dead", MemberState::Dead, t0), &mut rng);
        m.insert(node("left", MemberState::Left, t0), &mut rng);
        m.insert(node("new-dead", MemberState::Dead, t0 + Duration::from_secs(20)), &mut rng);
        let mut gone: Vec<Arc<str>> = m
            .reset(t0 + Duration::from_secs(31), Duration::from_secs(30), &mut rng)
            .into_iter()
            .map(|m| m.name)
            .collect();
        gone.sort();
        assert_eq!(gone, vec![Arc::from("left"), Arc::from("old-dead")]);
        assert_eq!(m.len(), 2);
        assert!(m.get("new-dead").is_some() && m.get("alive").is_some());
    }

    #[test]
    fn random_picks_distinct_members_that_pass_the_filter() {
        let t0 = Instant::now();
        let mut rng = Rng::new(2);
        let mut m = Members::new(7);
        for i in 0..10 {
            let state = if i % 2 == 0 { MemberState::Alive } else { MemberState::Dead };
            m.insert(node(&format!("n{i}"), state, t0), &mut rng);
        }
        let picked = m.random(3, &mut rng, |n| n.member.state == MemberState::Alive);
        assert_eq!(picked.len(), 3);
        assert!(picked.iter().all(|&i| m.at(i).member.state == MemberState::Alive));
        let mut dedup = picked.clone();
        dedup.dedup();
        assert_eq!(dedup.len(), 3);
        assert!(m.random(3, &mut rng, |_| false).is_empty());
    }

    #[test]
    fn the_index_follows_insertions_at_random_offsets() {
        let mut rng = Rng::new(3);
        let mut m = Members::new(7);
        for i in 0..50 {
            m.insert(node(&format!("n{i}"), MemberState::Alive, Instant::now()), &mut rng);
        }
        for i in 0..50 {
            let name = format!("n{i}");
            assert_eq!(*m.get(&name).unwrap().member.name, *name);
        }
    }
}
