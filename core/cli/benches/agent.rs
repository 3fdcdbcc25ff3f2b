//! Benchmark `agent` (issue 19): what `rumour agent` costs beside a bare
//! node, and how fast it answers `GET /v1/members`. Real processes on
//! 127.0.0.1, `lan()` timings everywhere.
//!
//! 1. Idle CPU and memory: a cluster of `BENCH_NODES` (default 10) where
//!    one member, the measured one, is its own process and the others run
//!    in this one. The measured process is in turn (a) `rumour agent`
//!    (no config file: `Config::lan()`, its HTTP API on 127.0.0.1:0 and
//!    never called) and (b) a bare node: this very program started again
//!    with `RUMOUR_BENCH_BARE` set, which runs `Node::start` on the same
//!    `Config::lan()` (name, bind and seed as the agent's) and nothing
//!    else. Each run starts a fresh cluster, waits until every in-process
//!    member sees all `BENCH_NODES` alive, lets it settle
//!    (`BENCH_SETTLE_SECS`, default 10), then reads the measured process's
//!    CPU time over `BENCH_WINDOW_SECS` (default 30, one `push_pull_interval`)
//!    and its VmRSS at the end. `BENCH_RUNS` (default 3) runs of each,
//!    alternating (agent first in even pairs, bare first in odd ones).
//!    CPU time is read two ways: utime + stime from /proc/PID/stat (clock
//!    ticks of 10 ms, so an idle node's window holds only a few) and the
//!    sum of every thread's run time from /proc/PID/task/*/schedstat
//!    (nanoseconds); the ratio is taken from the second.
//! 2. `GET /v1/members` with `BENCH_MEMBERS` (default 100) members: the
//!    others in this process, the agent its own process; once the agent
//!    sees them all alive, `BENCH_CLIENTS` (default 4) threads, each with
//!    its own keep-alive connection (ureq), ask as fast as they get answers
//!    for `BENCH_HTTP_SECS` (default 5) seconds, after a one-second warm-up;
//!    `BENCH_RUNS` rounds. Requests per second (median of the rounds),
//!    latency p50 and p99 over every request, and the agent's CPU meanwhile.
//!
//! While it measures, it looks for builds (`rustc`, `cargo` other than the
//! one running it, `cc1`, `ld`) every second and counts the host's busy
//! CPU from /proc/stat, and says so beside each run: on a shared machine
//! a disturbed run should be repeated. `BENCH_PART=idle` or `http` runs
//! one part only. Prints the config, the machine and the figures, and
//! writes JSON to `target/bench/agent.json`.

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../benches/support/mod.rs"]
mod support;

use common::wait_until as wait;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rumour::{Config, MemberState, Node};
use serde_json::{json, Value};

const AGENT_BIN: &str = env!("CARGO_BIN_EXE_rumour");
/// Set in the environment of the bare node: "NAME BIND SEED".
const BARE_ENV: &str = "RUMOUR_BENCH_BARE";
/// Bound on every wait for a cluster to converge.
const CONVERGE_LIMIT: Duration = Duration::from_secs(60);
/// USER_HZ, the unit of utime and stime (100 on Linux).
const TICKS_PER_S: f64 = 100.0;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The bare node: `Config::lan()` with the agent's name, bind and seed,
/// `Node::start` as the agent calls it, then nothing until stdin closes.
fn bare_node(spec: &str) -> ! {
    let words: Vec<&str> = spec.split_whitespace().collect();
    let &[name, bind, seed] = &words[..] else { panic!("{BARE_ENV}={spec:?}: want NAME BIND SEED") };
    let cfg = Config { name: name.into(), bind: bind.into(), seeds: vec![seed.into()], ..Config::lan() };
    let node = Node::start(cfg).expect("the bare node starts");
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "bare {} gossip {}", node.name(), node.addr());
        let _ = out.flush();
    }
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    node.shutdown();
    std::process::exit(0)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Agent,
    Bare,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Agent => "agent",
            Kind::Bare => "bare",
        }
    }
}

/// The measured process; killed when dropped (also on a panic).
struct Measured {
    child: Child,
    /// The bare node stops when this closes.
    _stdin: Option<ChildStdin>,
    http: Option<String>,
}

impl Measured {
    fn start(kind: Kind, name: &str, seed: &str) -> Measured {
        let mut cmd = match kind {
            Kind::Agent => {
                let mut c = Command::new(AGENT_BIN);
                c.args(["agent", "--name", name, "--bind", "127.0.0.1:0", "--http", "127.0.0.1:0", "--seed", seed]);
                c.stdin(Stdio::null());
                c
            }
            Kind::Bare => {
                let mut c = Command::new(std::env::current_exe().expect("this program's path"));
                c.env(BARE_ENV, format!("{name} 127.0.0.1:0 {seed}"));
                c.stdin(Stdio::piped());
                c
            }
        };
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("the process starts");
        let stdin = child.stdin.take();
        // The first line, then the rest drained (nothing else is expected)
        // so that the process never writes into a closed pipe.
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(out);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let mut m = Measured { child, _stdin: stdin, http: None };
        let line = rx.recv_timeout(Duration::from_secs(20)).expect("the measured process printed its address");
        let words: Vec<&str> = line.split_whitespace().collect();
        match kind {
            // agent NAME gossip ADDR http ADDR
            Kind::Agent => {
                assert_eq!((words.len(), words.first().copied()), (6, Some("agent")), "{line}");
                m.http = Some(words[5].to_string());
            }
            // bare NAME gossip ADDR
            Kind::Bare => assert_eq!((words.len(), words.first().copied()), (4, Some("bare")), "{line}"),
        }
        m
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Measured {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` in-process nodes, `lan()` timings on 127.0.0.1, all joined to the first.
fn cluster(n: usize, prefix: &str) -> Vec<Node> {
    let nodes: Vec<Node> = (0..n)
        .map(|i| {
            let cfg = Config { name: format!("{prefix}{i}"), bind: "127.0.0.1:0".into(), ..Config::lan() };
            Node::start(cfg).expect("node starts")
        })
        .collect();
    let seed = nodes[0].addr().to_string();
    for node in &nodes[1..] {
        assert!((0..3).any(|_| node.join(&[seed.as_str()]).is_ok()), "{} could not join in three tries", node.name());
    }
    nodes
}

fn alive(node: &Node) -> usize {
    node.members().map_or(0, |ms| ms.iter().filter(|m| m.state == MemberState::Alive).count())
}

/// A process's CPU time at one instant.
struct Cpu {
    /// utime + stime, in clock ticks, every thread that ever ran included.
    ticks: u64,
    /// Run time per live thread, nanoseconds (schedstat).
    per_thread_ns: HashMap<u32, u64>,
}

fn read_cpu(pid: u32) -> Cpu {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the ")": state is field 0; utime and stime are 11 and 12.
    let ticks = fields.get(11..13).map_or(0, |f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum());
    let mut per_thread_ns = HashMap::new();
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for entry in dir.flatten() {
            let Some(tid) = entry.file_name().to_str().and_then(|t| t.parse::<u32>().ok()) else { continue };
            let text = std::fs::read_to_string(entry.path().join("schedstat")).unwrap_or_default();
            if let Some(ns) = text.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()) {
                per_thread_ns.insert(tid, ns);
            }
        }
    }
    Cpu { ticks, per_thread_ns }
}

/// CPU seconds between two readings: (from ticks, from schedstat, threads
/// that ended in between, whose last stretch schedstat misses).
fn cpu_between(a: &Cpu, b: &Cpu) -> (f64, f64, usize) {
    let ns: u64 = b.per_thread_ns.iter().map(|(tid, end)| end - a.per_thread_ns.get(tid).copied().unwrap_or(0)).sum();
    let ended = a.per_thread_ns.keys().filter(|t| !b.per_thread_ns.contains_key(t)).count();
    ((b.ticks - a.ticks) as f64 / TICKS_PER_S, ns as f64 / 1e9, ended)
}

/// VmRSS, RssAnon and RssFile in MiB, and the thread count.
fn memory(pid: u32) -> (f64, f64, f64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    let mib = |kib: u64| kib as f64 / 1024.0;
    (mib(field("VmRSS:")), mib(field("RssAnon:")), mib(field("RssFile:")), field("Threads:"))
}

/// The host's (busy, total) CPU jiffies, every core, from /proc/stat.
fn host_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> =
        stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// This process and its ancestors (the `cargo bench` that runs it is not
/// somebody else's build).
fn ancestors() -> Vec<u32> {
    let mut out = vec![std::process::id()];
    while let Some(&pid) = out.last() {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let ppid = stat.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().nth(1)?.parse::<u32>().ok());
        match ppid {
            Some(p) if p > 1 && out.len() < 64 => out.push(p),
            _ => break,
        }
    }
    out
}

/// Names of build processes running now, other than our own ancestors.
fn builds_running(ours: &[u32]) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return found };
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if ours.contains(&pid) {
            continue;
        }
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        let comm = comm.trim();
        if ["rustc", "cargo", "cc1", "cc1plus", "ld", "collect2", "build-script-build"].contains(&comm) {
            found.push(format!("{comm}[{pid}]"));
        }
    }
    found
}

/// What was going on on the host during a measurement.
struct Host {
    busy_pct: f64,
    builds: Vec<String>,
}

/// Sleeps `secs` seconds in one-second steps, looking for builds each time.
fn watch_host(secs: u64, ours: &[u32]) -> Host {
    let (b0, t0) = host_jiffies();
    let mut builds: Vec<String> = Vec::new();
    for _ in 0..secs {
        for b in builds_running(ours) {
            if !builds.contains(&b) {
                builds.push(b);
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    for b in builds_running(ours) {
        if !builds.contains(&b) {
            builds.push(b);
        }
    }
    let (b1, t1) = host_jiffies();
    let busy_pct = if t1 > t0 { (b1 - b0) as f64 / (t1 - t0) as f64 * 100.0 } else { f64::NAN };
    Host { busy_pct, builds }
}

struct IdleRun {
    kind: Kind,
    cpu_pct: f64,
    cpu_pct_ticks: f64,
    ticks: u64,
    threads_ended: usize,
    rss_mib: f64,
    rss_anon_mib: f64,
    rss_file_mib: f64,
    threads: u64,
    host: Host,
}

fn idle_run(kind: Kind, n: usize, settle: u64, window: u64, ours: &[u32]) -> IdleRun {
    let nodes = cluster(n - 1, "c");
    let seed = nodes[0].addr().to_string();
    let measured = Measured::start(kind, "m", &seed);
    let converged = wait(CONVERGE_LIMIT, || nodes.iter().all(|x| alive(x) == n));
    assert!(converged, "{}: the cluster of {n} did not converge in {CONVERGE_LIMIT:?}", kind.name());
    std::thread::sleep(Duration::from_secs(settle));
    let pid = measured.pid();
    let (c0, w0) = (read_cpu(pid), Instant::now());
    let host = watch_host(window, ours);
    let (c1, wall) = (read_cpu(pid), w0.elapsed().as_secs_f64());
    let (rss_mib, rss_anon_mib, rss_file_mib, threads) = memory(pid);
    assert!(nodes.iter().all(|x| alive(x) == n), "{}: a member was lost during the window", kind.name());
    drop(measured);
    for node in &nodes {
        node.shutdown();
    }
    let (tick_s, sched_s, threads_ended) = cpu_between(&c0, &c1);
    IdleRun {
        kind,
        cpu_pct: sched_s / wall * 100.0,
        cpu_pct_ticks: tick_s / wall * 100.0,
        ticks: c1.ticks - c0.ticks,
        threads_ended,
        rss_mib,
        rss_anon_mib,
        rss_file_mib,
        threads,
        host,
    }
}

fn quiet_note(h: &Host) -> String {
    if h.builds.is_empty() {
        format!("host {:.0}% busy, no build", h.busy_pct)
    } else {
        format!("host {:.0}% busy, DISTURBED by {}", h.busy_pct, h.builds.join(" "))
    }
}

fn idle_part(n: usize, settle: u64, window: u64, runs: usize, ours: &[u32]) -> Value {
    println!("\n## idle: the measured member of {n}, {runs} runs of each, window {window} s after {settle} s settling");
    let mut all: Vec<IdleRun> = Vec::new();
    for pair in 0..runs {
        let order = if pair % 2 == 0 { [Kind::Agent, Kind::Bare] } else { [Kind::Bare, Kind::Agent] };
        for kind in order {
            let r = idle_run(kind, n, settle, window, ours);
            println!(
                "run {} {:5}: cpu {:.4} % of a core (utime+stime {} ticks = {:.4} %), VmRSS {:.2} MiB (anon {:.2}, file {:.2}), {} threads{}; {}",
                pair + 1,
                kind.name(),
                r.cpu_pct,
                r.ticks,
                r.cpu_pct_ticks,
                r.rss_mib,
                r.rss_anon_mib,
                r.rss_file_mib,
                r.threads,
                if r.threads_ended > 0 { format!(", {} threads ended", r.threads_ended) } else { String::new() },
                quiet_note(&r.host),
            );
            all.push(r);
        }
    }
    let med = |kind: Kind, f: fn(&IdleRun) -> f64| {
        support::median(&all.iter().filter(|r| r.kind == kind).map(f).collect::<Vec<_>>())
    };
    let (a_cpu, b_cpu) = (med(Kind::Agent, |r| r.cpu_pct), med(Kind::Bare, |r| r.cpu_pct));
    let (a_tick, b_tick) = (med(Kind::Agent, |r| r.cpu_pct_ticks), med(Kind::Bare, |r| r.cpu_pct_ticks));
    let (a_rss, b_rss) = (med(Kind::Agent, |r| r.rss_mib), med(Kind::Bare, |r| r.rss_mib));
    let (a_anon, b_anon) = (med(Kind::Agent, |r| r.rss_anon_mib), med(Kind::Bare, |r| r.rss_anon_mib));
    let ratio = a_cpu / b_cpu;
    let ratio_ticks = a_tick / b_tick;
    let rss_diff = a_rss - b_rss;
    let disturbed = all.iter().filter(|r| !r.host.builds.is_empty()).count();
    let cpu_ok = ratio <= 1.10;
    let rss_ok = rss_diff <= 5.0;
    println!("| idle, median of {runs} | agent | bare node | agent / bare | target |\n|---|---|---|---|---|");
    println!("| CPU, % of a core (schedstat) | {a_cpu:.4} | {b_cpu:.4} | {ratio:.3} | within 10 % ({}) |", yes(cpu_ok));
    println!("| CPU, % of a core (utime+stime) | {a_tick:.4} | {b_tick:.4} | {ratio_ticks:.3} | |");
    println!("| VmRSS, MiB | {a_rss:.2} | {b_rss:.2} | {rss_diff:+.2} MiB | +5 MiB ({}) |", yes(rss_ok));
    println!("| RssAnon, MiB | {a_anon:.2} | {b_anon:.2} | {:+.2} MiB | |", a_anon - b_anon);
    if disturbed > 0 {
        println!(
            "WARNING: {disturbed} of {} runs had a build running beside them; run again on a quiet host",
            all.len()
        );
    }
    let runs_json: Vec<Value> = all
        .iter()
        .map(|r| {
            json!({
                "kind": r.kind.name(), "cpu_pct": r.cpu_pct, "cpu_pct_ticks": r.cpu_pct_ticks, "ticks": r.ticks,
                "threads_ended": r.threads_ended, "rss_mib": r.rss_mib, "rss_anon_mib": r.rss_anon_mib,
                "rss_file_mib": r.rss_file_mib, "threads": r.threads, "host_busy_pct": r.host.busy_pct,
                "builds": r.host.builds,
            })
        })
        .collect();
    json!({
        "nodes": n, "settle_secs": settle, "window_secs": window, "runs_each": runs,
        "agent_cpu_pct": a_cpu, "bare_cpu_pct": b_cpu, "cpu_ratio": ratio,
        "agent_cpu_pct_ticks": a_tick, "bare_cpu_pct_ticks": b_tick, "cpu_ratio_ticks": ratio_ticks,
        "agent_rss_mib": a_rss, "bare_rss_mib": b_rss, "rss_diff_mib": rss_diff,
        "agent_rss_anon_mib": a_anon, "bare_rss_anon_mib": b_anon,
        "cpu_within_10pct": cpu_ok, "rss_within_5mib": rss_ok, "disturbed_runs": disturbed, "runs": runs_json,
    })
}

fn yes(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// The members the agent lists, and how many of them are alive.
fn agent_members(url: &str) -> Option<(usize, usize)> {
    let v: Value = ureq::get(url).timeout(Duration::from_secs(5)).call().ok()?.into_json().ok()?;
    let ms = v.as_array()?;
    Some((ms.len(), ms.iter().filter(|m| m["state"] == "alive").count()))
}

/// One round of load: `clients` threads, each on its own keep-alive
/// connection, for `secs`. Returns (requests, errors, latencies in ms,
/// body bytes of the last answer, wall seconds).
fn load(url: &str, clients: usize, secs: f64) -> (usize, usize, Vec<f64>, usize, f64) {
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    let per_client: Vec<(usize, Vec<f64>, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                s.spawn(|| {
                    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(5)).build();
                    let (mut errors, mut lat, mut bytes) = (0usize, Vec::with_capacity(100_000), 0usize);
                    while Instant::now() < end {
                        let t = Instant::now();
                        match agent.get(url).call().map(|r| r.into_string()) {
                            Ok(Ok(body)) if !body.is_empty() => {
                                lat.push(t.elapsed().as_secs_f64() * 1e3);
                                bytes = body.len();
                            }
                            _ => errors += 1,
                        }
                    }
                    (errors, lat, bytes)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a client thread")).collect()
    });
    let wall = start.elapsed().as_secs_f64();
    let errors = per_client.iter().map(|c| c.0).sum();
    let bytes = per_client.iter().map(|c| c.2).max().unwrap_or(0);
    let lat: Vec<f64> = per_client.into_iter().flat_map(|c| c.1).collect();
    (lat.len(), errors, lat, bytes, wall)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn http_part(members: usize, clients: usize, secs: u64, runs: usize, ours: &[u32]) -> Value {
    println!("\n## GET /v1/members: {members} members, {clients} keep-alive clients, {runs} rounds of {secs} s");
    let t0 = Instant::now();
    let nodes = cluster(members - 1, "h");
    let seed = nodes[0].addr().to_string();
    let agent = Measured::start(Kind::Agent, "m", &seed);
    let url = format!("http://{}/v1/members", agent.http.as_deref().unwrap());
    let converged = wait(CONVERGE_LIMIT, || {
        agent_members(&url) == Some((members, members)) && nodes.iter().all(|x| alive(x) == members)
    });
    assert!(converged, "the agent did not see {members} members alive in {CONVERGE_LIMIT:?}");
    println!("{members} members alive everywhere after {:.1} s", t0.elapsed().as_secs_f64());
    let pid = agent.pid();
    let _ = load(&url, clients, 1.0); // warm-up
    let (mut rates, mut lat_all, mut rounds, mut bytes) = (Vec::new(), Vec::new(), Vec::new(), 0);
    let mut total_errors = 0;
    for round in 0..runs {
        let (b0, t0) = host_jiffies();
        let c0 = read_cpu(pid);
        let builds0 = builds_running(ours);
        let (count, errors, mut lat, body, wall) = load(&url, clients, secs as f64);
        let c1 = read_cpu(pid);
        let (b1, t1) = host_jiffies();
        let mut builds = builds_running(ours);
        builds.extend(builds0);
        builds.sort();
        builds.dedup();
        let (_, agent_cpu_s, _) = cpu_between(&c0, &c1);
        let rate = count as f64 / wall;
        lat.sort_by(f64::total_cmp);
        let (p50, p99) = (percentile(&lat, 50.0), percentile(&lat, 99.0));
        let host = Host { busy_pct: (b1 - b0) as f64 / (t1 - t0).max(1) as f64 * 100.0, builds };
        println!(
            "round {}: {rate:.0} req/s ({count} in {wall:.2} s, {errors} errors), p50 {p50:.3} ms, p99 {p99:.3} ms, agent CPU {:.2} cores; {}",
            round + 1,
            agent_cpu_s / wall,
            quiet_note(&host),
        );
        rounds.push(json!({
            "req_per_s": rate, "requests": count, "errors": errors, "p50_ms": p50, "p99_ms": p99,
            "agent_cores": agent_cpu_s / wall, "host_busy_pct": host.busy_pct, "builds": host.builds,
        }));
        rates.push(rate);
        lat_all.extend(lat);
        total_errors += errors;
        bytes = body;
    }
    let still = agent_members(&url);
    let still_alive = nodes.iter().filter(|x| alive(x) == members).count();
    drop(agent);
    for node in &nodes {
        node.shutdown();
    }
    lat_all.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&lat_all, 50.0), percentile(&lat_all, 99.0));
    let rate = support::median(&rates);
    println!("| GET /v1/members, {members} members, {clients} clients | value |\n|---|---|");
    println!("| requests per second, median of {runs} rounds | {rate:.0} |");
    println!("| latency p50 / p99, every request | {p50:.3} ms / {p99:.3} ms |");
    println!("| answer size | {bytes} bytes |");
    println!("| errors | {total_errors} |");
    println!(
        "after the load the agent saw {:?} (members, alive); {still_alive} of {} in-process nodes saw all alive",
        still,
        nodes.len()
    );
    json!({
        "members": members, "clients": clients, "secs": secs, "rounds_n": runs,
        "req_per_s": rate, "p50_ms": p50, "p99_ms": p99, "body_bytes": bytes, "errors": total_errors,
        "agent_after": still.map(|(n, a)| json!({"members": n, "alive": a})),
        "rounds": rounds,
    })
}

fn main() {
    if let Ok(spec) = std::env::var(BARE_ENV) {
        bare_node(&spec);
    }
    let n = env_u64("BENCH_NODES", 10).max(2) as usize;
    let settle = env_u64("BENCH_SETTLE_SECS", 10);
    let window = env_u64("BENCH_WINDOW_SECS", 30).max(1);
    let runs = env_u64("BENCH_RUNS", 3).max(1) as usize;
    let members = env_u64("BENCH_MEMBERS", 100).max(2) as usize;
    let clients = env_u64("BENCH_CLIENTS", 4).max(1) as usize;
    let http_secs = env_u64("BENCH_HTTP_SECS", 5).max(1);
    let part = std::env::var("BENCH_PART").unwrap_or_default();
    let lan = Config::lan();
    let machine = support::machine();
    println!("agent bench: machine {machine}");
    println!(
        "config: lan() timings (probe {:?}, gossip {:?} to {}, push-pull {:?}); idle: {n} nodes, settle {settle} s, window {window} s, {runs} runs each; http: {members} members, {clients} clients, {http_secs} s x {runs}",
        lan.probe_interval, lan.gossip_interval, lan.gossip_nodes, lan.push_pull_interval
    );
    println!("agent: {AGENT_BIN}");
    let ours = ancestors();
    let idle = (part.is_empty() || part == "idle").then(|| idle_part(n, settle, window, runs, &ours));
    let http = (part.is_empty() || part == "http").then(|| http_part(members, clients, http_secs, runs, &ours));
    let out = json!({
        "bench": "agent",
        "machine": machine,
        "timings": {
            "preset": "lan",
            "probe_interval_s": lan.probe_interval.as_secs_f64(),
            "gossip_interval_s": lan.gossip_interval.as_secs_f64(),
            "push_pull_interval_s": lan.push_pull_interval.as_secs_f64(),
        },
        "idle": idle,
        "http": http,
    });
    let text = out.to_string();
    println!("{text}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join("agent.json"), text + "\n");
    }
}
