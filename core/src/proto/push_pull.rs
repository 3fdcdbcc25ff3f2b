//! Push-pull anti-entropy and the other stream exchanges (memberlist
//! `pushPull`, `pushPullNode`, `handleConn`, `sendAndReceiveState`).
//!
//! Periodically, and on join, two members swap their whole member tables
//! over a stream and merge them, which repairs whatever gossip missed.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::broadcast_queue::retransmit_limit;
use super::machine::{
    CommandError, Event, MessageKind, PendingStream, Proto, ReplyOutcome, StreamFailure, StreamId, StreamOutcome,
};
use super::members::MemberState;
use super::peer_file::{PeerFileError, PeerSnapshot, MAX_PEERS};
use super::seeds::{JoinStatus, ResolveId, Resolved, SeedStep, View};
use crate::wire::stream::{self, StreamMessage};
use crate::wire::{Ack, DecodeError, Ping, PushNodeState, PushNodeView, MAX_PUSH_STATE_BYTES};

/// Resync exchanges that may follow the first after a join, each because
/// the seed knew more members than at the exchange before.
pub(super) const RESYNC_CHAIN: u8 = 4;

/// Clusters up to this size push-pull at the configured interval
/// (`pushPullScaleThreshold`).
const PUSH_PULL_SCALE_THRESHOLD: usize = 32;

/// memberlist's `pushPullScale`: the interval grows by one multiple for each
/// doubling of the cluster beyond 32 members, so total exchange traffic
/// stays bounded.
pub fn push_pull_scale(interval: Duration, n: usize) -> Duration {
    if n <= PUSH_PULL_SCALE_THRESHOLD {
        return interval;
    }
    let multiplier = ((n as f64).log2() - (PUSH_PULL_SCALE_THRESHOLD as f64).log2()).ceil() + 1.0;
    interval * multiplier as u32
}

/// A member as a push-pull lists it.
fn table_entry(m: &super::members::Member) -> PushNodeView<'_> {
    PushNodeView {
        name: &m.name,
        addr: m.addr,
        meta: &m.meta,
        incarnation: m.incarnation,
        state: m.state.to_wire(),
        vsn: m.protocol,
    }
}

/// Our answer to a push-pull, compressed as the layers ask, and what it
/// was built from (see [`Proto::push_pull_answer`]).
#[derive(Debug)]
pub(super) struct Answer {
    built: Instant,
    join: bool,
    user_state: Vec<u8>,
    /// Our own incarnation and whether we had left: a change to either
    /// (a refutation, new metadata, a leave) makes a fresh answer.
    own: (u32, bool),
    plain_len: usize,
    body: Vec<u8>,
}

impl Proto {
    /// The user state a push-pull carries: with `state`, our replicated
    /// map's summary; otherwise what [`Proto::set_local_state`] gave, for
    /// memberlist peers.
    fn user_state(&mut self, state: bool) -> Vec<u8> {
        if state {
            self.state_summary_message()
        } else {
            self.local_user_state.clone()
        }
    }

    /// Our member table as a push-pull message, without layers; encoded
    /// straight from the table, since it can hold tens of thousands.
    fn encode_table(&self, join: bool, user_state: &[u8]) -> Vec<u8> {
        let nodes = self.members.iter().map(|n| table_entry(&n.member));
        stream::encode_push_pull(join, nodes, user_state)
    }

    /// What we answer a push-pull with. A seed that a whole cluster joins
    /// at once answers every joiner, and each joiner's resyncs, within a
    /// second or two, each time with the whole table: encoding and
    /// compressing a thousand members each time was most of its work, and
    /// the last joiners waited seconds for it. So an answer serves again
    /// for half a gossip interval, while our own entry and the user state
    /// are unchanged: a table that much older is what a peer that far
    /// away would get anyway, and what it lacks the next gossip round
    /// brings. A node asked once per `push_pull_interval` builds every
    /// answer afresh, as before.
    fn push_pull_answer(&mut self, join: bool, state: bool, now: Instant) -> (Vec<u8>, usize) {
        let user_state = self.user_state(state);
        let own = (self.incarnation, self.left);
        let reusable = |a: &&Answer| {
            a.join == join
                && a.own == own
                && a.user_state == user_state
                && now.saturating_duration_since(a.built) < self.cfg.gossip_interval / 2
        };
        if let Some(a) = self.last_answer.as_ref().filter(reusable) {
            return (a.body.clone(), a.plain_len);
        }
        let plain = self.encode_table(join, &user_state);
        let plain_len = plain.len();
        let body = stream::compress_for(&self.layers, plain);
        self.last_answer = Some(Answer { built: now, join, user_state, own, plain_len, body: body.clone() });
        (body, plain_len)
    }

    /// A pull: a push-pull that sends only our own entry, so the peer has
    /// just one member to read and merge, and answers with its table. For
    /// the resyncs with a seed after a join: the seed learned the rest of
    /// our table from the members' own joins, and a thousand joiners each
    /// sending theirs made it merge a million entries.
    pub(super) fn start_pull(&mut self, to: SocketAddr, now: Instant) -> StreamId {
        self.open_push_pull(to, false, false, now)
    }

    /// Opens a push-pull with `to`; our map's summary rides along when `to`
    /// is known to take state.
    pub(super) fn start_push_pull(&mut self, to: SocketAddr, join: bool, now: Instant) -> StreamId {
        self.open_push_pull(to, join, true, now)
    }

    /// Opens a push-pull sending our whole table, or (`whole` false) only
    /// our own entry.
    fn open_push_pull(&mut self, to: SocketAddr, join: bool, whole: bool, now: Instant) -> StreamId {
        let user_state = self.user_state(self.addr_speaks_state(to));
        let plain = if whole {
            self.encode_table(join, &user_state)
        } else {
            let own = self.members.get(&self.name).map(|n| table_entry(&n.member));
            stream::encode_push_pull(join, own.into_iter(), &user_state)
        };
        self.stats.last_push_pull_local_bytes = plain.len() as u64;
        self.open_stream(to, plain, PendingStream::PushPull { join, to, started: now }, true)
    }

    /// The periodic exchange with one random alive member.
    pub(super) fn periodic_push_pull(&mut self, now: Instant) {
        if let Some(addr) = self.random_alive_peer() {
            self.start_push_pull(addr, false, now);
        }
    }

    /// The address of one random alive member other than us.
    fn random_alive_peer(&mut self) -> Option<SocketAddr> {
        let me = self.name.clone();
        let picked =
            self.members.random(1, &mut self.rng, |n| *n.member.name != *me && n.member.state == MemberState::Alive);
        picked.first().map(|&i| self.members.at(i).member.addr)
    }

    // ---- catch-up pulls (the mechanism is in catch_up.rs; this routes) ----

    /// How long after a burst of joins a catch-up pull comes: about as long
    /// as a rumour stays in the gossip queues (a retransmit limit of gossip
    /// rounds), so the burst has spread, plus up to half again so that a
    /// cluster's nodes do not all pull at the same instant. `None` when
    /// push-pull is off.
    fn catch_up_delay(&mut self) -> Option<Duration> {
        if self.cfg.push_pull_interval.is_zero() || self.cfg.gossip_interval.is_zero() || self.left {
            return None;
        }
        let rounds = retransmit_limit(self.cfg.retransmit_mult, self.members.len()).max(1);
        Some(self.cfg.gossip_interval * rounds)
    }

    /// A member joined our view: counts towards a burst.
    pub(super) fn note_member_joined(&mut self, now: Instant) {
        let Some(window) = self.catch_up_delay() else { return };
        if self.resync_stream.is_some() || self.timers.resync.is_some() {
            // A join, and the resyncs with the seed that follow it, hand us
            // the whole table, and repeat while the seed learns more: a
            // catch-up pull on top would be a second full exchange for
            // every node of a cluster that starts at once.
            self.catch_up.member_joined_by_resync();
            return;
        }
        if self.catch_up.member_joined(now, window) {
            self.arm_catch_up(window, now);
        }
    }

    fn arm_catch_up(&mut self, delay: Duration, now: Instant) {
        let jitter = delay.mul_f64(self.rng.unit() / 2.0);
        self.catch_up.arm(now + delay + jitter);
    }

    /// The catch-up pull is due: with a random alive member.
    pub(super) fn catch_up_pull(&mut self, now: Instant) {
        if self.left {
            return;
        }
        if let Some(addr) = self.random_alive_peer() {
            let id = self.start_push_pull(addr, false, now);
            self.catch_up.launched(id);
            self.stats.catch_up_pulls = self.catch_up.started();
        }
    }

    /// A stream we opened ended: a catch-up pull may call for another.
    fn catch_up_stream_done(&mut self, id: StreamId, ok: bool, now: Instant) {
        if self.catch_up.stream_done(id, ok) {
            if let Some(delay) = self.catch_up_delay() {
                self.arm_catch_up(delay, now);
            }
        }
    }

    fn seal_stream(&mut self, plain: Vec<u8>) -> Vec<u8> {
        let body = stream::compress_for(&self.layers, plain);
        self.seal_stream_body(body)
    }

    /// [`Self::seal_stream`] for a body already compressed as the layers ask.
    fn seal_stream_body(&mut self, body: Vec<u8>) -> Vec<u8> {
        let nonce = if self.layers.encrypts() { self.rng.nonce() } else { [0; 12] };
        stream::seal_compressed(&self.layers, body, nonce)
    }

    /// A peer opened a stream to us and sent `buf` so far.
    pub fn handle_stream(&mut self, from: SocketAddr, buf: &[u8], now: Instant) -> StreamOutcome {
        let msg = match stream::open(&self.layers, buf) {
            Ok((msg, _)) => msg,
            Err(DecodeError::Truncated) if buf.len() <= MAX_PUSH_STATE_BYTES + 64 => return StreamOutcome::NeedMore,
            Err(error) => {
                self.stats.decode_errors += 1;
                let reply = Some(self.seal_stream(StreamMessage::Err(error.to_string()).encode_plain()));
                return StreamOutcome::Rejected { reply, error };
            }
        };
        self.stats.streams_accepted += 1;
        match msg {
            StreamMessage::PushPull { join, nodes, user_state } => {
                // Answer first, as memberlist does, then merge. Our summary
                // goes back only to a peer that sent its own; the initiator
                // drives any descent.
                let state = Self::parse_summary(&user_state).is_some();
                let (body, plain_len) = self.push_pull_answer(join, state, now);
                self.stats.last_push_pull_local_bytes = plain_len as u64;
                self.stats.last_push_pull_remote_bytes = buf.len() as u64;
                if !state && !user_state.is_empty() {
                    self.emit(Event::RemoteState(user_state));
                }
                let reply = Some(self.seal_stream_body(body));
                match self.verify_protocol(&nodes) {
                    Ok(()) => {
                        // A peer joining us (or exchanging with us) ends our wait.
                        let via = nodes
                            .iter()
                            .find(|n| n.name != self.name && n.addr.ip() == from.ip())
                            .map_or(from, |n| n.addr);
                        let others = self.knows_others(&nodes);
                        self.merge_state(nodes, now);
                        // After the merge: whoever hears of the join finds
                        // the members already in place.
                        if others {
                            self.note_contact(via);
                        }
                    }
                    Err(_) => self.stats.incompatible_peers += 1,
                }
                StreamOutcome::Done { reply }
            }
            StreamMessage::Ping(p) => {
                if !p.node.is_empty() && p.node != self.name {
                    return StreamOutcome::Done { reply: None };
                }
                let ack = StreamMessage::Ack(Ack { seq_no: p.seq_no, payload: Vec::new() });
                StreamOutcome::Done { reply: Some(self.seal_stream(ack.encode_plain())) }
            }
            StreamMessage::User(bytes) => {
                if let Some(super::user::Envelope::Sync { payload }) = super::user::decode(&bytes) {
                    let reply = self.handle_sync_request(payload, now);
                    return StreamOutcome::Done { reply: Some(self.seal_stream(reply)) };
                }
                self.handle_user(&bytes, now);
                StreamOutcome::Done { reply: None }
            }
            StreamMessage::Ack(_) | StreamMessage::Err(_) => StreamOutcome::Done { reply: None },
        }
    }

    /// The reply to a stream we opened, as read so far.
    pub fn handle_stream_reply(&mut self, id: StreamId, buf: &[u8], now: Instant) -> ReplyOutcome {
        let outcome = self.handle_stream_reply_inner(id, buf, now);
        if let ReplyOutcome::Done(result) = &outcome {
            self.catch_up_stream_done(id, result.is_ok(), now);
            let result = result.clone().map_err(|e| e.to_string());
            self.seeds.stream_done(id, result, now, &mut self.rng);
            self.report_seeds();
        }
        outcome
    }

    fn handle_stream_reply_inner(&mut self, id: StreamId, buf: &[u8], now: Instant) -> ReplyOutcome {
        let Some(&purpose) = self.pending_streams.get(&id) else {
            return ReplyOutcome::Done(Err(StreamFailure::UnknownStream));
        };
        let msg = match stream::open(&self.layers, buf) {
            Ok((msg, _)) => msg,
            Err(DecodeError::Truncated) if buf.len() <= MAX_PUSH_STATE_BYTES + 64 => return ReplyOutcome::NeedMore,
            Err(e) => {
                self.stats.decode_errors += 1;
                self.pending_streams.remove(&id);
                return ReplyOutcome::Done(Err(StreamFailure::Decode(e)));
            }
        };
        self.pending_streams.remove(&id);
        let result = match (purpose, msg) {
            (PendingStream::PushPull { join, to, started }, StreamMessage::PushPull { nodes, user_state, .. }) => {
                self.stats.last_push_pull_remote_bytes = buf.len() as u64;
                let result = match self.verify_protocol(&nodes) {
                    Ok(()) if !self.knows_others(&nodes) => {
                        // Only ourselves answered: a seed that is this node.
                        Err(StreamFailure::Remote("the peer is this node itself".into()))
                    }
                    Ok(()) => {
                        let seed_knows = nodes.len();
                        if join {
                            // Before the merge, which then counts the
                            // members it adds as the resync chain's.
                            self.resyncs_left = RESYNC_CHAIN;
                            self.resync_seed_knew = seed_knows;
                            self.schedule_resync(to, now);
                        }
                        self.merge_state(nodes, now);
                        self.note_contact(to);
                        if !join && self.resync_stream == Some(id) {
                            self.resync_stream = None;
                            // The seed knew more members than last time: others
                            // are still joining through it. Ask again.
                            if seed_knows > self.resync_seed_knew && self.resyncs_left > 0 {
                                self.resyncs_left -= 1;
                                self.resync_seed_knew = seed_knows;
                                self.schedule_resync(to, now);
                            }
                        }
                        match Self::parse_summary(&user_state) {
                            Some(summary) => self.after_push_pull(to, summary, now),
                            None if !user_state.is_empty() => self.emit(Event::RemoteState(user_state)),
                            None => {}
                        }
                        Ok(())
                    }
                    Err(why) => {
                        self.stats.incompatible_peers += 1;
                        Err(StreamFailure::Incompatible(why))
                    }
                };
                self.observe("memberlist.pushPullNode", now.saturating_duration_since(started));
                result
            }
            (PendingStream::TcpPing { seq }, StreamMessage::Ack(a)) if a.seq_no == seq => {
                if let Some(p) = self.probe.as_mut().filter(|p| p.is_tcp(id)) {
                    p.tcp_ok = true;
                }
                Ok(())
            }
            (PendingStream::StateSync { to, hops, partial }, StreamMessage::User(bytes)) => {
                match super::user::decode(&bytes) {
                    Some(super::user::Envelope::Sync { payload })
                        if self.handle_sync_reply(to, hops, partial, payload, now) =>
                    {
                        Ok(())
                    }
                    _ => Err(StreamFailure::UnexpectedReply),
                }
            }
            (_, StreamMessage::Err(text)) => Err(StreamFailure::Remote(text)),
            _ => Err(StreamFailure::UnexpectedReply),
        };
        ReplyOutcome::Done(result)
    }

    /// After a join, one more exchange with the same seed two gossip
    /// intervals later. Nodes that start together all join through the
    /// same few seeds; by then a seed has heard from most of them, so this
    /// pull hands each joiner the cluster at once, instead of leaving it to
    /// learn the others one gossiped rumour at a time (memberlist waits for
    /// the periodic push-pull, 30 s or more). While the seed knows more
    /// members at each exchange than at the one before, another follows (at
    /// most [`RESYNC_CHAIN`]): hundreds of nodes take a second or more to
    /// join one seed, and the early ones would otherwise learn the late
    /// ones from gossip that carries hundreds of rumours at once, a few
    /// dozen a packet. A node joining a settled cluster makes one. A second
    /// join before it fires moves it to that seed.
    fn schedule_resync(&mut self, seed: SocketAddr, now: Instant) {
        if self.cfg.push_pull_interval.is_zero() {
            return;
        }
        self.timers.resync = Some((now + self.cfg.gossip_interval.max(Duration::from_millis(50)) * 2, seed));
    }

    /// Sets the user state this node sends in push-pull exchanges with
    /// memberlist peers (their delegate's `MergeRemoteState` receives it);
    /// rumour peers share state through the replicated map instead.
    pub fn set_local_state(&mut self, state: Vec<u8>) -> Result<(), CommandError> {
        let limit = crate::wire::MAX_PUSH_STATE_BYTES / 2;
        if state.len() > limit {
            return Err(CommandError::LocalStateTooLarge { size: state.len(), limit });
        }
        self.local_user_state = state;
        Ok(())
    }

    /// A member declared failed was just forgotten: remember where it was,
    /// to try it now and then (see `Config::reconnect_timeout`).
    pub(super) fn remember_failed(&mut self, member: super::members::Member, now: Instant) {
        /// Failed members remembered at most (the oldest are dropped).
        const REMEMBERED: usize = 1024;
        if self.cfg.reconnect_timeout.is_zero() {
            return;
        }
        self.failed.retain(|(m, _)| m.name != member.name);
        self.failed.push_back((member, now));
        while self.failed.len() > REMEMBERED {
            self.failed.pop_front();
        }
    }

    /// One attempt to reach a member declared failed: a push-pull with a
    /// random one still within the reconnect timeout and not back already.
    /// If it answers, the two sides merge their tables (and each refutes
    /// what the other believed of it).
    pub(super) fn reconnect(&mut self, now: Instant) {
        let timeout = self.cfg.reconnect_timeout;
        let members = &self.members;
        self.failed
            .retain(|(m, since)| now.saturating_duration_since(*since) <= timeout && members.get(&m.name).is_none());
        if self.failed.is_empty() || self.left {
            return;
        }
        let i = self.rng.below(self.failed.len());
        let addr = self.failed[i].0.addr;
        self.stats.reconnect_attempts += 1;
        self.start_push_pull(addr, false, now);
    }

    /// A stream we opened failed (connection refused, reset, timed out).
    pub fn handle_stream_failed(&mut self, id: StreamId, now: Instant) {
        self.pending_streams.remove(&id);
        self.catch_up_stream_done(id, false, now);
        let reason = "no answer (connection refused, reset or timed out)".to_string();
        self.seeds.stream_done(id, Err(reason), now, &mut self.rng);
        self.report_seeds();
    }

    /// Traces a failed join attempt, if one just ended, and tells the
    /// user when it was the last.
    fn report_seeds(&mut self) {
        if let Some((attempt, failures, retry_in)) = self.seeds.take_report() {
            if retry_in.is_none() {
                self.emit(Event::JoinGaveUp { attempts: attempt, failures: failures.clone() });
            }
            self.trace(super::machine::Trace::JoinAttemptFailed { attempt, failures, retry_in });
        }
    }

    // ---- seeds (the mechanism is in seeds.rs; this routes) ----

    /// Whether a peer's table names any member but us.
    fn knows_others(&self, nodes: &[PushNodeState]) -> bool {
        nodes.iter().any(|n| n.name != self.name)
    }

    /// A push-pull with a peer of some cluster succeeded.
    fn note_contact(&mut self, via: SocketAddr) {
        if self.seeds.contact(via) {
            self.emit(Event::Joined { via });
        }
    }

    /// Addresses of the members seen alive, ours included.
    fn alive_addrs(&self) -> HashSet<SocketAddr> {
        self.members.iter().filter(|n| n.member.state == MemberState::Alive).map(|n| n.member.addr).collect()
    }

    /// The seeds' timers.
    pub(super) fn seed_timers(&mut self, now: Instant) {
        if self.seeds.deadline().is_none_or(|t| t > now) {
            return;
        }
        let alive = self.alive_addrs();
        let steps = self.seeds.on_timeout(now, &View { local: self.addr, alive: &alive }, &mut self.rng);
        self.stats.join_attempts = u64::from(self.seeds.attempts());
        for step in steps {
            self.seed_step(step, now);
        }
        self.report_seeds();
    }

    fn seed_step(&mut self, step: SeedStep, now: Instant) {
        match step {
            SeedStep::Resolve(request) => self.resolves.push_back(request),
            SeedStep::Join(targets) => {
                for (seed, addr) in targets {
                    let id = self.start_push_pull(addr, true, now);
                    self.seeds.launched(id, seed);
                }
            }
            SeedStep::PushPull(addr) => {
                self.stats.seed_push_pulls += 1;
                self.trace(super::machine::Trace::SeedPushPull { to: addr });
                self.start_push_pull(addr, false, now);
            }
            SeedStep::Ping(addrs) => {
                for to in addrs {
                    let seq_no = self.next_seq();
                    self.seeds.pinged(seq_no);
                    // No target name: we do not know who is there yet.
                    let ping = Ping { seq_no, node: String::new(), source: None, source_node: self.name.clone() };
                    self.raw_send(to, None, ping.encode());
                }
            }
        }
    }

    /// The runtime resolved the names of a [`Proto::poll_resolve`] request.
    pub fn handle_resolved(&mut self, id: ResolveId, results: Vec<Resolved>, now: Instant) {
        let alive = self.alive_addrs();
        let view = View { local: self.addr, alive: &alive };
        if let Some(step) = self.seeds.handle_resolved(id, results, now, &view, &mut self.rng) {
            self.seed_step(step, now);
        }
        self.report_seeds();
    }

    /// Where joining the configured seeds stands.
    pub fn join_status(&self) -> JoinStatus {
        self.seeds.status()
    }

    /// A packet from `from` decoded: if we are alone and `from` is no
    /// member we know, the cluster it belongs to still counts us in (we
    /// restarted empty, say): join it back.
    pub(super) fn maybe_hailed(&mut self, from: SocketAddr, now: Instant) {
        // A table this small is cheap to scan; a node in a larger one has
        // been in a cluster and finds it again through reconnects.
        const SMALL: usize = 16;
        if self.left || self.members.len() > SMALL {
            return;
        }
        let alone = self.members.iter().all(|n| *n.member.name == *self.name || n.member.state.is_gone());
        if !alone || self.members.iter().any(|n| n.member.addr == from) {
            return;
        }
        if let Some(to) = self.seeds.hailed(from, true, now) {
            self.stats.hails_answered += 1;
            self.trace(super::machine::Trace::Hailed { from: to });
            self.start_push_pull(to, true, now);
        }
    }

    /// A member we do not know, or think gone, pinged us from `from`: our
    /// views differ (we restarted empty and others joined us meanwhile, or
    /// a partition healed), so exchange tables with it, rate-limited.
    pub(super) fn unknown_pinger(&mut self, from: SocketAddr, now: Instant) {
        if self.left {
            return;
        }
        if let Some(to) = self.seeds.hailed(from, false, now) {
            self.stats.hails_answered += 1;
            self.trace(super::machine::Trace::Hailed { from: to });
            self.start_push_pull(to, false, now);
        }
    }

    /// What the peer file keeps: this node's name and incarnation, the
    /// members alive or suspect, then those still in the table that failed
    /// or left (a whole cluster that left for a restart finds itself
    /// again), then those failed and forgotten (most recent first), at
    /// most [`MAX_PEERS`].
    pub fn peer_snapshot(&self) -> PeerSnapshot {
        let others = || self.members.iter().filter(|n| *n.member.name != *self.name);
        let mut peers: Vec<(String, SocketAddr)> = others()
            .filter(|n| !n.member.state.is_gone())
            .chain(others().filter(|n| n.member.state.is_gone()))
            .map(|n| (n.member.name.to_string(), n.member.addr))
            .take(MAX_PEERS)
            .collect();
        for (m, _) in self.failed.iter().rev() {
            if peers.len() >= MAX_PEERS {
                break;
            }
            if !peers.iter().any(|(n, _)| *n == *m.name) {
                peers.push((m.name.to_string(), m.addr));
            }
        }
        PeerSnapshot { name: self.name.clone(), incarnation: self.incarnation, peers }
    }

    /// Takes a peer file read at start: its peers are tried with the seeds,
    /// and this node continues above the incarnation it had. Returns how
    /// many peers it added; a file of another node is refused unchanged.
    pub fn restore_peers(&mut self, snapshot: PeerSnapshot, now: Instant) -> Result<usize, PeerFileError> {
        if snapshot.name != self.name {
            return Err(PeerFileError::Foreign { found: snapshot.name, expected: self.name.clone() });
        }
        if snapshot.incarnation >= self.incarnation {
            self.incarnation = snapshot.incarnation;
            let alive = crate::wire::Alive {
                incarnation: self.next_incarnation(),
                node: self.name.clone(),
                addr: self.addr,
                meta: self.cfg.meta.clone(),
                vsn: self.vsn(),
            };
            self.alive_node(alive, true, now);
        }
        let addrs: Vec<SocketAddr> = snapshot.peers.iter().map(|(_, a)| *a).filter(|a| *a != self.addr).collect();
        let added = addrs.len();
        self.seeds.remember(addrs, now, &mut self.rng);
        Ok(added)
    }

    /// A user message arrived (packet or stream): unwrap our envelope,
    /// drop duplicates, relay broadcasts, tell the user.
    pub(super) fn handle_user(&mut self, bytes: &[u8], now: Instant) {
        match super::user::decode(bytes) {
            Some(super::user::Envelope::Broadcast { origin, seq, payload }) => {
                if origin == self.name || !self.seen.insert(&origin, seq) {
                    return;
                }
                // Pass it on: every holder spreads it, as rumour mongering does.
                let mut msg = vec![crate::wire::msg_type::USER];
                msg.extend_from_slice(bytes);
                self.user_broadcasts.push(None, msg, None);
                self.user_broadcasts.prune(self.cfg.broadcast_queue_depth);
                self.emit(Event::Message {
                    from: Some(origin),
                    kind: MessageKind::Broadcast,
                    payload: payload.to_vec(),
                });
            }
            Some(super::user::Envelope::Direct { origin, payload }) => {
                self.emit(Event::Message { from: Some(origin), kind: MessageKind::Direct, payload: payload.to_vec() });
            }
            Some(super::user::Envelope::State { payload }) => self.handle_state_rumour(payload, now),
            // Descent steps are only valid as streams with a reply.
            Some(super::user::Envelope::Sync { .. }) => self.stats.decode_errors += 1,
            None => self.emit(Event::Message { from: None, kind: MessageKind::Plain, payload: bytes.to_vec() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_pull_scale_matches_memberlist() {
        // util_test.go TestPushPullScale, interval 1s.
        let s = Duration::from_secs(1);
        for (n, want) in
            [(0, 1), (1, 1), (32, 1), (33, 2), (64, 2), (65, 3), (128, 3), (129, 4), (256, 4), (10_000, 10)]
        {
            assert_eq!(push_pull_scale(s, n), Duration::from_secs(want), "n={n}");
        }
    }
}
