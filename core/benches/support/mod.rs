//! What the benchmarks share: one quiet converged cluster, measured (`sim_10k`
//! and `paper_check_7`), a median, and a description of the machine it ran on.

// Each benchmark compiles this module and uses only part of it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use rumour::sim::{Latency, Link, Recording, Sim, SimConfig, Zone};

/// What a run is asked to do, from `SIM_NODES`, `SIM_SECS` and `SIM_RUNS`.
pub struct Settings {
    /// Simulated nodes (default 10,000).
    pub nodes: usize,
    /// Virtual seconds after the converged start (default 60).
    pub virtual_secs: u64,
    /// Independent runs, each with its own seed.
    pub runs: usize,
    /// With `SIM_MODELS=1`: three zones with log-normal links inside and
    /// normal WAN links between them, and the event log fully on
    /// (membership, state, every message), to measure what they cost.
    pub models: bool,
}

impl Settings {
    /// The settings from the environment, with `default_runs` runs.
    pub fn from_env(default_runs: usize) -> Self {
        let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
        Settings {
            nodes: var("SIM_NODES").map_or(10_000, |v| v as usize),
            virtual_secs: var("SIM_SECS").unwrap_or(60),
            runs: var("SIM_RUNS").map_or(default_runs, |v| (v as usize).max(1)),
            models: var("SIM_MODELS") == Some(1),
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
    /// Messages in the event log (0 without `models`).
    pub messages_logged: usize,
}

/// Three zones of equal size, 0.5 ms log-normal inside, 30 to 80 ms
/// normal between (no loss, so PAPER-CHECKS 7 still holds).
fn zoned(nodes: usize) -> (Vec<Zone>, Vec<(String, String, Link)>) {
    let third = nodes.div_ceil(3);
    let names = ["eu", "us", "ap"];
    let zones = (0..3)
        .map(|z| Zone { name: names[z].to_string(), nodes: (z * third..((z + 1) * third).min(nodes)).collect() })
        .collect();
    let ms = Duration::from_millis;
    let inside = Link { latency: Latency::LogNormal { median: Duration::from_micros(500), sigma: 0.3 }, loss: 0.0 };
    let wan = |mean: u64| Link { latency: Latency::Normal { mean: ms(mean), std_dev: ms(5) }, loss: 0.0 };
    let mut links: Vec<(String, String, Link)> = names.iter().map(|z| (z.to_string(), z.to_string(), inside)).collect();
    links.push(("eu".into(), "us".into(), wan(30)));
    links.push(("us".into(), "ap".into(), wan(50)));
    links.push(("eu".into(), "ap".into(), wan(80)));
    (zones, links)
}

/// Runs a quiet cluster (`lan()` timings, no loss, converged start) for the
/// settings' virtual time, with seed `0xC0FFEE + run`, and prints a line.
pub fn quiet_cluster(s: &Settings, run: usize) -> Outcome {
    let started = Instant::now();
    let (zones, zone_links) = if s.models { zoned(s.nodes) } else { (Vec::new(), Vec::new()) };
    let record = Recording { membership: s.models, state: s.models, messages: s.models, traffic: s.models };
    let mut sim = Sim::new(SimConfig {
        nodes: s.nodes,
        seed: 0xC0FFEE + run as u64,
        converged_start: true,
        zones,
        zone_links,
        record,
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
        messages_logged: m.message_log().len(),
    };
    println!(
        "run {run}: wall {:.2} s (setup {:.2} s), false suspicions {}, false failures {}, {:.1} packets and {:.0} bytes per node per second{}",
        out.wall.as_secs_f64(),
        out.setup.as_secs_f64(),
        out.false_suspicions,
        out.false_failures,
        out.packets_per_node_s,
        out.bytes_per_node_s,
        if s.models { format!(", 3 zones, {} messages logged", out.messages_logged) } else { String::new() },
    );
    out
}

/// This process's CPU time (user + system), from /proc/self/stat.
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the ")": state is field 0; utime and stime are 11 and 12.
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum());
    ticks / 100.0 // USER_HZ is 100 on Linux
}

/// This process's resident memory (VmRSS), MiB.
pub fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Context switches of every thread of this process so far (voluntary and
/// not, from /proc/self/task/*/status): each is a thread woken or put off.
pub fn context_switches() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.starts_with("voluntary_ctxt_switches:") || l.starts_with("nonvoluntary_ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
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
