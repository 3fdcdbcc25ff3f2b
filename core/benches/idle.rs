//! Benchmark `idle` (issue 21): the CPU an idle cluster costs, rumour beside
//! HashiCorp memberlist in the same run. Each run is a fresh process with N
//! nodes (default 100, `BENCH_NODES`) on 127.0.0.1 with `lan()` timings
//! (memberlist: `DefaultLANConfig`), joined to node 0; once every node sees
//! all, it settles (`BENCH_SETTLE_SECS`, 10) and measures the process's CPU
//! over a window (`BENCH_WINDOW_SECS`, 30), per node. rumour and Go runs
//! alternate, `BENCH_RUNS` pairs (default 3), so both see the same machine.
//! rumour's runs also count context switches (a thread woken or put off),
//! the unit of idle cost when every node owns its threads. Each round also
//! runs rumour with every node on one `SharedRuntime` of
//! `BENCH_SHARED_THREADS` threads (default 1; 0 leaves it out).
//!
//! Go comes from `core/benches/go/run.sh` (Debian's golang-go and
//! memberlist packages); without it the Go column is left out and said so.
//! Prints a table with medians and the ratio; JSON in `target/bench/idle.json`.

mod support;

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rumour::{Config, Event, MemberState, Node, SharedRuntime};

/// Set in the child process that runs one rumour measurement: the shared
/// runtime's threads, 0 for a runtime per node.
const CHILD: &str = "RUMOUR_IDLE_BENCH_CHILD";

fn var(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One rumour run, in this process (every node on one runtime of
/// `shared_threads` threads, or each on its own with 0): prints one JSON line.
fn measure_rumour(n: usize, settle: u64, window: u64, shared_threads: usize) {
    let suspicions = Arc::new(AtomicU64::new(0));
    let shared = (shared_threads > 0).then(|| SharedRuntime::new(shared_threads).expect("shared runtime"));
    let nodes: Vec<Node> = (0..n)
        .map(|i| {
            let seen = suspicions.clone();
            let cfg = Config { name: format!("i{i}"), bind: "127.0.0.1:0".into(), ..Config::lan() };
            // A callback, as a service has: each node then has its dispatch thread.
            let callback = move |e: &Event| {
                if matches!(e, Event::MemberSuspect(_)) {
                    seen.fetch_add(1, Ordering::Relaxed);
                }
            };
            match &shared {
                Some(rt) => rt.start_with_callback(cfg, callback),
                None => Node::start_with_callback(cfg, callback),
            }
            .expect("node starts")
        })
        .collect();
    let seed = nodes[0].addr().to_string();
    for node in &nodes[1..] {
        // A seed swamped by joins may time one out: retry.
        assert!((0..3).any(|_| node.join(&[seed.as_str()]).is_ok()), "{} could not join", node.name());
    }
    let all_see_all = || {
        nodes.iter().all(|x| x.members().map(|m| m.iter().filter(|m| m.state == MemberState::Alive).count()) == Ok(n))
    };
    let began = Instant::now();
    while !all_see_all() {
        assert!(began.elapsed() < Duration::from_secs(60), "the cluster did not converge in 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(settle));
    let (suspicions0, switches0) = (suspicions.load(Ordering::Relaxed), support::context_switches());
    let (cpu0, t0) = (support::cpu_seconds(), Instant::now());
    std::thread::sleep(Duration::from_secs(window));
    let (cpu1, wall) = (support::cpu_seconds(), t0.elapsed().as_secs_f64());
    let switches = support::context_switches() - switches0;
    let cpu_pct = (cpu1 - cpu0) / wall / n as f64 * 100.0;
    let wakeups = switches as f64 / wall / n as f64;
    let false_suspicions = suspicions.load(Ordering::Relaxed) - suspicions0;
    println!(
        "{{\"cpu_pct_per_node\":{cpu_pct:.5},\"switches_per_node_s\":{wakeups:.2},\"false_suspicions\":{false_suspicions}}}"
    );
}

/// The value of `"key":` in a one-line JSON object printed by a run.
fn field(line: &str, key: &str) -> Option<f64> {
    let at = line.find(&format!("\"{key}\":"))? + key.len() + 3;
    line[at..].split([',', '}']).next()?.trim().parse().ok()
}

/// The JSON line a run printed, found by its key.
fn json_line(out: &[u8], key: &str) -> Option<String> {
    String::from_utf8_lossy(out).lines().find(|l| l.starts_with('{') && l.contains(key)).map(str::to_string)
}

fn run_rumour(n: usize, settle: u64, window: u64, shared_threads: usize) -> (f64, f64, f64) {
    let out = Command::new(std::env::current_exe().expect("this benchmark's path"))
        .env(CHILD, shared_threads.to_string())
        .env("BENCH_NODES", n.to_string())
        .env("BENCH_SETTLE_SECS", settle.to_string())
        .env("BENCH_WINDOW_SECS", window.to_string())
        .output()
        .expect("the rumour run starts");
    let line = json_line(&out.stdout, "cpu_pct_per_node")
        .unwrap_or_else(|| panic!("the rumour run printed no result: {}", String::from_utf8_lossy(&out.stderr)));
    let get = |k| field(&line, k).expect("a number");
    (get("cpu_pct_per_node"), get("switches_per_node_s"), get("false_suspicions"))
}

/// One Go memberlist run, or why there is none.
fn run_go(n: usize, window: u64) -> Result<f64, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/go/run.sh");
    let out = Command::new("sh")
        .arg(script)
        .args(["-nodes", &n.to_string(), "-steady", &window.to_string(), "-crashes", "0"])
        .output()
        .map_err(|e| format!("sh {script}: {e}"))?;
    let line = json_line(&out.stdout, "memberlist_loopback")
        .ok_or_else(|| format!("no result from {script}: {}", String::from_utf8_lossy(&out.stderr).trim()))?;
    field(&line, "cpu_pct_per_node").ok_or_else(|| format!("no cpu_pct_per_node in {line}"))
}

fn main() {
    let n = var("BENCH_NODES", 100).max(2) as usize;
    let settle = var("BENCH_SETTLE_SECS", 10);
    let window = var("BENCH_WINDOW_SECS", 30).max(1);
    if let Some(shared_threads) = std::env::var(CHILD).ok().and_then(|v| v.parse().ok()) {
        measure_rumour(n, settle, window, shared_threads);
        return;
    }
    let shared_threads = var("BENCH_SHARED_THREADS", 1) as usize;
    let runs = var("BENCH_RUNS", 3).max(1) as usize;
    let machine = support::machine();
    println!(
        "idle: {n} nodes on 127.0.0.1, lan() / DefaultLANConfig, {settle} s settle, {window} s window, {runs} pairs"
    );
    println!("machine: {machine}");
    let (mut ours, mut switches, mut suspicions, mut go) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut shared, mut shared_switches) = (Vec::new(), Vec::new());
    let mut go_missing = None;
    for run in 0..runs {
        let (cpu, sw, fs) = run_rumour(n, settle, window, 0);
        println!("run {run}: rumour {cpu:.4} % of a core per node, {sw:.1} context switches per node per s, {fs} false suspicions");
        ours.push(cpu);
        switches.push(sw);
        suspicions.push(fs);
        if shared_threads > 0 {
            let (cpu, sw, fs) = run_rumour(n, settle, window, shared_threads);
            println!("run {run}: rumour on a {shared_threads}-thread SharedRuntime {cpu:.4} % of a core per node, {sw:.1} context switches per node per s, {fs} false suspicions");
            shared.push(cpu);
            shared_switches.push(sw);
            suspicions.push(fs);
        }
        if go_missing.is_none() {
            match run_go(n, window) {
                Ok(cpu) => {
                    println!("run {run}: memberlist {cpu:.4} % of a core per node");
                    go.push(cpu);
                }
                Err(why) => {
                    println!("memberlist runs left out: {why}");
                    go_missing = Some(why);
                }
            }
        }
    }
    let (ours_med, go_med) = (support::median(&ours), support::median(&go));
    println!();
    println!("| idle CPU per node, N={n} | median | runs |");
    println!("|---|---|---|");
    println!("| rumour | {ours_med:.4} % of a core | {ours:.4?} |");
    if !go.is_empty() {
        println!("| memberlist 0.2.2 | {go_med:.4} % of a core | {go:.4?} |");
        println!("| ratio rumour / memberlist | {:.2} | |", ours_med / go_med);
    }
    if !shared.is_empty() {
        println!(
            "| rumour, one {shared_threads}-thread SharedRuntime | {:.4} % of a core | {shared:.4?} |",
            support::median(&shared)
        );
        if !go.is_empty() {
            println!("| ratio shared / memberlist | {:.2} | |", support::median(&shared) / go_med);
        }
    }
    println!("| rumour context switches per node per s | {:.1} | {switches:.1?} |", support::median(&switches));
    if !shared.is_empty() {
        println!("| the same, shared runtime | {:.1} | {shared_switches:.1?} |", support::median(&shared_switches));
    }
    let ratio = if go.is_empty() { "null".to_string() } else { format!("{:.4}", ours_med / go_med) };
    let json = format!(
        "{{\"bench\":\"idle\",\"nodes\":{n},\"settle_secs\":{settle},\"window_secs\":{window},\"runs\":{runs},\"rumour_cpu_pct_per_node\":{ours:?},\"rumour_cpu_pct_median\":{ours_med:.5},\"memberlist_cpu_pct_per_node\":{go:?},\"memberlist_cpu_pct_median\":{},\"ratio\":{ratio},\"rumour_switches_per_node_s\":{switches:?},\"shared_threads\":{shared_threads},\"shared_cpu_pct_per_node\":{shared:?},\"shared_switches_per_node_s\":{shared_switches:?},\"false_suspicions\":{suspicions:?},\"machine\":\"{machine}\"}}",
        if go.is_empty() { "null".to_string() } else { format!("{go_med:.5}") },
    );
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench");
    std::fs::create_dir_all(dir).expect("target/bench");
    std::fs::write(format!("{dir}/idle.json"), &json).expect("idle.json");
    println!("{json}");
}
