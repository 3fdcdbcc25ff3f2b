//! Benchmark `sim_10k` (and PAPER-CHECKS check 7): N=10,000 simulated nodes,
//! `lan()` timings, no loss, converged start, 60 virtual seconds. Prints the
//! wall time, the false suspicions and failures (both must be 0), traffic
//! per node, the configuration and the machine, as a table and JSON.

use std::time::{Duration, Instant};

use rumour::sim::{Sim, SimConfig};

fn machine() -> String {
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

fn main() {
    let nodes: usize = std::env::var("SIM_NODES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let virtual_secs: u64 = std::env::var("SIM_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    let runs: usize = std::env::var("SIM_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    // Per node per virtual second (a zero-length run sent nothing).
    let rate = |total: u64| if virtual_secs == 0 { 0.0 } else { total as f64 / nodes as f64 / virtual_secs as f64 };
    let mut walls = Vec::new();
    let mut last = None;
    for run in 0..runs {
        let started = Instant::now();
        let mut sim =
            Sim::new(SimConfig { nodes, seed: 0xC0FFEE + run as u64, converged_start: true, ..SimConfig::default() });
        let built = started.elapsed();
        sim.run_for(Duration::from_secs(virtual_secs));
        let wall = started.elapsed();
        let bytes: u64 = (0..nodes).map(|i| sim.metrics().bytes_sent(i)).sum();
        let packets: u64 = (0..nodes).map(|i| sim.metrics().packets_sent(i)).sum();
        println!(
            "run {run}: wall {:.2} s (setup {:.2} s), false suspicions {}, false failures {}, {:.1} packets and {:.0} bytes per node per second",
            wall.as_secs_f64(),
            built.as_secs_f64(),
            sim.metrics().false_suspicions(),
            sim.metrics().false_failures(),
            rate(packets),
            rate(bytes),
        );
        walls.push(wall.as_secs_f64());
        last = Some((sim.metrics().false_suspicions(), sim.metrics().false_failures(), packets, bytes));
    }
    walls.sort_by(f64::total_cmp);
    let median = walls[walls.len() / 2];
    let (fs, ff, packets, bytes) = last.expect("at least one run");
    println!("\nsim_10k  nodes={nodes} virtual={virtual_secs}s preset=lan loss=0 runs={runs}  machine: {}", machine());
    println!("| metric | value | target |\n|---|---|---|");
    println!("| wall time, median | {median:.2} s | < 60 s |");
    println!("| false suspicions (last run) | {fs} | 0 |");
    println!("| false failures (last run) | {ff} | 0 |");
    println!(
        "{{\"bench\":\"sim_10k\",\"nodes\":{nodes},\"virtual_secs\":{virtual_secs},\"runs\":{runs},\"wall_median_s\":{median:.3},\"false_suspicions\":{fs},\"false_failures\":{ff},\"packets_per_node_s\":{:.2},\"bytes_per_node_s\":{:.1},\"machine\":\"{}\"}}",
        rate(packets),
        rate(bytes),
        machine()
    );
    assert_eq!((fs, ff), (0, 0), "PAPER-CHECKS 7: no false suspicion or failure in a quiet cluster");
}
