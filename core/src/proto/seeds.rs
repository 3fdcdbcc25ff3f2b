//! Seeds as a living mechanism: join until joined, resolve names again on
//! every attempt, gossip to seeds that are missing, and answer a cluster
//! that hails a lonely node.
//!
//! memberlist uses its seeds once, so its users write their own rejoin
//! loops; Serf's agent retries joins and Cassandra gossips to a seed now
//! and then so that groups that never met still merge. [`Seeds`] does both,
//! without I/O: it decides whom to contact and when, and [`super::Proto`]
//! opens the streams and sends the pings it asks for. Names are resolved by
//! the runtime (or the simulator) through [`super::Proto::poll_resolve`].
//!
//! The life of a node's seeds:
//! - **Joining**: an attempt resolves the seeds' names, then opens a join
//!   push-pull with every address (and every peer remembered from the peer
//!   file). The first answer ends the phase. When all fail, the next attempt
//!   waits [`retry_join_delay`]: `retry_join_interval` doubling up to
//!   `retry_join_max_interval`, jittered. Between attempts a UDP ping goes to
//!   each known seed address every quarter `retry_join_interval` (the
//!   [`SeedSettings::ping_interval`]); an ack (the seed came up) brings the
//!   next attempt forward, once per wait, so a cluster forms within a
//!   second of its seed starting however long the others have been
//!   waiting, while a seed that answers pings but not joins is still only
//!   tried at the backed-off pace.
//! - **Joined** (any push-pull with a peer that knows some other member,
//!   ours or theirs, ends the wait) or **gave up** (after
//!   `retry_join_max_attempts`): every unscaled `push_pull_interval`, when
//!   the node is alone or some seed address is not among the members it
//!   sees alive, it push-pulls with one such address (`gossip_to_seeds`).
//!   This is in addition to the periodic exchange with a random member, not
//!   instead of it: a seed name whose records include dead addresses would
//!   otherwise take every exchange away from the members.
//! - At any time, a node that knows no other live member and hears a packet
//!   from an address it does not know joins that address back (at most once
//!   a probe interval): a cluster still pinging a member that restarted
//!   empty has it back within a probe interval. A node that is not alone
//!   does the same when a member it does not know (or thinks gone) pings
//!   it, at most once per `push_pull_interval`: a seed that restarted
//!   empty and was joined by newcomers meets the old cluster that way.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::machine::StreamId;
use super::rng::Rng;

/// Port assumed for a seed given without one (memberlist's default).
pub const DEFAULT_PORT: u16 = 7946;

/// Remembered peers tried in one join attempt, a fresh random sample each
/// time: one answer is enough, and a whole cluster restarting from its
/// peer files must not open every pair of connections at once.
pub(super) const REMEMBERED_PER_ATTEMPT: usize = 5;

/// Identifies a name resolution asked of the runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResolveId(pub u64);

/// Seed names for the runtime to resolve (every A and AAAA record), then
/// to hand back with [`super::Proto::handle_resolved`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveRequest {
    /// Identifies the answer.
    pub id: ResolveId,
    /// "host:port" names (the port is always there).
    pub names: Vec<String>,
}

/// The answer for one name of a [`ResolveRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The name, as in the request.
    pub name: String,
    /// Its addresses, or why it did not resolve.
    pub addrs: Result<Vec<SocketAddr>, String>,
}

/// One seed address (or name) that could not be joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedFailure {
    /// The seed as given (or the remembered peer's address).
    pub seed: String,
    /// Why: resolution, connection, timeout or the peer's refusal.
    pub reason: String,
}

impl SeedFailure {
    /// "seed (reason), seed (reason)": how error messages, log lines and
    /// the C event list an attempt's failures.
    pub fn list(failures: &[SeedFailure]) -> String {
        failures.iter().map(SeedFailure::to_string).collect::<Vec<_>>().join(", ")
    }
}

impl std::fmt::Display for SeedFailure {
    /// "seed (reason)".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.seed, self.reason)
    }
}

/// Where joining the configured seeds stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinStatus {
    /// No seeds and no remembered peers: the node waits to be joined.
    Waiting,
    /// Attempts go on; `attempts` have been made so far.
    Joining {
        /// Attempts started so far.
        attempts: u32,
    },
    /// Joined: `via` answered (or joined this node).
    Joined {
        /// The peer's address.
        via: SocketAddr,
    },
    /// `retry_join_max_attempts` attempts failed; the last one's failures.
    /// Gossip to seeds goes on, so the node still joins if a seed appears.
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// Why each address of the last attempt failed.
        failures: Vec<SeedFailure>,
    },
}

/// "host" becomes "host:7946"; "host:port", "\[v6\]:port" and a bare IPv6
/// address are kept (with the default port added to the latter).
pub fn with_default_port(seed: &str) -> String {
    let seed = seed.trim();
    if seed.parse::<SocketAddr>().is_ok() {
        return seed.to_string();
    }
    if let Ok(ip) = seed.parse::<IpAddr>() {
        return SocketAddr::new(ip, DEFAULT_PORT).to_string();
    }
    if seed.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok()) {
        return seed.to_string();
    }
    format!("{seed}:{DEFAULT_PORT}")
}

/// The wait before join attempt `attempt + 1` after `attempt` failed ones
/// (1-based): `base * 2^(attempt-1)` capped at `max`, then jittered into
/// its upper half by `unit` in [0, 1) ("equal jitter"), so nodes that
/// started together drift apart instead of retrying in lockstep.
pub fn retry_join_delay(attempt: u32, base: Duration, max: Duration, unit: f64) -> Duration {
    let doublings = attempt.saturating_sub(1).min(31);
    let full = base.saturating_mul(1u32 << doublings).min(max).max(base.min(max));
    full.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
}

/// Settings [`Seeds`] takes from the config.
#[derive(Debug, Clone)]
pub(super) struct SeedSettings {
    pub(super) retry_interval: Duration,
    pub(super) retry_max_interval: Duration,
    pub(super) max_attempts: u32,
    pub(super) gossip_interval: Option<Duration>,
    pub(super) probe_interval: Duration,
    /// Least time between joins back to unknown pingers while not alone.
    pub(super) hail_gap: Duration,
}

impl SeedSettings {
    /// How often a waiting node pings its seeds: a quarter of
    /// `retry_join_interval` (250 ms by default). A seed that comes up is
    /// noticed within that, and every waiting node has joined by then; a
    /// ping is one small datagram, so a node waiting for hours costs its
    /// seeds 4 packets a second.
    pub(super) fn ping_interval(&self) -> Duration {
        self.retry_interval / 4
    }
}

/// What [`Seeds`] asks the machine to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SeedStep {
    /// Resolve these names first.
    Resolve(ResolveRequest),
    /// Open a join push-pull with each (seed text, address).
    Join(Vec<(String, SocketAddr)>),
    /// Open one ordinary push-pull with this seed address.
    PushPull(SocketAddr),
    /// Ping these addresses (UDP) to learn whether a seed is up.
    Ping(Vec<SocketAddr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Join,
    Gossip,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Waiting,
    Joining,
    Joined(SocketAddr),
    GaveUp,
}

/// What the machine knows of the cluster when a seed decision needs it.
pub(super) struct View<'a> {
    /// This node's address.
    pub(super) local: SocketAddr,
    /// Addresses of the members seen alive (this node's included).
    pub(super) alive: &'a HashSet<SocketAddr>,
}

/// The seeds of one node. See the module documentation.
#[derive(Debug)]
pub(super) struct Seeds {
    settings: SeedSettings,
    /// Seeds given as addresses, with their text.
    literal: Vec<(String, SocketAddr)>,
    /// Seeds given as names ("host:port").
    names: Vec<String>,
    /// What the names resolved to last time.
    resolved: Vec<(String, SocketAddr)>,
    /// Peers remembered from the peer file.
    remembered: Vec<SocketAddr>,
    phase: Phase,
    attempts: u32,
    /// Failures of the attempt in progress (or the last one).
    failures: Vec<SeedFailure>,
    in_flight: HashMap<StreamId, String>,
    resolving: Option<(ResolveId, Purpose)>,
    next_resolve: u64,
    next_attempt: Option<Instant>,
    /// An ack already brought this wait's attempt forward.
    hastened: bool,
    next_ping: Option<Instant>,
    /// Sequence numbers of our pings to seeds.
    pings: HashSet<u32>,
    next_gossip: Option<Instant>,
    last_hail: Option<Instant>,
    stopped: bool,
    /// A failed attempt not yet reported: (attempt, failures, wait before
    /// the next one; none when giving up).
    report: Option<(u32, Vec<SeedFailure>, Option<Duration>)>,
}

impl Seeds {
    /// Seeds as configured; the first attempt is due at `now`.
    pub(super) fn new(seeds: &[String], settings: SeedSettings, now: Instant, rng: &mut Rng) -> Self {
        let (mut literal, mut names) = (Vec::new(), Vec::new());
        for seed in seeds {
            let full = with_default_port(seed);
            match full.parse::<SocketAddr>() {
                Ok(addr) if !literal.iter().any(|(_, a)| *a == addr) => literal.push((seed.trim().to_string(), addr)),
                Ok(_) => {}
                Err(_) if !names.contains(&full) => names.push(full),
                Err(_) => {}
            }
        }
        let mut s = Seeds {
            settings,
            literal,
            names,
            resolved: Vec::new(),
            remembered: Vec::new(),
            phase: Phase::Waiting,
            attempts: 0,
            failures: Vec::new(),
            in_flight: HashMap::new(),
            resolving: None,
            next_resolve: 0,
            next_attempt: None,
            hastened: false,
            next_ping: None,
            pings: HashSet::new(),
            next_gossip: None,
            last_hail: None,
            stopped: false,
            report: None,
        };
        s.wake_up(now, rng);
        s
    }

    /// Anything to try: seeds or remembered peers.
    fn has_targets(&self) -> bool {
        !self.literal.is_empty() || !self.names.is_empty() || !self.remembered.is_empty()
    }

    /// Leaves `Waiting` when there is something to try.
    fn wake_up(&mut self, now: Instant, rng: &mut Rng) {
        if self.phase != Phase::Waiting || !self.has_targets() {
            return;
        }
        self.phase = Phase::Joining;
        self.next_attempt = Some(now);
        if let Some(period) = self.settings.gossip_interval {
            // A phase anywhere in the period, as memberlist staggers its
            // timers: nodes that started together then reach a missing seed
            // spread over the period, the first of them soon after a heal.
            self.next_gossip = Some(now + period.mul_f64(rng.unit()));
        }
    }

    /// Adds peers remembered from a previous run, tried with the seeds.
    pub(super) fn remember(&mut self, peers: impl IntoIterator<Item = SocketAddr>, now: Instant, rng: &mut Rng) {
        for p in peers {
            if !self.remembered.contains(&p) && !self.literal.iter().any(|(_, a)| *a == p) {
                self.remembered.push(p);
            }
        }
        self.wake_up(now, rng);
    }

    /// Stops every attempt (the node left).
    pub(super) fn stop(&mut self) {
        self.stopped = true;
        self.next_attempt = None;
        self.next_ping = None;
        self.next_gossip = None;
    }

    /// Where joining stands.
    pub(super) fn status(&self) -> JoinStatus {
        match &self.phase {
            Phase::Waiting => JoinStatus::Waiting,
            Phase::Joining => JoinStatus::Joining { attempts: self.attempts },
            Phase::Joined(via) => JoinStatus::Joined { via: *via },
            Phase::GaveUp => JoinStatus::GaveUp { attempts: self.attempts, failures: self.failures.clone() },
        }
    }

    /// Join attempts started so far.
    pub(super) fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The earliest timer.
    pub(super) fn deadline(&self) -> Option<Instant> {
        [self.next_attempt, self.next_ping, self.next_gossip].into_iter().flatten().min()
    }

    /// Every seed address known now (literal and last resolved).
    fn addresses(&self) -> impl Iterator<Item = &(String, SocketAddr)> {
        self.literal.iter().chain(self.resolved.iter())
    }

    /// Timers due at `now`: what to do, in order.
    pub(super) fn on_timeout(&mut self, now: Instant, view: &View<'_>, rng: &mut Rng) -> Vec<SeedStep> {
        let mut steps = Vec::new();
        if self.stopped {
            return steps;
        }
        if self.next_attempt.is_some_and(|t| t <= now) {
            self.next_attempt = None;
            self.attempts += 1;
            self.failures.clear();
            self.pings.clear();
            steps.extend(self.begin(Purpose::Join, now, view, rng));
        }
        if self.next_ping.is_some_and(|t| t <= now) {
            self.next_ping = (self.phase == Phase::Joining).then(|| now + self.settings.ping_interval());
            let targets: Vec<SocketAddr> = self
                .addresses()
                .map(|(_, a)| *a)
                .chain(self.remembered.iter().copied())
                .filter(|a| *a != view.local)
                .collect();
            if !targets.is_empty() {
                steps.push(SeedStep::Ping(targets));
            }
        }
        if let Some(at) = self.next_gossip.filter(|t| *t <= now) {
            let period = self.settings.gossip_interval.unwrap_or(Duration::from_secs(30));
            // Missed ticks are dropped rather than run back to back.
            self.next_gossip = Some(if at + period > now { at + period } else { now + period });
            // While joining, the attempts themselves reach the seeds.
            if matches!(self.phase, Phase::Joined(_) | Phase::GaveUp) && self.resolving.is_none() {
                steps.extend(self.begin(Purpose::Gossip, now, view, rng));
            }
        }
        steps
    }

    /// Starts an attempt or a gossip to seeds: names first, if any.
    fn begin(&mut self, purpose: Purpose, now: Instant, view: &View<'_>, rng: &mut Rng) -> Option<SeedStep> {
        if !self.names.is_empty() {
            self.next_resolve += 1;
            let id = ResolveId(self.next_resolve);
            self.resolving = Some((id, purpose));
            return Some(SeedStep::Resolve(ResolveRequest { id, names: self.names.clone() }));
        }
        self.proceed(purpose, now, view, rng)
    }

    /// The addresses are known: the join attempt or the gossip itself.
    fn proceed(&mut self, purpose: Purpose, now: Instant, view: &View<'_>, rng: &mut Rng) -> Option<SeedStep> {
        match purpose {
            Purpose::Join => {
                let mut targets: Vec<(String, SocketAddr)> =
                    self.addresses().filter(|(_, a)| *a != view.local).cloned().collect();
                let mut remembered: Vec<SocketAddr> = self.remembered.clone();
                rng.shuffle(&mut remembered);
                let mut taken = 0;
                for p in remembered {
                    if taken == REMEMBERED_PER_ATTEMPT {
                        break;
                    }
                    if p != view.local && !targets.iter().any(|(_, a)| *a == p) {
                        targets.push((p.to_string(), p));
                        taken += 1;
                    }
                }
                if targets.is_empty() {
                    // Nothing to try this time (names that did not resolve,
                    // or only this node itself): the attempt failed.
                    self.nothing_to_join(now, rng);
                    None
                } else {
                    Some(SeedStep::Join(targets))
                }
            }
            Purpose::Gossip => {
                let alone = view.alive.iter().all(|a| *a == view.local);
                let mut missing: Vec<SocketAddr> =
                    self.addresses().map(|(_, a)| *a).filter(|a| *a != view.local && !view.alive.contains(a)).collect();
                if alone {
                    missing.extend(self.remembered.iter().filter(|a| **a != view.local));
                }
                missing.sort();
                missing.dedup();
                (!missing.is_empty()).then(|| SeedStep::PushPull(missing[rng.below(missing.len())]))
            }
        }
    }

    /// An attempt's join push-pulls were opened.
    pub(super) fn launched(&mut self, id: StreamId, seed: String) {
        self.in_flight.insert(id, seed);
    }

    /// The names of request `id` resolved (or not): what to do next.
    pub(super) fn handle_resolved(
        &mut self,
        id: ResolveId,
        results: Vec<Resolved>,
        now: Instant,
        view: &View<'_>,
        rng: &mut Rng,
    ) -> Option<SeedStep> {
        let (pending, purpose) = self.resolving?;
        if pending != id || self.stopped {
            return None;
        }
        self.resolving = None;
        self.resolved.clear();
        for r in results {
            match r.addrs {
                Ok(addrs) if !addrs.is_empty() => {
                    for a in addrs {
                        if !self.resolved.iter().any(|(_, b)| *b == a) {
                            self.resolved.push((r.name.clone(), a));
                        }
                    }
                }
                Ok(_) => self.failures.push(SeedFailure { seed: r.name, reason: "resolves to no address".into() }),
                Err(reason) => {
                    self.failures.push(SeedFailure { seed: r.name, reason: format!("cannot resolve: {reason}") })
                }
            }
        }
        self.proceed(purpose, now, view, rng)
    }

    /// A join attempt found nothing to contact: it failed at once.
    fn nothing_to_join(&mut self, now: Instant, rng: &mut Rng) {
        if self.failures.is_empty() {
            self.failures
                .push(SeedFailure { seed: "(seeds)".into(), reason: "no address other than this node's".into() });
        }
        self.attempt_failed(now, rng);
    }

    /// One of our join push-pulls ended. `Err` carries the reason.
    pub(super) fn stream_done(&mut self, id: StreamId, result: Result<(), String>, now: Instant, rng: &mut Rng) {
        let Some(seed) = self.in_flight.remove(&id) else { return };
        if let Err(reason) = result {
            self.failures.push(SeedFailure { seed, reason });
        }
        if self.in_flight.is_empty() && self.phase == Phase::Joining && self.next_attempt.is_none() {
            self.attempt_failed(now, rng);
        }
    }

    /// Every address of an attempt failed: wait, or give up.
    fn attempt_failed(&mut self, now: Instant, rng: &mut Rng) {
        if self.phase != Phase::Joining || self.stopped {
            return;
        }
        if self.settings.max_attempts != 0 && self.attempts >= self.settings.max_attempts {
            self.phase = Phase::GaveUp;
            self.next_ping = None;
            self.report = Some((self.attempts, self.failures.clone(), None));
            return;
        }
        let s = &self.settings;
        let wait = retry_join_delay(self.attempts, s.retry_interval, s.retry_max_interval, rng.unit());
        self.report = Some((self.attempts, self.failures.clone(), Some(wait)));
        self.next_attempt = Some(now + wait);
        self.hastened = false;
        self.next_ping.get_or_insert(now + s.ping_interval().min(wait));
    }

    /// The last failed attempt, once, for the log.
    pub(super) fn take_report(&mut self) -> Option<(u32, Vec<SeedFailure>, Option<Duration>)> {
        self.report.take()
    }

    /// Whether `seq` is one of our pings to seeds (forgotten once seen).
    pub(super) fn is_seed_ping(&mut self, seq: u32) -> bool {
        self.pings.remove(&seq)
    }

    /// Records a ping we sent to a seed address.
    pub(super) fn pinged(&mut self, seq: u32) {
        // Bounded: acks remove them, and each attempt forgets the
        // unanswered ones (an ack that late has nothing left to hasten).
        self.pings.insert(seq);
    }

    /// A seed answered a ping: it is up, so the attempt waiting for the
    /// backoff comes now (once per wait).
    pub(super) fn seed_answered(&mut self, now: Instant) {
        let waiting = self.phase == Phase::Joining && self.in_flight.is_empty() && self.resolving.is_none();
        if waiting && !self.hastened && self.next_attempt.is_some_and(|t| t > now) {
            self.next_attempt = Some(now);
            self.hastened = true;
        }
    }

    /// A push-pull with a peer that knows other members succeeded (ours or
    /// theirs): the node has joined. True the first time since it last
    /// was not joined, when the machine emits [`super::Event::Joined`].
    pub(super) fn contact(&mut self, via: SocketAddr) -> bool {
        if matches!(self.phase, Phase::Joined(_)) {
            return false;
        }
        let had_targets = self.has_targets();
        self.phase = Phase::Joined(via);
        self.next_attempt = None;
        self.pings.clear();
        self.next_ping = None;
        self.in_flight.clear();
        if self.resolving.is_some_and(|(_, p)| p == Purpose::Join) {
            self.resolving = None;
        }
        if !had_targets {
            self.next_gossip = None;
        }
        true
    }

    /// `from` reached us but is no live member of ours: we are alone, or
    /// a member we do not know (or think gone) pinged us, so our views
    /// differ. Join it back: at most once per probe interval while alone,
    /// once per `gap` otherwise (a newcomer's first pings, before gossip
    /// has told everyone of it, cost at most that).
    pub(super) fn hailed(&mut self, from: SocketAddr, alone: bool, now: Instant) -> Option<SocketAddr> {
        if self.stopped || !self.in_flight.is_empty() {
            return None;
        }
        let gap = if alone { self.settings.probe_interval } else { self.settings.hail_gap };
        if self.last_hail.is_some_and(|t| now.saturating_duration_since(t) < gap) {
            return None;
        }
        self.last_hail = Some(now);
        Some(from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SeedSettings {
        SeedSettings {
            retry_interval: Duration::from_secs(1),
            retry_max_interval: Duration::from_secs(30),
            max_attempts: 0,
            gossip_interval: Some(Duration::from_secs(30)),
            probe_interval: Duration::from_secs(1),
            hail_gap: Duration::from_secs(30),
        }
    }

    fn a(i: u8) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, i], 7946))
    }

    #[test]
    fn the_retry_delay_doubles_up_to_the_cap_and_is_jittered_into_its_upper_half() {
        let (base, max) = (Duration::from_secs(1), Duration::from_secs(30));
        // attempt, unit, expected
        let table = [
            (1, 0.0, 500),
            (1, 0.999_999, 1000),
            (2, 0.0, 1000),
            (3, 0.0, 2000),
            (5, 0.0, 8000),
            (6, 0.0, 15_000),
            (6, 0.999_999, 30_000),
            (40, 0.0, 15_000),
            (u32::MAX, 0.5, 22_500),
        ];
        for (attempt, unit, ms) in table {
            let d = retry_join_delay(attempt, base, max, unit);
            assert!(d.as_millis().abs_diff(ms) <= 1, "attempt {attempt} unit {unit}: {d:?}");
        }
        // A cap below the base: the cap wins.
        assert_eq!(retry_join_delay(3, Duration::from_secs(5), Duration::from_secs(2), 0.0), Duration::from_secs(1));
    }

    #[test]
    fn seeds_without_a_port_get_memberlists_default() {
        assert_eq!(with_default_port("10.0.0.1"), "10.0.0.1:7946");
        assert_eq!(with_default_port("seed.internal"), "seed.internal:7946");
        assert_eq!(with_default_port("seed.internal:8000"), "seed.internal:8000");
        assert_eq!(with_default_port("::1"), "[::1]:7946");
        assert_eq!(with_default_port("[::1]:9"), "[::1]:9");
    }

    #[test]
    fn duplicate_seeds_are_tried_once_and_this_node_never() {
        let now = Instant::now();
        let mut rng = Rng::new(1);
        let seeds = vec!["10.0.0.1".to_string(), "10.0.0.1:7946".into(), "10.0.0.9".into(), "10.0.0.2".into()];
        let mut s = Seeds::new(&seeds, settings(), now, &mut rng);
        let alive = HashSet::from([a(9)]);
        let view = View { local: a(9), alive: &alive };
        let steps = s.on_timeout(now, &view, &mut rng);
        let Some(SeedStep::Join(targets)) = steps.first() else { panic!("{steps:?}") };
        let addrs: Vec<SocketAddr> = targets.iter().map(|(_, a)| *a).collect();
        assert_eq!(addrs, vec![a(1), a(2)]);
    }

    #[test]
    fn a_seed_list_of_only_this_node_fails_each_attempt_and_keeps_backing_off() {
        let now = Instant::now();
        let mut rng = Rng::new(2);
        let mut s = Seeds::new(&["10.0.0.9".to_string()], settings(), now, &mut rng);
        let alive = HashSet::from([a(9)]);
        let view = View { local: a(9), alive: &alive };
        assert!(s.on_timeout(now, &view, &mut rng).is_empty());
        assert_eq!(s.status(), JoinStatus::Joining { attempts: 1 });
        let next = s.next_attempt.expect("retried");
        assert!(next > now && next <= now + Duration::from_secs(1));
    }

    #[test]
    fn names_are_resolved_again_for_every_attempt_and_every_address_is_tried() {
        let now = Instant::now();
        let mut rng = Rng::new(3);
        let mut s = Seeds::new(&["seed.internal".to_string()], settings(), now, &mut rng);
        let alive = HashSet::from([a(9)]);
        let view = View { local: a(9), alive: &alive };
        for round in 0..2u8 {
            let t = s.next_attempt.expect("an attempt is due");
            let steps = s.on_timeout(t, &view, &mut rng);
            let Some(SeedStep::Resolve(req)) = steps.first() else { panic!("{steps:?}") };
            assert_eq!(req.names, vec!["seed.internal:7946".to_string()]);
            let answer = vec![Resolved { name: req.names[0].clone(), addrs: Ok(vec![a(1 + round), a(5)]) }];
            let Some(SeedStep::Join(targets)) = s.handle_resolved(req.id, answer, t, &view, &mut rng) else {
                panic!("no join")
            };
            assert_eq!(targets.iter().map(|(_, a)| *a).collect::<Vec<_>>(), vec![a(1 + round), a(5)]);
            s.launched(StreamId(10 + u64::from(round) * 2), "seed.internal".into());
            s.launched(StreamId(11 + u64::from(round) * 2), "seed.internal".into());
            s.stream_done(StreamId(10 + u64::from(round) * 2), Err("refused".into()), t, &mut rng);
            s.stream_done(StreamId(11 + u64::from(round) * 2), Err("refused".into()), t, &mut rng);
        }
        assert_eq!(s.status(), JoinStatus::Joining { attempts: 2 });
    }

    #[test]
    fn a_name_that_does_not_resolve_fails_the_attempt_not_the_node() {
        let now = Instant::now();
        let mut rng = Rng::new(4);
        let settings = SeedSettings { max_attempts: 2, ..settings() };
        let mut s = Seeds::new(&["nowhere.invalid".to_string()], settings, now, &mut rng);
        let alive = HashSet::from([a(9)]);
        let view = View { local: a(9), alive: &alive };
        for _ in 0..2 {
            let t = s.next_attempt.expect("an attempt is due");
            let steps = s.on_timeout(t, &view, &mut rng);
            let Some(SeedStep::Resolve(req)) = steps.first() else { panic!("{steps:?}") };
            let answer = vec![Resolved { name: req.names[0].clone(), addrs: Err("no such host".into()) }];
            assert_eq!(s.handle_resolved(req.id, answer, t, &view, &mut rng), None);
        }
        let JoinStatus::GaveUp { attempts: 2, failures } = s.status() else { panic!("{:?}", s.status()) };
        assert!(failures[0].reason.contains("no such host"), "{failures:?}");
    }

    #[test]
    fn an_ack_from_a_seed_brings_the_waiting_attempt_forward_once() {
        let now = Instant::now();
        let mut rng = Rng::new(5);
        let mut s = Seeds::new(&["10.0.0.1".to_string()], settings(), now, &mut rng);
        let alive = HashSet::from([a(9)]);
        let view = View { local: a(9), alive: &alive };
        let mut t = now;
        // Five failed attempts: the wait is now 8 to 16 s.
        for i in 0..5 {
            let steps = s.on_timeout(t, &view, &mut rng);
            assert!(matches!(steps.first(), Some(SeedStep::Join(_))), "{steps:?}");
            s.launched(StreamId(i), "10.0.0.1".into());
            s.stream_done(StreamId(i), Err("refused".into()), t, &mut rng);
            t = s.next_attempt.expect("retry");
        }
        let wait_from = s.next_attempt.unwrap() - Duration::from_secs(8);
        let ping_at = s.next_ping.expect("pings between attempts");
        assert!(ping_at <= wait_from + Duration::from_secs(1));
        s.seed_answered(ping_at);
        assert_eq!(s.next_attempt, Some(ping_at));
        // A second ack in the same wait changes nothing.
        s.next_attempt = Some(ping_at + Duration::from_secs(5));
        s.seed_answered(ping_at);
        assert_eq!(s.next_attempt, Some(ping_at + Duration::from_secs(5)));
    }

    #[test]
    fn after_joining_only_missing_seeds_get_a_push_pull() {
        let now = Instant::now();
        let mut rng = Rng::new(6);
        let seeds = vec!["10.0.0.1".to_string(), "10.0.0.2".into()];
        let mut s = Seeds::new(&seeds, settings(), now, &mut rng);
        assert!(s.contact(a(1)));
        assert!(!s.contact(a(1)), "joined once");
        let alive = HashSet::from([a(9), a(1), a(2)]);
        let view = View { local: a(9), alive: &alive };
        let t = s.next_gossip.expect("gossip to seeds is on");
        assert!(s.on_timeout(t, &view, &mut rng).is_empty(), "every seed is a live member");
        let alive = HashSet::from([a(9), a(1)]);
        let view = View { local: a(9), alive: &alive };
        let t = s.next_gossip.expect("periodic");
        assert_eq!(s.on_timeout(t, &view, &mut rng), vec![SeedStep::PushPull(a(2))]);
    }

    #[test]
    fn a_lonely_node_answers_a_hail_at_most_once_per_probe_interval() {
        let now = Instant::now();
        let mut rng = Rng::new(7);
        let mut s = Seeds::new(&[], settings(), now, &mut rng);
        assert_eq!(s.status(), JoinStatus::Waiting);
        assert_eq!(s.deadline(), None, "nothing to try, no timers");
        assert_eq!(s.hailed(a(3), true, now), Some(a(3)));
        assert_eq!(s.hailed(a(4), true, now + Duration::from_millis(500)), None);
        assert_eq!(s.hailed(a(4), true, now + Duration::from_secs(1)), Some(a(4)));
        // Not alone: an unknown pinger is answered once per hail gap.
        assert_eq!(s.hailed(a(5), false, now + Duration::from_secs(2)), None);
        assert_eq!(s.hailed(a(5), false, now + Duration::from_secs(31)), Some(a(5)));
    }
}
