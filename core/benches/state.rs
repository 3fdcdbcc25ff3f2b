//! Benchmark `state`: the replicated map in the simulator (real `proto`
//! code, virtual clock, `lan()` timings, link delay 1 to 5 ms).
//!
//! 1. Spread: N=100 nodes; 20 puts from different nodes, one every 2 s;
//!    time until every node holds each (median, max). Target: none set;
//!    gossip at 200 ms should take about a second.
//! 2. Agreement cost: 2 nodes holding the same 100,000 keys; state bytes
//!    of one anti-entropy exchange (both summaries). Target under 4 KiB.
//! 3. Partition repair: 10 nodes holding the same 100,000 keys split in
//!    two halves for 60 s; each half changes a different 1% of the keys;
//!    then the network heals and one node rejoins across. Time from the
//!    heal to every replica agreeing (target within one push-pull
//!    interval, 30 s) and anti-entropy bytes per node (target under 3
//!    times the size of the changed entries).
//!
//! Values are 100 bytes, keys 10 (`key/000123`). `STATE_KEYS` and
//! `STATE_RUNS` override the size and the number of runs (median reported).
//! Prints a table and writes JSON to `target/bench/state.json`.

mod support;

use std::time::{Duration, Instant};

use rumour::proto::{Config, Lifetime, StateConfig};
use rumour::sim::{Sim, SimConfig};

const VALUE: usize = 100;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn sim(nodes: usize, seed: u64) -> Sim {
    let node_config = Config { enable_compression: false, state: StateConfig::default(), ..Config::lan() };
    let mut sim = Sim::new(SimConfig { nodes, seed, node_config, ..SimConfig::default() });
    assert!(sim.run_until(Duration::from_secs(120), Sim::converged), "{nodes} nodes converge");
    sim
}

fn key(i: usize) -> String {
    format!("key/{i:06}")
}

/// Node 0 writes `keys` keys; the cluster is run until every replica agrees.
fn fill(sim: &mut Sim, keys: usize) {
    sim.with_node(0, |p, now| {
        for i in 0..keys {
            p.state_put(&key(i), &[i as u8; VALUE], Lifetime::UntilDeleted, now).expect("within bounds");
        }
    });
    assert!(sim.run_until(Duration::from_secs(600), Sim::state_agrees), "replicas agree after the fill");
}

fn sync_bytes(sim: &Sim) -> u64 {
    (0..sim.len()).filter_map(|i| sim.node(i)).map(|p| p.stats().state_sync_bytes).sum()
}

/// Encoded size of one changed entry (as `encode_entry` writes it).
fn entry_size(writer: &str) -> usize {
    2 + key(0).len() + 2 + writer.len() + 8 + 1 + 4 + VALUE
}

fn spread(runs: usize) -> (f64, f64) {
    let mut times = Vec::new();
    for run in 0..runs {
        let mut sim = sim(100, 0xA11 + run as u64);
        for k in 0..20 {
            let writer = (k * 37) % 100;
            let name = format!("spread/{k}");
            let start = sim.elapsed();
            sim.put(writer, &name, &[k as u8; VALUE], Lifetime::UntilDeleted).expect("write");
            let everyone = |s: &Sim| (0..s.len()).filter_map(|i| s.node(i)).all(|p| p.state_get(&name).is_some());
            assert!(sim.run_until(Duration::from_secs(30), everyone), "put {k} reaches every node");
            times.push((sim.elapsed() - start).as_secs_f64());
            sim.run_for(Duration::from_secs(2));
        }
    }
    let max = times.iter().copied().fold(0.0, f64::max);
    (support::median(&times), max)
}

fn agreement_cost(keys: usize) -> (f64, u64) {
    let mut sim = sim(2, 0xB22);
    fill(&mut sim, keys);
    sim.run_for(Duration::from_secs(5));
    let before = sync_bytes(&sim);
    let exchanges_before: u64 = (0..2).filter_map(|i| sim.node(i)).map(|p| p.stats().streams_opened).sum();
    sim.run_for(Duration::from_secs(300));
    assert!(sim.state_agrees());
    let exchanges: u64 =
        (0..2).filter_map(|i| sim.node(i)).map(|p| p.stats().streams_opened).sum::<u64>() - exchanges_before;
    let bytes = sync_bytes(&sim) - before;
    (bytes as f64 / exchanges.max(1) as f64, exchanges)
}

struct Repair {
    agree_s: f64,
    bytes_per_node: f64,
    changed_bytes: usize,
}

fn partition_repair(keys: usize, run: usize) -> Repair {
    let n = 10;
    let mut sim = sim(n, 0xC33 + run as u64);
    fill(&mut sim, keys);
    sim.partition(&[(0..n / 2).collect(), (n / 2..n).collect()]);
    let changed_per_side = keys / 100;
    let mut changed_bytes = 0;
    for side in 0..2 {
        let writer = side * (n / 2) + 1;
        let name = sim.name(writer).to_string();
        sim.with_node(writer, |p, now| {
            for j in 0..changed_per_side {
                // Side 0 changes the even keys of the first half of the
                // range, side 1 the odd ones: disjoint, spread over the tree.
                let i = (j * 2 + side) * 50 % keys;
                p.state_put(&key(i), &[0xEE; VALUE], Lifetime::UntilDeleted, now).expect("write");
            }
        });
        changed_bytes += changed_per_side * entry_size(&name);
    }
    sim.run_for(Duration::from_secs(60));
    assert!(!sim.state_agrees(), "the halves diverged");
    sim.heal();
    let before = sync_bytes(&sim);
    let healed = sim.elapsed();
    sim.join(n / 2, 0);
    if std::env::var("STATE_DEBUG").is_ok() {
        for _ in 0..60 {
            sim.run_for(Duration::from_millis(500));
            let roots: Vec<u64> = (0..n).filter_map(|i| sim.node(i)).map(|p| p.state_summary().root % 1000).collect();
            eprintln!("t={:.1} converged={} roots={roots:?}", (sim.elapsed() - healed).as_secs_f64(), sim.converged());
            if sim.state_agrees() {
                break;
            }
        }
    }
    assert!(sim.run_until(Duration::from_secs(600), Sim::state_agrees), "replicas agree after the heal");
    let agree_s = (sim.elapsed() - healed).as_secs_f64();
    let bytes_per_node = (sync_bytes(&sim) - before) as f64 / n as f64;
    Repair { agree_s, bytes_per_node, changed_bytes }
}

fn main() {
    let keys = env("STATE_KEYS", 100_000);
    let runs = env("STATE_RUNS", 3);
    let started = Instant::now();
    let (spread_med, spread_max) = spread(runs);
    let (per_exchange, exchanges) = agreement_cost(keys);
    let repairs: Vec<Repair> = (0..runs).map(|r| partition_repair(keys, r)).collect();
    let agree_med = support::median(&repairs.iter().map(|r| r.agree_s).collect::<Vec<_>>());
    let bytes_med = support::median(&repairs.iter().map(|r| r.bytes_per_node).collect::<Vec<_>>());
    let changed = repairs[0].changed_bytes;
    let ratio = bytes_med / changed as f64;
    let machine = support::machine();
    println!(
        "\nstate  preset=lan (push-pull 30 s) keys={keys} value={VALUE}B runs={runs} wall={:.1}s  machine: {machine}",
        started.elapsed().as_secs_f64()
    );
    println!("| metric | value | target |\n|---|---|---|");
    println!("| put reaches all 100 nodes, median of {} | {spread_med:.3} s | |", 20 * runs);
    println!("| put reaches all 100 nodes, max | {spread_max:.3} s | |");
    println!(
        "| {keys} keys in agreement: state bytes per exchange ({exchanges} streams) | {per_exchange:.0} B | < 4096 B |"
    );
    println!("| partition heal, 1% changed per side: time to agreement, median | {agree_med:.2} s | < 30 s |");
    println!(
        "| partition heal: anti-entropy bytes per node, median | {bytes_med:.0} B ({ratio:.2}x the {changed} B changed) | < 3x |"
    );
    let json = format!(
        "{{\"bench\":\"state\",\"keys\":{keys},\"value_bytes\":{VALUE},\"runs\":{runs},\"spread_median_s\":{spread_med:.4},\"spread_max_s\":{spread_max:.4},\"agreed_exchange_bytes\":{per_exchange:.1},\"heal_agree_median_s\":{agree_med:.3},\"heal_bytes_per_node_median\":{bytes_med:.0},\"changed_bytes\":{changed},\"heal_ratio\":{ratio:.3},\"heal_agree_s\":{:?},\"machine\":\"{machine}\"}}",
        repairs.iter().map(|r| r.agree_s).collect::<Vec<_>>()
    );
    println!("{json}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join("state.json"), json + "\n");
    }
}
