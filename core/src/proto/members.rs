//! The member table: every known member in probe order, with a name index
//! (memberlist's `nodes` slice and `nodeMap`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

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

    /// Dead or left: no longer a member.
    pub fn is_gone(self) -> bool {
        matches!(self, MemberState::Dead | MemberState::Left)
    }
}

/// A member of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Unique name.
    pub name: String,
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
#[derive(Debug, Default)]
pub(crate) struct Members {
    nodes: Vec<NodeState>,
    index: HashMap<String, usize>,
}

impl Members {
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&NodeState> {
        self.index.get(name).map(|&i| &self.nodes[i])
    }

    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut NodeState> {
        self.index.get(name).map(|&i| &mut self.nodes[i])
    }

    pub(crate) fn at(&self, i: usize) -> &NodeState {
        &self.nodes[i]
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &NodeState> {
        self.nodes.iter()
    }

    /// Adds a member at a random position, so that members joining in order
    /// are not probed in order (which would lengthen detection).
    pub(crate) fn insert(&mut self, node: NodeState, rng: &mut Rng) {
        let n = self.nodes.len();
        let offset = rng.below(n + 1).min(n);
        self.index.insert(node.member.name.clone(), n);
        self.nodes.push(node);
        self.swap(offset, n);
    }

    fn swap(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        self.nodes.swap(a, b);
        *self.index.get_mut(&self.nodes[a].member.name).expect("indexed") = a;
        *self.index.get_mut(&self.nodes[b].member.name).expect("indexed") = b;
    }

    /// At the end of a probe round: forgets members dead or left for longer
    /// than `gossip_to_the_dead`, then shuffles the rest (`resetNodes`).
    /// Returns the names forgotten.
    pub(crate) fn reset(&mut self, now: Instant, gossip_to_the_dead: Duration, rng: &mut Rng) -> Vec<String> {
        let (keep, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut self.nodes).into_iter().partition(|n| {
            !(n.member.state.is_gone() && now.saturating_duration_since(n.state_change) > gossip_to_the_dead)
        });
        self.nodes = keep;
        rng.shuffle(&mut self.nodes);
        self.reindex();
        gone.into_iter().map(|n| n.member.name).collect()
    }

    fn reindex(&mut self) {
        self.index.clear();
        for (i, n) in self.nodes.iter().enumerate() {
            self.index.insert(n.member.name.clone(), i);
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
        let mut m = Members::default();
        m.insert(node("alive", MemberState::Alive, t0), &mut rng);
        m.insert(node("old-dead", MemberState::Dead, t0), &mut rng);
        m.insert(node("left", MemberState::Left, t0), &mut rng);
        m.insert(node("new-dead", MemberState::Dead, t0 + Duration::from_secs(20)), &mut rng);
        let mut gone = m.reset(t0 + Duration::from_secs(31), Duration::from_secs(30), &mut rng);
        gone.sort();
        assert_eq!(gone, vec!["left".to_string(), "old-dead".to_string()]);
        assert_eq!(m.len(), 2);
        assert!(m.get("new-dead").is_some() && m.get("alive").is_some());
    }

    #[test]
    fn random_picks_distinct_members_that_pass_the_filter() {
        let t0 = Instant::now();
        let mut rng = Rng::new(2);
        let mut m = Members::default();
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
        let mut m = Members::default();
        for i in 0..50 {
            m.insert(node(&format!("n{i}"), MemberState::Alive, Instant::now()), &mut rng);
        }
        for i in 0..50 {
            let name = format!("n{i}");
            assert_eq!(m.get(&name).unwrap().member.name, name);
        }
    }
}
