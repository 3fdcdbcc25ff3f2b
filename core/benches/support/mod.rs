//! What the benchmarks share: one quiet converged cluster, measured (`sim_10k`
//! and `paper_check_7`), a median, and a description of the machine it ran on.

// Each benchmark compiles this module and uses only part of it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use rumour::sim::{Sim, SimConfig};

/// What a run is asked to do, from `SIM_NODES`, `SIM_SECS` and `SIM_RUNS`.
pub struct Settings {
    /// Simulated nodes (default 10,000).
    pub nodes: usize,
    /// Virtual seconds after the converged start (default 60).
    pub virtual_secs: u64,
    /// Independent runs, each with its own seed.
    pub runs: usize,
}

impl Settings {
    /// The settings from the environment, with `default_runs` runs.
    pub fn from_env(default_runs: usize) -> Self {
        let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
        Settings {
            nodes: var("SIM_NODES").map_or(10_000, |v| v as usize),
            virtual_secs: var("SIM_SECS").unwrap_or(60),
            runs: var("SIM_RUNS").map_or(default_runs, |v| (v as usize).max(1)),
        }
    }
}

/// What one run measured.
pub struct Outcome {
    /// Wall time, setup included.
    pub wall: Duration,
    /// Wall time of building the converged cluster.
    pub setup: Duration,
    /// Suspicions raised about running nodes.
    pub false_suspicions: u64,
    /// Failure verdicts about running nodes.
    pub false_failures: u64,
    /// Packets per node per virtual second.
    pub packets_per_node_s: f64,
    /// Bytes per node per virtual second.
    pub bytes_per_node_s: f64,
}

/// Runs a quiet cluster (`lan()` timings, no loss, converged start) for the
/// settings' virtual time, with seed `0xC0FFEE + run`, and prints a line.
pub fn quiet_cluster(s: &Settings, run: usize) -> Outcome {
    let started = Instant::now();
    let mut sim = Sim::new(SimConfig {
        nodes: s.nodes,
        seed: 0xC0FFEE + run as u64,
        converged_start: true,
        ..SimConfig::default()
    });
    let setup = started.elapsed();
    sim.run_for(Duration::from_secs(s.virtual_secs));
    let wall = started.elapsed();
    // Per node per virtual second (a zero-length run sent nothing).
    let rate =
        |total: u64| if s.virtual_secs == 0 { 0.0 } else { total as f64 / s.nodes as f64 / s.virtual_secs as f64 };
    let m = sim.metrics();
    let out = Outcome {
        wall,
        setup,
        false_suspicions: m.false_suspicions(),
        false_failures: m.false_failures(),
        packets_per_node_s: rate((0..s.nodes).map(|i| m.packets_sent(i)).sum()),
        bytes_per_node_s: rate((0..s.nodes).map(|i| m.bytes_sent(i)).sum()),
    };
    println!(
        "run {run}: wall {:.2} s (setup {:.2} s), false suspicions {}, false failures {}, {:.1} packets and {:.0} bytes per node per second",
        out.wall.as_secs_f64(),
        out.setup.as_secs_f64(),
        out.false_suspicions,
        out.false_failures,
        out.packets_per_node_s,
        out.bytes_per_node_s,
    );
    out
}

/// The CPU model and core count, for the report.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores")
}

/// The median of `values` (the mean of the two middle ones for an even
/// count); NaN for none.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        len if len % 2 == 1 => v[len / 2],
        len => (v[len / 2 - 1] + v[len / 2]) / 2.0,
    }
}
