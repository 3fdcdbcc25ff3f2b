//! `rumour._native.NativeSim`: the deterministic simulator for notebooks.
//! Plain values out; `rumour.sim` adds the Python conveniences (NumPy and
//! pandas when installed).

use std::time::Duration;

use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use rumour::proto::Lifetime;
use rumour::sim::{Latency, Sim, SimConfig, SlowNode};

use crate::{config_error, config_from, entry_tuple, raise, state_name, summary_tuple, SummaryTuple};

/// A simulated cluster (see `rumour.sim.Sim`). Single-threaded: use it
/// from the thread that made it.
#[pyclass(module = "rumour._native", unsendable)]
pub(crate) struct NativeSim {
    sim: Sim,
}

fn duration(py: Python<'_>, s: f64, field: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| raise(py, "ConfigError", format!("{field} = {s}: not a duration in seconds"), Some(field)))
}

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
    /// `latency` is `(min_s, max_s)`; `config` a node config dict as
    /// `rumour.Config` makes (its name is replaced per node); `lifeguard`
    /// false gives plain SWIM (for comparisons).
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        nodes: usize,
        seed: u64,
        config: &Bound<'_, PyDict>,
        loss: f64,
        latency: (f64, f64),
        converged_start: bool,
        aligned_timers: bool,
        trace_probes: bool,
        lifeguard: bool,
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
        let (lo, hi) = (duration(py, latency.0, "latency")?, duration(py, latency.1, "latency")?);
        if lo > hi {
            return Err(raise(py, "ConfigError", "latency (min, max) has min > max".into(), Some("latency")));
        }
        let cfg = SimConfig {
            nodes,
            seed,
            node_config,
            latency: if lo == hi { Latency::Fixed(lo) } else { Latency::Uniform { min: lo, max: hi } },
            loss,
            converged_start,
            aligned_timers,
            trace_probes,
            ..SimConfig::default()
        };
        Ok(NativeSim { sim: py.detach(|| Sim::new(cfg)) })
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
        self.sim.broadcast(i, &payload);
        Ok(())
    }

    fn set_meta(&mut self, py: Python<'_>, i: usize, meta: Vec<u8>) -> PyResult<()> {
        let i = self.index(i)?;
        if meta.len() > 512 {
            return Err(raise(py, "TooLargeError", format!("meta is {} bytes; at most 512", meta.len()), Some("meta")));
        }
        self.sim.set_meta(i, &meta);
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
            ("state_sync_bytes", s.state_sync_bytes),
            ("state_repaired", s.state_repaired),
            ("join_attempts", s.join_attempts),
            ("seed_push_pulls", s.seed_push_pulls),
            ("hails_answered", s.hails_answered),
        ] {
            d.set_item(k, v)?;
        }
        Ok(Some(d))
    }
}
