//! A 20-node cluster on the deterministic simulator, narrated: joins,
//! a metadata update, a broadcast, a crash (suspect, then failed), a
//! graceful leave, and the crashed node restarting under its name.
//!
//! Run: `make demo` (or `cargo run -p rumour --example simulated_cluster`).

use std::time::Duration;

use rumour::sim::{Sim, SimConfig};
use rumour::MemberState;

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let nodes = 20;
    let mut sim = Sim::new(SimConfig { nodes, seed: 2026, ..SimConfig::default() });
    println!("rumour demo: {nodes} simulated nodes, memberlist LAN timings, 1-5 ms links, seed 2026\n");

    let joined = sim.run_until(Duration::from_secs(30), Sim::converged);
    println!("[{:>7}] all {nodes} nodes joined through node-0 and see each other: {joined}", ms(sim.elapsed()));

    sim.set_meta(7, b"role=db").expect("metadata fits");
    sim.run_for(Duration::from_secs(3));
    let spread = sim.metrics().update_spread("node-7").unwrap();
    let slowest = spread.iter().flatten().max().unwrap();
    println!(
        "[{:>7}] node-7 set its metadata to role=db; every node saw it within {}",
        ms(sim.elapsed()),
        ms(*slowest)
    );

    sim.broadcast(3, b"cache-invalidate users:42").expect("fits in a packet");
    sim.run_for(Duration::from_secs(3));
    let deliveries = sim.metrics().broadcast_deliveries(b"cache-invalidate users:42").unwrap();
    let got = deliveries.iter().filter(|&&d| d == 1).count();
    let spread = sim.metrics().broadcast_spread(b"cache-invalidate users:42").unwrap();
    let slowest = spread.iter().flatten().max().unwrap();
    println!("[{:>7}] node-3 broadcast \"cache-invalidate users:42\": {got} of {} other nodes got it exactly once, the last after {}", ms(sim.elapsed()), nodes - 1, ms(*slowest));

    sim.crash(12);
    println!("[{:>7}] node-12 crashed without a word", ms(sim.elapsed()));
    let suspected = sim.run_until(Duration::from_secs(30), |s| {
        (0..nodes).filter(|&i| i != 12).any(|i| s.view(i, 12) == Some(MemberState::Suspect))
    });
    println!("[{:>7}] node-12 is suspected: {suspected}", ms(sim.elapsed()));
    sim.run_until(Duration::from_secs(60), |s| s.metrics().detections_of("node-12").len() == nodes - 1);
    let d = sim.metrics().detections_of("node-12");
    let first = d.iter().map(|x| x.1).min().unwrap();
    let last = d.iter().map(|x| x.1).max().unwrap();
    println!(
        "[{:>7}] all {} survivors declared node-12 failed, {} to {} after the crash",
        ms(sim.elapsed()),
        d.len(),
        ms(first),
        ms(last)
    );

    sim.leave(5);
    sim.run_for(Duration::from_secs(3));
    let left = (0..nodes).filter(|&i| i != 5 && i != 12).filter(|&i| sim.view(i, 5) == Some(MemberState::Left)).count();
    println!("[{:>7}] node-5 left gracefully; {left} nodes list it as left (not failed)", ms(sim.elapsed()));

    sim.restart(12, 0);
    let back = sim.run_until(Duration::from_secs(30), |s| {
        (0..nodes).filter(|&i| i != 5 && i != 12).all(|i| s.view(i, 12) == Some(MemberState::Alive))
    });
    let inc = sim.node(12).unwrap().local().incarnation;
    println!(
        "[{:>7}] node-12 restarted under its name and rejoined: {back} (refuted its death at incarnation {inc})",
        ms(sim.elapsed())
    );
    println!(
        "\nfalse suspicions: {}, false failures: {}",
        sim.metrics().false_suspicions(),
        sim.metrics().false_failures()
    );
}
