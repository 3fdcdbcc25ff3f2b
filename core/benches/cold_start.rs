//! Benchmark `cold_start` (issue 21, item 3): a whole cluster started at
//! once on 127.0.0.1, every node with node 0 as its configured seed
//! (`Config::lan()`), as a rollout or a rack's reboot starts it. Measured:
//! the time from the last node's start until every node has seen all N
//! join (from its own events), and what held joiners back (connections
//! node 0 evicted or refused, joiners that needed a second attempt).
//!
//! Plans (`BENCH_PLANS`, default `500x1,1000x10`): N nodes in P processes
//! (each a child of this one, with N/P nodes; node 0 in the first, started
//! before the others learn its address). `BENCH_RUNS` runs of each (default
//! 5). Beside each plan, the simulator's figure for the same storm: N
//! nodes started together, seeded with node 0, until all see all.
//! Each plan runs twice over: with a thread and runtime per node (the
//! default, as a service runs its node), and with each child's nodes on
//! one `SharedRuntime` (the option for many nodes in one process).
//! `BENCH_SHARED` lists the drivings, as threads of the shared runtime
//! (0: a thread per node); default `0,1`.
//! Prints a table; JSON in `target/bench/cold_start.json`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rumour::sim::{Sim, SimConfig};
use rumour::{Config, Event, Node, SharedRuntime};

/// Set in a child: "FIRST COUNT TOTAL SEED SHARED" (SEED is `-` for the
/// child that holds node 0; SHARED the threads of its `SharedRuntime`, 0
/// for a thread per node).
const CHILD: &str = "RUMOUR_COLD_START_CHILD";

/// How long a run may take before it is reported as unfinished.
const LIMIT: Duration = Duration::from_secs(60);

fn unix_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()
}

fn config(i: usize, seeds: Vec<String>) -> Config {
    Config { name: format!("n{i}"), bind: "127.0.0.1:0".into(), seeds, ..Config::lan() }
}

/// A child: starts its nodes, prints `seed ADDR` (node 0's holder),
/// `started MS` once all of its nodes run, `full MS` as each sees all
/// `total`; then, once stdin closes, `stats ...` and exits.
fn child(spec: &str) {
    let words: Vec<&str> = spec.split_whitespace().collect();
    let [first, count, total, seed, shared_threads] = words[..] else { panic!("bad {CHILD}: {spec}") };
    let (first, count, total, shared_threads): (usize, usize, usize, usize) =
        (first.parse().unwrap(), count.parse().unwrap(), total.parse().unwrap(), shared_threads.parse().unwrap());
    let (tx, rx) = mpsc::channel::<String>();
    let printer = std::thread::spawn(move || {
        let mut out = std::io::stdout().lock();
        for line in rx {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    });
    let watcher = |tx: mpsc::Sender<String>| {
        let seen = AtomicUsize::new(1);
        move |e: &Event| match e {
            Event::MemberJoined(_) if seen.fetch_add(1, Ordering::Relaxed) + 1 == total => {
                let _ = tx.send(format!("full {}", unix_ms()));
            }
            Event::Joined { .. } => {
                let _ = tx.send(format!("joined {}", unix_ms()));
            }
            _ => {}
        }
    };
    let mut nodes = Vec::with_capacity(count);
    let shared = (shared_threads > 0).then(|| SharedRuntime::new(shared_threads).expect("shared runtime"));
    let start = |c: Config, cb| match &shared {
        Some(rt) => rt.start_with_callback(c, cb),
        None => Node::start_with_callback(c, cb),
    };
    let seed = if seed == "-" {
        let node0 = start(config(first, Vec::new()), watcher(tx.clone())).expect("node 0 starts");
        let addr = node0.addr().to_string();
        tx.send(format!("seed {addr}")).unwrap();
        nodes.push(node0);
        addr
    } else {
        seed.to_string()
    };
    for i in first + nodes.len()..first + count {
        nodes.push(start(config(i, vec![seed.clone()]), watcher(tx.clone())).expect("node starts"));
    }
    tx.send(format!("started {}", unix_ms())).unwrap();
    // Run until the parent has heard from every node (it closes stdin).
    let _ = std::io::stdin().lines().count();
    let mut t = [0u64; COUNTED.len()];
    for node in &nodes {
        if let Ok(s) = node.stats() {
            let p = &s.proto;
            let row = [
                s.streams_evicted,
                s.streams_refused,
                u64::from(p.join_attempts > 1),
                p.packets_sent,
                p.streams_opened,
                p.msg_suspect,
                p.msg_dead,
                p.catch_up_pulls,
                p.probes_failed,
            ];
            for (a, b) in t.iter_mut().zip(row) {
                *a += b;
            }
        }
    }
    let t: Vec<String> = t.iter().map(u64::to_string).collect();
    tx.send(format!("stats {}", t.join(" "))).unwrap();
    drop(tx);
    for node in &nodes {
        node.shutdown();
    }
    let _ = printer.join();
}

/// What one run measured.
struct Run {
    /// Seconds from the last start until each node saw all (sorted).
    after_last: Vec<f64>,
    /// Seconds from the last start until each joiner's join succeeded
    /// (sorted; negative for those that joined before the last start).
    joined: Vec<f64>,
    /// Seconds from the first process's start until the last node started.
    starting: f64,
    /// Sums over all nodes, in the order of [`COUNTED`].
    counts: [u64; COUNTED.len()],
}

/// What each child sums over its nodes when the run ends: how node 0
/// treated joiners, and how much work and trouble the storm made.
const COUNTED: [&str; 9] = [
    "evicted",
    "refused",
    "retried",
    "packets_sent",
    "streams_opened",
    "suspicions",
    "failures",
    "catch_up_pulls",
    "probes_failed",
];

fn spawn(spec: String) -> Child {
    Command::new(std::env::current_exe().expect("this benchmark's path"))
        .env(CHILD, spec)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("a child starts")
}

fn run_once(n: usize, processes: usize, shared: usize) -> Run {
    let per = n.div_ceil(processes);
    let began = unix_ms();
    let (tx, rx) = mpsc::channel::<String>();
    let mut children = Vec::new();
    let listen = |child: &mut Child| {
        let out = child.stdout.take().expect("piped");
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    };
    let mut first = spawn(format!("0 {} {n} - {shared}", per.min(n)));
    listen(&mut first);
    children.push(first);
    let seed = loop {
        let line = rx.recv_timeout(LIMIT).expect("node 0's address");
        if let Some(addr) = line.strip_prefix("seed ") {
            break addr.to_string();
        }
    };
    for p in 1..processes {
        let start = p * per;
        if start >= n {
            break;
        }
        let mut c = spawn(format!("{start} {} {n} {seed} {shared}", per.min(n - start)));
        listen(&mut c);
        children.push(c);
    }
    let (mut started, mut full, mut joined) = (Vec::new(), Vec::new(), Vec::new());
    let deadline = Instant::now() + LIMIT;
    while full.len() < n && Instant::now() < deadline {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else { continue };
        if let Some(ms) = line.strip_prefix("started ") {
            started.push(ms.parse::<u128>().unwrap());
        } else if let Some(ms) = line.strip_prefix("full ") {
            full.push(ms.parse::<u128>().unwrap());
        } else if let Some(ms) = line.strip_prefix("joined ") {
            joined.push(ms.parse::<u128>().unwrap());
        }
    }
    for c in &mut children {
        drop(c.stdin.take()); // every child may stop now
    }
    let (mut counts, mut reported) = ([0u64; COUNTED.len()], 0);
    while reported < children.len() {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else { break };
        if let Some(rest) = line.strip_prefix("stats ") {
            for (sum, v) in counts.iter_mut().zip(rest.split_whitespace()) {
                *sum += v.parse::<u64>().unwrap_or(0);
            }
            reported += 1;
        } else if let Some(ms) = line.strip_prefix("started ") {
            started.push(ms.parse::<u128>().unwrap());
        }
    }
    for c in &mut children {
        let _ = c.wait();
    }
    let last_start = started.iter().copied().max().unwrap_or(began);
    let mut after_last: Vec<f64> = full.iter().map(|&t| t.saturating_sub(last_start) as f64 / 1000.0).collect();
    after_last.sort_by(f64::total_cmp);
    let mut joined: Vec<f64> = joined.iter().map(|&t| t.saturating_sub(last_start) as f64 / 1000.0).collect();
    joined.sort_by(f64::total_cmp);
    Run { joined, after_last, starting: last_start.saturating_sub(began) as f64 / 1000.0, counts }
}

/// The simulator's figure: `n` nodes seeded with node 0 all started at
/// once, seconds until every one sees all.
fn simulated(n: usize) -> f64 {
    let seeds = vec![Sim::address(0).to_string()];
    let node_config = Config { seeds, ..Config::lan() };
    let mut sim = Sim::new(SimConfig { nodes: n, seed: 0xC01D, node_config, autostart: false, ..SimConfig::default() });
    for i in 0..n {
        sim.start(i);
    }
    if sim.run_until(Duration::from_secs(60), |s| s.converged()) {
        sim.elapsed().as_secs_f64()
    } else {
        f64::NAN
    }
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD) {
        child(&spec);
        return;
    }
    let runs = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5usize).max(1);
    let plans: Vec<(usize, usize)> = std::env::var("BENCH_PLANS")
        .unwrap_or_else(|_| "500x1,1000x10".into())
        .split(',')
        .filter_map(|p| {
            let (n, procs) = p.split_once('x')?;
            Some((n.trim().parse().ok()?, procs.trim().parse().ok()?))
        })
        .filter(|&(n, procs): &(usize, usize)| n >= 2 && procs >= 1)
        .collect();
    let machine = support::machine();
    let drivings: Vec<usize> = std::env::var("BENCH_SHARED")
        .unwrap_or_else(|_| "0,1".into())
        .split(',')
        .filter_map(|t| t.trim().parse().ok())
        .collect();
    let driving = |shared: usize| match shared {
        0 => "a thread per node".to_string(),
        t => format!("SharedRuntime({t}) per process"),
    };
    println!("cold_start: lan(), every node seeded with node 0, all started at once on 127.0.0.1; {runs} runs a plan and driving");
    println!("machine: {machine}");
    let mut json = Vec::new();
    let mut table = Vec::new();
    for &(n, processes) in &plans {
        let sim_s = simulated(n);
        for &shared in &drivings {
            let mut slowest = Vec::new();
            let mut runs_json = Vec::new();
            for run in 0..runs {
                let r = run_once(n, processes, shared);
                let pick = |v: &[f64], p: f64| {
                    v.get(((v.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
                };
                let q = |p: f64| pick(&r.after_last, p);
                let (join_median, join_last) = (pick(&r.joined, 0.5), pick(&r.joined, 1.0));
                let worst = if r.after_last.len() == n { q(1.0) } else { f64::INFINITY };
                println!(
                "N={n} in {processes} process(es), {}, run {run}: {} of {n} saw all; after the last start (all started {:.2} s after the first): median {:.2} s, p90 {:.2} s, slowest {:.2} s; joins done (after the last start) median {join_median:.2} s, p90 {:.2} s, p99 {:.2} s, last {join_last:.2} s; {}",
                driving(shared),
                r.after_last.len(),
                r.starting,
                q(0.5),
                q(0.9),
                worst,
                pick(&r.joined, 0.9),
                pick(&r.joined, 0.99),
                COUNTED.iter().zip(r.counts).map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
            );
                slowest.push(worst);
                runs_json.push(format!(
                "{{\"saw_all\":{},\"starting_s\":{:.3},\"median_s\":{:.3},\"p90_s\":{:.3},\"slowest_s\":{},\"joined_median_s\":{join_median:.3},\"joined_last_s\":{join_last:.3},{}}}",
                r.after_last.len(),
                r.starting,
                q(0.5),
                q(0.9),
                if worst.is_finite() { format!("{worst:.3}") } else { "null".into() },
                COUNTED.iter().zip(r.counts).map(|(k, v)| format!("\"{k}\":{v}")).collect::<Vec<_>>().join(",")
            ));
            }
            let worst_of_all = slowest.iter().copied().fold(0.0, f64::max);
            table.push(format!(
                "| {n} in {processes} | {} | {:.2} s | {worst_of_all:.2} s | {:.2} s |",
                driving(shared),
                support::median(&slowest),
                sim_s
            ));
            json.push(format!(
            "{{\"nodes\":{n},\"processes\":{processes},\"shared_runtime_threads\":{shared},\"slowest_median_s\":{:.3},\"slowest_max_s\":{},\"simulated_s\":{sim_s:.3},\"runs\":[{}]}}",
            support::median(&slowest),
            if worst_of_all.is_finite() { format!("{worst_of_all:.3}") } else { "null".into() },
            runs_json.join(",")
        ));
        }
    }
    println!();
    println!(
        "| N in processes | driving | slowest node, after the last start: median of runs | worst run | simulator |"
    );
    println!("|---|---|---|---|---|");
    for row in &table {
        println!("{row}");
    }
    let json = format!(
        "{{\"bench\":\"cold_start\",\"runs\":{runs},\"plans\":[{}],\"machine\":\"{machine}\"}}",
        json.join(",")
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&dir).expect("target/bench");
    std::fs::write(dir.join("cold_start.json"), &json).expect("cold_start.json");
    println!("{json}");
}
