//! Where the time from a crash to "every survivor marks it failed" goes, on
//! the simulator, in the loopback benchmark's setting (N=100, `lan()`, ten
//! crashes one at a time) over several seeds:
//!
//! ```text
//! cargo run --release -p rumour --example detection_breakdown [seeds] [--memberlist-pacing]
//! ```
//!
//! `--memberlist-pacing` turns `Experiment::prompt_gossip` off, so verdicts
//! wait for the gossip tick as in memberlist. The views are sampled every
//! millisecond of virtual time.

use std::time::Duration;

use rumour::sim::{Sim, SimConfig};
use rumour::{Config, MemberState};

/// One crash: each stage's time since the crash.
struct Stages {
    first_probe: Duration,
    first_suspect: Duration,
    all_suspect: Duration,
    first_dead: Duration,
    all_dead: Duration,
}

fn crash_and_watch(sim: &mut Sim, victim: usize) -> Stages {
    let t0 = sim.elapsed();
    let name = sim.name(victim).to_string();
    sim.crash(victim);
    let survivors: Vec<usize> = (0..sim.len()).filter(|&i| sim.node(i).is_some()).collect();
    let (mut first_suspect, mut all_suspect, mut first_dead) = (None, None, None);
    loop {
        sim.run_for(Duration::from_millis(1));
        let at = sim.elapsed() - t0;
        assert!(at < Duration::from_secs(120), "{name} not failed everywhere in 120 s");
        let states: Vec<Option<MemberState>> =
            survivors.iter().map(|&i| sim.node(i).and_then(|p| p.member(&name)).map(|m| m.state)).collect();
        // Forgotten (None) counts as dead: it happens only after the verdict.
        let dead = states.iter().filter(|s| matches!(s, Some(MemberState::Dead) | None)).count();
        let suspect = states.iter().filter(|s| **s == Some(MemberState::Suspect)).count();
        if suspect > 0 {
            first_suspect.get_or_insert(at);
        }
        if dead > 0 {
            first_dead.get_or_insert(at);
        }
        if suspect + dead == survivors.len() {
            all_suspect.get_or_insert(at);
        }
        if dead == survivors.len() {
            break;
        }
    }
    let all_dead = sim.metrics().detections_of(&name).iter().map(|d| d.1).max().expect("detected");
    Stages {
        first_probe: sim.metrics().first_probe_after_crash(&name).expect("probed"),
        first_suspect: first_suspect.expect("suspected"),
        all_suspect: all_suspect.expect("suspected everywhere"),
        first_dead: first_dead.expect("failed"),
        all_dead,
    }
}

fn main() {
    let seeds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let memberlist_pacing = std::env::args().any(|a| a == "--memberlist-pacing");
    let n = 100;
    let mut node_config = Config { enable_compression: false, ..Config::lan() };
    node_config.experiment.prompt_gossip = !memberlist_pacing;
    let mut all = Vec::new();
    for seed in 1..=seeds {
        let cfg = SimConfig {
            nodes: n,
            seed,
            converged_start: true,
            trace_probes: true,
            node_config: node_config.clone(),
            ..SimConfig::default()
        };
        let mut sim = Sim::new(cfg);
        sim.run_for(Duration::from_secs(20));
        for c in 0..10 {
            all.push(crash_and_watch(&mut sim, n - 1 - c * 3));
            sim.run_for(Duration::from_secs(5));
        }
    }
    let stat = |f: &dyn Fn(&Stages) -> Duration| {
        let mut v: Vec<f64> = all.iter().map(|s| f(s).as_secs_f64()).collect();
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        format!("median {:.3} s, mean {:.3} s, range {:.3} to {:.3} s", v[v.len() / 2], mean, v[0], v[v.len() - 1])
    };
    let pacing = if memberlist_pacing { "memberlist's (verdicts wait for the tick)" } else { "prompt verdicts" };
    println!("N={n}, lan(), {} crashes over {seeds} seeds, gossip pacing: {pacing}", all.len());
    println!("crash -> first probe:                 {}", stat(&|s| s.first_probe));
    println!("first probe -> first suspicion:       {}", stat(&|s| s.first_suspect - s.first_probe));
    println!("first suspicion -> all suspect:       {}", stat(&|s| s.all_suspect - s.first_suspect));
    println!("first suspicion -> first dead:        {}", stat(&|s| s.first_dead - s.first_suspect));
    println!("first dead -> dead at every survivor: {}", stat(&|s| s.all_dead - s.first_dead));
    println!("crash -> dead at every survivor:      {}", stat(&|s| s.all_dead));
}
