//! A cold start of N real nodes in one process on 127.0.0.1 (issue 21):
//! every node has node 0 as its configured seed (`Config::lan()`), and all
//! start at once. Prints when each node first saw all N (median, 90th
//! percentile, slowest), and what held the slow ones back: node 0's
//! refused, evicted and silent streams, and the joiners' join attempts.
//!
//! `cargo run --release -p rumour --example cold_start -- 500`

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumour::{Config, Event, Node};

/// Counts a node's joined members from its events and notes the moment it
/// has all of them (polling `stats()` of hundreds of nodes would itself
/// take seconds on a loaded machine).
fn watcher(n: usize, started: Instant, full_at: Arc<Mutex<Vec<Option<Duration>>>>, i: usize) -> impl Fn(&Event) {
    let seen = AtomicUsize::new(1);
    move |e: &Event| {
        if let Event::MemberJoined(_) = e {
            if seen.fetch_add(1, Ordering::Relaxed) + 1 == n {
                full_at.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(started.elapsed());
            }
        }
    }
}

fn config(i: usize, seeds: Vec<String>) -> Config {
    Config { name: format!("n{i}"), bind: "127.0.0.1:0".into(), seeds, ..Config::lan() }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(500), |a| a.parse())?;
    let limit = Duration::from_secs(60);
    let full_at = Arc::new(Mutex::new(vec![None; n]));
    let started = Instant::now();
    let seed = Node::start_with_callback(config(0, Vec::new()), watcher(n, started, full_at.clone(), 0))?;
    let seed_addr: SocketAddr = seed.addr();
    let mut nodes = vec![seed];
    for i in 1..n {
        let seeds = vec![seed_addr.to_string()];
        nodes.push(Node::start_with_callback(config(i, seeds), watcher(n, started, full_at.clone(), i))?);
    }
    let all_started = started.elapsed();
    let done = || full_at.lock().unwrap_or_else(|p| p.into_inner()).iter().all(Option::is_some);
    while started.elapsed() < limit && !done() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let full_at = full_at.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut times: Vec<f64> = full_at.iter().flatten().map(Duration::as_secs_f64).collect();
    times.sort_by(f64::total_cmp);
    let q = |p: f64| times.get(((times.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN);
    println!(
        "cold start of {n} nodes in one process (lan(), seeded with node 0): {} of {n} saw all {n} within {:.0} s; \
         started all in {:.2} s; all see all after median {:.2} s, p90 {:.2} s, slowest {:.2} s",
        times.len(),
        limit.as_secs_f64(),
        all_started.as_secs_f64(),
        q(0.5),
        q(0.9),
        q(1.0)
    );
    let s0 = nodes[0].stats()?;
    println!(
        "node 0: streams accepted {}, refused {}, evicted {}, silent {}, timed out {}, failed {}",
        s0.proto.streams_accepted,
        s0.streams_refused,
        s0.streams_evicted,
        s0.streams_silent,
        s0.streams_timed_out,
        s0.streams_failed
    );
    let attempts: Vec<u64> = nodes[1..].iter().map(|node| node.stats().map_or(0, |s| s.proto.join_attempts)).collect();
    let retried = attempts.iter().filter(|&&a| a > 1).count();
    println!(
        "joiners: {retried} of {} needed more than one join attempt; most attempts {}",
        n - 1,
        attempts.iter().max().copied().unwrap_or(0)
    );
    for node in &nodes {
        node.shutdown();
    }
    Ok(())
}
