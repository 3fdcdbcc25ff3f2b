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
//! Prints a table; JSON in `target/bench/cold_start.json`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rumour::sim::{Sim, SimConfig};
use rumour::{Config, Event, Node};

/// Set in a child: "FIRST COUNT TOTAL SEED" (SEED is `-` for the child
/// that holds node 0).
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
    let [first, count, total, seed] = words[..] else { panic!("bad {CHILD}: {spec}") };
    let (first, count, total): (usize, usize, usize) =
        (first.parse().unwrap(), count.parse().unwrap(), total.parse().unwrap());
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
        move |e: &Event| {
            if matches!(e, Event::MemberJoined(_)) && seen.fetch_add(1, Ordering::Relaxed) + 1 == total {
                let _ = tx.send(format!("full {}", unix_ms()));
            }
        }
    };
    let mut nodes = Vec::with_capacity(count);
    let seed = if seed == "-" {
        let node0 = Node::start_with_callback(config(first, Vec::new()), watcher(tx.clone())).expect("node 0 starts");
        let addr = node0.addr().to_string();
        tx.send(format!("seed {addr}")).unwrap();
        nodes.push(node0);
        addr
    } else {
        seed.to_string()
    };
    for i in first + nodes.len()..first + count {
        nodes.push(Node::start_with_callback(config(i, vec![seed.clone()]), watcher(tx.clone())).expect("node starts"));
    }
    tx.send(format!("started {}", unix_ms())).unwrap();
    // Run until the parent has heard from every node (it closes stdin).
    let _ = std::io::stdin().lines().count();
    let (mut evicted, mut refused, mut retried) = (0, 0, 0);
    for node in &nodes {
        if let Ok(s) = node.stats() {
            evicted += s.streams_evicted;
            refused += s.streams_refused;
            retried += u64::from(s.proto.join_attempts > 1);
        }
    }
    tx.send(format!("stats evicted {evicted} refused {refused} retried {retried}")).unwrap();
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
    /// Seconds from the first process's start until the last node started.
    starting: f64,
    evicted: u64,
    refused: u64,
    retried: u64,
}

fn spawn(spec: String) -> Child {
    Command::new(std::env::current_exe().expect("this benchmark's path"))
        .env(CHILD, spec)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("a child starts")
}

fn run_once(n: usize, processes: usize) -> Run {
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
    let mut first = spawn(format!("0 {} {n} -", per.min(n)));
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
        let mut c = spawn(format!("{start} {} {n} {seed}", per.min(n - start)));
        listen(&mut c);
        children.push(c);
    }
    let (mut started, mut full) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + LIMIT;
    while full.len() < n && Instant::now() < deadline {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else { continue };
        if let Some(ms) = line.strip_prefix("started ") {
            started.push(ms.parse::<u128>().unwrap());
        } else if let Some(ms) = line.strip_prefix("full ") {
            full.push(ms.parse::<u128>().unwrap());
        }
    }
    for c in &mut children {
        drop(c.stdin.take()); // every child may stop now
    }
    let (mut evicted, mut refused, mut retried, mut reported) = (0, 0, 0, 0);
    while reported < children.len() {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else { break };
        if let Some(rest) = line.strip_prefix("stats ") {
            let v: Vec<u64> = rest.split_whitespace().filter_map(|w| w.parse().ok()).collect();
            evicted += v[0];
            refused += v[1];
            retried += v[2];
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
    Run { after_last, starting: last_start.saturating_sub(began) as f64 / 1000.0, evicted, refused, retried }
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
    println!("cold_start: lan(), every node seeded with node 0, all started at once on 127.0.0.1; {runs} runs a plan");
    println!("machine: {machine}");
    let mut json = Vec::new();
    let mut table = Vec::new();
    for &(n, processes) in &plans {
        let sim_s = simulated(n);
        let mut slowest = Vec::new();
        let mut runs_json = Vec::new();
        for run in 0..runs {
            let r = run_once(n, processes);
            let q = |p: f64| {
                r.after_last.get(((r.after_last.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
            };
            let worst = if r.after_last.len() == n { q(1.0) } else { f64::INFINITY };
            println!(
                "N={n} in {processes} process(es), run {run}: {} of {n} saw all; after the last start (all started {:.2} s after the first): median {:.2} s, p90 {:.2} s, slowest {:.2} s; evicted {}, refused {}, joiners retrying {}",
                r.after_last.len(),
                r.starting,
                q(0.5),
                q(0.9),
                worst,
                r.evicted,
                r.refused,
                r.retried
            );
            slowest.push(worst);
            runs_json.push(format!(
                "{{\"saw_all\":{},\"starting_s\":{:.3},\"median_s\":{:.3},\"p90_s\":{:.3},\"slowest_s\":{},\"evicted\":{},\"refused\":{},\"retried\":{}}}",
                r.after_last.len(),
                r.starting,
                q(0.5),
                q(0.9),
                if worst.is_finite() { format!("{worst:.3}") } else { "null".into() },
                r.evicted,
                r.refused,
                r.retried
            ));
        }
        let worst_of_all = slowest.iter().copied().fold(0.0, f64::max);
        table.push(format!(
            "| {n} in {processes} | {:.2} s | {worst_of_all:.2} s | {:.2} s |",
            support::median(&slowest),
            sim_s
        ));
        json.push(format!(
            "{{\"nodes\":{n},\"processes\":{processes},\"slowest_median_s\":{:.3},\"slowest_max_s\":{},\"simulated_s\":{sim_s:.3},\"runs\":[{}]}}",
            support::median(&slowest),
            if worst_of_all.is_finite() { format!("{worst_of_all:.3}") } else { "null".into() },
            runs_json.join(",")
        ));
    }
    println!();
    println!("| N in processes | slowest node, after the last start: median of runs | worst run | simulator |");
    println!("|---|---|---|---|");
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
