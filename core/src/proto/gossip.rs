//! Gossip rounds (memberlist `gossip`): every `gossip_interval`, queued
//! rumours go to `gossip_nodes` random members.

use std::net::SocketAddr;
use std::time::Instant;

use super::kv::sync::speaks_state;
use super::machine::Proto;
use super::members::MemberState;
use crate::wire::{compound, COMPOUND_OVERHEAD};

impl Proto {
    /// Gossip round: queued rumours to `gossip_nodes` random members
    /// (memberlist `gossip`). Dead members are included for
    /// `gossip_to_the_dead_time`, so they can learn of it and refute.
    pub(super) fn gossip(&mut self, now: Instant) {
        if self.queued_broadcasts() == 0 {
            return;
        }
        let me = self.name.clone();
        let to_dead = self.cfg.gossip_to_the_dead_time;
        let picked = self.members.random(self.cfg.gossip_nodes, &mut self.rng, |n| {
            *n.member.name != *me
                && match n.member.state {
                    MemberState::Alive | MemberState::Suspect => true,
                    MemberState::Dead => now.saturating_duration_since(n.state_change) <= to_dead,
                    MemberState::Left => false,
                }
        });
        let targets: Vec<(SocketAddr, String, bool)> = picked
            .into_iter()
            .map(|i| {
                let m = &self.members.at(i).member;
                (m.addr, m.name.to_string(), speaks_state(m))
            })
            .collect();
        let room = self.packet_room();
        for (addr, name, state) in targets {
            let msgs = self.get_broadcasts(COMPOUND_OVERHEAD, room, state);
            if msgs.is_empty() {
                continue;
            }
            let payload = if msgs.len() == 1 { msgs.into_iter().next().expect("one") } else { compound::encode(&msgs) };
            self.raw_send(addr, Some(&name), payload);
        }
    }
}
