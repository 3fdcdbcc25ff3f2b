//! The one task that owns the protocol machine. It is the only reader of
//! the clock: it feeds `proto` packets, stream data, commands and timeouts,
//! and carries out what `proto` asks for (packets, streams, events, the
//! next wake-up). It sleeps until the earliest of those; an idle node does
//! no work between its timers.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::admission::{Admission, Limits};
use super::dispatch::EventSink;
use super::error::{JoinError, NodeError};
use super::peers_file::PeersFile;
use super::streams::{self, Deadlines};
use crate::metrics::{NodeMetrics, Sample};
use crate::proto::{
    Event, JoinStatus, Proto, ReplyOutcome, ResolveId, Resolved, SeedFailure, StreamId, StreamOutcome, Trace,
};

/// A command from the API: runs on the protocol task with the machine.
pub(crate) type Command = Box<dyn FnOnce(&mut Driver) + Send>;

/// Our streams in progress at once, and peers' streams reading past their
/// first chunk (which bounds the memory of large transfers; see
/// `streams::serve_incoming`).
pub(crate) const MAX_STREAMS: usize = 32;

/// How long the member addresses that admission favours are kept before
/// they are looked up again (sooner when membership changes).
const MEMBER_ADDRS_REFRESH: Duration = Duration::from_secs(10);

/// Least time between two warnings that admission is under pressure.
const ADMISSION_WARNING_GAP: Duration = Duration::from_secs(10);

/// Largest UDP datagram read (a peer may send more than our own buffer size).
const MAX_DATAGRAM: usize = 65_536;

/// Datagrams read, at most, before acting on a deadline that fell due
/// (`Driver::read_waiting_packets`): enough for a starved node's backlog
/// of gossip, few enough that the deadline is not put off for long.
const READ_BEFORE_TIMEOUT: usize = 64;

/// Counters of the runtime's own work, beside the protocol's.
#[derive(Debug, Default)]
pub(crate) struct RuntimeCounters {
    pub(crate) streams_refused: AtomicU64,
    pub(crate) streams_evicted: AtomicU64,
    pub(crate) streams_silent: AtomicU64,
    pub(crate) streams_timed_out: AtomicU64,
    pub(crate) streams_oversized: AtomicU64,
    pub(crate) streams_rejected: AtomicU64,
    pub(crate) streams_failed: AtomicU64,
    pub(crate) udp_send_errors: AtomicU64,
    pub(crate) peers_file_errors: AtomicU64,
    /// Bytes written on streams, ours and replies (`memberlist.tcp.sent`).
    pub(crate) tcp_bytes_sent: AtomicU64,
}

impl RuntimeCounters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What a stream task hands the protocol task.
pub(crate) enum Input {
    /// A peer's stream, as read so far; the answer says what to do next.
    Incoming { from: SocketAddr, buf: Vec<u8>, back: oneshot::Sender<IncomingStep> },
    /// The reply to one of our streams, as read so far.
    Reply { id: StreamId, buf: Vec<u8>, back: oneshot::Sender<Option<Vec<u8>>> },
    /// One of our streams failed before a whole reply came.
    Failed { id: StreamId, reason: String },
    /// A join's seeds, resolved (or not).
    Resolved { group: usize, addrs: Vec<(String, SocketAddr)>, failures: Vec<SeedFailure> },
    /// The configured seeds' names, resolved for the protocol.
    SeedsResolved { id: ResolveId, results: Vec<Resolved> },
}

/// The protocol's verdict on a peer's stream so far.
pub(crate) enum IncomingStep {
    /// Incomplete: read more (the buffer comes back).
    NeedMore(Vec<u8>),
    /// Write this reply (if any) and close.
    Done(Option<Vec<u8>>),
}

/// A leave in progress: when to give up, the timeout asked for, the caller.
struct PendingLeave {
    deadline: Instant,
    timeout: Duration,
    reply: oneshot::Sender<Result<(), NodeError>>,
}

/// A caller of `Node::joined`, answered when the node joins, gives up, or
/// at `deadline`.
struct JoinedWaiter {
    deadline: Instant,
    timeout: Duration,
    reply: oneshot::Sender<Result<SocketAddr, JoinError>>,
}

struct JoinGroup {
    pending: usize,
    answered: usize,
    failures: Vec<SeedFailure>,
    reply: Option<oneshot::Sender<Result<usize, JoinError>>>,
}

/// The protocol task's state.
pub(crate) struct Driver {
    pub(crate) proto: Proto,
    udp: Arc<UdpSocket>,
    inputs_tx: mpsc::Sender<Input>,
    pub(crate) counters: Arc<RuntimeCounters>,
    events: EventSink,
    outgoing: Arc<Semaphore>,
    incoming: Arc<Semaphore>,
    admission: Admission,
    /// Addresses of known members, and when they were looked up.
    member_addrs: (Option<Instant>, HashSet<IpAddr>),
    /// When admission last warned, and the evictions and refusals counted then.
    admission_warned: Option<(Instant, u64, u64)>,
    joins: HashMap<StreamId, (usize, String)>,
    join_groups: Vec<Option<JoinGroup>>,
    joined_waiters: Vec<JoinedWaiter>,
    peers_file: Option<PeersFile>,
    leave: Option<PendingLeave>,
    /// When the metrics are next recorded through the `metrics` facade.
    metrics_due: Option<Instant>,
    stop: bool,
}

impl Driver {
    pub(crate) fn new(
        proto: Proto,
        udp: Arc<UdpSocket>,
        inputs_tx: mpsc::Sender<Input>,
        counters: Arc<RuntimeCounters>,
        events: EventSink,
        peers_file: Option<PeersFile>,
    ) -> Self {
        let mut proto = proto;
        // Probe outcomes feed the "probe failed" log line; the records are
        // drained every turn of the loop, so they never pile up.
        proto.set_tracing(true);
        proto.keep_observations(!proto.config().metrics_interval.is_zero());
        let admission = Admission::new(admission_limits(proto.config()));
        Driver {
            proto,
            udp,
            inputs_tx,
            counters,
            events,
            outgoing: Arc::new(Semaphore::new(MAX_STREAMS)),
            incoming: Arc::new(Semaphore::new(MAX_STREAMS)),
            admission,
            member_addrs: (None, HashSet::new()),
            admission_warned: None,
            joins: HashMap::new(),
            join_groups: Vec::new(),
            joined_waiters: Vec::new(),
            peers_file,
            leave: None,
            metrics_due: None,
            stop: false,
        }
    }

    /// Runs until shutdown, then closes the event sink so the dispatch
    /// thread can finish delivering.
    pub(crate) async fn run(
        mut self,
        tcp: TcpListener,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut inputs: mpsc::Receiver<Input>,
    ) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let udp = self.udp.clone();
        while !self.stop {
            self.flush().await;
            self.check_leave();
            self.answer_joined_waiters();
            self.save_peers(false);
            // What flush did (a stream that could not open) may have queued.
            self.proto.park_idle_gossip(Instant::now());
            let wake = self.next_wake();
            tokio::select! {
                r = udp.recv_from(&mut buf) => {
                    if let Ok((n, from)) = r {
                        self.proto.handle_packet(from, &buf[..n], Instant::now());
                    }
                }
                c = commands.recv() => match c {
                    Some(command) => command(&mut self),
                    None => self.stop = true,
                },
                Some(input) = inputs.recv() => self.handle_input(input),
                a = tcp.accept() => {
                    if let Ok((conn, from)) = a {
                        self.admit(conn, from);
                        // Let its task read what the peer sent before the next accept.
                        tokio::task::yield_now().await;
                    }
                }
                _ = sleep_until(wake), if wake.is_some() => {}
            }
            let now = Instant::now();
            // No wake-ups for gossip ticks with nothing to send; the ticks
            // keep their times (gossip.rs, `park_idle_gossip`).
            self.proto.park_idle_gossip(now);
            if self.proto.poll_timeout().is_some_and(|t| t <= now) {
                self.read_waiting_packets(&udp, &mut buf);
                let now = Instant::now();
                let rounds = self.proto.gossip_rounds();
                self.proto.handle_timeout(now);
                if self.proto.gossip_rounds() != rounds {
                    // The turn's time, with whatever else fell due in it.
                    self.proto.observe_gossip_round(now.elapsed());
                }
                self.proto.park_idle_gossip(now);
            }
            self.record_metrics(now);
        }
        self.flush().await;
        self.save_peers(true);
        self.events.close();
    }

    /// Hands the machine the datagrams already waiting in the socket (at
    /// most [`READ_BEFORE_TIMEOUT`]) before it acts on a deadline. When the
    /// process is short of CPU, an ack can arrive in time and still sit
    /// unread when its probe's timeout falls due; the probe would then fail
    /// for this node's slowness, and the suspicion it starts feeds the load.
    fn read_waiting_packets(&mut self, udp: &UdpSocket, buf: &mut [u8]) {
        for _ in 0..READ_BEFORE_TIMEOUT {
            match udp.try_recv_from(buf) {
                Ok((n, from)) => self.proto.handle_packet(from, &buf[..n], Instant::now()),
                Err(_) => break,
            }
        }
    }

    /// This node's metrics: the machine's, and the runtime's own counters.
    pub(crate) fn metrics(&self) -> NodeMetrics {
        use crate::metrics::Value::Counter;
        let c = &self.counters;
        let load = |a: &AtomicU64| Counter(a.load(Ordering::Relaxed));
        let mut samples = self.proto.metrics();
        samples.extend([
            Sample::of("memberlist.tcp.sent", load(&c.tcp_bytes_sent)),
            Sample::of("rumour.events.lost", load(&self.events.counters().events_lost)),
            Sample::of("rumour.streams.refused", load(&c.streams_refused)),
            Sample::of("rumour.streams.evicted", load(&c.streams_evicted)),
            Sample::of("rumour.streams.silent", load(&c.streams_silent)),
            Sample::of("rumour.streams.timed_out", load(&c.streams_timed_out)),
            Sample::of(
                "rumour.streams.rejected",
                Counter(c.streams_rejected.load(Ordering::Relaxed) + c.streams_oversized.load(Ordering::Relaxed)),
            ),
            Sample::of("rumour.streams.failed", load(&c.streams_failed)),
            Sample::of("rumour.udp.send_errors", load(&c.udp_send_errors)),
        ]);
        NodeMetrics { node: self.proto.config().name.clone(), samples }
    }

    /// Every `metrics_interval`, on a turn of the loop that happens anyway,
    /// hands the metrics to whatever `metrics` recorder the program has.
    fn record_metrics(&mut self, now: Instant) {
        let interval = self.proto.config().metrics_interval;
        if interval.is_zero() || self.metrics_due.is_some_and(|due| now < due) {
            return;
        }
        self.metrics_due = Some(now + interval);
        let observations = self.proto.take_observations();
        crate::metrics::record(&self.metrics(), &observations);
    }

    /// A peer connected: hold its connection (maybe in place of a quieter
    /// one; see `admission`) or refuse it.
    fn admit(&mut self, conn: TcpStream, from: SocketAddr) {
        let now = Instant::now();
        let member = self.is_member_addr(from.ip(), now);
        match self.admission.admit(from.ip(), member, now) {
            Ok((ticket, admitted)) => {
                let cfg = self.proto.config();
                let deadlines = Deadlines {
                    first_byte: cfg.tcp_first_byte_timeout.min(cfg.tcp_timeout),
                    exchange: cfg.tcp_timeout,
                };
                let id = ticket.id();
                let task = tokio::spawn(streams::serve_incoming(
                    conn,
                    from,
                    deadlines,
                    self.inputs_tx.clone(),
                    self.counters.clone(),
                    self.incoming.clone(),
                    ticket,
                ));
                self.admission.attach(id, task.abort_handle());
                for evicted in &admitted.evicted {
                    evicted.abort();
                    RuntimeCounters::bump(&self.counters.streams_evicted);
                }
            }
            Err(why) => {
                RuntimeCounters::bump(&self.counters.streams_refused);
                tracing::debug!(target: "rumour", peer = %from, ?why, "connection refused: every held one is busy");
            }
        }
        self.warn_admission_pressure(now);
    }

    /// Whether `ip` is the address of a known member other than us. A flood
    /// calls this for every connection: the addresses are looked up again
    /// only after a membership change or `MEMBER_ADDRS_REFRESH`.
    fn is_member_addr(&mut self, ip: IpAddr, now: Instant) -> bool {
        let (looked_up, addrs) = &mut self.member_addrs;
        if looked_up.is_none_or(|t| now.saturating_duration_since(t) >= MEMBER_ADDRS_REFRESH) {
            // Borrowed from the table, not cloned with their metadata as
            // `members()` would: this runs on the protocol task.
            let me = self.proto.config().name.as_str();
            *addrs = self
                .proto
                .all_members()
                .filter(|m| !m.state.is_gone() && *m.name != *me)
                .map(|m| m.addr.ip())
                .collect();
            *looked_up = Some(now);
        }
        addrs.contains(&ip)
    }

    /// Says, at most once per `ADMISSION_WARNING_GAP`, that connections are
    /// being evicted or refused: a flood, or limits too low for the cluster.
    fn warn_admission_pressure(&mut self, now: Instant) {
        let evicted = self.counters.streams_evicted.load(Ordering::Relaxed);
        let refused = self.counters.streams_refused.load(Ordering::Relaxed);
        if self.admission_warned.is_some_and(|(at, ..)| now.saturating_duration_since(at) < ADMISSION_WARNING_GAP) {
            return;
        }
        let (last_evicted, last_refused) = self.admission_warned.map_or((0, 0), |(_, e, r)| (e, r));
        if (evicted, refused) == (last_evicted, last_refused) {
            return;
        }
        let cfg = self.proto.config();
        tracing::warn!(
            target: "rumour",
            evicted = evicted - last_evicted,
            refused = refused - last_refused,
            max = cfg.tcp_max_incoming,
            per_source = cfg.tcp_max_incoming_per_source,
            "more TCP connections than the node holds: the quietest were closed to make room (a flood, or tcp_max_incoming too low)"
        );
        self.admission_warned = Some((now, evicted, refused));
    }

    fn next_wake(&self) -> Option<Instant> {
        let leave = self.leave.as_ref().map(|l| l.deadline);
        let waiter = self.joined_waiters.iter().map(|w| w.deadline).min();
        let peers = self.peers_file.as_ref().map(PeersFile::next_save);
        [self.proto.poll_timeout(), leave, waiter, peers].into_iter().flatten().min()
    }

    /// Answers `Node::joined` callers whose answer is known.
    fn answer_joined_waiters(&mut self) {
        if self.joined_waiters.is_empty() {
            return;
        }
        let status = self.proto.join_status();
        let now = Instant::now();
        for w in std::mem::take(&mut self.joined_waiters) {
            let answer = match &status {
                JoinStatus::Joined { via } => Some(Ok(*via)),
                JoinStatus::GaveUp { attempts, failures } => {
                    Some(Err(JoinError::GaveUp { attempts: *attempts, failures: failures.clone() }))
                }
                _ if now >= w.deadline => Some(Err(JoinError::Timeout(w.timeout))),
                _ => None,
            };
            match answer {
                Some(a) => {
                    let _ = w.reply.send(a);
                }
                None => self.joined_waiters.push(w),
            }
        }
    }

    /// Waits (through `reply`) until the node joins, gives up, or `timeout`.
    pub(crate) fn wait_joined(&mut self, timeout: Duration, reply: oneshot::Sender<Result<SocketAddr, JoinError>>) {
        let deadline =
            Instant::now().checked_add(timeout).unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365));
        self.joined_waiters.push(JoinedWaiter { deadline, timeout, reply });
        self.answer_joined_waiters();
    }

    /// Writes the peer file when due (or now, with `finally`).
    fn save_peers(&mut self, finally: bool) {
        let Some(file) = self.peers_file.as_mut() else { return };
        let now = Instant::now();
        if finally || now >= file.next_save() {
            file.save(&self.proto.peer_snapshot(), now, finally, &self.counters.peers_file_errors);
        }
    }

    /// Carries out everything the machine asked for.
    async fn flush(&mut self) {
        while let Some(t) = self.proto.poll_transmit() {
            if self.udp.send_to(&t.payload, t.to).await.is_err() {
                RuntimeCounters::bump(&self.counters.udp_send_errors);
            }
        }
        while let Some(req) = self.proto.poll_stream() {
            match self.outgoing.clone().try_acquire_owned() {
                Ok(permit) => {
                    tokio::spawn(streams::open_outgoing(req, self.inputs_tx.clone(), self.counters.clone(), permit));
                }
                Err(_) => {
                    RuntimeCounters::bump(&self.counters.streams_refused);
                    self.stream_failed(req.id, "too many streams in progress".into());
                }
            }
        }
        while let Some(req) = self.proto.poll_resolve() {
            let tx = self.inputs_tx.clone();
            tokio::spawn(async move {
                let results = streams::resolve_names(&req.names).await;
                let _ = tx.send(Input::SeedsResolved { id: req.id, results }).await;
            });
        }
        while let Some(trace) = self.proto.poll_trace() {
            log_trace(trace);
        }
        while let Some(event) = self.proto.poll_event() {
            if matches!(event, Event::MemberJoined(_) | Event::MemberLeft(_) | Event::MemberFailed(_)) {
                // Admission looks the member addresses up again at the next connection.
                self.member_addrs.0 = None;
            }
            trace_event(&event);
            self.events.push(event);
        }
    }

    fn handle_input(&mut self, input: Input) {
        let now = Instant::now();
        match input {
            Input::Incoming { from, buf, back } => {
                let step = match self.proto.handle_stream(from, &buf, now) {
                    StreamOutcome::NeedMore => IncomingStep::NeedMore(buf),
                    StreamOutcome::Done { reply } => IncomingStep::Done(reply),
                    StreamOutcome::Rejected { reply, error } => {
                        RuntimeCounters::bump(&self.counters.streams_rejected);
                        tracing::debug!(target: "rumour", peer = %from, %error, "stream rejected");
                        IncomingStep::Done(reply)
                    }
                };
                let _ = back.send(step);
            }
            Input::Reply { id, buf, back } => match self.proto.handle_stream_reply(id, &buf, now) {
                ReplyOutcome::NeedMore => {
                    let _ = back.send(Some(buf));
                }
                ReplyOutcome::Done(result) => {
                    let _ = back.send(None);
                    self.join_step(id, result.map_err(|e| e.to_string()));
                }
            },
            Input::Failed { id, reason } => self.stream_failed(id, reason),
            Input::SeedsResolved { id, results } => self.proto.handle_resolved(id, results, now),
            Input::Resolved { group, addrs, failures } => {
                let Some(Some(g)) = self.join_groups.get_mut(group) else { return };
                g.failures.extend(failures);
                g.pending = addrs.len();
                for (seed, addr) in addrs {
                    let id = self.proto.join(addr, now);
                    self.joins.insert(id, (group, seed));
                }
                self.finish_join_if_done(group);
            }
        }
    }

    fn stream_failed(&mut self, id: StreamId, reason: String) {
        self.proto.handle_stream_failed(id, Instant::now());
        self.join_step(id, Err(reason));
    }

    /// Starts joining `seeds`; `reply` gets how many answered.
    pub(crate) fn start_join(&mut self, seeds: Vec<String>, reply: oneshot::Sender<Result<usize, JoinError>>) {
        if seeds.is_empty() {
            let _ = reply.send(Err(JoinError::NoSeeds));
            return;
        }
        let group = self.join_groups.len();
        self.join_groups.push(Some(JoinGroup {
            pending: usize::MAX,
            answered: 0,
            failures: Vec::new(),
            reply: Some(reply),
        }));
        let tx = self.inputs_tx.clone();
        tokio::spawn(async move {
            let (addrs, failures) = streams::resolve_seeds(&seeds).await;
            let _ = tx.send(Input::Resolved { group, addrs, failures }).await;
        });
    }

    fn join_step(&mut self, id: StreamId, result: Result<(), String>) {
        let Some((group, seed)) = self.joins.remove(&id) else { return };
        let Some(Some(g)) = self.join_groups.get_mut(group) else { return };
        g.pending = g.pending.saturating_sub(1);
        match result {
            Ok(()) => g.answered += 1,
            Err(reason) => g.failures.push(SeedFailure { seed, reason }),
        }
        self.finish_join_if_done(group);
    }

    fn finish_join_if_done(&mut self, group: usize) {
        let Some(slot) = self.join_groups.get_mut(group) else { return };
        if slot.as_ref().is_some_and(|g| g.pending == 0) {
            let mut g = slot.take().expect("checked");
            let result = if g.answered > 0 { Ok(g.answered) } else { Err(JoinError::NoneAnswered(g.failures)) };
            if let Some(reply) = g.reply.take() {
                // Nobody waits on the join `start` makes for `config.seeds`:
                // its outcome goes to the log.
                match reply.send(result) {
                    Err(Ok(n)) => tracing::info!(target: "rumour", answered = n, "joined through the configured seeds"),
                    Err(Err(e)) => tracing::warn!(target: "rumour", error = %e, "joining the configured seeds failed"),
                    Ok(()) => {}
                }
            }
        }
        while matches!(self.join_groups.last(), Some(None)) {
            self.join_groups.pop();
        }
    }

    /// Starts a graceful leave; `reply` answers once the news has spread
    /// (or `timeout` passed).
    pub(crate) fn start_leave(&mut self, timeout: Duration, reply: oneshot::Sender<Result<(), NodeError>>) {
        self.proto.leave(Instant::now());
        self.leave = Some(PendingLeave { deadline: Instant::now() + timeout, timeout, reply });
    }

    fn check_leave(&mut self) {
        let Some(leave) = &self.leave else { return };
        let done = self.proto.leave_broadcast_done();
        if done || Instant::now() >= leave.deadline {
            self.save_peers(true);
            let leave = self.leave.take().expect("checked");
            let _ = leave.reply.send(if done { Ok(()) } else { Err(NodeError::LeaveTimeout(leave.timeout)) });
        }
    }

    /// Ends the loop after this command.
    pub(crate) fn stop(&mut self) {
        self.stop = true;
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

/// The protocol's records worth a log line.
fn log_trace(trace: Trace) {
    match trace {
        Trace::ProbeFinished { target, acked: false } => {
            tracing::debug!(target: "rumour", member = %target, "probe failed: no ack, direct, indirect or tcp")
        }
        Trace::JoinAttemptFailed { attempt, failures, retry_in: Some(wait) } => {
            let why = crate::proto::SeedFailure::list(&failures);
            tracing::warn!(target: "rumour", attempt, failures = %why, retry_in = ?wait, "joining the seeds failed; retrying")
        }
        Trace::JoinAttemptFailed { attempt, failures, retry_in: None } => {
            let why = crate::proto::SeedFailure::list(&failures);
            tracing::error!(target: "rumour", attempt, failures = %why, "gave up joining the seeds (retry_join_max_attempts); gossip to seeds goes on")
        }
        Trace::SeedPushPull { to } => {
            tracing::debug!(target: "rumour", seed = %to, "seed missing from the live members: push-pull with it")
        }
        Trace::Hailed { from } => {
            tracing::info!(target: "rumour", peer = %from, "alone and reached by an unknown peer: joining it back")
        }
        _ => {}
    }
}

/// The protocol decisions worth a log line, at levels a user can filter.
fn trace_event(event: &Event) {
    match event {
        Event::Joined { via } => tracing::info!(target: "rumour", via = %via, "joined the cluster"),
        Event::MemberSuspect(m) => {
            tracing::info!(target: "rumour", member = %m.name, incarnation = m.incarnation, "suspect raised")
        }
        Event::MemberRecovered(m) => {
            tracing::info!(target: "rumour", member = %m.name, incarnation = m.incarnation, "suspicion refuted")
        }
        Event::MemberFailed(m) => {
            tracing::warn!(target: "rumour", member = %m.name, incarnation = m.incarnation, "declared dead")
        }
        Event::MemberJoined(m) => tracing::debug!(target: "rumour", member = %m.name, addr = %m.addr, "member joined"),
        Event::MemberLeft(m) => tracing::debug!(target: "rumour", member = %m.name, "member left"),
        _ => {}
    }
}

/// The admission limits a config sets.
fn admission_limits(cfg: &crate::proto::Config) -> Limits {
    Limits {
        max: cfg.tcp_max_incoming,
        per_source: cfg.tcp_max_incoming_per_source,
        reserved: cfg.tcp_reserved_for_members,
    }
}
