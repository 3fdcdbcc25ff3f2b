//! What the simulator records for experiments. Times are virtual durations:
//! since the start, or since the tracked cause (a crash, a broadcast).

use std::collections::HashMap;
use std::time::Duration;

use super::log::{Fate, Log, MembershipRecord, MessageRecord, Recording, StateRecord};
use super::network::Route;
use super::traffic::{classify, MessageType};
use crate::proto::Event;

/// Probe outcomes, recorded when probe tracing is on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeCounts {
    /// Probes started.
    pub started: u64,
    /// Probes of running nodes that ended.
    pub finished_live: u64,
    /// Of those, the ones that ended with no ack at all.
    pub failed_live: u64,
}

/// A node declared failed while it was running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FalseVerdict {
    /// The node that reached the verdict.
    pub observer: usize,
    /// The running node it declared failed.
    pub subject: String,
    /// When, since the start of the simulation.
    pub at: Duration,
}

/// One crash and the verdicts it drew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashRecord {
    /// The node that crashed.
    pub subject: String,
    /// When, since the start.
    pub at: Duration,
    /// When it started again, if it did.
    pub restarted: Option<Duration>,
    /// Each node that declared it failed, and how long after the crash.
    pub detections: Vec<(usize, Duration)>,
}

#[derive(Debug, Clone)]
struct Spread {
    start: Duration,
    first_seen: Vec<Option<Duration>>,
    deliveries: Vec<u32>,
}

/// Everything recorded by a [`super::Sim`].
#[derive(Debug, Clone)]
pub struct Metrics {
    crashed: HashMap<String, Duration>,
    detections: HashMap<String, Vec<(usize, Duration)>>,
    broadcasts: HashMap<Vec<u8>, Spread>,
    updates: HashMap<String, Spread>,
    first_probe_of_crashed: HashMap<String, Duration>,
    probe_watches: HashMap<String, Duration>,
    watched_probe_delays: Vec<Duration>,
    false_suspicions: u64,
    false_verdicts: Vec<FalseVerdict>,
    leaves_seen: u64,
    packets_sent: Vec<u64>,
    bytes_sent: Vec<u64>,
    probes: ProbeCounts,
    nodes: usize,
    crash_history: Vec<CrashRecord>,
    /// Index in `crash_history` of each node's crash while it is down.
    open_crash: HashMap<String, usize>,
    pub(crate) log: Log,
}

/// The index of simulated node `node-i` from its name.
fn node_index(name: &str, nodes: usize) -> u32 {
    match name.strip_prefix("node-").and_then(|i| i.parse::<usize>().ok()) {
        Some(i) if i < nodes => i as u32,
        _ => u32::MAX,
    }
}

impl Metrics {
    pub(crate) fn new(nodes: usize, record: Recording) -> Self {
        Metrics {
            crashed: HashMap::new(),
            detections: HashMap::new(),
            broadcasts: HashMap::new(),
            updates: HashMap::new(),
            first_probe_of_crashed: HashMap::new(),
            probe_watches: HashMap::new(),
            watched_probe_delays: Vec::new(),
            false_suspicions: 0,
            false_verdicts: Vec::new(),
            leaves_seen: 0,
            packets_sent: vec![0; nodes],
            bytes_sent: vec![0; nodes],
            probes: ProbeCounts::default(),
            nodes,
            crash_history: Vec::new(),
            open_crash: HashMap::new(),
            log: Log::new(record, nodes),
        }
    }

    pub(crate) fn is_crashed(&self, name: &str) -> bool {
        self.crashed.contains_key(name)
    }

    pub(crate) fn record_crash(&mut self, name: &str, at: Duration) {
        self.crashed.insert(name.to_string(), at);
        self.detections.remove(name);
        self.first_probe_of_crashed.remove(name);
        self.open_crash.insert(name.to_string(), self.crash_history.len());
        self.crash_history.push(CrashRecord { subject: name.to_string(), at, restarted: None, detections: Vec::new() });
    }

    pub(crate) fn record_restart(&mut self, name: &str, at: Duration) {
        self.crashed.remove(name);
        if let Some(i) = self.open_crash.remove(name) {
            self.crash_history[i].restarted = Some(at);
        }
    }

    /// Logs what `from` put on the network: one record per message in it,
    /// and the per-kind counters.
    pub(crate) fn log_message(
        &mut self,
        from: usize,
        to: u32,
        payload: &[u8],
        stream: bool,
        route: &Route,
        at: Duration,
    ) {
        if !self.log.wants_messages() {
            return;
        }
        let (fate, latency) = match route {
            Route::Deliver(d) => (Fate::Delivered, *d),
            Route::Lost => (Fate::Lost, Duration::ZERO),
            Route::Unreachable => (Fate::Unreachable, Duration::ZERO),
        };
        let Log { recording, messages, traffic, .. } = &mut self.log;
        let counts = &mut traffic[from];
        let keep = recording.messages;
        classify(payload, |kind, bytes| {
            let c = &mut counts[kind as usize];
            c.0 += 1;
            c.1 += bytes as u64;
            if keep {
                messages.push(MessageRecord {
                    at,
                    from: from as u32,
                    to,
                    kind,
                    bytes: bytes as u32,
                    stream,
                    fate,
                    latency,
                });
            }
        });
    }

    pub(crate) fn record_send(&mut self, node: usize, bytes: usize) {
        self.packets_sent[node] += 1;
        self.bytes_sent[node] += bytes as u64;
    }

    pub(crate) fn track_broadcast(&mut self, payload: &[u8], origin: usize, at: Duration) {
        let mut first_seen = vec![None; self.nodes];
        first_seen[origin] = Some(Duration::ZERO);
        self.broadcasts.insert(payload.to_vec(), Spread { start: at, first_seen, deliveries: vec![0; self.nodes] });
    }

    pub(crate) fn track_update(&mut self, name: &str, origin: usize, at: Duration) {
        let mut first_seen = vec![None; self.nodes];
        first_seen[origin] = Some(Duration::ZERO);
        self.updates.insert(name.to_string(), Spread { start: at, first_seen, deliveries: vec![0; self.nodes] });
    }

    pub(crate) fn record_probe_start(&mut self, target: &str, at: Duration, crashed: bool) {
        self.probes.started += 1;
        if let Some(since) = self.probe_watches.remove(target) {
            self.watched_probe_delays.push(at.saturating_sub(since));
        }
        if crashed {
            let since = at.saturating_sub(self.crashed[target]);
            self.first_probe_of_crashed.entry(target.to_string()).or_insert(since);
        }
    }

    pub(crate) fn watch_probe(&mut self, target: &str, at: Duration) {
        self.probe_watches.insert(target.to_string(), at);
    }

    pub(crate) fn record_probe_end(&mut self, acked: bool, crashed: bool) {
        if !crashed {
            self.probes.finished_live += 1;
            self.probes.failed_live += u64::from(!acked);
        }
    }

    pub(crate) fn record_event(&mut self, observer: usize, event: &Event, at: Duration) {
        if self.log.recording.membership {
            if let Some((change, m)) = event.member_change() {
                self.log.membership.push(MembershipRecord {
                    at,
                    observer: observer as u32,
                    subject: node_index(&m.name, self.nodes),
                    change,
                    incarnation: m.incarnation,
                });
            }
        }
        if let (true, Event::StateChanged(c)) = (self.log.recording.state, event) {
            self.log.state.push(StateRecord {
                at,
                observer: observer as u32,
                key: c.key.clone(),
                deleted: c.value.is_none(),
                writer: node_index(&c.writer, self.nodes),
            });
        }
        match event {
            Event::MemberSuspect(m) if !self.crashed.contains_key(&*m.name) => self.false_suspicions += 1,
            Event::MemberFailed(m) => match self.crashed.get(&*m.name) {
                Some(&t) => {
                    let after = at.saturating_sub(t);
                    self.detections.entry(m.name.to_string()).or_default().push((observer, after));
                    if let Some(&i) = self.open_crash.get(&*m.name) {
                        self.crash_history[i].detections.push((observer, after));
                    }
                }
                None => self.false_verdicts.push(FalseVerdict { observer, subject: m.name.to_string(), at }),
            },
            Event::MemberLeft(_) => self.leaves_seen += 1,
            Event::MemberUpdated(m) => {
                if let Some(s) = self.updates.get_mut(&*m.name) {
                    s.first_seen[observer].get_or_insert(at.saturating_sub(s.start));
                }
            }
            Event::Message { payload, .. } => {
                if let Some(s) = self.broadcasts.get_mut(payload) {
                    s.first_seen[observer].get_or_insert(at.saturating_sub(s.start));
                    s.deliveries[observer] += 1;
                }
            }
            _ => {}
        }
    }

    /// For a crashed node: each observer that declared it failed, and how
    /// long after the crash.
    pub fn detections_of(&self, name: &str) -> &[(usize, Duration)] {
        self.detections.get(name).map_or(&[], Vec::as_slice)
    }

    /// For a crashed node: how long after the crash some node first probed it.
    pub fn first_probe_after_crash(&self, name: &str) -> Option<Duration> {
        self.first_probe_of_crashed.get(name).copied()
    }

    /// Delays from each [`super::Sim::watch_first_probe`] to the first probe
    /// of the watched node, in the order they were observed.
    pub fn watched_probe_delays(&self) -> &[Duration] {
        &self.watched_probe_delays
    }

    /// Watches still waiting for their first probe.
    pub fn pending_probe_watches(&self) -> usize {
        self.probe_watches.len()
    }

    /// For a broadcast made through [`super::Sim::broadcast`]: when each node
    /// first delivered it, relative to the broadcast (`None`: not yet).
    pub fn broadcast_spread(&self, payload: &[u8]) -> Option<&[Option<Duration>]> {
        self.broadcasts.get(payload).map(|s| s.first_seen.as_slice())
    }

    /// For a broadcast made through [`super::Sim::broadcast`]: how many times
    /// each node delivered it to its user (the origin never does).
    pub fn broadcast_deliveries(&self, payload: &[u8]) -> Option<&[u32]> {
        self.broadcasts.get(payload).map(|s| s.deliveries.as_slice())
    }

    /// For a metadata change made through [`super::Sim::set_meta`]: when each
    /// node first saw it.
    pub fn update_spread(&self, name: &str) -> Option<&[Option<Duration>]> {
        self.updates.get(name).map(|s| s.first_seen.as_slice())
    }

    /// Suspicions raised about nodes that were running.
    pub fn false_suspicions(&self) -> u64 {
        self.false_suspicions
    }

    /// Failure verdicts about nodes that were running.
    pub fn false_failures(&self) -> u64 {
        self.false_verdicts.len() as u64
    }

    /// Every failure verdict about a running node, in the order reached.
    pub fn false_verdicts(&self) -> &[FalseVerdict] {
        &self.false_verdicts
    }

    /// `MemberLeft` events seen, over all observers.
    pub fn leaves_seen(&self) -> u64 {
        self.leaves_seen
    }

    /// Packets and streams sent by node `i`.
    pub fn packets_sent(&self, i: usize) -> u64 {
        self.packets_sent[i]
    }

    /// Bytes sent by node `i`.
    pub fn bytes_sent(&self, i: usize) -> u64 {
        self.bytes_sent[i]
    }

    /// Probe outcomes (with probe tracing on).
    pub fn probes(&self) -> ProbeCounts {
        self.probes
    }

    /// Every crash so far, in order, with the verdicts each drew (a node
    /// that crashes twice has two records).
    pub fn crashes(&self) -> &[CrashRecord] {
        &self.crash_history
    }

    /// Every membership change every node saw (with
    /// [`Recording::membership`]), in order.
    pub fn membership_log(&self) -> &[MembershipRecord] {
        &self.log.membership
    }

    /// Every change to every replica (with [`Recording::state`]), in order.
    pub fn state_log(&self) -> &[StateRecord] {
        &self.log.state
    }

    /// Every message sent (with [`Recording::messages`]), in order.
    pub fn message_log(&self) -> &[MessageRecord] {
        &self.log.messages
    }

    /// `(messages, bytes)` node `i` has sent, per [`MessageType`] (in
    /// [`MessageType::ALL`] order), stream replies included; all zero
    /// unless [`Recording::traffic`] or [`Recording::messages`] is on.
    pub fn traffic_by_type(&self, i: usize) -> [(u64, u64); MessageType::COUNT] {
        self.log.traffic.get(i).copied().unwrap_or_default()
    }

    /// What is being recorded.
    pub fn recording(&self) -> Recording {
        self.log.recording
    }
}
