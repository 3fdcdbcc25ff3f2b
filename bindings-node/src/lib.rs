//! The native side of the `rumour` npm package. It stays thin: plain
//! objects in and out, every wait off the JS thread (an `AsyncTask` on
//! libuv's pool), and errors as `Error`s whose message is
//! `"<kind>|<field>|<text>"`, which `index.js` turns into the typed error
//! classes (`ConfigError`, `ClosedError`, ...).
//!
//! Pitfalls handled here (DESIGN.md section 5): events reach JS through a
//! `ThreadsafeFunction` that holds the event loop open while the node runs
//! (a node is a server) and is released by `close()`, so the process can
//! exit after it; every entry point catches panics (`catch_unwind`); the
//! callback types are spelled out so `native.d.ts` has no undefined names.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use rumour::metrics::{MetricInfo, Sample, Value, CATALOGUE, TIMING_BOUNDS_MS};
use rumour::proto::CommandError;
use rumour::{Config, Event, JoinError, JoinStatus, Member, MemberState, Node, NodeError, StartError, StateError};

/// Builds the error `index.js` reads: kind, field at fault, text.
fn fail(kind: &str, field: &str, text: impl std::fmt::Display) -> Error {
    Error::new(Status::GenericFailure, format!("{kind}|{field}|{text}"))
}

fn node_error(e: NodeError) -> Error {
    let text = e.to_string();
    match e {
        NodeError::Shutdown => fail("Closed", "", text),
        NodeError::Command(CommandError::MetaTooLarge(_)) => fail("TooLarge", "meta", text),
        NodeError::Command(CommandError::MessageTooLarge { .. } | CommandError::LocalStateTooLarge { .. }) => {
            fail("TooLarge", "data", text)
        }
        NodeError::Command(CommandError::UnknownMember(_) | CommandError::MemberGone(_)) => {
            fail("UnknownMember", "to", text)
        }
        NodeError::Command(CommandError::Left) | NodeError::State(StateError::Left) => fail("Left", "", text),
        NodeError::Keyring(_) => fail("Keyring", "key", text),
        NodeError::LeaveTimeout(_) => fail("LeaveTimeout", "", text),
        NodeError::State(s) => {
            let field = match s {
                StateError::EmptyKey | StateError::KeyTooLong { .. } => "key",
                StateError::ValueTooLarge { .. } => "value",
                StateError::ZeroTtl | StateError::TtlTooLong { .. } => "ttl",
                _ => "state",
            };
            fail("State", field, text)
        }
        _ => fail("Node", "", text),
    }
}

// ---- config ----

/// Every config field; durations in milliseconds. `index.js` fills in the
/// preset and checks the types, so here every field is present.
#[napi(object)]
pub struct NativeConfig {
    pub name: String,
    pub bind: String,
    pub advertise: Option<String>,
    pub seeds: Vec<String>,
    pub retry_join_interval: f64,
    pub retry_join_max_interval: f64,
    pub retry_join_max_attempts: u32,
    pub gossip_to_seeds: bool,
    pub peers_file: Option<String>,
    pub keys: Vec<Buffer>,
    pub label: String,
    pub meta: Buffer,
    pub protocol_version: u32,
    pub tcp_timeout: f64,
    pub tcp_first_byte_timeout: f64,
    pub tcp_max_incoming: u32,
    pub tcp_max_incoming_per_source: u32,
    pub tcp_reserved_for_members: u32,
    pub indirect_checks: u32,
    pub retransmit_mult: u32,
    pub suspicion_mult: u32,
    pub suspicion_max_timeout_mult: u32,
    pub push_pull_interval: f64,
    pub probe_interval: f64,
    pub probe_timeout: f64,
    pub disable_tcp_pings: bool,
    pub awareness_max_multiplier: u32,
    pub gossip_nodes: u32,
    pub gossip_interval: f64,
    pub gossip_to_the_dead_time: f64,
    pub gossip_verify_incoming: bool,
    pub gossip_verify_outgoing: bool,
    pub enable_compression: bool,
    pub dead_node_reclaim_time: f64,
    pub udp_buffer_size: u32,
    pub broadcast_queue_depth: u32,
    pub raw_user_messages: bool,
    pub state_max_value_bytes: u32,
    pub state_max_entries: u32,
    pub state_max_bytes: f64,
    pub state_tombstone_grace: f64,
}

fn ms(field: &str, v: f64) -> Result<Duration> {
    if !v.is_finite() || v < 0.0 {
        return Err(fail("Range", field, format!("invalid config field `{field}`: {v} ms; must be finite and >= 0")));
    }
    Ok(Duration::from_secs_f64(v / 1000.0))
}

fn ms_of(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn to_config(c: NativeConfig) -> Result<Config> {
    let cfg = Config {
        name: c.name,
        bind: c.bind,
        advertise: c.advertise,
        seeds: c.seeds,
        retry_join_interval: ms("retryJoinInterval", c.retry_join_interval)?,
        retry_join_max_interval: ms("retryJoinMaxInterval", c.retry_join_max_interval)?,
        retry_join_max_attempts: c.retry_join_max_attempts,
        gossip_to_seeds: c.gossip_to_seeds,
        peers_file: c.peers_file.map(std::path::PathBuf::from),
        keys: c.keys.into_iter().map(|k| k.to_vec()).collect(),
        label: c.label,
        meta: c.meta.to_vec(),
        protocol_version: u8::try_from(c.protocol_version)
            .map_err(|_| fail("Range", "protocolVersion", "supported are 2 to 5"))?,
        tcp_timeout: ms("tcpTimeout", c.tcp_timeout)?,
        tcp_first_byte_timeout: ms("tcpFirstByteTimeout", c.tcp_first_byte_timeout)?,
        tcp_max_incoming: c.tcp_max_incoming as usize,
        tcp_max_incoming_per_source: c.tcp_max_incoming_per_source as usize,
        tcp_reserved_for_members: c.tcp_reserved_for_members as usize,
        indirect_checks: c.indirect_checks as usize,
        retransmit_mult: c.retransmit_mult,
        suspicion_mult: c.suspicion_mult,
        suspicion_max_timeout_mult: c.suspicion_max_timeout_mult,
        push_pull_interval: ms("pushPullInterval", c.push_pull_interval)?,
        probe_interval: ms("probeInterval", c.probe_interval)?,
        probe_timeout: ms("probeTimeout", c.probe_timeout)?,
        disable_tcp_pings: c.disable_tcp_pings,
        awareness_max_multiplier: c.awareness_max_multiplier,
        gossip_nodes: c.gossip_nodes as usize,
        gossip_interval: ms("gossipInterval", c.gossip_interval)?,
        gossip_to_the_dead_time: ms("gossipToTheDeadTime", c.gossip_to_the_dead_time)?,
        gossip_verify_incoming: c.gossip_verify_incoming,
        gossip_verify_outgoing: c.gossip_verify_outgoing,
        enable_compression: c.enable_compression,
        dead_node_reclaim_time: ms("deadNodeReclaimTime", c.dead_node_reclaim_time)?,
        udp_buffer_size: c.udp_buffer_size as usize,
        broadcast_queue_depth: c.broadcast_queue_depth as usize,
        raw_user_messages: c.raw_user_messages,
        state: rumour::StateConfig {
            max_value_bytes: c.state_max_value_bytes as usize,
            max_entries: c.state_max_entries as usize,
            max_bytes: if c.state_max_bytes.is_finite() && c.state_max_bytes >= 0.0 {
                c.state_max_bytes as usize
            } else {
                return Err(fail("Range", "stateMaxBytes", "must be a number of bytes >= 0"));
            },
            tombstone_grace: ms("stateTombstoneGrace", c.state_tombstone_grace)?,
        },
        ..Config::lan()
    };
    cfg.validate().map_err(|e| {
        let field = camel(e.field);
        fail("Range", &field, format!("invalid config field `{field}`: {}", e.reason))
    })?;
    Ok(cfg)
}

/// `probe_interval` -> `probeInterval`, `state.max_entries` -> `stateMaxEntries`.
fn camel(field: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for ch in field.chars() {
        if ch == '_' || ch == '.' {
            upper = true;
        } else if upper {
            out.extend(ch.to_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// A preset's values (durations in milliseconds).
#[napi(catch_unwind)]
pub fn config_preset(name: String) -> Result<NativeConfig> {
    let c = match name.as_str() {
        "lan" => Config::lan(),
        "wan" => Config::wan(),
        "local" => Config::local(),
        other => return Err(fail("Type", "preset", format!("unknown preset {other:?}; use lan, wan or local"))),
    };
    Ok(NativeConfig {
        name: c.name,
        bind: c.bind,
        advertise: c.advertise,
        seeds: c.seeds,
        retry_join_interval: ms_of(c.retry_join_interval),
        retry_join_max_interval: ms_of(c.retry_join_max_interval),
        retry_join_max_attempts: c.retry_join_max_attempts,
        gossip_to_seeds: c.gossip_to_seeds,
        peers_file: c.peers_file.map(|p| p.to_string_lossy().into_owned()),
        keys: Vec::new(),
        label: c.label,
        meta: c.meta.into(),
        protocol_version: u32::from(c.protocol_version),
        tcp_timeout: ms_of(c.tcp_timeout),
        tcp_first_byte_timeout: ms_of(c.tcp_first_byte_timeout),
        tcp_max_incoming: c.tcp_max_incoming as u32,
        tcp_max_incoming_per_source: c.tcp_max_incoming_per_source as u32,
        tcp_reserved_for_members: c.tcp_reserved_for_members as u32,
        indirect_checks: c.indirect_checks as u32,
        retransmit_mult: c.retransmit_mult,
        suspicion_mult: c.suspicion_mult,
        suspicion_max_timeout_mult: c.suspicion_max_timeout_mult,
        push_pull_interval: ms_of(c.push_pull_interval),
        probe_interval: ms_of(c.probe_interval),
        probe_timeout: ms_of(c.probe_timeout),
        disable_tcp_pings: c.disable_tcp_pings,
        awareness_max_multiplier: c.awareness_max_multiplier,
        gossip_nodes: c.gossip_nodes as u32,
        gossip_interval: ms_of(c.gossip_interval),
        gossip_to_the_dead_time: ms_of(c.gossip_to_the_dead_time),
        gossip_verify_incoming: c.gossip_verify_incoming,
        gossip_verify_outgoing: c.gossip_verify_outgoing,
        enable_compression: c.enable_compression,
        dead_node_reclaim_time: ms_of(c.dead_node_reclaim_time),
        udp_buffer_size: c.udp_buffer_size as u32,
        broadcast_queue_depth: c.broadcast_queue_depth as u32,
        raw_user_messages: c.raw_user_messages,
        state_max_value_bytes: c.state.max_value_bytes as u32,
        state_max_entries: c.state.max_entries as u32,
        state_max_bytes: c.state.max_bytes as f64,
        state_tombstone_grace: ms_of(c.state.tombstone_grace),
    })
}

/// Checks a config; throws naming the field at fault.
#[napi(catch_unwind)]
pub fn validate_config(config: NativeConfig) -> Result<()> {
    to_config(config).map(|_| ())
}

// ---- values out ----

/// A member as JS sees it.
#[napi(object)]
pub struct NativeMember {
    pub name: String,
    pub addr: String,
    /// "alive", "suspect", "dead" or "left".
    pub state: String,
    pub incarnation: u32,
    pub meta: Buffer,
}

fn member(m: &Member) -> NativeMember {
    let state = match m.state {
        MemberState::Alive => "alive",
        MemberState::Suspect => "suspect",
        MemberState::Dead => "dead",
        MemberState::Left => "left",
    };
    NativeMember {
        name: m.name.to_string(),
        addr: m.addr.to_string(),
        state: state.into(),
        incarnation: m.incarnation,
        meta: m.meta.clone().into(),
    }
}

/// One event; `kind` says which fields are set.
#[napi(object)]
pub struct NativeEvent {
    /// memberJoined, memberUpdated, memberSuspect, memberRecovered,
    /// memberFailed, memberLeft, message, stateChanged, remoteState,
    /// eventsLost, joined, joinGaveUp.
    pub kind: String,
    pub member: Option<NativeMember>,
    pub from: Option<String>,
    /// For messages: "broadcast", "direct" or "plain".
    pub message_kind: Option<String>,
    pub data: Option<Buffer>,
    pub key: Option<String>,
    pub value: Option<Buffer>,
    pub writer: Option<String>,
    /// The write's timestamp (a hybrid logical clock reading) as a decimal string.
    pub timestamp: Option<String>,
    pub count: Option<f64>,
    /// For `joined`: the peer's "host:port".
    pub via: Option<String>,
    /// For `joinGaveUp`: the attempts made.
    pub attempts: Option<u32>,
    /// For `joinGaveUp`: the last attempt's seeds and why each failed.
    pub failures: Option<Vec<NativeSeedFailure>>,
}

fn event(e: &Event) -> NativeEvent {
    let mut out = NativeEvent {
        kind: String::new(),
        member: None,
        from: None,
        message_kind: None,
        data: None,
        key: None,
        value: None,
        writer: None,
        timestamp: None,
        count: None,
        via: None,
        attempts: None,
        failures: None,
    };
    let mut with_member = |kind: &str, m: &Member| {
        out.kind = kind.into();
        out.member = Some(member(m));
    };
    match e {
        Event::MemberJoined(m) => with_member("memberJoined", m),
        Event::MemberUpdated(m) => with_member("memberUpdated", m),
        Event::MemberSuspect(m) => with_member("memberSuspect", m),
        Event::MemberRecovered(m) => with_member("memberRecovered", m),
        Event::MemberFailed(m) => with_member("memberFailed", m),
        Event::MemberLeft(m) => with_member("memberLeft", m),
        Event::Message { from, kind, payload } => {
            out.kind = "message".into();
            out.from = from.clone();
            out.message_kind = Some(kind.as_str().into());
            out.data = Some(payload.clone().into());
        }
        Event::StateChanged(c) => {
            out.kind = "stateChanged".into();
            out.key = Some(c.key.clone());
            out.value = c.value.clone().map(Buffer::from);
            out.writer = Some(c.writer.clone());
            out.timestamp = Some(c.timestamp.0.to_string());
        }
        Event::RemoteState(s) => {
            out.kind = "remoteState".into();
            out.data = Some(s.clone().into());
        }
        Event::EventsLost(n) => {
            out.kind = "eventsLost".into();
            out.count = Some(*n as f64);
        }
        Event::Joined { via } => {
            out.kind = "joined".into();
            out.via = Some(via.to_string());
        }
        Event::JoinGaveUp { attempts, failures } => {
            out.kind = "joinGaveUp".into();
            out.attempts = Some(*attempts);
            out.failures = Some(seed_failures(failures));
        }
    }
    out
}

/// A batch of events, oldest first. The frequent kinds (messages, state
/// changes, losses) are packed into `packed`, so that a batch costs the
/// JS thread a handful of N-API calls, not a dozen per event; every other
/// event is a [`NativeEvent`] in `others`, and its place in the order is a
/// [`packed::OTHER`] tag in `packed`. `index.js` (`unpack`) reads it.
#[napi(object)]
pub struct NativeBatch {
    /// Tagged records; see the `packed` module.
    pub packed: Buffer,
    /// The events that are not packed, in order.
    pub others: Vec<NativeEvent>,
}

/// The packed form of a batch: one tag byte per event, then its fields;
/// integers little-endian, strings and bytes as a u32 length and the bytes.
mod packed {
    use rumour::proto::MessageKind;
    use rumour::Event;

    /// The next event of `others`.
    pub(crate) const OTHER: u8 = 0;
    /// `from?` (a u8 flag, then a string), `messageKind` (u8: 0 broadcast,
    /// 1 direct, 2 plain), `data`.
    pub(crate) const MESSAGE: u8 = 1;
    /// `key`, `value?` (a u8 flag, then bytes), `writer`, `timestamp` (u64).
    pub(crate) const STATE_CHANGED: u8 = 2;
    /// `count` (u64).
    pub(crate) const EVENTS_LOST: u8 = 3;

    fn bytes(out: &mut Vec<u8>, b: &[u8]) {
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(b);
    }

    /// Appends `e` to `out`; false (with the OTHER tag written) when it
    /// goes in `others` instead.
    pub(crate) fn push(out: &mut Vec<u8>, e: &Event) -> bool {
        match e {
            Event::Message { from, kind, payload } => {
                out.push(MESSAGE);
                match from {
                    Some(f) => {
                        out.push(1);
                        bytes(out, f.as_bytes());
                    }
                    None => out.push(0),
                }
                out.push(match kind {
                    MessageKind::Broadcast => 0,
                    MessageKind::Direct => 1,
                    MessageKind::Plain => 2,
                });
                bytes(out, payload);
            }
            Event::StateChanged(c) => {
                out.push(STATE_CHANGED);
                bytes(out, c.key.as_bytes());
                match &c.value {
                    Some(v) => {
                        out.push(1);
                        bytes(out, v);
                    }
                    None => out.push(0),
                }
                bytes(out, c.writer.as_bytes());
                out.extend_from_slice(&c.timestamp.0.to_le_bytes());
            }
            Event::EventsLost(n) => {
                out.push(EVENTS_LOST);
                out.extend_from_slice(&n.to_le_bytes());
            }
            _ => {
                out.push(OTHER);
                return false;
            }
        }
        true
    }
}

fn batch(events: &[Event]) -> NativeBatch {
    let mut packed = Vec::with_capacity(events.len() * 24);
    let others = events.iter().filter(|e| !packed::push(&mut packed, e)).map(event).collect();
    NativeBatch { packed: packed.into(), others }
}

/// A live key of the replicated map.
#[napi(object)]
pub struct NativeEntry {
    pub key: String,
    pub value: Buffer,
    pub writer: String,
    /// Decimal string of the hybrid logical clock timestamp.
    pub timestamp: String,
    pub ephemeral: bool,
    pub expires_unix_ms: Option<f64>,
}

fn entry(e: &rumour::StateEntry) -> NativeEntry {
    NativeEntry {
        key: e.key.clone(),
        value: e.value.clone().into(),
        writer: e.writer.clone(),
        timestamp: e.timestamp.0.to_string(),
        ephemeral: e.ephemeral,
        expires_unix_ms: e.expires_unix_ms.map(|t| t as f64),
    }
}

/// Size and agreement of this node's replica.
#[napi(object)]
pub struct NativeStateSummary {
    pub live: u32,
    pub tombstones: u32,
    pub bytes: f64,
    /// Merkle root as a hex string: equal roots, equal maps.
    pub root: String,
    pub horizon: String,
}

// ---- metrics ----

/// One metric of the catalogue, with the name Prometheus sees, so
/// `registerMetrics` in `index.js` registers every family before any node
/// reports and never restates the naming rule.
#[napi(object)]
pub struct NativeMetricInfo {
    /// The dotted name (`memberlist.msg.alive`).
    pub name: String,
    /// "counter", "gauge" or "histogram".
    pub kind: String,
    /// What one unit is (`bytes`, `ms`, ...).
    pub unit: String,
    /// What it counts, in a sentence.
    pub help: String,
    /// `rumour::metrics::prometheus_name`: underscores, `_total` on counters.
    pub prometheus_name: String,
}

/// Every metric a node reports (`rumour::metrics::CATALOGUE`), in order.
#[napi(catch_unwind)]
pub fn metrics_catalogue() -> Vec<NativeMetricInfo> {
    CATALOGUE
        .iter()
        .map(|i: &MetricInfo| NativeMetricInfo {
            name: i.name.into(),
            kind: i.kind.as_str().into(),
            unit: i.unit.into(),
            help: i.help.into(),
            prometheus_name: rumour::metrics::prometheus_name(i),
        })
        .collect()
}

/// One sample of `Node::metrics`. Counters and gauges set `value`;
/// histograms set `buckets`, `sum` and `count`. Counters become doubles:
/// exact up to 2^53, which no counter of a running node reaches.
#[napi(object)]
pub struct NativeSample {
    /// The dotted name (`memberlist.probeNode`).
    pub name: String,
    /// "counter", "gauge" or "histogram".
    pub kind: String,
    /// What one unit is (`bytes`, `ms`, ...).
    pub unit: String,
    /// What it counts, in a sentence.
    pub help: String,
    /// Labels beyond `node` (`node_state` for `memberlist.node.instances`).
    pub labels: HashMap<String, String>,
    /// A counter's total or a gauge's level.
    pub value: Option<f64>,
    /// `[upper bound in ms, observations at or below it]`, cumulative as
    /// Prometheus has them; the last bound is `Infinity`.
    pub buckets: Option<Vec<(f64, f64)>>,
    /// Sum of the observations, in milliseconds.
    pub sum: Option<f64>,
    /// How many observations (the `Infinity` bucket's count).
    pub count: Option<f64>,
}

fn sample(s: &Sample) -> NativeSample {
    let mut out = NativeSample {
        name: s.info.name.into(),
        kind: s.info.kind.as_str().into(),
        unit: s.info.unit.into(),
        help: s.info.help.into(),
        labels: s.labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        value: None,
        buckets: None,
        sum: None,
        count: None,
    };
    match &s.value {
        Value::Counter(v) => out.value = Some(*v as f64),
        Value::Gauge(v) => out.value = Some(*v),
        Value::Histogram(t) => {
            // The core counts per bucket; Prometheus wants running totals.
            let mut cumulative = 0u64;
            let buckets = t
                .buckets
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    cumulative += n;
                    (TIMING_BOUNDS_MS.get(i).copied().unwrap_or(f64::INFINITY), cumulative as f64)
                })
                .collect();
            out.buckets = Some(buckets);
            out.sum = Some(t.sum_micros as f64 / 1000.0);
            out.count = Some(t.count() as f64);
        }
    }
    out
}

// ---- the node ----

/// Events on their way to the JS thread before the dispatch thread waits,
/// as when each event crossed alone (counted by [`InFlight`]: the
/// threadsafe function's own bound counts calls, and a call is a batch).
const JS_QUEUE: usize = 4096;

/// The callback events go through, a batch per call (every event queued
/// when the dispatch thread woke, oldest first): a strong function (it
/// holds the event loop open until `close()` releases it).
type OnEvent = ThreadsafeFunction<NativeBatch, (), NativeBatch, Status, false, false, JS_QUEUE>;

/// Events handed to the JS thread and not yet delivered there.
#[derive(Default)]
struct InFlight {
    count: Mutex<usize>,
    room: Condvar,
}

impl InFlight {
    /// Waits until `n` more events fit under [`JS_QUEUE`] (a batch goes at
    /// once when nothing is in flight), then counts them. False when the
    /// function was aborted (the environment is going away) meanwhile.
    fn reserve(&self, n: usize, f: &OnEvent) -> bool {
        let mut count = self.count.lock().unwrap_or_else(|p| p.into_inner());
        while *count > 0 && *count + n > JS_QUEUE {
            if f.aborted() {
                return false;
            }
            // The timeout only bounds how late an abort is noticed.
            count = self.room.wait_timeout(count, Duration::from_millis(100)).unwrap_or_else(|p| p.into_inner()).0;
        }
        *count += n;
        true
    }

    /// `n` events were delivered (or will never be).
    fn release(&self, n: usize) {
        let mut count = self.count.lock().unwrap_or_else(|p| p.into_inner());
        *count = count.saturating_sub(n);
        self.room.notify_all();
    }
}

/// A running node.
#[napi]
pub struct NativeNode {
    node: Arc<Node>,
    on_event: Arc<Mutex<Option<Arc<OnEvent>>>>,
}

/// Work done off the JS thread.
pub enum Work {
    Join(Arc<Node>, Vec<String>),
    Leave(Arc<Node>, Duration),
    Close(Arc<Node>, Arc<Mutex<Option<Arc<OnEvent>>>>),
}

#[napi]
impl Task for Work {
    type Output = u32;
    type JsValue = u32;

    fn compute(&mut self) -> Result<u32> {
        match self {
            Work::Join(node, seeds) => node.join(seeds).map(|n| n as u32).map_err(|e| match e {
                JoinError::Shutdown => fail("Closed", "", e),
                JoinError::NoSeeds => fail("Join", "seeds", e),
                _ => fail("Join", "", e),
            }),
            Work::Leave(node, timeout) => node.leave(*timeout).map(|_| 0).map_err(node_error),
            Work::Close(node, on_event) => {
                node.shutdown();
                // Release the event function: the process may exit now.
                on_event.lock().unwrap_or_else(|p| p.into_inner()).take();
                Ok(0)
            }
        }
    }

    fn resolve(&mut self, _env: Env, output: u32) -> Result<u32> {
        Ok(output)
    }
}

/// Where joining the seeds stands (`Node::join_status`).
#[napi(object)]
pub struct NativeJoinStatus {
    /// "waiting" (no seeds), "joining", "joined" or "gaveUp".
    pub state: String,
    /// For "joined": the peer's "host:port".
    pub via: Option<String>,
    pub attempts: u32,
    /// For "gaveUp": why each address of the last attempt failed.
    pub failures: Vec<NativeSeedFailure>,
}

/// One seed address that did not answer, and why (`rumour::SeedFailure`).
#[napi(object)]
pub struct NativeSeedFailure {
    /// The seed as given (or a remembered peer's address).
    pub seed: String,
    /// Why: resolution, connection, timeout or the peer's refusal.
    pub reason: String,
}

fn seed_failures(failures: &[rumour::SeedFailure]) -> Vec<NativeSeedFailure> {
    failures.iter().map(|f| NativeSeedFailure { seed: f.seed.clone(), reason: f.reason.clone() }).collect()
}

fn timestamp(t: rumour::Timestamp) -> String {
    t.0.to_string()
}

#[napi]
impl NativeNode {
    /// Binds the sockets and starts the node; `onEvents` gets every event,
    /// in batches: a [`NativeBatch`] of the events queued when the dispatch
    /// thread woke, oldest first, one JS call per batch.
    #[napi(factory, catch_unwind)]
    pub fn start(
        config: NativeConfig,
        on_events: ThreadsafeFunction<NativeBatch, (), NativeBatch, Status, false, false, 4096>,
    ) -> Result<Self> {
        let cfg = to_config(config)?;
        let shared: Arc<Mutex<Option<Arc<OnEvent>>>> = Arc::new(Mutex::new(Some(Arc::new(on_events))));
        let feed = shared.clone();
        let in_flight = Arc::new(InFlight::default());
        // The dispatch thread waits while the JS queue is full (the
        // protocol never does: its queue to the dispatch thread drops and
        // counts what does not fit, reported as `eventsLost` ahead of the
        // next event delivered).
        let callback = move |events: &[Event]| {
            let f = feed.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let Some(f) = f else { return };
            let n = events.len();
            if !in_flight.reserve(n, &f) {
                return;
            }
            let done = in_flight.clone();
            let status = f.call_with_return_value(batch(events), ThreadsafeFunctionCallMode::Blocking, move |_, _| {
                done.release(n);
                Ok(())
            });
            if status != Status::Ok {
                in_flight.release(n);
            }
        };
        let node = Node::start_with_batch_callback(cfg, callback).map_err(|e| match &e {
            StartError::Config(c) => fail("Range", &camel(c.field), e.to_string()),
            StartError::Resolve { field, .. } => fail("Range", field, e.to_string()),
            _ => fail("Start", "", e.to_string()),
        })?;
        Ok(NativeNode { node: Arc::new(node), on_event: shared })
    }

    #[napi(getter)]
    pub fn name(&self) -> String {
        self.node.name().to_string()
    }

    #[napi(getter)]
    pub fn addr(&self) -> String {
        self.node.addr().to_string()
    }

    #[napi(getter)]
    pub fn bound_addr(&self) -> String {
        self.node.bound_addr().to_string()
    }

    /// Joins through `seeds`; resolves with how many answered.
    #[napi(catch_unwind, ts_return_type = "Promise<number>")]
    pub fn join(&self, seeds: Vec<String>) -> AsyncTask<Work> {
        AsyncTask::new(Work::Join(self.node.clone(), seeds))
    }

    /// Where joining the seeds stands, at once (index.js waits with it).
    #[napi(catch_unwind)]
    pub fn join_status(&self) -> Result<NativeJoinStatus> {
        let status = self.node.join_status().map_err(node_error)?;
        let (state, via, attempts, failures) = match status {
            JoinStatus::Waiting => ("waiting", None, 0, Vec::new()),
            JoinStatus::Joining { attempts } => ("joining", None, attempts, Vec::new()),
            JoinStatus::Joined { via } => ("joined", Some(via.to_string()), 0, Vec::new()),
            JoinStatus::GaveUp { attempts, failures } => ("gaveUp", None, attempts, seed_failures(&failures)),
        };
        Ok(NativeJoinStatus { state: state.into(), via, attempts, failures })
    }

    /// Leaves gracefully, waiting up to `timeoutMs` for the news to go out.
    #[napi(catch_unwind, ts_return_type = "Promise<number>")]
    pub fn leave(&self, timeout_ms: f64) -> Result<AsyncTask<Work>> {
        let timeout = ms("timeoutMs", timeout_ms)?;
        Ok(AsyncTask::new(Work::Leave(self.node.clone(), timeout)))
    }

    /// Stops the node and releases the event function.
    #[napi(catch_unwind, ts_return_type = "Promise<number>")]
    pub fn close(&self) -> AsyncTask<Work> {
        AsyncTask::new(Work::Close(self.node.clone(), self.on_event.clone()))
    }

    #[napi(catch_unwind)]
    pub fn members(&self) -> Result<Vec<NativeMember>> {
        Ok(self.node.members().map_err(node_error)?.iter().map(member).collect())
    }

    #[napi(catch_unwind)]
    pub fn member(&self, name: String) -> Result<Option<NativeMember>> {
        Ok(self.node.member(&name).map_err(node_error)?.as_ref().map(member))
    }

    /// The cluster view's hash, 16 hex digits.
    #[napi(catch_unwind)]
    pub fn digest(&self) -> Result<String> {
        Ok(self.node.digest().map_err(node_error)?.to_string())
    }

    #[napi(catch_unwind)]
    pub fn local(&self) -> Result<NativeMember> {
        Ok(member(&self.node.local().map_err(node_error)?))
    }

    #[napi(catch_unwind)]
    pub fn broadcast(&self, data: Buffer) -> Result<()> {
        self.node.broadcast(&data).map_err(node_error)
    }

    #[napi(catch_unwind)]
    pub fn send(&self, to: String, data: Buffer, reliable: bool) -> Result<()> {
        if reliable { self.node.send_reliable(&to, &data) } else { self.node.send(&to, &data) }.map_err(node_error)
    }

    #[napi(catch_unwind)]
    pub fn set_meta(&self, meta: Buffer) -> Result<()> {
        self.node.set_meta(&meta).map_err(node_error)
    }

    #[napi(catch_unwind)]
    pub fn set_local_state(&self, data: Buffer) -> Result<()> {
        self.node.set_local_state(&data).map_err(node_error)
    }

    #[napi(catch_unwind)]
    pub fn install_key(&self, key: Buffer) -> Result<()> {
        self.node.install_key(&key).map_err(node_error)
    }

    #[napi(catch_unwind)]
    pub fn use_key(&self, key: Buffer) -> Result<()> {
        self.node.use_key(&key).map_err(node_error)
    }

    #[napi(catch_unwind)]
    pub fn remove_key(&self, key: Buffer) -> Result<()> {
        self.node.remove_key(&key).map_err(node_error)
    }

    /// Counters as `[name, value]` pairs.
    #[napi(catch_unwind)]
    pub fn stats(&self) -> Result<Vec<(String, f64)>> {
        let s = self.node.stats().map_err(node_error)?;
        let p = &s.proto;
        let pairs: &[(&str, u64)] = &[
            ("members", s.members as u64),
            ("packetsSent", p.packets_sent),
            ("bytesSent", p.bytes_sent),
            ("packetsReceived", p.packets_received),
            ("bytesReceived", p.bytes_received),
            ("decodeErrors", p.decode_errors),
            ("probes", p.probes),
            ("probesFailed", p.probes_failed),
            ("refutes", p.refutes),
            ("reasserts", p.reasserts),
            ("accusersAnswered", p.accusers_answered),
            ("stateSyncBytes", p.state_sync_bytes),
            ("stateRepaired", p.state_repaired),
            ("stateRejected", p.state_rejected),
            ("eventsLost", s.events_lost),
            ("callbackPanics", s.callback_panics),
            ("streamsRefused", s.streams_refused),
            ("streamsEvicted", s.streams_evicted),
            ("streamsSilent", s.streams_silent),
            ("streamsTimedOut", s.streams_timed_out),
            ("streamsOversized", s.streams_oversized),
            ("streamsRejected", s.streams_rejected),
            ("streamsFailed", s.streams_failed),
            ("udpSendErrors", s.udp_send_errors),
            ("joinAttempts", p.join_attempts),
            ("seedPushPulls", p.seed_push_pulls),
            ("hailsAnswered", p.hails_answered),
            ("catchUpPulls", p.catch_up_pulls),
            ("peersFileErrors", s.peers_file_errors),
        ];
        Ok(pairs.iter().map(|(k, v)| (k.to_string(), *v as f64)).collect())
    }

    /// This node's metrics under memberlist's names, read now.
    #[napi(catch_unwind)]
    pub fn metrics(&self) -> Result<Vec<NativeSample>> {
        Ok(self.node.metrics().map_err(node_error)?.samples.iter().map(sample).collect())
    }

    /// `kind`: "untilDeleted", "ephemeral" or "ttl" (with `ttlMs`).
    #[napi(catch_unwind)]
    pub fn state_put(&self, key: String, value: Buffer, kind: String, ttl_ms: Option<f64>) -> Result<String> {
        let state = self.node.state();
        let written = match (kind.as_str(), ttl_ms) {
            ("untilDeleted", _) => state.put(&key, &value),
            ("ephemeral", _) => state.put_ephemeral(&key, &value),
            ("ttl", Some(t)) => state.put_with_ttl(&key, &value, ms("ttlMs", t)?),
            _ => return Err(fail("Type", "kind", format!("bad write kind {kind:?}"))),
        };
        written.map(timestamp).map_err(node_error)
    }

    #[napi(catch_unwind)]
    pub fn state_delete(&self, key: String) -> Result<Option<String>> {
        self.node.state().delete(&key).map(|t| t.map(timestamp)).map_err(node_error)
    }

    #[napi(catch_unwind)]
    pub fn state_get(&self, key: String) -> Result<Option<NativeEntry>> {
        Ok(self.node.state().get(&key).map_err(node_error)?.as_ref().map(entry))
    }

    #[napi(catch_unwind)]
    pub fn state_entries(&self, prefix: String) -> Result<Vec<NativeEntry>> {
        Ok(self.node.state().entries(&prefix).map_err(node_error)?.iter().map(entry).collect())
    }

    #[napi(catch_unwind)]
    pub fn state_summary(&self) -> Result<NativeStateSummary> {
        let s = self.node.state().summary().map_err(node_error)?;
        Ok(NativeStateSummary {
            live: s.live as u32,
            tombstones: s.tombstones as u32,
            bytes: s.bytes as f64,
            root: format!("{:016x}", s.root),
            horizon: s.horizon.0.to_string(),
        })
    }
}
