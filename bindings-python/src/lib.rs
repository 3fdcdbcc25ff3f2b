//! `rumour._native`: the Rust side of the Python package. It stays thin:
//! plain values in and out (dicts, tuples, bytes), every wait with the GIL
//! released, and errors raised as the classes of `rumour.errors`, so the
//! Python layer (`python/rumour/`) owns the pleasant API.
//!
//! Pitfalls handled here (DESIGN.md section 5): events reach Python from
//! the dispatch thread through `Python::try_attach` (which gives up during
//! interpreter shutdown instead of panicking); a failing event handler is
//! reported with `write_unraisable` and the node goes on; shutting a node
//! down, from `close()` or from its destructor, releases the GIL first,
//! because the dispatch thread may be waiting for it to deliver the last
//! events.

use std::net::SocketAddr;
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use rumour::metrics::{Sample, Value, TIMING_BOUNDS_MS};
use rumour::proto::CommandError;
use rumour::{Config, Event, JoinError, Member, MemberState, Node, NodeError, StartError, StateError};

mod logs;
mod sim;

/// Raises `rumour.errors.<class>(message, field)`.
fn raise(py: Python<'_>, class: &str, message: String, field: Option<&str>) -> PyErr {
    let made =
        py.import("rumour.errors").and_then(|m| m.getattr(class)).and_then(|cls| cls.call1((message.clone(), field)));
    match made {
        Ok(err) => PyErr::from_value(err),
        // The package is broken or half imported: still say what went wrong.
        Err(e) => pyo3::exceptions::PyRuntimeError::new_err(format!("{message} (and rumour.errors failed: {e})")),
    }
}

fn node_error(py: Python<'_>, e: NodeError) -> PyErr {
    let msg = e.to_string();
    match e {
        NodeError::Shutdown => raise(py, "ClosedError", msg, None),
        NodeError::Command(CommandError::MetaTooLarge(_)) => raise(py, "TooLargeError", msg, Some("meta")),
        NodeError::Command(CommandError::MessageTooLarge { .. } | CommandError::LocalStateTooLarge { .. }) => {
            raise(py, "TooLargeError", msg, Some("data"))
        }
        NodeError::Command(CommandError::UnknownMember(_) | CommandError::MemberGone(_)) => {
            raise(py, "UnknownMemberError", msg, Some("to"))
        }
        NodeError::Command(CommandError::Left) | NodeError::State(StateError::Left) => {
            raise(py, "LeftError", msg, None)
        }
        NodeError::Keyring(_) => raise(py, "KeyringError", msg, Some("key")),
        NodeError::LeaveTimeout(_) => raise(py, "LeaveTimeoutError", msg, None),
        NodeError::State(s) => {
            let field = match s {
                StateError::EmptyKey | StateError::KeyTooLong { .. } => "key",
                StateError::ValueTooLarge { .. } => "value",
                StateError::ZeroTtl => "ttl",
                _ => "state",
            };
            raise(py, "StateError", msg, Some(field))
        }
        _ => raise(py, "NodeError", msg, None),
    }
}

/// Raises `ClosedError`, `JoinTimeoutError` or `JoinError` (with
/// `failures` as `(seed, reason)` pairs and, when the node gave up, `attempts`).
fn join_error(py: Python<'_>, e: JoinError) -> PyErr {
    let msg = e.to_string();
    let (class, field, failures, attempts) = match e {
        JoinError::Shutdown => return raise(py, "ClosedError", msg, None),
        JoinError::Timeout(_) => return raise(py, "JoinTimeoutError", msg, None),
        JoinError::NoSeeds => ("JoinError", Some("seeds"), Vec::new(), None),
        JoinError::NoneAnswered(failures) => ("JoinError", None, failures, None),
        JoinError::GaveUp { attempts, failures } => ("JoinError", None, failures, Some(attempts)),
        _ => ("JoinError", None, Vec::new(), None),
    };
    let failures: Vec<(String, String)> = failures.into_iter().map(|f| (f.seed, f.reason)).collect();
    let made = py.import("rumour.errors").and_then(|m| m.getattr(class)).and_then(|cls| {
        let kwargs = PyDict::new(py);
        kwargs.set_item("failures", failures)?;
        kwargs.set_item("attempts", attempts)?;
        cls.call((msg.clone(), field), Some(&kwargs))
    });
    match made {
        Ok(err) => PyErr::from_value(err),
        Err(err) => pyo3::exceptions::PyRuntimeError::new_err(format!("{msg} (and rumour.errors failed: {err})")),
    }
}

// ---- config ----

fn secs(v: &Bound<'_, PyAny>, field: &'static str) -> Result<Duration, (String, &'static str)> {
    let s: f64 = v.extract().map_err(|_| ("must be a number of seconds".to_string(), field))?;
    if !s.is_finite() || s < 0.0 {
        return Err((format!("{s} seconds; must be finite and not negative"), field));
    }
    Ok(Duration::from_secs_f64(s))
}

fn take<'py, T: FromPyObjectOwned<'py>>(
    v: &Bound<'py, PyAny>,
    field: &'static str,
    what: &str,
) -> Result<T, (String, &'static str)> {
    v.extract::<T>().map_err(|_| (format!("must be {what}, not {}", type_name(v)), field))
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// Builds a [`Config`] from the dict `rumour.Config` hands over, naming
/// the field at fault on any error.
fn config_from(dict: &Bound<'_, PyDict>) -> Result<Config, (String, &'static str)> {
    let mut c = Config::lan();
    for (k, v) in dict.iter() {
        let key: String = k.extract().map_err(|_| ("config keys must be strings".to_string(), "config"))?;
        macro_rules! int {
            ($f:ident, $name:literal) => {
                c.$f = take(&v, $name, "an int >= 0")?
            };
        }
        match key.as_str() {
            "name" => c.name = take(&v, "name", "a str")?,
            "bind" => c.bind = take(&v, "bind", "a \"host:port\" str")?,
            "advertise" => c.advertise = take(&v, "advertise", "a \"host:port\" str or None")?,
            "seeds" => c.seeds = take(&v, "seeds", "a list of \"host:port\" str")?,
            "retry_join_interval" => c.retry_join_interval = secs(&v, "retry_join_interval")?,
            "retry_join_max_interval" => c.retry_join_max_interval = secs(&v, "retry_join_max_interval")?,
            "retry_join_max_attempts" => int!(retry_join_max_attempts, "retry_join_max_attempts"),
            "gossip_to_seeds" => c.gossip_to_seeds = take(&v, "gossip_to_seeds", "a bool")?,
            "peers_file" => {
                c.peers_file =
                    take::<Option<std::path::PathBuf>>(&v, "peers_file", "a path (str or os.PathLike) or None")?
            }
            "keys" => c.keys = take(&v, "keys", "a list of bytes")?,
            "label" => c.label = take(&v, "label", "a str")?,
            "meta" => c.meta = take(&v, "meta", "bytes")?,
            "protocol_version" => int!(protocol_version, "protocol_version"),
            "tcp_timeout" => c.tcp_timeout = secs(&v, "tcp_timeout")?,
            "tcp_first_byte_timeout" => c.tcp_first_byte_timeout = secs(&v, "tcp_first_byte_timeout")?,
            "tcp_max_incoming" => int!(tcp_max_incoming, "tcp_max_incoming"),
            "tcp_max_incoming_per_source" => int!(tcp_max_incoming_per_source, "tcp_max_incoming_per_source"),
            "tcp_reserved_for_members" => int!(tcp_reserved_for_members, "tcp_reserved_for_members"),
            "indirect_checks" => int!(indirect_checks, "indirect_checks"),
            "retransmit_mult" => int!(retransmit_mult, "retransmit_mult"),
            "suspicion_mult" => int!(suspicion_mult, "suspicion_mult"),
            "suspicion_max_timeout_mult" => int!(suspicion_max_timeout_mult, "suspicion_max_timeout_mult"),
            "push_pull_interval" => c.push_pull_interval = secs(&v, "push_pull_interval")?,
            "probe_interval" => c.probe_interval = secs(&v, "probe_interval")?,
            "probe_timeout" => c.probe_timeout = secs(&v, "probe_timeout")?,
            "disable_tcp_pings" => c.disable_tcp_pings = take(&v, "disable_tcp_pings", "a bool")?,
            "awareness_max_multiplier" => int!(awareness_max_multiplier, "awareness_max_multiplier"),
            "gossip_nodes" => int!(gossip_nodes, "gossip_nodes"),
            "gossip_interval" => c.gossip_interval = secs(&v, "gossip_interval")?,
            "gossip_to_the_dead_time" => c.gossip_to_the_dead_time = secs(&v, "gossip_to_the_dead_time")?,
            "gossip_verify_incoming" => c.gossip_verify_incoming = take(&v, "gossip_verify_incoming", "a bool")?,
            "gossip_verify_outgoing" => c.gossip_verify_outgoing = take(&v, "gossip_verify_outgoing", "a bool")?,
            "enable_compression" => c.enable_compression = take(&v, "enable_compression", "a bool")?,
            "dead_node_reclaim_time" => c.dead_node_reclaim_time = secs(&v, "dead_node_reclaim_time")?,
            "udp_buffer_size" => int!(udp_buffer_size, "udp_buffer_size"),
            "broadcast_queue_depth" => int!(broadcast_queue_depth, "broadcast_queue_depth"),
            "raw_user_messages" => c.raw_user_messages = take(&v, "raw_user_messages", "a bool")?,
            "state_max_value_bytes" => c.state.max_value_bytes = take(&v, "state_max_value_bytes", "an int >= 0")?,
            "state_max_entries" => c.state.max_entries = take(&v, "state_max_entries", "an int >= 0")?,
            "state_max_bytes" => c.state.max_bytes = take(&v, "state_max_bytes", "an int >= 0")?,
            "state_tombstone_grace" => c.state.tombstone_grace = secs(&v, "state_tombstone_grace")?,
            _ => return Err((format!("unknown field {key:?}"), "config")),
        }
    }
    c.validate().map_err(|e| (e.reason, e.field))?;
    Ok(c)
}

fn config_error(py: Python<'_>, (reason, field): (String, &'static str)) -> PyErr {
    let field = field.replace('.', "_");
    raise(py, "ConfigError", format!("invalid config field `{field}`: {reason}"), Some(&field))
}

/// The preset's values as a dict (durations in seconds), for `rumour.Config`.
#[pyfunction]
fn preset<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyDict>> {
    let c = match name {
        "lan" => Config::lan(),
        "wan" => Config::wan(),
        "local" => Config::local(),
        other => return Err(raise(py, "ConfigError", format!("unknown preset {other:?}"), Some("preset"))),
    };
    let d = PyDict::new(py);
    let s = |v: Duration| v.as_secs_f64();
    d.set_item("name", &c.name)?;
    d.set_item("bind", &c.bind)?;
    d.set_item("advertise", &c.advertise)?;
    d.set_item("seeds", &c.seeds)?;
    d.set_item("retry_join_interval", s(c.retry_join_interval))?;
    d.set_item("retry_join_max_interval", s(c.retry_join_max_interval))?;
    d.set_item("retry_join_max_attempts", c.retry_join_max_attempts)?;
    d.set_item("gossip_to_seeds", c.gossip_to_seeds)?;
    d.set_item("peers_file", c.peers_file.as_ref().map(|p| p.to_string_lossy().into_owned()))?;
    d.set_item("keys", PyList::empty(py))?;
    d.set_item("label", &c.label)?;
    d.set_item("meta", PyBytes::new(py, &c.meta))?;
    d.set_item("protocol_version", c.protocol_version)?;
    d.set_item("tcp_timeout", s(c.tcp_timeout))?;
    d.set_item("tcp_first_byte_timeout", s(c.tcp_first_byte_timeout))?;
    d.set_item("tcp_max_incoming", c.tcp_max_incoming)?;
    d.set_item("tcp_max_incoming_per_source", c.tcp_max_incoming_per_source)?;
    d.set_item("tcp_reserved_for_members", c.tcp_reserved_for_members)?;
    d.set_item("indirect_checks", c.indirect_checks)?;
    d.set_item("retransmit_mult", c.retransmit_mult)?;
    d.set_item("suspicion_mult", c.suspicion_mult)?;
    d.set_item("suspicion_max_timeout_mult", c.suspicion_max_timeout_mult)?;
    d.set_item("push_pull_interval", s(c.push_pull_interval))?;
    d.set_item("probe_interval", s(c.probe_interval))?;
    d.set_item("probe_timeout", s(c.probe_timeout))?;
    d.set_item("disable_tcp_pings", c.disable_tcp_pings)?;
    d.set_item("awareness_max_multiplier", c.awareness_max_multiplier)?;
    d.set_item("gossip_nodes", c.gossip_nodes)?;
    d.set_item("gossip_interval", s(c.gossip_interval))?;
    d.set_item("gossip_to_the_dead_time", s(c.gossip_to_the_dead_time))?;
    d.set_item("gossip_verify_incoming", c.gossip_verify_incoming)?;
    d.set_item("gossip_verify_outgoing", c.gossip_verify_outgoing)?;
    d.set_item("enable_compression", c.enable_compression)?;
    d.set_item("dead_node_reclaim_time", s(c.dead_node_reclaim_time))?;
    d.set_item("udp_buffer_size", c.udp_buffer_size)?;
    d.set_item("broadcast_queue_depth", c.broadcast_queue_depth)?;
    d.set_item("raw_user_messages", c.raw_user_messages)?;
    d.set_item("state_max_value_bytes", c.state.max_value_bytes)?;
    d.set_item("state_max_entries", c.state.max_entries)?;
    d.set_item("state_max_bytes", c.state.max_bytes)?;
    d.set_item("state_tombstone_grace", s(c.state.tombstone_grace))?;
    Ok(d)
}

/// Checks a config dict; raises `ConfigError` naming the field at fault.
#[pyfunction]
fn validate_config(py: Python<'_>, config: &Bound<'_, PyDict>) -> PyResult<()> {
    config_from(config).map(|_| ()).map_err(|e| config_error(py, e))
}

// ---- values out ----

fn state_name(s: MemberState) -> &'static str {
    s.as_str()
}

/// `(name, addr, state, incarnation, meta)`.
fn member_tuple<'py>(py: Python<'py>, m: &Member) -> PyResult<Bound<'py, PyTuple>> {
    (&*m.name, m.addr.to_string(), state_name(m.state), m.incarnation, PyBytes::new(py, &m.meta)).into_pyobject(py)
}

/// An event as a tuple whose first item names its kind.
fn event_tuple<'py>(py: Python<'py>, e: &Event) -> PyResult<Bound<'py, PyTuple>> {
    match e {
        Event::MemberJoined(m)
        | Event::MemberUpdated(m)
        | Event::MemberSuspect(m)
        | Event::MemberRecovered(m)
        | Event::MemberFailed(m)
        | Event::MemberLeft(m) => {
            let kind = e.member_change().map_or("member", |(kind, _)| kind);
            (kind, member_tuple(py, m)?).into_pyobject(py)
        }
        Event::Message { from, kind, payload } => {
            ("message", from.as_deref(), kind.as_str(), PyBytes::new(py, payload)).into_pyobject(py)
        }
        Event::StateChanged(c) => {
            ("state_changed", &c.key, c.value.as_ref().map(|v| PyBytes::new(py, v)), &c.writer, c.timestamp.0)
                .into_pyobject(py)
        }
        Event::RemoteState(s) => ("remote_state", PyBytes::new(py, s)).into_pyobject(py),
        Event::EventsLost(n) => ("events_lost", *n).into_pyobject(py),
        Event::Joined { via } => ("cluster_joined", via.to_string()).into_pyobject(py),
        Event::JoinGaveUp { attempts, failures } => {
            let failures: Vec<(&str, &str)> = failures.iter().map(|f| (f.seed.as_str(), f.reason.as_str())).collect();
            ("join_gave_up", *attempts, failures).into_pyobject(py)
        }
    }
}

/// A replica's summary as Python sees it: `(live, tombstones, bytes, root, horizon)`.
pub(crate) type SummaryTuple = (usize, usize, usize, u64, u64);

pub(crate) fn summary_tuple(s: rumour::proto::StateSummary) -> SummaryTuple {
    (s.live, s.tombstones, s.bytes, s.root, s.horizon.0)
}

/// `(key, value, writer, timestamp, ephemeral, expires_unix_ms)`.
fn entry_tuple<'py>(py: Python<'py>, e: &rumour::StateEntry) -> PyResult<Bound<'py, PyTuple>> {
    (&e.key, PyBytes::new(py, &e.value), &e.writer, e.timestamp.0, e.ephemeral, e.expires_unix_ms).into_pyobject(py)
}

/// `(name, kind, unit, help, labels, value)`: the dotted catalogue name,
/// `"counter"`/`"gauge"`/`"histogram"`, and the value as an int, a float or
/// `(buckets, sum_ms, count)`. The buckets are made cumulative here, with
/// `inf` as the last bound, because that is how every Python consumer
/// (`prometheus_client` first) wants them; the core keeps them per bucket.
fn metric_tuple<'py>(py: Python<'py>, s: &Sample) -> PyResult<Bound<'py, PyTuple>> {
    let labels = PyDict::new(py);
    for (k, v) in &s.labels {
        labels.set_item(k, v)?;
    }
    let value = match &s.value {
        Value::Counter(v) => v.into_pyobject(py)?.into_any(),
        Value::Gauge(v) => v.into_pyobject(py)?.into_any(),
        Value::Histogram(t) => {
            let mut cumulative = 0;
            let buckets: Vec<(f64, u64)> = t
                .buckets
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    cumulative += n;
                    (TIMING_BOUNDS_MS.get(i).copied().unwrap_or(f64::INFINITY), cumulative)
                })
                .collect();
            (buckets, t.sum_micros as f64 / 1000.0, t.count()).into_pyobject(py)?.into_any()
        }
    };
    let info = s.info;
    (info.name, info.kind.as_str(), info.unit, info.help, labels, value).into_pyobject(py)
}

// ---- the node ----

/// A running node. Created by `NativeNode.start`; every method raises
/// `ClosedError` once closed, and `ForkError` in a process forked after it
/// started (its threads did not survive the fork).
#[pyclass(module = "rumour._native", frozen)]
struct NativeNode {
    node: Node,
    pid: u32,
}

impl NativeNode {
    fn check(&self, py: Python<'_>) -> PyResult<&Node> {
        let pid = std::process::id();
        if pid != self.pid {
            return Err(raise(
                py,
                "ForkError",
                format!(
                    "this node was started in process {} and its threads did not survive fork(); start a new node in process {pid}",
                    self.pid
                ),
                None,
            ));
        }
        Ok(&self.node)
    }
}

#[pymethods]
impl NativeNode {
    /// Starts a node; `on_events(list_of_tuples)` is called on the dispatch
    /// thread with every event queued when it woke, oldest first: one
    /// GIL acquisition and one Python call per batch, not per event.
    #[staticmethod]
    fn start(py: Python<'_>, config: &Bound<'_, PyDict>, on_events: Py<PyAny>) -> PyResult<NativeNode> {
        let cfg = config_from(config).map_err(|e| config_error(py, e))?;
        let callback = move |events: &[Event]| {
            // None while the interpreter is shutting down: nobody to tell.
            let _ = Python::try_attach(|py| {
                let delivered = events
                    .iter()
                    .map(|e| event_tuple(py, e))
                    .collect::<PyResult<Vec<_>>>()
                    .and_then(|batch| PyList::new(py, batch))
                    .and_then(|batch| on_events.call1(py, (batch,)));
                if let Err(err) = delivered {
                    err.write_unraisable(py, Some(on_events.bind(py)));
                }
            });
        };
        let started = py.detach(|| Node::start_with_batch_callback(cfg, callback));
        let node = started.map_err(|e| {
            let (class, field) = match &e {
                StartError::Config(c) => ("ConfigError", Some(c.field)),
                StartError::Resolve { field, .. } => ("ConfigError", Some(*field)),
                _ => ("StartError", None),
            };
            raise(py, class, e.to_string(), field)
        })?;
        Ok(NativeNode { node, pid: std::process::id() })
    }

    #[getter]
    fn name(&self) -> String {
        self.node.name().to_string()
    }

    #[getter]
    fn addr(&self) -> String {
        self.node.addr().to_string()
    }

    #[getter]
    fn bound_addr(&self) -> String {
        self.node.bound_addr().to_string()
    }

    fn join(&self, py: Python<'_>, seeds: Vec<String>) -> PyResult<usize> {
        let node = self.check(py)?;
        py.detach(|| node.join(&seeds)).map_err(|e| join_error(py, e))
    }

    /// Waits until the node joined; the peer's "host:port". Raises
    /// `JoinTimeoutError` after `timeout` seconds (None, or more than a
    /// `Duration` holds: no limit), `JoinError` with the failures when the
    /// node gave up, `ClosedError` once closed. `joined(0)` only looks.
    fn joined(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<String> {
        let node = self.check(py)?;
        let limit = match timeout {
            None => Duration::MAX,
            Some(t) if t.is_nan() || t < 0.0 => {
                return Err(PyTypeError::new_err(format!("timeout must be a number of seconds >= 0, not {t}")));
            }
            Some(t) => Duration::try_from_secs_f64(t).unwrap_or(Duration::MAX),
        };
        py.detach(|| node.joined(limit)).map(|via| via.to_string()).map_err(|e| join_error(py, e))
    }

    fn leave(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let node = self.check(py)?;
        let timeout = Duration::try_from_secs_f64(timeout)
            .map_err(|_| raise(py, "NodeError", format!("timeout {timeout} is not a duration"), Some("timeout")))?;
        py.detach(|| node.leave(timeout)).map_err(|e| node_error(py, e))
    }

    /// Stops the node (idempotent); delivers the events already produced.
    fn close(&self, py: Python<'_>) {
        if std::process::id() == self.pid {
            py.detach(|| self.node.shutdown());
        }
    }

    fn members<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let node = self.check(py)?;
        let list = py.detach(|| node.members()).map_err(|e| node_error(py, e))?;
        list.iter().map(|m| member_tuple(py, m)).collect()
    }

    fn member<'py>(&self, py: Python<'py>, name: String) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let node = self.check(py)?;
        let m = py.detach(|| node.member(&name)).map_err(|e| node_error(py, e))?;
        m.map(|m| member_tuple(py, &m)).transpose()
    }

    fn digest(&self, py: Python<'_>) -> PyResult<String> {
        let node = self.check(py)?;
        let d = py.detach(|| node.digest()).map_err(|e| node_error(py, e))?;
        Ok(d.to_string())
    }

    fn local<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let node = self.check(py)?;
        let m = py.detach(|| node.local()).map_err(|e| node_error(py, e))?;
        member_tuple(py, &m)
    }

    fn broadcast(&self, py: Python<'_>, data: Vec<u8>) -> PyResult<()> {
        let node = self.check(py)?;
        py.detach(|| node.broadcast(&data)).map_err(|e| node_error(py, e))
    }

    fn send(&self, py: Python<'_>, to: String, data: Vec<u8>, reliable: bool) -> PyResult<()> {
        let node = self.check(py)?;
        let sent = py.detach(|| if reliable { node.send_reliable(&to, &data) } else { node.send(&to, &data) });
        sent.map_err(|e| node_error(py, e))
    }

    fn set_meta(&self, py: Python<'_>, meta: Vec<u8>) -> PyResult<()> {
        let node = self.check(py)?;
        py.detach(|| node.set_meta(&meta)).map_err(|e| node_error(py, e))
    }

    fn set_local_state(&self, py: Python<'_>, state: Vec<u8>) -> PyResult<()> {
        let node = self.check(py)?;
        py.detach(|| node.set_local_state(&state)).map_err(|e| node_error(py, e))
    }

    fn install_key(&self, py: Python<'_>, key: Vec<u8>) -> PyResult<()> {
        let node = self.check(py)?;
        py.detach(|| node.install_key(&key)).map_err(|e| node_error(py, e))
    }

    fn use_key(&self, py: Python<'_>, key: Vec<u8>) -> PyResult<()> {
        let node = self.check(py)?;
        py.detach(|| node.use_key(&key)).map_err(|e| node_error(py, e))
    }

    fn remove_key(&self, py: Python<'_>, key: Vec<u8>) -> PyResult<()> {
        let node = self.check(py)?;
        py.detach(|| node.remove_key(&key)).map_err(|e| node_error(py, e))
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let node = self.check(py)?;
        let s = py.detach(|| node.stats()).map_err(|e| node_error(py, e))?;
        let d = PyDict::new(py);
        let p = &s.proto;
        let items: &[(&str, u64)] = &[
            ("members", s.members as u64),
            ("packets_sent", p.packets_sent),
            ("bytes_sent", p.bytes_sent),
            ("packets_received", p.packets_received),
            ("bytes_received", p.bytes_received),
            ("decode_errors", p.decode_errors),
            ("streams_opened", p.streams_opened),
            ("streams_accepted", p.streams_accepted),
            ("probes", p.probes),
            ("probes_failed", p.probes_failed),
            ("refutes", p.refutes),
            ("reasserts", p.reasserts),
            ("accusers_answered", p.accusers_answered),
            ("name_conflicts", p.name_conflicts),
            ("incompatible_peers", p.incompatible_peers),
            ("state_rumour_bytes", p.state_rumour_bytes),
            ("state_sync_bytes", p.state_sync_bytes),
            ("state_repaired", p.state_repaired),
            ("state_rejected", p.state_rejected),
            ("state_dropped_stale", p.state_dropped_stale),
            ("join_attempts", p.join_attempts),
            ("seed_push_pulls", p.seed_push_pulls),
            ("hails_answered", p.hails_answered),
            ("catch_up_pulls", p.catch_up_pulls),
            ("peers_file_errors", s.peers_file_errors),
            ("events_lost", s.events_lost),
            ("callback_panics", s.callback_panics),
            ("streams_refused", s.streams_refused),
            ("streams_evicted", s.streams_evicted),
            ("streams_silent", s.streams_silent),
            ("streams_timed_out", s.streams_timed_out),
            ("streams_oversized", s.streams_oversized),
            ("streams_rejected", s.streams_rejected),
            ("streams_failed", s.streams_failed),
            ("udp_send_errors", s.udp_send_errors),
        ];
        for (k, v) in items {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// The node's metrics now, in catalogue order, as `metric_tuple`s.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let node = self.check(py)?;
        let m = py.detach(|| node.metrics()).map_err(|e| node_error(py, e))?;
        m.samples.iter().map(|s| metric_tuple(py, s)).collect()
    }

    /// `kind`: "until_deleted", "ephemeral" or "ttl" (with `ttl` seconds).
    fn state_put(&self, py: Python<'_>, key: String, value: Vec<u8>, kind: &str, ttl: Option<f64>) -> PyResult<u64> {
        let node = self.check(py)?;
        let state = node.state();
        let written = match (kind, ttl) {
            ("until_deleted", _) => py.detach(|| state.put(&key, &value)),
            ("ephemeral", _) => py.detach(|| state.put_ephemeral(&key, &value)),
            ("ttl", Some(t)) => {
                let ttl = Duration::try_from_secs_f64(t)
                    .map_err(|_| raise(py, "StateError", format!("ttl {t} is not a duration"), Some("ttl")))?;
                py.detach(|| state.put_with_ttl(&key, &value, ttl))
            }
            _ => return Err(PyTypeError::new_err(format!("bad write kind {kind:?}"))),
        };
        written.map(|ts| ts.0).map_err(|e| node_error(py, e))
    }

    fn state_delete(&self, py: Python<'_>, key: String) -> PyResult<Option<u64>> {
        let node = self.check(py)?;
        let state = node.state();
        py.detach(|| state.delete(&key)).map(|t| t.map(|t| t.0)).map_err(|e| node_error(py, e))
    }

    fn state_get<'py>(&self, py: Python<'py>, key: String) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let node = self.check(py)?;
        let state = node.state();
        let e = py.detach(|| state.get(&key)).map_err(|e| node_error(py, e))?;
        e.map(|e| entry_tuple(py, &e)).transpose()
    }

    fn state_entries<'py>(&self, py: Python<'py>, prefix: String) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let node = self.check(py)?;
        let state = node.state();
        let list = py.detach(|| state.entries(&prefix)).map_err(|e| node_error(py, e))?;
        list.iter().map(|e| entry_tuple(py, e)).collect()
    }

    /// `(live, tombstones, bytes, root, horizon)`.
    fn state_summary(&self, py: Python<'_>) -> PyResult<SummaryTuple> {
        let node = self.check(py)?;
        let state = node.state();
        py.detach(|| state.summary()).map(summary_tuple).map_err(|e| node_error(py, e))
    }
}

impl Drop for NativeNode {
    fn drop(&mut self) {
        if std::process::id() != self.pid {
            // Forked child: the threads are not ours; leak rather than hang.
            return;
        }
        // The dispatch thread may be waiting for the GIL to deliver the last
        // events, so shut down with the GIL released.
        Python::attach(|py| py.detach(|| self.node.shutdown()));
    }
}

/// Log records dropped because Python could not take them fast enough.
#[pyfunction]
fn logs_dropped() -> u64 {
    logs::DROPPED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Parses "host:port" as `join` would accept it (for argument checks).
#[pyfunction]
fn parse_addr(addr: &str) -> Option<String> {
    addr.parse::<SocketAddr>().ok().map(|a| a.to_string())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeNode>()?;
    m.add_class::<sim::NativeSim>()?;
    m.add_function(wrap_pyfunction!(preset, m)?)?;
    m.add_function(wrap_pyfunction!(validate_config, m)?)?;
    m.add_function(wrap_pyfunction!(parse_addr, m)?)?;
    m.add_function(wrap_pyfunction!(logs_dropped, m)?)?;
    // The one version (Cargo's workspace version), which `rumour.__version__` reports.
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    logs::install();
    Ok(())
}
