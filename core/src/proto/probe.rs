//! The probe cycle (memberlist `probe`, `probeNode`) and the helper's side
//! of an indirect probe (`handleIndirectPing`).
//!
//! A probe pings one member and waits `probe_timeout` for the ack. Without
//! it, `indirect_checks` helpers ping the member on our behalf (and, with
//! Lifeguard, nack if it stays silent), and a TCP ping is tried. If nothing
//! answers before the end of the (health-scaled) probe interval, the member
//! is suspected. Missing nacks count against our own health: if the helpers
//! could not even tell us they failed, the problem may be ours.

use std::net::SocketAddr;
use std::time::Instant;

use super::machine::{PendingStream, Proto, StreamId, Trace};
use super::members::MemberState;
use crate::wire::stream::StreamMessage;
use crate::wire::{compound, Ack, IndirectPing, Message, Nack, Ping, Suspect};

/// The probe in progress.
#[derive(Debug)]
pub(crate) struct ActiveProbe {
    seq: u32,
    target: String,
    incarnation: u32,
    timeout_at: Instant,
    deadline: Instant,
    indirect_sent: bool,
    expected_nacks: u32,
    nacks: u32,
    tcp: Option<StreamId>,
    pub(super) tcp_ok: bool,
    started: Instant,
}

impl ActiveProbe {
    pub(super) fn next_deadline(&self) -> Instant {
        if self.indirect_sent {
            self.deadline
        } else {
            self.timeout_at
        }
    }

    pub(super) fn is_tcp(&self, id: StreamId) -> bool {
        self.tcp == Some(id)
    }
}

/// Our role as a helper in someone else's indirect probe.
#[derive(Debug)]
pub(crate) struct Relay {
    orig_seq: u32,
    reply_to: SocketAddr,
    reply_name: String,
    expires: Instant,
    nack_at: Option<Instant>,
}

impl Relay {
    pub(super) fn next_deadline(&self) -> Instant {
        self.nack_at.map_or(self.expires, |n| n.min(self.expires))
    }
}

impl Proto {
    /// Picks the next member to probe: round robin over a list reshuffled
    /// each round, skipping ourselves and the dead (`probe`), or uniformly
    /// at random in the SWIM experiment mode.
    fn next_probe_target(&mut self, now: Instant) -> Option<String> {
        use super::config::ProbeSelection;
        if self.cfg.experiment.probe_selection == ProbeSelection::UniformRandom {
            let me = self.name.clone();
            let picked = self.members.random(1, &mut self.rng, |n| *n.member.name != *me && !n.member.state.is_gone());
            return picked.first().map(|&i| self.members.at(i).member.name.to_string());
        }
        let mut checked = 0;
        loop {
            if checked >= self.members.len() {
                return None;
            }
            if self.probe_index >= self.members.len() {
                let gone = self.members.reset(now, self.cfg.gossip_to_the_dead_time, &mut self.rng);
                for member in gone {
                    self.suspicions.remove(&*member.name);
                    if member.state == MemberState::Dead {
                        self.remember_failed(member, now);
                    }
                }
                self.probe_index = 0;
                checked += 1;
                continue;
            }
            let node = self.members.at(self.probe_index);
            self.probe_index += 1;
            if *node.member.name == *self.name || node.member.state.is_gone() {
                checked += 1;
                continue;
            }
            return Some(node.member.name.to_string());
        }
    }

    /// Starts one probe (`probeNode`).
    pub(super) fn start_probe(&mut self, now: Instant) {
        let Some(target) = self.next_probe_target(now) else { return };
        let node = self.members.get(&target).expect("picked from the table");
        let (addr, state, incarnation) = (node.member.addr, node.member.state, node.member.incarnation);
        let interval = self.awareness.scale(self.cfg.probe_interval);
        if interval > self.cfg.probe_interval {
            self.stats.degraded_probes += 1;
        }
        let seq = self.next_seq();
        let ping = Ping { seq_no: seq, node: target.clone(), source: Some(self.addr), source_node: self.name.clone() };
        self.stats.probes += 1;
        self.trace(Trace::ProbeStarted { target: target.clone() });
        if state == MemberState::Alive || !self.cfg.experiment.lifeguard {
            self.send_msg(addr, Some(&target), ping.encode());
        } else {
            // Lifeguard's buddy system: tell a suspect it is suspected, so
            // it can refute at once.
            let s = Suspect { incarnation, node: target.clone(), from: self.name.clone() };
            self.raw_send(addr, Some(&target), compound::encode(&[ping.encode(), s.encode()]));
        }
        self.probe = Some(ActiveProbe {
            seq,
            target,
            incarnation,
            timeout_at: now + self.cfg.probe_timeout,
            deadline: now + interval,
            indirect_sent: false,
            expected_nacks: 0,
            nacks: 0,
            tcp: None,
            tcp_ok: false,
            started: now,
        });
    }

    /// Advances the active probe: the indirect phase after the probe
    /// timeout, the verdict at the end of the interval.
    pub(super) fn probe_timers(&mut self, now: Instant) {
        let Some(p) = &self.probe else { return };
        if !p.indirect_sent && now >= p.timeout_at {
            self.indirect_phase();
        }
        let Some(p) = &self.probe else { return };
        if p.indirect_sent && now >= p.deadline {
            let p = self.probe.take().expect("checked");
            if p.tcp_ok {
                self.finish_probe(p, true, now);
                return;
            }
            self.finish_probe(p, false, now);
        }
    }

    fn indirect_phase(&mut self) {
        let p = self.probe.as_mut().expect("caller checked");
        p.indirect_sent = true;
        let (seq, target) = (p.seq, p.target.clone());
        let Some(node) = self.members.get(&target) else { return };
        let (target_addr, target_pmax) = (node.member.addr, node.member.protocol[1]);
        let me = self.name.clone();
        let helpers = self.members.random(self.cfg.indirect_checks, &mut self.rng, |n| {
            *n.member.name != *me && *n.member.name != *target && n.member.state == MemberState::Alive
        });
        let helpers: Vec<(SocketAddr, String, u8)> = helpers
            .into_iter()
            .map(|i| {
                let m = &self.members.at(i).member;
                (m.addr, m.name.to_string(), m.protocol[1])
            })
            .collect();
        let mut expected = 0;
        for (addr, name, pmax) in helpers {
            // Only helpers speaking protocol 4 or later send nacks.
            let nack = self.cfg.experiment.lifeguard && pmax >= 4;
            expected += nack as u32;
            let ind = IndirectPing {
                seq_no: seq,
                target: target_addr,
                node: target.clone(),
                nack,
                source: Some(self.addr),
                source_node: me.clone(),
            };
            self.send_msg(addr, Some(&name), ind.encode());
        }
        let tcp = if !self.cfg.disable_tcp_pings && target_pmax >= 3 {
            let ping = Ping { seq_no: seq, node: target.clone(), source: Some(self.addr), source_node: me };
            Some(self.open_stream(
                target_addr,
                StreamMessage::Ping(ping).encode_plain(),
                PendingStream::TcpPing { seq },
                true,
            ))
        } else {
            None
        };
        let p = self.probe.as_mut().expect("still active");
        p.expected_nacks = expected;
        p.tcp = tcp;
    }

    /// Ends the probe; on failure adjusts health and raises a suspicion.
    fn finish_probe(&mut self, p: ActiveProbe, acked: bool, now: Instant) {
        self.trace(Trace::ProbeFinished { target: p.target.clone(), acked });
        self.observe("memberlist.probeNode", now.saturating_duration_since(p.started));
        if acked {
            self.awareness.apply_delta(-1);
        } else {
            self.stats.probes_failed += 1;
            let delta = if p.expected_nacks > 0 { p.expected_nacks.saturating_sub(p.nacks) as i32 } else { 1 };
            self.awareness.apply_delta(delta);
            if self.cfg.experiment.suspect_on_failed_probe {
                let s = Suspect { incarnation: p.incarnation, node: p.target, from: self.name.clone() };
                self.suspect_node(s, now);
            }
        }
        if std::mem::take(&mut self.probe_pending) {
            self.start_probe(now);
        }
    }

    /// A ping for us: answer with an ack to where the sender asks.
    pub(super) fn handle_ping(&mut self, from: SocketAddr, p: Ping) {
        if !p.node.is_empty() && p.node != self.name {
            return;
        }
        let to = p.source.unwrap_or(from);
        let name = (!p.source_node.is_empty()).then_some(p.source_node);
        self.send_msg(to, name.as_deref(), Ack { seq_no: p.seq_no, payload: Vec::new() }.encode());
        if let Some(verdict) = name.as_deref().and_then(|n| self.verdict_on(n)) {
            // It pings us, so it runs, yet we hold it failed or left (it
            // refuted while its refutation passed us by): tell it, so it
            // answers us directly (state.rs `answer_accuser`).
            self.raw_send(to, None, verdict);
        }
    }

    /// Someone asks us to probe a member for them.
    pub(super) fn handle_indirect_ping(&mut self, from: SocketAddr, ind: IndirectPing, now: Instant) {
        let seq = self.next_seq();
        let ping =
            Ping { seq_no: seq, node: ind.node.clone(), source: Some(self.addr), source_node: self.name.clone() };
        let reply_to = ind.source.unwrap_or(from);
        let expires = now + self.cfg.probe_timeout;
        self.relays.insert(
            seq,
            Relay {
                orig_seq: ind.seq_no,
                reply_to,
                reply_name: ind.source_node,
                expires,
                nack_at: ind.nack.then_some(expires),
            },
        );
        self.send_msg(ind.target, Some(&ind.node), ping.encode());
    }

    /// An ack: either for our probe or for one we relay.
    pub(super) fn handle_ack(&mut self, ack: Ack, now: Instant) {
        if self.probe.as_ref().is_some_and(|p| p.seq == ack.seq_no) {
            let p = self.probe.take().expect("checked");
            self.finish_probe(p, true, now);
            return;
        }
        if let Some(r) = self.relays.remove(&ack.seq_no) {
            let name = (!r.reply_name.is_empty()).then_some(r.reply_name);
            self.send_msg(r.reply_to, name.as_deref(), Ack { seq_no: r.orig_seq, payload: Vec::new() }.encode());
        }
    }

    /// A helper could not reach our probe's target.
    pub(super) fn handle_nack(&mut self, nack: Nack) {
        if let Some(p) = self.probe.as_mut().filter(|p| p.seq == nack.seq_no) {
            p.nacks += 1;
        }
    }

    /// Helper duties that are due: nacks to send, relays to forget.
    pub(super) fn relay_timers(&mut self, now: Instant) {
        if self.relays.is_empty() {
            return;
        }
        let mut due: Vec<u32> = self.relays.iter().filter(|(_, r)| r.next_deadline() <= now).map(|(s, _)| *s).collect();
        due.sort_unstable();
        for seq in due {
            let r = self.relays.get_mut(&seq).expect("listed");
            if r.nack_at.is_some_and(|at| at <= now) {
                r.nack_at = None;
                let (to, name, orig) = (r.reply_to, r.reply_name.clone(), r.orig_seq);
                let name = (!name.is_empty()).then_some(name);
                self.send_msg(to, name.as_deref(), Message::Nack(Nack { seq_no: orig }).encode());
            }
            if self.relays.get(&seq).is_some_and(|r| r.expires <= now) {
                self.relays.remove(&seq);
            }
        }
    }
}
