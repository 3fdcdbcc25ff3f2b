//! A deterministic simulator: many instances of the real [`Proto`] on a
//! virtual clock, joined by a modelled network (zones, latency
//! distributions, loss, partitions, one-way cuts, bandwidth caps, slow
//! nodes), with crashes, restarts, graceful leaves, churn, workloads and
//! scenarios of changes at scheduled times.
//!
//! The same seed replays the same run. Every packet and stream goes through
//! the real wire codec. What experiments need is recorded in [`Metrics`]:
//! when each node first held each broadcast, when each node declared each
//! crashed node failed, false suspicions and failures, probe outcomes, and
//! messages and bytes per node; and, when [`Recording`] asks, a log of every
//! membership change, every change to the map and every message by type.
//!
//! ```
//! use std::time::Duration;
//! use rumour::sim::{Sim, SimConfig};
//!
//! let mut sim = Sim::new(SimConfig { nodes: 20, ..SimConfig::default() });
//! sim.run_for(Duration::from_secs(10));
//! assert!(sim.converged());
//! sim.crash(3);
//! sim.run_for(Duration::from_secs(30));
//! assert_eq!(sim.metrics().detections_of("node-3").len(), 19);
//! ```

mod log;
mod metrics;
mod network;
mod scenario;
mod traffic;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

pub use log::{Fate, MembershipRecord, MessageRecord, Recording, StateRecord};
pub use metrics::{CrashRecord, FalseVerdict, Metrics, ProbeCounts};
pub use network::{Bandwidth, Latency, Link, SlowNode};
pub use scenario::{Change, Churn, Workload, WorkloadKind};
pub use traffic::MessageType;

use crate::proto::{
    Config, Lifetime, Member, MemberState, PeerSnapshot, Proto, ReplyOutcome, ResolveId, Resolved, Rng, StateError,
    StreamId, StreamOutcome, Timestamp, Trace,
};
use network::{Network, Route};
use scenario::Process;

/// What was wrong with a simulator setting or command. Nothing changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A node index past the end.
    #[error("node {index} does not exist; the cluster has {nodes} nodes")]
    NoSuchNode {
        /// The index given.
        index: usize,
        /// How many nodes there are.
        nodes: usize,
    },
    /// A probability outside `[0, 1]`.
    #[error("{what} = {value} is not a probability in [0, 1]")]
    NotAProbability {
        /// Which setting.
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// A latency model with impossible parameters.
    #[error("latency: {0}")]
    BadLatency(String),
    /// A zone name that was never declared.
    #[error("zone {zone:?} does not exist; the zones are {known:?}")]
    UnknownZone {
        /// The name given.
        zone: String,
        /// The zones there are.
        known: Vec<String>,
    },
    /// Zones that do not place every node exactly once.
    #[error("zones: {0}")]
    BadZones(String),
    /// A rate that is negative or not a number.
    #[error("{what} = {value} must be a finite rate of zero or more per second")]
    BadRate {
        /// Which rate.
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// A node's own config is invalid.
    #[error("config of node {node}: {error}")]
    Config {
        /// The node.
        node: usize,
        /// What is wrong with it.
        error: crate::proto::ConfigError,
    },
    /// Any other bad argument, named.
    #[error("{field}: {why}")]
    Invalid {
        /// The argument at fault.
        field: &'static str,
        /// What is wrong with it.
        why: String,
    },
}

impl SimError {
    /// The argument at fault, for bindings that name it.
    pub fn field(&self) -> &'static str {
        match self {
            SimError::NoSuchNode { .. } => "node",
            SimError::NotAProbability { what, .. } | SimError::BadRate { what, .. } => what,
            SimError::BadLatency(_) => "latency",
            SimError::UnknownZone { .. } => "zone",
            SimError::BadZones(_) => "zones",
            SimError::Config { .. } => "configs",
            SimError::Invalid { field, .. } => field,
        }
    }
}

/// A zone of the simulated network: a name and the nodes in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// Its name (a datacenter, a rack).
    pub name: String,
    /// The nodes placed in it.
    pub nodes: Vec<usize>,
}

/// How to build a simulated cluster.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Number of nodes; they are named `node-0`, `node-1`, ...
    pub nodes: usize,
    /// Master seed: every node's RNG and the network's derive from it.
    pub seed: u64,
    /// Configuration every node starts from (its name is replaced).
    /// Default: [`Config::lan`] with compression off, which the simulator
    /// does not need.
    pub node_config: Config,
    /// Link delay. Default: uniform 1 to 5 ms.
    pub latency: Latency,
    /// Probability that a packet is lost, independently. Default 0.
    pub loss: f64,
    /// Start with every node knowing every other (a cluster long converged)
    /// instead of each joining through `node-0`; each node's push-pull timer
    /// is then at a random phase of its scaled period, as in a cluster that
    /// has been running, rather than in the first interval after a start.
    /// Default false.
    pub converged_start: bool,
    /// Put every node's probe and gossip ticks at the same instants
    /// (the SWIM paper's aligned protocol periods). Default false: random
    /// phases, as memberlist has.
    pub aligned_timers: bool,
    /// Record probe starts and outcomes (slower). Default false.
    pub trace_probes: bool,
    /// Start every node at time zero. Off: nodes stay down until
    /// [`Sim::start`] starts them, each joining through its config's seeds
    /// by itself (start-order experiments). Default true.
    pub autostart: bool,
    /// Keep a peer file per node (`Config::peers_file`): taken when the
    /// node crashes or leaves, read back when [`Sim::start`] starts it
    /// again. Default false.
    pub peer_files: bool,
    /// Configs of their own for some nodes (by index), replacing
    /// `node_config` (names are still replaced): mixed presets, Lifeguard
    /// on some nodes only, different protocol versions. Default none.
    pub configs: HashMap<usize, Config>,
    /// Zones: when given, every node must be in exactly one, and
    /// `zone_links` sets the links between them. Default none.
    pub zones: Vec<Zone>,
    /// Links between zones, `(from, to, link)`; a pair not listed uses
    /// `latency` and `loss`. A pair given one way applies both ways unless
    /// the other way is given too.
    pub zone_links: Vec<(String, String, Link)>,
    /// What goes into the event log. Default nothing.
    pub record: Recording,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            nodes: 10,
            seed: 0x5EED,
            node_config: Config { enable_compression: false, ..Config::lan() },
            latency: Latency::Uniform { min: Duration::from_millis(1), max: Duration::from_millis(5) },
            loss: 0.0,
            converged_start: false,
            aligned_timers: false,
            trace_probes: false,
            autostart: true,
            peer_files: false,
            configs: HashMap::new(),
            zones: Vec::new(),
            zone_links: Vec::new(),
            record: Recording::default(),
        }
    }
}

#[derive(Debug)]
enum Action {
    Wake {
        node: usize,
    },
    Packet {
        to: usize,
        from: SocketAddr,
        bytes: Vec<u8>,
    },
    StreamOpen {
        to: usize,
        from: usize,
        id: StreamId,
        bytes: Vec<u8>,
        generation: u64,
    },
    StreamReply {
        to: usize,
        id: StreamId,
        bytes: Option<Vec<u8>>,
        generation: u64,
    },
    Resolved {
        to: usize,
        id: ResolveId,
        results: Vec<Resolved>,
        generation: u64,
    },
    /// A change of a scenario, due now.
    Scheduled(Box<Change>),
    /// The next event of a churn or workload process.
    Process {
        id: usize,
    },
}

struct SimNode {
    proto: Option<Proto>,
    addr: SocketAddr,
    name: String,
    next_wake: Option<Instant>,
    slow: Option<SlowNode>,
    /// Bumped at each crash, so replies to a previous life are dropped.
    generation: u64,
    /// The node's peer file, when `SimConfig::peer_files` is on.
    peer_file: Option<Vec<u8>>,
    /// A config of its own, replacing `SimConfig::node_config`.
    config: Option<Config>,
    /// Left, and about to stop: churn does not pick it again.
    leaving: bool,
}

/// A simulated cluster. See the module documentation.
pub struct Sim {
    cfg: SimConfig,
    epoch: Instant,
    now: Instant,
    nodes: Vec<SimNode>,
    by_addr: HashMap<SocketAddr, usize>,
    queue: BinaryHeap<Reverse<(Instant, u64)>>,
    actions: HashMap<u64, Action>,
    next_action: u64,
    net: Network,
    rng: Rng,
    metrics: Metrics,
    /// Seed names and their addresses (see [`Sim::set_dns`]).
    dns: HashMap<String, Vec<SocketAddr>>,
    /// Churn and workload processes.
    processes: Vec<Process>,
}

/// The Unix time (ms) at which every simulation starts: 2026-01-01, so the
/// replicated map's timestamps read like real ones.
pub const SIM_WALL_EPOCH_MS: u64 = 1_767_225_600_000;

/// The most nodes a simulation can hold: each gets its own address in
/// 127.1.0.0 to 127.255.255.255.
pub const MAX_NODES: usize = 255 << 16;

/// The loopback-range address of simulated node `i` (never used on a real
/// network); `i` is below [`MAX_NODES`].
fn sim_addr(i: usize) -> SocketAddr {
    assert!(i < MAX_NODES, "node {i} has no simulated address (at most {MAX_NODES} nodes)");
    let i = i as u32;
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 1 + (i >> 16) as u8, (i >> 8) as u8, i as u8)), 7946)
}

impl Sim {
    /// Builds the cluster and starts every node at virtual time zero.
    ///
    /// # Panics
    ///
    /// When the config is invalid; [`Sim::try_new`] says why instead.
    pub fn new(cfg: SimConfig) -> Self {
        match Sim::try_new(cfg) {
            Ok(sim) => sim,
            Err(e) => panic!("invalid simulator config: {e}"),
        }
    }

    /// Builds the cluster and starts every node at virtual time zero, or
    /// says what is wrong with `cfg`.
    pub fn try_new(cfg: SimConfig) -> Result<Self, SimError> {
        if cfg.nodes == 0 || cfg.nodes > MAX_NODES {
            let why = format!("must be from 1 to {MAX_NODES}, not {}", cfg.nodes);
            return Err(SimError::Invalid { field: "nodes", why });
        }
        cfg.latency.validate()?;
        network::check_probability("loss", cfg.loss)?;
        let named = |mut c: Config| {
            c.name = "sim".into();
            c
        };
        named(cfg.node_config.clone())
            .validate()
            .map_err(|error| SimError::Invalid { field: "node_config", why: error.to_string() })?;
        for (&node, config) in &cfg.configs {
            if node >= cfg.nodes {
                return Err(SimError::NoSuchNode { index: node, nodes: cfg.nodes });
            }
            named(config.clone()).validate().map_err(|error| SimError::Config { node, error })?;
        }
        let mut net = Network::new(cfg.nodes, cfg.latency, cfg.loss);
        if !cfg.zones.is_empty() {
            let mut zone_of = vec![u16::MAX; cfg.nodes];
            for (z, zone) in cfg.zones.iter().enumerate() {
                if cfg.zones[..z].iter().any(|other| other.name == zone.name) {
                    return Err(SimError::BadZones(format!("zone {:?} is declared twice", zone.name)));
                }
                for &i in &zone.nodes {
                    if i >= cfg.nodes {
                        return Err(SimError::NoSuchNode { index: i, nodes: cfg.nodes });
                    }
                    if zone_of[i] != u16::MAX {
                        return Err(SimError::BadZones(format!("node {i} is in two zones")));
                    }
                    zone_of[i] = z as u16;
                }
            }
            if let Some(i) = zone_of.iter().position(|&z| z == u16::MAX) {
                return Err(SimError::BadZones(format!("node {i} is in no zone")));
            }
            net.set_zones(cfg.zones.iter().map(|z| z.name.clone()).collect(), zone_of);
            for (from, to, link) in &cfg.zone_links {
                link.validate()?;
                let (a, b) = (net.zone_index(from)?, net.zone_index(to)?);
                net.set_zone_link(a, b, Some(*link));
            }
            for (from, to, link) in &cfg.zone_links {
                let given_back = cfg.zone_links.iter().any(|(f, t, _)| f == to && t == from);
                if !given_back {
                    let (a, b) = (net.zone_index(from)?, net.zone_index(to)?);
                    net.set_zone_link(b, a, Some(*link));
                }
            }
        } else if let Some((from, _, _)) = cfg.zone_links.first() {
            return Err(SimError::UnknownZone { zone: from.clone(), known: Vec::new() });
        }
        Ok(Sim::build(cfg, net))
    }

    fn build(cfg: SimConfig, net: Network) -> Self {
        let epoch = Instant::now();
        let mut rng = Rng::new(cfg.seed);
        let mut sim = Sim {
            epoch,
            now: epoch,
            nodes: Vec::with_capacity(cfg.nodes),
            by_addr: HashMap::with_capacity(cfg.nodes),
            queue: BinaryHeap::new(),
            actions: HashMap::new(),
            next_action: 0,
            net,
            metrics: Metrics::new(cfg.nodes, cfg.record),
            rng: rng.fork(),
            dns: HashMap::new(),
            processes: Vec::new(),
            cfg,
        };
        for i in 0..sim.cfg.nodes {
            let addr = sim_addr(i);
            let name = format!("node-{i}");
            sim.by_addr.insert(addr, i);
            sim.nodes.push(SimNode {
                proto: None,
                addr,
                name,
                next_wake: None,
                slow: None,
                generation: 0,
                peer_file: None,
                config: sim.cfg.configs.get(&i).cloned(),
                leaving: false,
            });
        }
        if !sim.cfg.autostart {
            return sim;
        }
        for i in 0..sim.cfg.nodes {
            let seed = rng.next_u64();
            sim.boot(i, seed);
        }
        if sim.cfg.converged_start {
            let members: Vec<Member> = sim.nodes.iter().filter_map(|n| n.proto.as_ref()).map(|p| p.local()).collect();
            let now = sim.now;
            for n in &mut sim.nodes {
                if let Some(p) = n.proto.as_mut() {
                    p.bootstrap_members(members.iter().cloned(), now);
                }
            }
        } else {
            let seed_addr = sim.nodes[0].addr;
            for i in 1..sim.cfg.nodes {
                let now = sim.now;
                if let Some(p) = sim.nodes[i].proto.as_mut() {
                    p.join(seed_addr, now);
                }
                sim.flush(i);
            }
        }
        for i in 0..sim.nodes.len() {
            sim.flush(i);
        }
        sim
    }

    fn boot(&mut self, i: usize, seed: u64) {
        let mut config = self.nodes[i].config.clone().unwrap_or_else(|| self.cfg.node_config.clone());
        config.name = self.nodes[i].name.clone();
        let mut proto = Proto::new(config, self.nodes[i].addr, seed, self.now).expect("simulator node config is valid");
        proto.set_tracing(self.cfg.trace_probes);
        let wall = SIM_WALL_EPOCH_MS + (self.now - self.epoch).as_millis() as u64;
        proto.set_wall_clock(self.now, wall);
        if self.cfg.aligned_timers {
            let period = self.cfg.node_config.probe_interval;
            proto.align_timers(self.now + period);
        }
        self.nodes[i].proto = Some(proto);
        self.nodes[i].next_wake = None;
        self.nodes[i].leaving = false;
    }

    // ---- time ----

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.epoch
    }

    /// Runs every action due in the next `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until_instant(end);
    }

    /// Runs until `done` holds (checked after each action) or `limit` of
    /// virtual time passes; true when `done` held.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Sim) -> bool) -> bool {
        let end = self.now + limit;
        while let Some(&Reverse((at, _))) = self.queue.peek() {
            if done(self) {
                return true;
            }
            if at > end {
                break;
            }
            self.step();
        }
        self.now = self.now.max(end);
        done(self)
    }

    fn run_until_instant(&mut self, end: Instant) {
        while let Some(&Reverse((at, _))) = self.queue.peek() {
            if at > end {
                break;
            }
            self.step();
        }
        self.now = self.now.max(end);
    }

    fn push(&mut self, at: Instant, action: Action) {
        self.next_action += 1;
        self.actions.insert(self.next_action, action);
        self.queue.push(Reverse((at, self.next_action)));
    }

    fn step(&mut self) {
        let Some(Reverse((at, id))) = self.queue.pop() else { return };
        self.now = at;
        let Some(action) = self.actions.remove(&id) else { return };
        match action {
            Action::Wake { node } => {
                let n = &mut self.nodes[node];
                let due = n.next_wake.is_some_and(|w| w <= at);
                if !due {
                    return;
                }
                n.next_wake = None;
                if let Some(p) = n.proto.as_mut() {
                    p.handle_timeout(at);
                }
                self.flush(node);
            }
            Action::Packet { to, from, bytes } => {
                if let Some(p) = self.nodes[to].proto.as_mut() {
                    p.handle_packet(from, &bytes, at);
                    self.flush(to);
                }
            }
            Action::StreamOpen { to, from, id, bytes, generation } => {
                let from_addr = self.nodes[from].addr;
                let outcome = match self.nodes[to].proto.as_mut() {
                    Some(p) => p.handle_stream(from_addr, &bytes, at),
                    None => StreamOutcome::Done { reply: None },
                };
                let reply = match outcome {
                    StreamOutcome::Done { reply } | StreamOutcome::Rejected { reply, .. } => reply,
                    StreamOutcome::NeedMore => None,
                };
                let delay = match &reply {
                    Some(bytes) if self.net.is_detailed() || self.metrics.log.wants_messages() => {
                        self.send_stream_reply(to, from, bytes)
                    }
                    _ => self.delay_to(from),
                };
                self.push(at + delay, Action::StreamReply { to: from, id, bytes: reply, generation });
                self.flush(to);
            }
            Action::Scheduled(change) => self.apply_checked(*change),
            Action::Process { id } => self.run_process(id),
            Action::Resolved { to, id, results, generation } => {
                if self.nodes[to].generation != generation {
                    return;
                }
                if let Some(p) = self.nodes[to].proto.as_mut() {
                    p.handle_resolved(id, results, at);
                    self.flush(to);
                }
            }
            Action::StreamReply { to, id, bytes, generation } => {
                if self.nodes[to].generation != generation {
                    return;
                }
                if let Some(p) = self.nodes[to].proto.as_mut() {
                    match bytes {
                        Some(b) => {
                            if let ReplyOutcome::NeedMore = p.handle_stream_reply(id, &b, at) {
                                p.handle_stream_failed(id, at);
                            }
                        }
                        None => p.handle_stream_failed(id, at),
                    }
                    self.flush(to);
                }
            }
        }
    }

    /// Network delay to `to`, plus its processing lag when it is slow.
    fn delay_to(&mut self, to: usize) -> Duration {
        let base = self.net.latency.sample(&mut self.rng);
        base + self.slow_lag(to)
    }

    fn slow_lag(&self, to: usize) -> Duration {
        self.nodes[to].slow.map_or(Duration::ZERO, |s| s.message_delay)
    }

    /// The reply of a stream from `responder` back to `opener`: logged, and
    /// delayed by the link and any bandwidth cap. A reply the network
    /// cannot carry any more arrives all the same, as a TCP connection that
    /// was open delivers what it had sent.
    fn send_stream_reply(&mut self, responder: usize, opener: usize, bytes: &[u8]) -> Duration {
        let now = self.now;
        let route = self.net.route(responder, opener, bytes.len(), now, false, &mut self.rng);
        let delay = match route {
            Route::Deliver(d) => d,
            Route::Lost | Route::Unreachable => self.net.delay(responder, opener, &mut self.rng),
        };
        self.metrics.log_message(responder, opener as u32, bytes, true, &Route::Deliver(delay), self.elapsed());
        delay + self.slow_lag(opener)
    }

    /// Drains a node's outputs into the network and the metrics, and
    /// schedules its next wake-up.
    fn flush(&mut self, i: usize) {
        let now = self.now;
        let Some(p) = self.nodes[i].proto.as_mut() else { return };
        let mut transmits = Vec::new();
        while let Some(t) = p.poll_transmit() {
            transmits.push(t);
        }
        let mut streams = Vec::new();
        while let Some(s) = p.poll_stream() {
            streams.push(s);
        }
        let mut events = Vec::new();
        while let Some(e) = p.poll_event() {
            events.push(e);
        }
        let mut traces = Vec::new();
        while let Some(t) = p.poll_trace() {
            traces.push(t);
        }
        let mut resolves = Vec::new();
        while let Some(r) = p.poll_resolve() {
            resolves.push(r);
        }
        let wake = p.poll_timeout();
        let elapsed = now - self.epoch;
        let logging = self.metrics.log.wants_messages();
        for t in transmits {
            self.metrics.record_send(i, t.payload.len());
            let target = self.by_addr.get(&t.to).copied();
            let route = match target {
                Some(to) => self.net.route(i, to, t.payload.len(), now, true, &mut self.rng),
                None => Route::Unreachable,
            };
            if logging {
                self.metrics.log_message(i, target.map_or(u32::MAX, |t| t as u32), &t.payload, false, &route, elapsed);
            }
            if let (Some(to), Route::Deliver(delay)) = (target, route) {
                let delay = delay + self.slow_lag(to);
                let from = self.nodes[i].addr;
                self.push(now + delay, Action::Packet { to, from, bytes: t.payload });
            }
        }
        let generation = self.nodes[i].generation;
        for s in streams {
            self.metrics.record_send(i, s.payload.len());
            let target = self.by_addr.get(&s.to).copied();
            // TCP needs both ways: a one-way cut stops the handshake.
            let both_ways = target.is_some_and(|to| self.net.reachable(i, to) && self.net.reachable(to, i));
            let route = match target {
                Some(to) if both_ways && self.nodes[to].proto.is_some() => {
                    match self.net.route(i, to, s.payload.len(), now, false, &mut self.rng) {
                        Route::Deliver(delay) => Route::Deliver(delay + self.slow_lag(to)),
                        other => other,
                    }
                }
                _ => Route::Unreachable,
            };
            if logging {
                self.metrics.log_message(i, target.map_or(u32::MAX, |t| t as u32), &s.payload, true, &route, elapsed);
            }
            match (target, route) {
                (Some(to), Route::Deliver(delay)) => {
                    // A stream expecting no reply gets a generation no node
                    // has, so the empty reply scheduled for it is dropped.
                    let generation = if s.expects_reply { generation } else { u64::MAX };
                    self.push(now + delay, Action::StreamOpen { to, from: i, id: s.id, bytes: s.payload, generation });
                }
                // A crashed host refuses the connection at once.
                (Some(to), _) if both_ways => {
                    let delay = self.net.delay(i, to, &mut self.rng) * 2;
                    self.push(now + delay, Action::StreamReply { to: i, id: s.id, bytes: None, generation });
                }
                // Across a partition the connection times out.
                _ => self.push(now + s.timeout, Action::StreamReply { to: i, id: s.id, bytes: None, generation }),
            }
        }
        for r in resolves {
            let results = r
                .names
                .iter()
                .map(|name| Resolved {
                    name: name.clone(),
                    addrs: self.dns.get(name).cloned().ok_or_else(|| "no such host (simulated DNS)".to_string()),
                })
                .collect();
            let generation = self.nodes[i].generation;
            self.push(now + Duration::from_millis(1), Action::Resolved { to: i, id: r.id, results, generation });
        }
        for e in events {
            self.metrics.record_event(i, &e, elapsed);
        }
        for t in traces {
            if let Trace::ProbeStarted { target } = &t {
                let crashed = self.metrics.is_crashed(target);
                self.metrics.record_probe_start(target, elapsed, crashed);
            }
            if let Trace::ProbeFinished { target, acked } = &t {
                let crashed = self.metrics.is_crashed(target);
                self.metrics.record_probe_end(*acked, crashed);
            }
        }
        if let Some(w) = wake {
            let w = w.max(now);
            let slow = self.nodes[i].slow.map_or(Duration::ZERO, |s| s.timer_delay);
            let node = &mut self.nodes[i];
            if node.next_wake.is_none_or(|cur| w < cur) {
                node.next_wake = Some(w);
                self.push(w + slow, Action::Wake { node: i });
            }
        }
    }

    // ---- faults and commands ----

    /// Stops node `i` without a word, as `kill -9` would.
    pub fn crash(&mut self, i: usize) {
        self.keep_peer_file(i);
        self.halt(i);
        let elapsed = self.now - self.epoch;
        self.metrics.record_crash(&self.nodes[i].name, elapsed);
    }

    /// Stops node `i`'s process without counting a crash: what happens
    /// after a graceful leave (see [`Change::Leave`]).
    pub fn stop(&mut self, i: usize) {
        self.keep_peer_file(i);
        self.halt(i);
    }

    fn halt(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        n.proto = None;
        n.next_wake = None;
        n.generation += 1;
        n.leaving = false;
    }

    /// The largest payload node `i` can broadcast (its config decides; 0
    /// while it is down and has no config of its own).
    pub fn max_broadcast_size(&self, i: usize) -> usize {
        match self.nodes[i].proto.as_ref() {
            Some(p) => p.max_broadcast_size(),
            None => 0,
        }
    }

    /// The zone names, in declaration order (empty without zones).
    pub fn zones(&self) -> &[String] {
        &self.net.zones
    }

    /// The zone of node `i` (`None` without zones).
    pub fn zone_of(&self, i: usize) -> Option<&str> {
        self.net.zone_of.get(i).map(|&z| self.net.zones[z as usize].as_str())
    }

    /// With peer files on, keeps what node `i` would have written.
    fn keep_peer_file(&mut self, i: usize) {
        if self.cfg.peer_files {
            if let Some(p) = self.nodes[i].proto.as_ref() {
                self.nodes[i].peer_file = Some(p.peer_snapshot().encode());
            }
        }
    }

    /// Starts node `i` (never started, or crashed) under its name and
    /// address, with no explicit join: it finds the cluster through its
    /// config's seeds, and through its peer file when `peer_files` is on.
    /// A running node is left alone.
    pub fn start(&mut self, i: usize) {
        if self.nodes[i].proto.is_some() {
            return;
        }
        let seed = self.rng.next_u64();
        self.boot(i, seed);
        let name = self.nodes[i].name.clone();
        self.metrics.record_restart(&name, self.now - self.epoch);
        if let Some(bytes) = self.nodes[i].peer_file.clone().filter(|_| self.cfg.peer_files) {
            let now = self.now;
            if let (Ok(snapshot), Some(p)) = (PeerSnapshot::decode(&bytes), self.nodes[i].proto.as_mut()) {
                let _ = p.restore_peers(snapshot, now);
            }
        }
        self.flush(i);
    }

    /// Gives node `i` a config of its own (its name is still replaced),
    /// used from its next start.
    pub fn set_node_config(&mut self, i: usize, config: Config) {
        self.nodes[i].config = Some(config);
    }

    /// Makes `name` ("host:port", as a seed is written) resolve to `addrs`
    /// for every node from now on; an empty list removes it (the name then
    /// does not resolve).
    pub fn set_dns(&mut self, name: &str, addrs: Vec<SocketAddr>) {
        if addrs.is_empty() {
            self.dns.remove(name);
        } else {
            self.dns.insert(name.to_string(), addrs);
        }
    }

    /// The address of node `i`, as a seed would give it.
    ///
    /// # Panics
    ///
    /// When `i` is not below [`MAX_NODES`].
    pub fn address(i: usize) -> SocketAddr {
        sim_addr(i)
    }

    /// Restarts a crashed node under the same name and address, and joins it
    /// through `via`.
    pub fn restart(&mut self, i: usize, via: usize) {
        let seed = self.rng.next_u64();
        self.boot(i, seed);
        let name = self.nodes[i].name.clone();
        self.metrics.record_restart(&name, self.now - self.epoch);
        self.join(i, via);
    }

    /// Starts a stopwatch on node `i`: the delay until some node next begins
    /// probing it lands in [`Metrics::watched_probe_delays`] (needs
    /// `trace_probes`). Until its first probe, a crashed node and a running
    /// one are chosen alike, so this measures the first-probe delay of a
    /// crash at this instant without disturbing the cluster.
    pub fn watch_first_probe(&mut self, i: usize) {
        let at = self.elapsed();
        self.metrics.watch_probe(&self.nodes[i].name.clone(), at);
    }

    /// Node `i` joins through node `via` (a push-pull marked as a join).
    pub fn join(&mut self, i: usize, via: usize) {
        let via_addr = self.nodes[via].addr;
        let now = self.now;
        if let Some(p) = self.nodes[i].proto.as_mut() {
            p.join(via_addr, now);
        }
        self.flush(i);
    }

    /// Node `i` leaves gracefully.
    pub fn leave(&mut self, i: usize) {
        let now = self.now;
        if let Some(p) = self.nodes[i].proto.as_mut() {
            p.leave(now);
        }
        self.flush(i);
        self.keep_peer_file(i);
    }

    /// Node `i` broadcasts `payload`; its spread is tracked in the metrics.
    /// A payload too large for a packet is refused, and nothing is sent.
    pub fn broadcast(&mut self, i: usize, payload: &[u8]) -> Result<(), SimError> {
        if let Some(p) = self.nodes[i].proto.as_mut() {
            p.broadcast(payload).map_err(|e| SimError::Invalid { field: "payload", why: e.to_string() })?;
        }
        let elapsed = self.elapsed();
        self.metrics.track_broadcast(payload, i, elapsed);
        self.flush(i);
        Ok(())
    }

    /// Node `i` changes its metadata; the update's spread is tracked.
    /// Metadata over the limit (512 bytes) is refused, and nothing changes.
    pub fn set_meta(&mut self, i: usize, meta: &[u8]) -> Result<(), SimError> {
        let now = self.now;
        if let Some(p) = self.nodes[i].proto.as_mut() {
            p.set_meta(meta.to_vec(), now).map_err(|e| SimError::Invalid { field: "meta", why: e.to_string() })?;
        }
        let elapsed = self.elapsed();
        self.metrics.track_update(&self.nodes[i].name.clone(), i, elapsed);
        self.flush(i);
        Ok(())
    }

    /// Node `i` writes `key = value` in the replicated map.
    pub fn put(&mut self, i: usize, key: &str, value: &[u8], lifetime: Lifetime) -> Result<Timestamp, StateError> {
        let now = self.now;
        let p = self.nodes[i].proto.as_mut().ok_or(StateError::Left)?;
        let r = p.state_put(key, value, lifetime, now);
        self.flush(i);
        r
    }

    /// Node `i` deletes `key` from the replicated map.
    pub fn delete(&mut self, i: usize, key: &str) -> Result<Option<Timestamp>, StateError> {
        let now = self.now;
        let p = self.nodes[i].proto.as_mut().ok_or(StateError::Left)?;
        let r = p.state_delete(key, now);
        self.flush(i);
        r
    }

    /// Runs `f` on node `i`'s machine (unless crashed) and sends what it
    /// produced: for bulk writes and other direct use of [`Proto`].
    pub fn with_node<T>(&mut self, i: usize, f: impl FnOnce(&mut Proto, Instant) -> T) -> Option<T> {
        let now = self.now;
        let out = f(self.nodes[i].proto.as_mut()?, now);
        self.flush(i);
        Some(out)
    }

    /// Whether every running node's replica has the same Merkle root.
    pub fn state_agrees(&self) -> bool {
        let mut roots = self.nodes.iter().filter_map(|n| n.proto.as_ref()).map(|p| p.state_summary().root);
        let first = roots.next();
        roots.all(|r| Some(r) == first)
    }

    /// Splits the cluster: nodes in different groups cannot reach each other.
    /// Nodes not listed form one more group together.
    pub fn partition(&mut self, groups: &[Vec<usize>]) {
        let mut g = vec![u32::MAX; self.nodes.len()];
        for (gi, members) in groups.iter().enumerate() {
            for &m in members {
                g[m] = gi as u32;
            }
        }
        self.net.groups = Some(g);
    }

    /// Heals every partition.
    pub fn heal(&mut self) {
        self.net.groups = None;
    }

    /// Sets the packet loss probability from now on.
    pub fn set_loss(&mut self, loss: f64) {
        self.net.loss = loss;
    }

    /// Makes node `i` slow (or normal again with `None`).
    pub fn set_slow(&mut self, i: usize, slow: Option<SlowNode>) {
        self.nodes[i].slow = slow;
    }

    // ---- inspection ----

    /// Number of nodes, crashed ones included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the cluster has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node `i`'s protocol state, unless it is crashed.
    pub fn node(&self, i: usize) -> Option<&Proto> {
        self.nodes[i].proto.as_ref()
    }

    /// Node `i`'s name.
    pub fn name(&self, i: usize) -> &str {
        &self.nodes[i].name
    }

    /// What has been recorded so far.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether every running node sees every other running node as alive.
    pub fn converged(&self) -> bool {
        let running: Vec<&str> = self.nodes.iter().filter(|n| n.proto.is_some()).map(|n| n.name.as_str()).collect();
        self.nodes
            .iter()
            .filter_map(|n| n.proto.as_ref())
            .all(|p| running.iter().all(|name| p.member(name).is_some_and(|m| m.state == MemberState::Alive)))
    }

    /// Whether every running node reports the same [`crate::proto::Proto::digest`]:
    /// the same live members in the same states and incarnations, and the
    /// same replicated map. Stricter than [`Sim::converged`], which only asks
    /// that each running node see all the others alive.
    pub fn digests_agree(&self) -> bool {
        let mut digests = self.nodes.iter().filter_map(|n| n.proto.as_ref()).map(|p| p.digest());
        match digests.next() {
            Some(first) => digests.all(|d| d == first),
            None => true,
        }
    }

    /// How node `observer` sees node `subject`, if it knows it.
    pub fn view(&self, observer: usize, subject: usize) -> Option<MemberState> {
        self.node(observer)?.member(&self.nodes[subject].name).map(|m| m.state)
    }
}
