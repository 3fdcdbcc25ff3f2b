//! How rumours change the member table (memberlist `state.go`: `aliveNode`,
//! `suspectNode`, `deadNode`, `refute`, `mergeState`, `verifyProtocol`).
//!
//! The rules: a higher incarnation wins; at equal incarnations suspect beats
//! alive and dead beats both; a member accused of being suspect or dead
//! refutes with a higher incarnation; a dead message whose sender is the
//! member itself means it left.

use std::net::SocketAddr;
use std::time::Instant;

use super::machine::{Event, Proto, LEAVE_TOKEN};
use super::members::{Member, MemberState, NodeState};
use super::suspicion::{suspicion_timeout, Suspicion};
use crate::wire::{Alive, Dead, NodeStateKind, PushNodeState, Suspect};

/// How many accusers' addresses [`Proto::answer_accuser`] remembers; past
/// that (a flood from forged addresses) it answers no new one until some age out.
const MAX_ANSWERED_ACCUSERS: usize = 256;

impl Proto {
    /// An alive rumour (or our own bootstrap/metadata change when `bootstrap`).
    pub(super) fn alive_node(&mut self, a: Alive, bootstrap: bool, now: Instant) {
        let (pmin, pmax) = (a.vsn[0], a.vsn[1]);
        if pmin == 0 || pmax == 0 || pmin > pmax {
            // Versions are wrong: memberlist ignores such a member.
            return;
        }
        let is_local = a.node == self.name;
        // Whatever is not returned from here updates the member: a new
        // one, a new address for one that left (or long dead), or a newer
        // incarnation.
        match self.members.get(&a.node) {
            None => {
                let node = NodeState {
                    member: Member {
                        name: a.node.as_str().into(),
                        addr: a.addr,
                        meta: a.meta.clone(),
                        state: MemberState::Dead,
                        incarnation: 0,
                        protocol: a.vsn,
                    },
                    state_change: now,
                };
                // A new member is installed as dead so the update below
                // reports it as a join.
                self.members.insert(node, &mut self.rng);
            }
            // Old news, most of what a join storm's gossip carries: ignored
            // after one lookup.
            Some(n) if n.member.addr == a.addr && !is_local && a.incarnation <= n.member.incarnation => return,
            Some(n) if n.member.addr != a.addr => {
                let reclaim = !self.cfg.dead_node_reclaim_time.is_zero()
                    && now.saturating_duration_since(n.state_change) > self.cfg.dead_node_reclaim_time;
                if !(n.member.state == MemberState::Left || (n.member.state == MemberState::Dead && reclaim)) {
                    self.stats.name_conflicts += 1;
                    return;
                }
            }
            Some(_) => {}
        }
        let node = self.members.get(&a.node).expect("present");
        let old_inc = node.member.incarnation;
        if is_local && a.incarnation < old_inc {
            return;
        }
        self.suspicions.remove(&a.node);
        let old_state = node.member.state;
        let old_meta = node.member.meta.clone();

        if !bootstrap && is_local {
            // Someone speaks for us: ignore an exact echo, refute anything else.
            let me = &node.member;
            if a.incarnation == me.incarnation && a.meta == me.meta && a.vsn == me.protocol {
                return;
            }
            self.refute(a.incarnation, now);
            return;
        }
        let name = a.node.clone();
        self.broadcasts.push(Some(&name), a.encode(), None);
        let n = self.node_mut(&name).expect("present");
        n.member.protocol = a.vsn;
        n.member.incarnation = a.incarnation;
        n.member.meta = a.meta;
        n.member.addr = a.addr;
        if n.member.state != MemberState::Alive {
            n.member.state = MemberState::Alive;
            n.state_change = now;
        }
        let member = n.member.clone();
        self.stats.msg_alive += 1;
        if is_local {
            return;
        }
        match old_state {
            MemberState::Dead | MemberState::Left => {
                self.emit(Event::MemberJoined(member));
                self.note_member_joined(now);
            }
            MemberState::Suspect => {
                let meta_changed = old_meta != member.meta;
                self.emit(Event::MemberRecovered(member.clone()));
                if meta_changed {
                    self.emit(Event::MemberUpdated(member));
                }
            }
            MemberState::Alive if old_meta != member.meta => self.emit(Event::MemberUpdated(member)),
            MemberState::Alive => {}
        }
    }

    /// A suspect rumour.
    pub(super) fn suspect_node(&mut self, s: Suspect, now: Instant) {
        let Some(node) = self.members.get(&s.node) else { return };
        if s.incarnation < node.member.incarnation {
            if s.node == self.name {
                self.reassert_alive();
            }
            return;
        }
        if let Some(timer) = self.suspicions.get_mut(&s.node) {
            // An independent confirmation shortens the timer and is worth
            // passing on, so confirmations flow even to those already suspecting.
            if timer.confirm(&s.from, now) {
                self.broadcasts.push(Some(&s.node), s.encode(), None);
            }
            return;
        }
        if node.member.state != MemberState::Alive {
            return;
        }
        if s.node == self.name {
            if !self.left {
                self.refute(s.incarnation, now);
            }
            return;
        }
        self.broadcasts.push(Some(&s.node), s.encode(), None);
        let n = self.node_mut(&s.node).expect("present");
        n.member.incarnation = s.incarnation;
        n.member.state = MemberState::Suspect;
        n.state_change = now;
        let member = n.member.clone();
        self.stats.msg_suspect += 1;

        // memberlist: expect k = SuspicionMult - 2 confirmations, none when
        // the cluster is too small to give them (n - 2 < k).
        let n_nodes = self.members.len();
        let lifeguard = self.cfg.experiment.lifeguard;
        let mut k = self.cfg.suspicion_mult.saturating_sub(2);
        if !lifeguard || (n_nodes as i64 - 2) < k as i64 {
            k = 0;
        }
        let min = suspicion_timeout(self.cfg.suspicion_mult, n_nodes, self.cfg.probe_interval);
        let max = min * self.cfg.suspicion_max_timeout_mult;
        let mut timer = Suspicion::new(&s.from, k, min, max, now);
        timer.state_change = now;
        self.suspicions.insert(s.node.clone(), timer);
        self.emit(Event::MemberSuspect(member));
    }

    /// Suspicions whose time is up become dead verdicts.
    pub(super) fn suspicion_timers(&mut self, now: Instant) {
        if self.suspicions.is_empty() {
            return;
        }
        let mut due: Vec<String> =
            self.suspicions.iter().filter(|(_, s)| s.deadline() <= now).map(|(name, _)| name.clone()).collect();
        due.sort();
        for name in due {
            let Some(timer) = self.suspicions.remove(&name) else { continue };
            let Some(node) = self.members.get(&name) else { continue };
            if node.member.state == MemberState::Suspect && node.state_change == timer.state_change {
                if timer.confirmations() < timer.expected() {
                    self.stats.degraded_timeouts += 1;
                }
                let d = Dead { incarnation: node.member.incarnation, node: name.clone(), from: self.name.clone() };
                self.dead_node(d, now);
            }
        }
    }

    /// A dead rumour (a leave when `from == node`).
    pub(super) fn dead_node(&mut self, d: Dead, now: Instant) {
        let Some(node) = self.members.get(&d.node) else { return };
        if d.incarnation < node.member.incarnation {
            if d.node == self.name {
                self.reassert_alive();
            }
            return;
        }
        // Another node's verdict that is likely stale is taken as a
        // suspicion (or a confirmation of ours), which a live member
        // refutes, instead of a verdict that fails it here for nothing:
        // - this node sees the member alive at that very incarnation,
        //   never having heard it suspected;
        // - or heard it suspected only just now (under half a suspicion
        //   timeout ago), when a genuine verdict comes a whole timeout
        //   after the suspicion it ends: typically a suspicion its accuser
        //   raised while cut off by a partition and kept after the heal,
        //   which reached the others (and the member) only just before
        //   the verdict, too late to refute;
        // - or the accuser itself is only just back from failed (or
        //   unknown here): the other side of a healed partition passing on
        //   what it concluded while cut off.
        // (With the other Lifeguard refinements; plain SWIM takes the
        // verdict.)
        let settle = suspicion_timeout(self.cfg.suspicion_mult, self.members.len(), self.cfg.probe_interval);
        let seen_alive = node.member.state == MemberState::Alive && d.incarnation == node.member.incarnation;
        let suspected_lately =
            node.member.state == MemberState::Suspect && now.saturating_duration_since(node.state_change) < settle / 2;
        let accuser_settled = self.members.get(&d.from).is_some_and(|a| {
            a.member.state == MemberState::Alive && now.saturating_duration_since(a.state_change) >= settle
        });
        let stale = seen_alive || suspected_lately || (!accuser_settled && !node.member.state.is_gone());
        if stale && d.from != d.node && d.from != self.name && self.cfg.experiment.lifeguard {
            let s = Suspect { incarnation: d.incarnation, node: d.node, from: d.from };
            self.suspect_node(s, now);
            return;
        }
        self.suspicions.remove(&d.node);
        if node.member.state.is_gone() {
            return;
        }
        if d.node == self.name {
            if !self.left {
                self.refute(d.incarnation, now);
                return;
            }
            self.broadcasts.push(Some(&d.node), d.encode(), Some(LEAVE_TOKEN));
        } else {
            self.broadcasts.push(Some(&d.node), d.encode(), None);
        }
        self.gossip_soon();
        let left = d.node == d.from;
        let n = self.node_mut(&d.node).expect("present");
        n.member.incarnation = d.incarnation;
        n.member.state = if left { MemberState::Left } else { MemberState::Dead };
        n.state_change = now;
        let member = n.member.clone();
        self.stats.msg_dead += 1;
        if d.node != self.name {
            self.emit(if left { Event::MemberLeft(member) } else { Event::MemberFailed(member) });
            self.reap_ephemeral(&d.node, now);
        }
    }

    /// Answers an accusation about ourselves with a higher incarnation.
    pub(super) fn refute(&mut self, accused: u32, _now: Instant) {
        let mut inc = self.next_incarnation();
        if accused >= inc {
            self.incarnation = accused.wrapping_add(1);
            inc = self.incarnation;
        }
        self.stats.refutes += 1;
        // Having to refute says something about our own health.
        self.awareness.apply_delta(1);
        let name = self.name.clone();
        let vsn = self.vsn();
        let n = self.node_mut(&name).expect("the local node is in the table");
        n.member.incarnation = inc;
        let a = Alive { incarnation: inc, node: name.clone(), addr: n.member.addr, meta: n.member.meta.clone(), vsn };
        self.broadcasts.push(Some(&name), a.encode(), None);
    }

    /// Our verdict on a member we hold failed or left, as the dead rumour
    /// that made it so; `None` for any other member.
    pub(super) fn verdict_on(&self, name: &str) -> Option<Vec<u8>> {
        let m = &self.members.get(name)?.member;
        let from = match m.state {
            MemberState::Left => m.name.to_string(),
            MemberState::Dead => self.name.clone(),
            MemberState::Alive | MemberState::Suspect => return None,
        };
        Some(Dead { incarnation: m.incarnation, node: m.name.to_string(), from }.encode())
    }

    /// A packet from `from` accused us (refuted or stale by now): send our
    /// current alive straight back, as gossip may pass it by (it goes to a
    /// few random members, twice in a small cluster). At most once per
    /// probe interval per address, so forged accusations reflect no more
    /// than that.
    pub(super) fn answer_accuser(&mut self, from: SocketAddr, now: Instant) {
        if self.left {
            return;
        }
        let gap = self.cfg.probe_interval;
        if self.answered_accusers.get(&from).is_some_and(|t| now.saturating_duration_since(*t) < gap) {
            return;
        }
        if self.answered_accusers.len() >= MAX_ANSWERED_ACCUSERS {
            self.answered_accusers.retain(|_, t| now.saturating_duration_since(*t) < gap);
            if self.answered_accusers.len() >= MAX_ANSWERED_ACCUSERS {
                return;
            }
        }
        self.answered_accusers.insert(from, now);
        self.stats.accusers_answered += 1;
        let a = self.local_alive();
        self.raw_send(from, None, a.encode());
    }

    /// This node's alive rumour at its current incarnation.
    fn local_alive(&self) -> Alive {
        let me = &self.members.get(&self.name).expect("the local node is in the table").member;
        Alive {
            incarnation: me.incarnation,
            node: self.name.clone(),
            addr: me.addr,
            meta: me.meta.clone(),
            vsn: self.vsn(),
        }
    }

    /// An accusation older than our incarnation means its sender (or
    /// whoever passed it on) missed our refutation: with a transmit limit
    /// of 2 in a small cluster, a refutation can reach every member but
    /// one, which then keeps us suspect until its timer fails us, or left
    /// until the next push-pull. memberlist drops such an accusation; we
    /// spread our current alive again (no new incarnation), once per
    /// exhausted rumour, so a flood of stale accusations costs no more
    /// than one queued alive.
    fn reassert_alive(&mut self) {
        if self.left || self.broadcasts.holds(&self.name) {
            return;
        }
        let a = self.local_alive();
        self.stats.reasserts += 1;
        self.broadcasts.push(Some(&self.name.clone()), a.encode(), None);
    }

    /// Merges a peer's full state (`mergeState`): a remote "dead" only makes
    /// us suspect, so a member gets its chance to refute.
    pub(super) fn merge_state(&mut self, remote: Vec<PushNodeState>, now: Instant) {
        for r in remote {
            match r.state {
                NodeStateKind::Alive => {
                    if !self.left || r.name != self.name {
                        let a =
                            Alive { incarnation: r.incarnation, node: r.name, addr: r.addr, meta: r.meta, vsn: r.vsn };
                        self.alive_node(a, false, now);
                    }
                }
                NodeStateKind::Left => {
                    let d = Dead { incarnation: r.incarnation, node: r.name.clone(), from: r.name };
                    self.dead_node(d, now);
                }
                NodeStateKind::Dead | NodeStateKind::Suspect => {
                    let s = Suspect { incarnation: r.incarnation, node: r.name, from: self.name.clone() };
                    self.suspect_node(s, now);
                }
            }
        }
        self.gossip_if_due(now);
    }

    /// Whether every alive member, ours and theirs, speaks a protocol
    /// version all of them understand (`verifyProtocol`).
    pub(super) fn verify_protocol(&self, remote: &[PushNodeState]) -> Result<(), String> {
        let (mut max_pmin, mut min_pmax, mut max_dmin, mut min_dmax) = (0u8, u8::MAX, 0u8, u8::MAX);
        let mut widen = |v: &[u8; 6]| {
            max_pmin = max_pmin.max(v[0]);
            min_pmax = min_pmax.min(v[1]);
            max_dmin = max_dmin.max(v[3]);
            min_dmax = min_dmax.min(v[4]);
        };
        for r in remote.iter().filter(|r| r.state == NodeStateKind::Alive && r.vsn != [0; 6]) {
            widen(&r.vsn);
        }
        for n in self.members.iter().filter(|n| n.member.state == MemberState::Alive) {
            widen(&n.member.protocol);
        }
        let check = |name: &str, v: &[u8; 6]| -> Result<(), String> {
            if v[2] < max_pmin || v[2] > min_pmax {
                return Err(format!("member {name:?} speaks protocol {} outside [{max_pmin}, {min_pmax}]", v[2]));
            }
            if v[5] < max_dmin || v[5] > min_dmax {
                return Err(format!(
                    "member {name:?} speaks delegate protocol {} outside [{max_dmin}, {min_dmax}]",
                    v[5]
                ));
            }
            Ok(())
        };
        for r in remote {
            check(&r.name, &r.vsn)?;
        }
        for n in self.members.iter() {
            check(&n.member.name, &n.member.protocol)?;
        }
        Ok(())
    }
}
