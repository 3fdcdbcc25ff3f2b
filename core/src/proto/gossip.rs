//! Gossip rounds (memberlist `gossip`): every `gossip_interval`, queued
//! rumours go to `gossip_nodes` random members.
//!
//! One refinement memberlist lacks (`Experiment::prompt_gossip`, on by
//! default; off restores memberlist's pacing): a node that learns a
//! member's death (or departure) runs one extra round at once, at the end
//! of the input that taught it, instead of leaving the news queued until
//! its next tick. Each hop of the rumour then costs a network delay instead
//! of a wait of half a gossip interval on average: with the LAN preset at
//! N=100 (simulated, the `detection_breakdown` example), the last node hears
//! of a verdict a median 0.13 s after the first verdict instead of 0.36 s. The extra round draws on the same transmit-limited
//! queue as the ticks, so a rumour is sent no more often than before; it
//! costs at most `gossip_nodes` packets per node per verdict (fewer extra
//! in all, as later ticks then have less to send), and on the wire it is an
//! ordinary gossip packet. Suspicions are left to the ticks: they come and
//! go often around a slow member, and sending each at once cost a quarter
//! more packets in such a run, for a last verdict only about 0.1 s earlier.

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
    /// Returns the packets sent.
    pub(super) fn gossip(&mut self, now: Instant) -> u64 {
        if self.queued_broadcasts() == 0 {
            return 0;
        }
        self.gossip_rounds += 1;
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
        let mut sent = 0;
        for (addr, name, state) in targets {
            let msgs = self.get_broadcasts(COMPOUND_OVERHEAD, room, state);
            if msgs.is_empty() {
                continue;
            }
            let payload = if msgs.len() == 1 { msgs[0].to_vec() } else { compound::encode(&msgs) };
            self.raw_send(addr, Some(&name), payload);
            sent += 1;
        }
        sent
    }

    /// Lets a driver sleep through gossip ticks that would send nothing.
    ///
    /// A tick with nothing queued sends nothing (`gossip` returns at once),
    /// yet at the LAN preset's 200 ms it is five of an idle node's eight
    /// wake-ups a second. A driver that calls this after every input and
    /// after every [`Proto::handle_timeout`], with the time it handled them
    /// at, gets no gossip tick from [`Proto::poll_timeout`] while the queues
    /// are empty. Once something is queued, the next tick is the first on
    /// the usual grid after the moment it was queued (the ticks missed had
    /// nothing to send), so rumours leave exactly when they would have: the
    /// protocol's timing does not change. A driver that never calls it (the
    /// simulator, which pays nothing for a wake-up) sees every tick.
    pub fn park_idle_gossip(&mut self, now: Instant) {
        let Some(at) = self.timers.gossip else { return };
        if self.queued_broadcasts() == 0 {
            self.gossip_parked = true;
        } else if std::mem::take(&mut self.gossip_parked) && at <= now {
            self.timers.gossip = Some(super::machine::next_tick(at, self.cfg.gossip_interval, now));
        }
    }

    /// Asks for an extra gossip round at the end of the current input
    /// (see the module documentation): the news just queued is urgent.
    pub(super) fn gossip_soon(&mut self) {
        if self.cfg.experiment.prompt_gossip {
            self.gossip_due = true;
        }
    }

    /// Runs the round [`Proto::gossip_soon`] asked for, once however many
    /// verdicts the input carried.
    pub(super) fn gossip_if_due(&mut self, now: Instant) {
        if std::mem::take(&mut self.gossip_due) {
            self.stats.prompt_gossip_packets += self.gossip(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    use crate::proto::tests::{addr, dead_packet, member, suspect_packet};
    use crate::proto::{suspicion_timeout, Config, MemberState, Proto};
    use crate::wire::packet::{self, Layers};
    use crate::wire::Message;

    /// Node n0 of a converged cluster of `n`, with `prompt` as the switch.
    fn node(n: usize, prompt: bool, now: Instant) -> Proto {
        let mut cfg = Config { name: "n0".into(), enable_compression: false, ..Config::lan() };
        cfg.experiment.prompt_gossip = prompt;
        let mut p = Proto::new(cfg, addr(0), 0xF0CA, now).unwrap();
        p.bootstrap_members((1..n).map(member), now);
        p
    }

    fn sent(p: &mut Proto) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| p.poll_transmit()).map(|t| t.payload).collect()
    }

    /// When a genuine verdict on a suspicion raised at `t` arrives: a
    /// whole suspicion timeout later (one that follows its suspicion at
    /// once is taken as stale, state.rs `dead_node`).
    fn verdict_time(p: &Proto, t: Instant) -> Instant {
        t + suspicion_timeout(p.config().suspicion_mult, p.num_members(), p.config().probe_interval)
    }

    /// Whether `payload` (a sent packet: one message or a compound) carries a dead message.
    fn carries_dead(payload: &[u8]) -> bool {
        let body = packet::open(&Layers::default(), payload).expect("our own packet opens");
        let (msgs, _) = packet::split(&body);
        msgs.iter().any(|m| matches!(m, Message::Dead(_)))
    }

    #[test]
    fn a_failure_verdict_learned_from_a_peer_is_gossiped_at_once_and_only_once() {
        let t0 = Instant::now();
        let mut p = node(10, true, t0);
        // Later than a suspicion timeout after the members were learned,
        // so the accuser's verdicts count (state.rs, `dead_node`).
        let t1 = t0 + Duration::from_secs(30);
        p.handle_packet(addr(2), &suspect_packet("n1", "n2"), t1);
        assert!(sent(&mut p).is_empty(), "a suspicion waits for the gossip tick");
        let t2 = verdict_time(&p, t1);
        p.handle_packet(addr(2), &dead_packet("n1", "n2"), t2);
        let out = sent(&mut p);
        assert_eq!(out.len(), 3, "one packet to each of gossip_nodes members");
        assert!(out.iter().all(|b| carries_dead(b)));
        assert_eq!(p.stats().prompt_gossip_packets, 3);
        p.handle_packet(addr(3), &dead_packet("n1", "n2"), t2);
        assert!(sent(&mut p).is_empty(), "news already known goes out with the ticks only");
    }

    #[test]
    fn a_verdict_of_our_own_suspicion_timer_and_a_leave_go_out_at_once() {
        let t0 = Instant::now();
        let mut p = node(10, true, t0);
        p.handle_packet(addr(2), &suspect_packet("n1", "n2"), t0);
        let deadline = p.suspicion_deadline("n1").unwrap();
        p.handle_timeout(deadline);
        assert_eq!(p.member("n1").unwrap().state, MemberState::Dead);
        assert_eq!(p.stats().prompt_gossip_packets, 3);
        sent(&mut p);
        p.leave(deadline + Duration::from_millis(1));
        let out = sent(&mut p);
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|b| carries_dead(b)));
    }

    #[test]
    fn with_prompt_gossip_off_a_verdict_waits_for_the_tick_as_in_memberlist() {
        let t0 = Instant::now();
        let mut p = node(10, false, t0);
        // Later than a suspicion timeout after the members were learned,
        // so the accuser's verdicts count (state.rs, `dead_node`).
        let t1 = t0 + Duration::from_secs(30);
        p.handle_packet(addr(2), &suspect_packet("n1", "n2"), t1);
        let t2 = verdict_time(&p, t1);
        p.handle_packet(addr(2), &dead_packet("n1", "n2"), t2);
        assert_eq!(p.member("n1").unwrap().state, MemberState::Dead);
        assert!(sent(&mut p).is_empty());
        let tick = p.poll_timeout().unwrap();
        p.handle_timeout(tick.max(t2));
        assert!(sent(&mut p).iter().any(|b| carries_dead(b)), "the tick sends it");
        assert_eq!(p.stats().prompt_gossip_packets, 0);
    }

    /// What a driver saw over `secs` virtual seconds of node n0 in a
    /// cluster of 10 whose members never answer (so probes fail, suspicions
    /// and verdicts are queued by the timers), with two broadcasts and a
    /// forged suspicion as inputs: every packet with its time, and the
    /// number of wake-ups. With `park`, the driver calls
    /// `park_idle_gossip` after each input and timeout, as the runtime does.
    fn drive(park: bool, secs: u64) -> (Vec<(Duration, SocketAddr, Vec<u8>)>, usize) {
        let t0 = Instant::now();
        let mut p = node(10, true, t0);
        let mut inputs: Vec<(Duration, u8)> = vec![
            (Duration::from_millis(1_234), 0),
            (Duration::from_millis(3_310), 1),
            (Duration::from_millis(9_050), 0),
        ];
        inputs.reverse();
        let (mut out, mut wakes) = (Vec::new(), 0);
        let end = t0 + Duration::from_secs(secs);
        loop {
            let timer = p.poll_timeout().unwrap_or(end);
            let input = inputs.last().map(|(at, _)| t0 + *at);
            let now = input.map_or(timer, |i| i.min(timer));
            if now >= end {
                break;
            }
            if input == Some(now) {
                match inputs.pop().unwrap().1 {
                    0 => p.broadcast(b"news").unwrap(),
                    _ => p.handle_packet(addr(2), &suspect_packet("n1", "n2"), now),
                }
                if park {
                    p.park_idle_gossip(now);
                }
            }
            if p.poll_timeout().is_some_and(|t| t <= now) {
                wakes += 1;
                p.handle_timeout(now);
                if park {
                    p.park_idle_gossip(now);
                }
            }
            while let Some(t) = p.poll_transmit() {
                out.push((now - t0, t.to, t.payload));
            }
        }
        (out, wakes)
    }

    #[test]
    fn a_parked_gossip_timer_sends_the_same_packets_at_the_same_times_with_fewer_wake_ups() {
        let (plain, plain_wakes) = drive(false, 40);
        let (parked, parked_wakes) = drive(true, 40);
        assert!(plain.len() > 50, "the run has traffic to compare: {}", plain.len());
        assert!(plain.iter().any(|(_, _, b)| carries_dead(b)), "verdicts were gossiped");
        assert_eq!(plain.len(), parked.len());
        for (a, b) in plain.iter().zip(&parked) {
            assert_eq!(a, b, "same packet, same time, same member");
        }
        // 40 s of 200 ms ticks is 200 wake-ups for gossip alone; parked,
        // only the ticks with something queued remain.
        assert!(plain_wakes >= 200, "{plain_wakes}");
        assert!(parked_wakes * 2 < plain_wakes, "parked {parked_wakes} against {plain_wakes}");
    }

    #[test]
    fn a_rumour_queued_while_parked_leaves_at_the_next_tick_of_the_grid() {
        let t0 = Instant::now();
        let mut p = node(10, true, t0);
        // Run the timers until the queue is empty (the node's own alive goes
        // out first) and the gossip tick is the next thing due.
        for _ in 0..200 {
            let next = p.poll_timeout().unwrap();
            if Some(next) == p.timers.gossip && p.queued_broadcasts() == 0 {
                break;
            }
            p.handle_timeout(next);
            sent(&mut p);
        }
        let tick = p.timers.gossip.unwrap();
        assert_eq!(p.poll_timeout(), Some(tick));
        assert_eq!(p.queued_broadcasts(), 0);
        p.park_idle_gossip(tick - Duration::from_millis(1));
        assert!(p.poll_timeout().is_none_or(|t| t > tick), "the idle tick is left out");
        // A broadcast queued 1.05 ticks after a tick that passed unseen
        // leaves at the first tick of the grid after it, as it would have.
        let interval = p.config().gossip_interval;
        let queued = tick + interval + interval / 20;
        p.broadcast(b"late news").unwrap();
        p.park_idle_gossip(queued);
        assert_eq!(p.timers.gossip, Some(tick + interval * 2));
        assert!(p.poll_timeout().is_some_and(|t| t <= tick + interval * 2));
    }
}
