//! `rumour._native.NativeSim`: the deterministic simulator for notebooks.
//! Plain values out; `rumour.sim` adds the Python conveniences (NumPy and
//! pandas when installed).

use std::collections::HashMap;
use std::time::Duration;

use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use rumour::proto::{Lifetime, ProbeSelection};
use rumour::sim::{
    Bandwidth, Change, Churn, Latency, Link, MessageType, Recording, Sim, SimConfig, SimError, SlowNode, Workload,
    WorkloadKind, Zone, MAX_NODES,
};

use crate::{config_error, config_from, entry_tuple, raise, state_name, summary_tuple, SummaryTuple};

/// A simulated cluster (see `rumour.sim.Sim`). Single-threaded: use it
/// from the thread that made it.
#[pyclass(module = "rumour._native", unsendable)]
pub(crate) struct NativeSim {
    sim: Sim,
}

/// A node index from the logs, or None for an address that is no node.
fn node_or_none(i: u32) -> Option<u32> {
    (i != u32::MAX).then_some(i)
}

fn duration(py: Python<'_>, s: f64, field: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| raise(py, "ConfigError", format!("{field} = {s}: not a duration in seconds"), Some(field)))
}

/// A latency model as `rumour.sim.Latency` passes it: `(kind, a, b)`.
type LatencySpec = (String, f64, f64);

fn latency_from(py: Python<'_>, (kind, a, b): &LatencySpec, field: &str) -> PyResult<Latency> {
    let latency = match kind.as_str() {
        "fixed" => Latency::Fixed(duration(py, *a, field)?),
        "uniform" => Latency::Uniform { min: duration(py, *a, field)?, max: duration(py, *b, field)? },
        "normal" => Latency::Normal { mean: duration(py, *a, field)?, std_dev: duration(py, *b, field)? },
        "lognormal" => Latency::LogNormal { median: duration(py, *a, field)?, sigma: *b },
        "pareto" => Latency::Pareto { scale: duration(py, *a, field)?, shape: *b },
        other => {
            return Err(raise(
                py,
                "ConfigError",
                format!("{field}: unknown latency model {other:?}; use fixed, uniform, normal, lognormal or pareto"),
                Some(field),
            ))
        }
    };
    latency.validate().map_err(|e| raise(py, "ConfigError", format!("{field}: {e}"), Some(field)))?;
    Ok(latency)
}

/// A simulator error as a Python one: a node out of range is an
/// `IndexError`, the rest a `ConfigError` naming the argument.
fn sim_error(py: Python<'_>, e: SimError) -> PyErr {
    match e {
        SimError::NoSuchNode { .. } => PyIndexError::new_err(e.to_string()),
        _ => raise(py, "ConfigError", e.to_string(), Some(e.field())),
    }
}

fn arg<'py, T: for<'a> FromPyObject<'a, 'py>>(
    py: Python<'py>,
    args: &Bound<'py, PyTuple>,
    i: usize,
    what: &str,
) -> PyResult<T> {
    let item = args.get_item(i).map_err(|_| {
        raise(py, "ConfigError", format!("{} is missing its argument {what}", action_name(args)), Some(what))
    })?;
    item.extract().map_err(|_| {
        let got = item.repr().map(|r| r.to_string()).unwrap_or_default();
        raise(py, "ConfigError", format!("{}: {what} = {got} has the wrong type", action_name(args)), Some(what))
    })
}

fn action_name(args: &Bound<'_, PyTuple>) -> String {
    args.get_item(0).and_then(|a| a.extract::<String>()).unwrap_or_default()
}

/// A change as `rumour.sim.Sim.schedule` passes it: `(action, *args)`.
fn change_from(py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<Change> {
    let action: String = arg(py, args, 0, "action")?;
    let link = |py: Python<'_>, spec: Option<LatencySpec>, loss: f64| -> PyResult<Option<Link>> {
        spec.map(|s| Ok(Link { latency: latency_from(py, &s, "latency")?, loss })).transpose()
    };
    Ok(match action.as_str() {
        "crash" => Change::Crash(arg(py, args, 1, "node")?),
        "start" => Change::Start(arg(py, args, 1, "node")?),
        "restart" => Change::Restart { node: arg(py, args, 1, "node")?, via: arg(py, args, 2, "via")? },
        "leave" => Change::Leave(arg(py, args, 1, "node")?),
        "join" => Change::Join { node: arg(py, args, 1, "node")?, via: arg(py, args, 2, "via")? },
        "partition" => Change::Partition(arg(py, args, 1, "groups")?),
        "heal" => Change::Heal,
        "loss" => Change::Loss(arg(py, args, 1, "loss")?),
        "latency" => Change::Latency(latency_from(py, &arg(py, args, 1, "latency")?, "latency")?),
        "link" => Change::Link {
            from: arg(py, args, 1, "from")?,
            to: arg(py, args, 2, "to")?,
            link: link(py, arg(py, args, 3, "latency")?, arg(py, args, 4, "loss")?)?,
        },
        "zone_link" => Change::ZoneLink {
            from: arg(py, args, 1, "from")?,
            to: arg(py, args, 2, "to")?,
            link: link(py, arg(py, args, 3, "latency")?, arg(py, args, 4, "loss")?)?,
        },
        "cut" => Change::Cut { from: arg(py, args, 1, "from")?, to: arg(py, args, 2, "to")? },
        "restore" => Change::Restore { from: arg(py, args, 1, "from")?, to: arg(py, args, 2, "to")? },
        "mute" => Change::Mute(arg(py, args, 1, "node")?, arg(py, args, 2, "muted")?),
        "node_loss" => Change::NodeLoss(arg(py, args, 1, "node")?, arg(py, args, 2, "loss")?),
        "bandwidth" => {
            let node = arg(py, args, 1, "node")?;
            let rate: Option<u64> = arg(py, args, 2, "bytes_per_sec")?;
            let queue: Option<f64> = arg(py, args, 3, "max_queue")?;
            let max_queue = match queue {
                Some(q) => duration(py, q, "max_queue")?,
                None => Duration::MAX,
            };
            Change::Bandwidth(node, rate.map(|bytes_per_sec| Bandwidth { bytes_per_sec, max_queue }))
        }
        "slow" => {
            let (m, t): (f64, f64) = (arg(py, args, 2, "message_delay")?, arg(py, args, 3, "timer_delay")?);
            let slow = SlowNode {
                message_delay: duration(py, m, "message_delay")?,
                timer_delay: duration(py, t, "timer_delay")?,
            };
            Change::Slow(arg(py, args, 1, "node")?, (m > 0.0 || t > 0.0).then_some(slow))
        }
        "broadcast" => Change::Broadcast { node: arg(py, args, 1, "node")?, payload: arg(py, args, 2, "data")? },
        "put" => Change::Put {
            node: arg(py, args, 1, "node")?,
            key: arg(py, args, 2, "key")?,
            value: arg(py, args, 3, "value")?,
        },
        "delete" => Change::Delete { node: arg(py, args, 1, "node")?, key: arg(py, args, 2, "key")? },
        "meta" => Change::Meta { node: arg(py, args, 1, "node")?, meta: arg(py, args, 2, "meta")? },
        other => {
            return Err(raise(
                py,
                "ConfigError",
                format!(
                    "unknown action {other:?}; use crash, start, restart, leave, join, partition, heal, loss, \
                     latency, link, zone_link, cut, restore, mute, node_loss, bandwidth, slow, broadcast, put, \
                     delete or meta"
                ),
                Some("action"),
            ))
        }
    })
}

/// Columns of a log, by name, for a DataFrame or a list of rows.
type Columns<'py> = Bound<'py, PyDict>;

impl NativeSim {
    fn index(&self, i: usize) -> PyResult<usize> {
        if i < self.sim.len() {
            Ok(i)
        } else {
            Err(PyIndexError::new_err(format!("node {i} does not exist; the cluster has {} nodes", self.sim.len())))
        }
    }
}

#[pymethods]
impl NativeSim {
    /// `latency` is a `(kind, a, b)` model as `rumour.sim.Latency` makes;
    /// `config` a node config dict as `rumour.Config` makes (its name is
    /// replaced per node); `lifeguard` false gives plain SWIM (for
    /// comparisons); `configs` maps node indices to `(config, lifeguard)`
    /// of their own; `zones` is `[(name, nodes)]` and `zone_links`
    /// `[(from, to, latency, loss)]`; `record` is `(membership, state,
    /// messages, traffic)`; `start` is `(autostart, peer_files)`.
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        nodes: usize,
        seed: u64,
        config: &Bound<'_, PyDict>,
        loss: f64,
        latency: LatencySpec,
        converged_start: bool,
        aligned_timers: bool,
        trace_probes: bool,
        lifeguard: bool,
        configs: HashMap<usize, (Bound<'_, PyDict>, bool)>,
        zones: Vec<(String, Vec<usize>)>,
        zone_links: Vec<(String, String, LatencySpec, f64)>,
        record: (bool, bool, bool, bool),
        experiment: (bool, bool),
        start: (bool, bool),
    ) -> PyResult<Self> {
        if nodes == 0 {
            return Err(raise(py, "ConfigError", "nodes must be at least 1".into(), Some("nodes")));
        }
        if !(0.0..=1.0).contains(&loss) {
            return Err(raise(py, "ConfigError", format!("loss {loss} is not a probability"), Some("loss")));
        }
        let mut node_config = config_from(config).map_err(|e| config_error(py, e))?;
        if node_config.name.is_empty() {
            node_config.name = "sim".into();
        }
        node_config.experiment.lifeguard = lifeguard;
        let (uniform_random_probes, suspect_on_failed_probe) = experiment;
        let experiment = |c: &mut rumour::Config| {
            if uniform_random_probes {
                c.experiment.probe_selection = ProbeSelection::UniformRandom;
            }
            c.experiment.suspect_on_failed_probe = suspect_on_failed_probe;
        };
        experiment(&mut node_config);
        let latency = latency_from(py, &latency, "latency")?;
        let mut own = HashMap::new();
        for (i, (dict, lifeguard)) in configs {
            let mut c = config_from(&dict).map_err(|(why, field)| {
                raise(
                    py,
                    "ConfigError",
                    format!("configs[{i}]: invalid config field `{field}`: {why}"),
                    Some("configs"),
                )
            })?;
            c.experiment.lifeguard = lifeguard;
            experiment(&mut c);
            own.insert(i, c);
        }
        let mut links = Vec::with_capacity(zone_links.len());
        for (from, to, spec, loss) in zone_links {
            links.push((from, to, Link { latency: latency_from(py, &spec, "zone_links")?, loss }));
        }
        let (membership, state, messages, traffic) = record;
        let cfg = SimConfig {
            nodes,
            seed,
            node_config,
            latency,
            loss,
            converged_start,
            aligned_timers,
            trace_probes,
            configs: own,
            zones: zones.into_iter().map(|(name, nodes)| Zone { name, nodes }).collect(),
            zone_links: links,
            record: Recording { membership, state, messages, traffic },
            autostart: start.0,
            peer_files: start.1,
        };
        let sim = py.detach(|| Sim::try_new(cfg)).map_err(|e| sim_error(py, e))?;
        Ok(NativeSim { sim })
    }

    /// Applies `(action, *args)` now.
    fn apply(&mut self, py: Python<'_>, change: &Bound<'_, PyTuple>) -> PyResult<()> {
        let change = change_from(py, change)?;
        self.sim.apply(change).map_err(|e| sim_error(py, e))
    }

    /// Applies `(action, *args)` at `at` virtual seconds since the start.
    fn schedule(&mut self, py: Python<'_>, at: f64, change: &Bound<'_, PyTuple>) -> PyResult<()> {
        let at = duration(py, at, "at")?;
        let change = change_from(py, change)?;
        self.sim.schedule(at, change).map_err(|e| sim_error(py, e))
    }

    /// Poisson churn over `nodes` between `start` and `stop` seconds.
    #[allow(clippy::too_many_arguments)]
    fn churn(
        &mut self,
        py: Python<'_>,
        nodes: Vec<usize>,
        join_rate: f64,
        leave_rate: f64,
        crash_rate: f64,
        start: f64,
        stop: f64,
    ) -> PyResult<()> {
        let churn = Churn {
            nodes,
            join_rate,
            leave_rate,
            crash_rate,
            from: duration(py, start, "start")?,
            until: duration(py, stop, "stop")?,
        };
        self.sim.churn(churn).map_err(|e| sim_error(py, e))
    }

    /// A workload: `kind` is "broadcast" or "writes".
    #[allow(clippy::too_many_arguments)]
    fn workload(
        &mut self,
        py: Python<'_>,
        nodes: Vec<usize>,
        rate: f64,
        kind: &str,
        size: usize,
        keys: usize,
        poisson: bool,
        start: f64,
        stop: f64,
    ) -> PyResult<()> {
        let kind = match kind {
            "broadcast" => WorkloadKind::Broadcast { size },
            "writes" => WorkloadKind::StateWrites { keys, size },
            other => {
                return Err(raise(
                    py,
                    "ConfigError",
                    format!("workload kind {other:?}; use broadcast or writes"),
                    Some("kind"),
                ))
            }
        };
        let (from, until) = (duration(py, start, "start")?, duration(py, stop, "stop")?);
        self.sim.workload(Workload { nodes, rate, kind, poisson, from, until }).map_err(|e| sim_error(py, e))
    }

    /// Restarts `nodes` one after another (see `rumour.sim.Sim.rolling_restart`).
    fn rolling_restart(
        &mut self,
        py: Python<'_>,
        nodes: Vec<usize>,
        start: f64,
        every: f64,
        down_for: f64,
        graceful: bool,
    ) -> PyResult<()> {
        let (start, every) = (duration(py, start, "start")?, duration(py, every, "every")?);
        let down_for = duration(py, down_for, "down_for")?;
        self.sim.rolling_restart(&nodes, start, every, down_for, graceful).map_err(|e| sim_error(py, e))
    }

    /// Starts a stopwatch on node `i` until some node next probes it.
    fn watch_first_probe(&mut self, i: usize) -> PyResult<()> {
        let i = self.index(i)?;
        self.sim.watch_first_probe(i);
        Ok(())
    }

    /// Seconds from each `watch_first_probe` to the first probe of the node.
    fn watched_probe_delays(&self) -> Vec<f64> {
        self.sim.metrics().watched_probe_delays().iter().map(Duration::as_secs_f64).collect()
    }

    /// Seconds from a node's crash to the first probe of it (None: not yet).
    fn first_probe_after_crash(&self, name: &str) -> Option<f64> {
        self.sim.metrics().first_probe_after_crash(name).map(|d| d.as_secs_f64())
    }

    /// `(started, finished_live, failed_live)`: probes begun, probes of
    /// running nodes that ended, and those that ended with no ack.
    fn probe_counts(&self) -> (u64, u64, u64) {
        let p = self.sim.metrics().probes();
        (p.started, p.finished_live, p.failed_live)
    }

    /// The zone names, in declaration order.
    fn zones(&self) -> Vec<String> {
        self.sim.zones().to_vec()
    }

    /// Node `i`'s zone (None without zones).
    fn zone_of(&self, i: usize) -> PyResult<Option<String>> {
        Ok(self.sim.zone_of(self.index(i)?).map(str::to_string))
    }

    /// The membership log as columns.
    fn membership_log<'py>(&self, py: Python<'py>) -> PyResult<Columns<'py>> {
        let log = self.sim.metrics().membership_log();
        let d = PyDict::new(py);
        d.set_item("at", log.iter().map(|r| r.at.as_secs_f64()).collect::<Vec<_>>())?;
        d.set_item("observer", log.iter().map(|r| r.observer).collect::<Vec<_>>())?;
        d.set_item("subject", log.iter().map(|r| node_or_none(r.subject)).collect::<Vec<_>>())?;
        d.set_item("change", log.iter().map(|r| r.change).collect::<Vec<_>>())?;
        d.set_item("incarnation", log.iter().map(|r| r.incarnation).collect::<Vec<_>>())?;
        Ok(d)
    }

    /// The log of changes to every replica, as columns.
    fn state_log<'py>(&self, py: Python<'py>) -> PyResult<Columns<'py>> {
        let log = self.sim.metrics().state_log();
        let d = PyDict::new(py);
        d.set_item("at", log.iter().map(|r| r.at.as_secs_f64()).collect::<Vec<_>>())?;
        d.set_item("observer", log.iter().map(|r| r.observer).collect::<Vec<_>>())?;
        d.set_item("key", log.iter().map(|r| r.key.as_str()).collect::<Vec<_>>())?;
        d.set_item("deleted", log.iter().map(|r| r.deleted).collect::<Vec<_>>())?;
        d.set_item("writer", log.iter().map(|r| node_or_none(r.writer)).collect::<Vec<_>>())?;
        Ok(d)
    }

    /// The log of every message, as columns.
    fn message_log<'py>(&self, py: Python<'py>) -> PyResult<Columns<'py>> {
        let log = self.sim.metrics().message_log();
        let d = PyDict::new(py);
        d.set_item("at", log.iter().map(|r| r.at.as_secs_f64()).collect::<Vec<_>>())?;
        d.set_item("sender", log.iter().map(|r| r.from).collect::<Vec<_>>())?;
        d.set_item("receiver", log.iter().map(|r| node_or_none(r.to)).collect::<Vec<_>>())?;
        d.set_item("type", log.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>())?;
        d.set_item("bytes", log.iter().map(|r| r.bytes).collect::<Vec<_>>())?;
        d.set_item("stream", log.iter().map(|r| r.stream).collect::<Vec<_>>())?;
        d.set_item("fate", log.iter().map(|r| r.fate.as_str()).collect::<Vec<_>>())?;
        d.set_item("latency", log.iter().map(|r| r.latency.as_secs_f64()).collect::<Vec<_>>())?;
        Ok(d)
    }

    /// `[(node, type, messages, bytes)]` sent, for every non-zero pair.
    fn traffic_by_type(&self) -> Vec<(usize, &'static str, u64, u64)> {
        let m = self.sim.metrics();
        (0..self.sim.len())
            .flat_map(|i| {
                let counts = m.traffic_by_type(i);
                MessageType::ALL
                    .iter()
                    .zip(counts)
                    .filter(|(_, c)| c.0 > 0)
                    .map(move |(t, c)| (i, t.as_str(), c.0, c.1))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Every crash: `(name, at, restarted_at, [(observer, seconds after)])`.
    #[allow(clippy::type_complexity)]
    fn crashes(&self) -> Vec<(String, f64, Option<f64>, Vec<(usize, f64)>)> {
        self.sim
            .metrics()
            .crashes()
            .iter()
            .map(|c| {
                let detections = c.detections.iter().map(|(o, d)| (*o, d.as_secs_f64())).collect();
                (c.subject.clone(), c.at.as_secs_f64(), c.restarted.map(|d| d.as_secs_f64()), detections)
            })
            .collect()
    }

    fn __len__(&self) -> usize {
        self.sim.len()
    }

    fn elapsed(&self) -> f64 {
        self.sim.elapsed().as_secs_f64()
    }

    fn run_for(&mut self, py: Python<'_>, seconds: f64) -> PyResult<()> {
        let d = duration(py, seconds, "seconds")?;
        let sim = &mut self.sim;
        py.detach(|| sim.run_for(d));
        Ok(())
    }

    /// Runs until every running node sees every other alive (true), or
    /// `limit` seconds pass (false).
    fn run_until_converged(&mut self, py: Python<'_>, limit: f64) -> PyResult<bool> {
        let d = duration(py, limit, "limit")?;
        let sim = &mut self.sim;
        Ok(py.detach(|| sim.run_until(d, Sim::converged)))
    }

    /// Runs until every running replica of the map agrees, or `limit` passes.
    fn run_until_state_agrees(&mut self, py: Python<'_>, limit: f64) -> PyResult<bool> {
        let d = duration(py, limit, "limit")?;
        let sim = &mut self.sim;
        Ok(py.detach(|| sim.run_until(d, Sim::state_agrees)))
    }

    fn name(&self, i: usize) -> PyResult<String> {
        Ok(self.sim.name(self.index(i)?).to_string())
    }

    fn running(&self, i: usize) -> PyResult<bool> {
        Ok(self.sim.node(self.index(i)?).is_some())
    }

    fn converged(&self) -> bool {
        self.sim.converged()
    }

    fn state_agrees(&self) -> bool {
        self.sim.state_agrees()
    }

    /// How `observer` sees `subject`: "alive", "suspect", "dead", "left" or None.
    fn view(&self, observer: usize, subject: usize) -> PyResult<Option<&'static str>> {
        Ok(self.sim.view(self.index(observer)?, self.index(subject)?).map(state_name))
    }

    fn crash(&mut self, i: usize) -> PyResult<()> {
        let i = self.index(i)?;
        self.sim.crash(i);
        Ok(())
    }

    /// Starts node `i` (never started, or down) through its config's seeds
    /// and its peer file; a running node is left alone.
    fn start(&mut self, i: usize) -> PyResult<()> {
        let i = self.index(i)?;
        self.sim.start(i);
        Ok(())
    }

    /// Makes the seed `name` resolve to `addrs` ("ip:port") from now on;
    /// none removes it.
    fn set_dns(&mut self, py: Python<'_>, name: &str, addrs: Vec<String>) -> PyResult<()> {
        if name.is_empty() {
            return Err(raise(py, "ConfigError", "the name to resolve is empty".into(), Some("name")));
        }
        let parsed = addrs
            .iter()
            .map(|a| {
                a.parse().map_err(|_| {
                    raise(py, "ConfigError", format!("{a:?} is not an \"ip:port\" address"), Some("addrs"))
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        self.sim.set_dns(name, parsed);
        Ok(())
    }

    /// Node `i`'s address, "ip:port", as a seed gives it (`i` below
    /// `sim::MAX_NODES`).
    #[staticmethod]
    fn address(i: usize) -> PyResult<String> {
        if i >= MAX_NODES {
            return Err(PyIndexError::new_err(format!(
                "node {i} has no simulated address (at most {MAX_NODES} nodes)"
            )));
        }
        Ok(Sim::address(i).to_string())
    }

    fn restart(&mut self, i: usize, via: usize) -> PyResult<()> {
        let (i, via) = (self.index(i)?, self.index(via)?);
        self.sim.restart(i, via);
        Ok(())
    }

    fn join(&mut self, i: usize, via: usize) -> PyResult<()> {
        let (i, via) = (self.index(i)?, self.index(via)?);
        self.sim.join(i, via);
        Ok(())
    }

    fn leave(&mut self, i: usize) -> PyResult<()> {
        let i = self.index(i)?;
        self.sim.leave(i);
        Ok(())
    }

    fn broadcast(&mut self, py: Python<'_>, i: usize, payload: Vec<u8>) -> PyResult<()> {
        let i = self.index(i)?;
        let limit = self.sim.node(i).map(|p| p.max_broadcast_size()).unwrap_or(0);
        if payload.len() > limit {
            return Err(raise(
                py,
                "TooLargeError",
                format!("{} bytes; at most {limit} fit", payload.len()),
                Some("data"),
            ));
        }
        self.sim.broadcast(i, &payload).map_err(|e| raise(py, "TooLargeError", e.to_string(), Some("data")))?;
        Ok(())
    }

    fn set_meta(&mut self, py: Python<'_>, i: usize, meta: Vec<u8>) -> PyResult<()> {
        let i = self.index(i)?;
        if meta.len() > 512 {
            return Err(raise(py, "TooLargeError", format!("meta is {} bytes; at most 512", meta.len()), Some("meta")));
        }
        self.sim.set_meta(i, &meta).map_err(|e| raise(py, "TooLargeError", e.to_string(), Some("meta")))?;
        Ok(())
    }

    fn partition(&mut self, groups: Vec<Vec<usize>>) -> PyResult<()> {
        for g in &groups {
            for &i in g {
                self.index(i)?;
            }
        }
        self.sim.partition(&groups);
        Ok(())
    }

    fn heal(&mut self) {
        self.sim.heal();
    }

    fn set_loss(&mut self, py: Python<'_>, loss: f64) -> PyResult<()> {
        if !(0.0..=1.0).contains(&loss) {
            return Err(raise(py, "ConfigError", format!("loss {loss} is not a probability"), Some("loss")));
        }
        self.sim.set_loss(loss);
        Ok(())
    }

    /// `slow` is `(message_delay_s, timer_delay_s)`, or None for a normal node.
    fn set_slow(&mut self, py: Python<'_>, i: usize, slow: Option<(f64, f64)>) -> PyResult<()> {
        let i = self.index(i)?;
        let slow = match slow {
            Some((m, t)) => Some(SlowNode {
                message_delay: duration(py, m, "message_delay")?,
                timer_delay: duration(py, t, "timer_delay")?,
            }),
            None => None,
        };
        self.sim.set_slow(i, slow);
        Ok(())
    }

    fn put(
        &mut self,
        py: Python<'_>,
        i: usize,
        key: String,
        value: Vec<u8>,
        kind: &str,
        ttl: Option<f64>,
    ) -> PyResult<u64> {
        let i = self.index(i)?;
        let lifetime = match (kind, ttl) {
            ("until_deleted", _) => Lifetime::UntilDeleted,
            ("ephemeral", _) => Lifetime::Ephemeral,
            ("ttl", Some(t)) => Lifetime::Ttl(duration(py, t, "ttl")?),
            _ => return Err(raise(py, "StateError", format!("bad write kind {kind:?}"), Some("kind"))),
        };
        self.sim
            .put(i, &key, &value, lifetime)
            .map(|t| t.0)
            .map_err(|e| raise(py, "StateError", e.to_string(), Some("key")))
    }

    fn delete(&mut self, py: Python<'_>, i: usize, key: String) -> PyResult<Option<u64>> {
        let i = self.index(i)?;
        self.sim
            .delete(i, &key)
            .map(|t| t.map(|t| t.0))
            .map_err(|e| raise(py, "StateError", e.to_string(), Some("key")))
    }

    fn get<'py>(&self, py: Python<'py>, i: usize, key: String) -> PyResult<Option<Bound<'py, pyo3::types::PyTuple>>> {
        let i = self.index(i)?;
        self.sim.node(i).and_then(|p| p.state_get(&key)).map(|e| entry_tuple(py, &e)).transpose()
    }

    // ---- metrics ----

    /// `[(observer, seconds after the crash)]` for a crashed node's name.
    fn detections(&self, name: &str) -> Vec<(usize, f64)> {
        self.sim.metrics().detections_of(name).iter().map(|(o, d)| (*o, d.as_secs_f64())).collect()
    }

    /// Seconds after the broadcast at which each node first held it (None: never).
    fn broadcast_spread(&self, payload: Vec<u8>) -> Option<Vec<Option<f64>>> {
        let spread = self.sim.metrics().broadcast_spread(&payload)?;
        Some(spread.iter().map(|d| d.map(|d| d.as_secs_f64())).collect())
    }

    /// Seconds after a metadata update at which each node first saw it.
    fn update_spread(&self, name: &str) -> Option<Vec<Option<f64>>> {
        let spread = self.sim.metrics().update_spread(name)?;
        Some(spread.iter().map(|d| d.map(|d| d.as_secs_f64())).collect())
    }

    fn false_suspicions(&self) -> u64 {
        self.sim.metrics().false_suspicions()
    }

    fn false_failures(&self) -> u64 {
        self.sim.metrics().false_failures()
    }

    /// `[(observer, subject, seconds)]`: failures declared of running nodes.
    fn false_verdicts(&self) -> Vec<(usize, String, f64)> {
        self.sim
            .metrics()
            .false_verdicts()
            .iter()
            .map(|v| (v.observer, v.subject.clone(), v.at.as_secs_f64()))
            .collect()
    }

    /// `(packets, bytes)` node `i` has sent.
    fn traffic(&self, i: usize) -> PyResult<(u64, u64)> {
        let i = self.index(i)?;
        Ok((self.sim.metrics().packets_sent(i), self.sim.metrics().bytes_sent(i)))
    }

    /// A running node's map summary: `(live, tombstones, bytes, root, horizon)`.
    fn state_summary(&self, i: usize) -> PyResult<Option<SummaryTuple>> {
        let i = self.index(i)?;
        Ok(self.sim.node(i).map(|p| summary_tuple(p.state_summary())))
    }

    /// Node `i`'s protocol counters (None when crashed).
    fn stats<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Option<Bound<'py, PyDict>>> {
        let i = self.index(i)?;
        let Some(p) = self.sim.node(i) else { return Ok(None) };
        let s = p.stats();
        let d = PyDict::new(py);
        for (k, v) in [
            ("packets_sent", s.packets_sent),
            ("bytes_sent", s.bytes_sent),
            ("probes", s.probes),
            ("probes_failed", s.probes_failed),
            ("refutes", s.refutes),
            ("reasserts", s.reasserts),
            ("accusers_answered", s.accusers_answered),
            ("state_sync_bytes", s.state_sync_bytes),
            ("state_repaired", s.state_repaired),
            ("join_attempts", s.join_attempts),
            ("seed_push_pulls", s.seed_push_pulls),
            ("hails_answered", s.hails_answered),
            ("catch_up_pulls", s.catch_up_pulls),
        ] {
            d.set_item(k, v)?;
        }
        Ok(Some(d))
    }
}
