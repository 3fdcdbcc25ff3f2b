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

use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use rumour::proto::{CommandError, MessageKind};
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
    /// eventsLost, joined.
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
            out.message_kind = Some(
                match kind {
                    MessageKind::Broadcast => "broadcast",
                    MessageKind::Direct => "direct",
                    MessageKind::Plain => "plain",
                }
                .into(),
            );
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
    }
    out
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

// ---- the node ----

/// Events waiting for the JS thread before the dispatch thread waits.
const JS_QUEUE: usize = 4096;

/// The callback events go through: a strong function (it holds the event
/// loop open until `close()` releases it) with a bounded queue.
type OnEvent = ThreadsafeFunction<NativeEvent, (), NativeEvent, Status, false, false, JS_QUEUE>;

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

fn timestamp(t: rumour::Timestamp) -> String {
    t.0.to_string()
}

#[napi]
impl NativeNode {
    /// Binds the sockets and starts the node; `onEvent` gets every event.
    #[napi(factory, catch_unwind)]
    pub fn start(
        config: NativeConfig,
        on_event: ThreadsafeFunction<NativeEvent, (), NativeEvent, Status, false, false, 4096>,
    ) -> Result<Self> {
        let cfg = to_config(config)?;
        let shared: Arc<Mutex<Option<Arc<OnEvent>>>> = Arc::new(Mutex::new(Some(Arc::new(on_event))));
        let feed = shared.clone();
        // The dispatch thread waits while the JS queue is full (the
        // protocol never does: its queue to the dispatch thread drops and
        // counts what does not fit, reported as `eventsLost` ahead of the
        // next event delivered).
        let callback = move |e: &Event| {
            let f = feed.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Some(f) = f {
                f.call(event(e), ThreadsafeFunctionCallMode::Blocking);
            }
        };
        let node = Node::start_with_callback(cfg, callback).map_err(|e| match &e {
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
            JoinStatus::GaveUp { attempts, failures } => (
                "gaveUp",
                None,
                attempts,
                failures.into_iter().map(|f| NativeSeedFailure { seed: f.seed, reason: f.reason }).collect(),
            ),
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
        let pairs: [(&str, u64); 24] = [
            ("members", s.members as u64),
            ("packetsSent", p.packets_sent),
            ("bytesSent", p.bytes_sent),
            ("packetsReceived", p.packets_received),
            ("bytesReceived", p.bytes_received),
            ("decodeErrors", p.decode_errors),
            ("probes", p.probes),
            ("probesFailed", p.probes_failed),
            ("refutes", p.refutes),
            ("stateSyncBytes", p.state_sync_bytes),
            ("stateRepaired", p.state_repaired),
            ("stateRejected", p.state_rejected),
            ("eventsLost", s.events_lost),
            ("callbackPanics", s.callback_panics),
            ("streamsRefused", s.streams_refused),
            ("streamsTimedOut", s.streams_timed_out),
            ("streamsOversized", s.streams_oversized),
            ("streamsRejected", s.streams_rejected),
            ("streamsFailed", s.streams_failed),
            ("udpSendErrors", s.udp_send_errors),
            ("joinAttempts", p.join_attempts),
            ("seedPushPulls", p.seed_push_pulls),
            ("hailsAnswered", p.hails_answered),
            ("peersFileErrors", s.peers_file_errors),
        ];
        Ok(pairs.iter().map(|(k, v)| (k.to_string(), *v as f64)).collect())
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
