//! The protocol end to end, on the simulator: real `proto` code, real wire
//! codec, virtual time. Seeds are literals; every run replays exactly.

use std::time::Duration;

use rumour::sim::{Latency, Sim, SimConfig};
use rumour::{Config, MemberState};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn cluster(nodes: usize, seed: u64) -> Sim {
    Sim::new(SimConfig { nodes, seed, ..SimConfig::default() })
}

#[test]
fn ten_nodes_joining_through_one_seed_converge() {
    let mut sim = cluster(10, 1);
    assert!(sim.run_until(secs(10), Sim::converged), "not converged after 10 s");
    assert_eq!(sim.node(7).unwrap().num_members(), 10);
}

#[test]
fn fifty_nodes_converge_and_stay_free_of_false_suspicion() {
    let mut sim = cluster(50, 2);
    assert!(sim.run_until(secs(20), Sim::converged));
    sim.run_for(secs(60));
    assert!(sim.converged());
    assert_eq!(sim.metrics().false_suspicions(), 0);
    assert_eq!(sim.metrics().false_failures(), 0);
}

#[test]
fn a_crash_is_detected_by_every_survivor_within_the_suspicion_bounds() {
    let mut sim = cluster(20, 3);
    assert!(sim.run_until(secs(10), Sim::converged));
    sim.crash(5);
    sim.run_for(secs(60));
    let detections = sim.metrics().detections_of("node-5");
    assert_eq!(detections.len(), 19, "every survivor declares it failed");
    // LAN, n=20: suspicion min = 4 * log10(20) * 1 s = 5.2 s, max 31.2 s; the
    // first probe comes within a round of 19 probes.
    let latest = detections.iter().map(|d| d.1).max().unwrap();
    assert!(latest < secs(19 + 32), "slowest detection took {latest:?}");
    for i in (0..20).filter(|&i| i != 5) {
        // Dead, or already forgotten after gossip_to_the_dead_time (30 s).
        assert!(matches!(sim.view(i, 5), Some(MemberState::Dead) | None), "node {i}: {:?}", sim.view(i, 5));
    }
    assert_eq!(sim.metrics().false_failures(), 0);
}

#[test]
fn a_graceful_leave_is_seen_as_left_not_failed() {
    let mut sim = cluster(10, 4);
    assert!(sim.run_until(secs(10), Sim::converged));
    sim.leave(2);
    sim.run_for(secs(5));
    assert!(sim.node(2).unwrap().leave_broadcast_done());
    for i in (0..10).filter(|&i| i != 2) {
        assert_eq!(sim.view(i, 2), Some(MemberState::Left), "node {i}");
    }
    assert_eq!(sim.metrics().leaves_seen(), 9);
    assert_eq!(sim.metrics().false_failures(), 0);
}

#[test]
fn a_node_restarted_under_its_name_rejoins_and_wins_over_its_old_incarnation() {
    let mut sim = cluster(10, 5);
    assert!(sim.run_until(secs(10), Sim::converged));
    sim.crash(4);
    sim.run_for(secs(40));
    assert_eq!(sim.view(0, 4), Some(MemberState::Dead));
    sim.restart(4, 0);
    assert!(sim.run_until(secs(20), Sim::converged), "restarted node not accepted everywhere");
    let inc = sim.node(4).unwrap().local().incarnation;
    assert!(inc > 1, "it had to refute its death with a higher incarnation, has {inc}");
}

#[test]
fn metadata_updates_reach_every_node() {
    let mut sim = cluster(30, 6);
    assert!(sim.run_until(secs(15), Sim::converged));
    sim.set_meta(9, b"role=db").unwrap();
    sim.run_for(secs(5));
    let spread = sim.metrics().update_spread("node-9").unwrap();
    assert!(spread.iter().all(Option::is_some), "{spread:?}");
    for i in 0..30 {
        assert_eq!(sim.node(i).unwrap().member("node-9").unwrap().meta, b"role=db");
    }
}

#[test]
fn a_broadcast_reaches_every_other_node_exactly_once() {
    let mut sim = cluster(40, 7);
    assert!(sim.run_until(secs(15), Sim::converged));
    sim.broadcast(11, b"cache-invalidate:users").unwrap();
    sim.run_for(secs(10));
    let deliveries = sim.metrics().broadcast_deliveries(b"cache-invalidate:users").unwrap();
    for (i, &d) in deliveries.iter().enumerate() {
        assert_eq!(d, u32::from(i != 11), "node {i} delivered it {d} times");
    }
}

#[test]
fn a_brief_partition_heals_by_itself_through_refutation() {
    // Shorter than gossip_to_the_dead_time: members declared dead during the
    // partition still receive gossip, learn of their death and refute it.
    let mut sim = cluster(12, 8);
    assert!(sim.run_until(secs(10), Sim::converged));
    sim.partition(&[(0..6).collect(), (6..12).collect()]);
    sim.run_for(secs(3));
    sim.heal();
    assert!(sim.run_until(secs(30), Sim::converged), "did not re-converge after a 3 s partition");
    assert!(sim.metrics().false_suspicions() > 0, "the partition should have raised suspicions");
}

#[test]
fn after_a_long_partition_a_join_across_it_merges_the_two_sides() {
    let mut sim = cluster(12, 8);
    assert!(sim.run_until(secs(10), Sim::converged));
    sim.partition(&[(0..6).collect(), (6..12).collect()]);
    sim.run_for(secs(60));
    assert!(matches!(sim.view(0, 9), Some(MemberState::Dead) | None), "each side gave the other up");
    sim.heal();
    sim.join(0, 9);
    assert!(sim.run_until(secs(60), Sim::converged), "did not re-converge after the join");
}

#[test]
fn every_layer_on_encryption_compression_label_still_converges_and_detects() {
    let node_config = Config {
        keys: vec![vec![7; 32]],
        label: "sim".into(),
        enable_compression: true,
        protocol_version: 5,
        ..Config::lan()
    };
    let mut sim = Sim::new(SimConfig { nodes: 10, seed: 9, node_config, ..SimConfig::default() });
    assert!(sim.run_until(secs(10), Sim::converged));
    sim.crash(3);
    sim.run_for(secs(40));
    assert_eq!(sim.metrics().detections_of("node-3").len(), 9);
}

#[test]
fn ten_percent_loss_causes_no_false_failures_in_a_minute() {
    let mut sim = Sim::new(SimConfig { nodes: 20, seed: 10, loss: 0.10, ..SimConfig::default() });
    assert!(sim.run_until(secs(30), Sim::converged));
    sim.run_for(secs(60));
    assert_eq!(sim.metrics().false_failures(), 0);
}

#[test]
fn the_same_seed_replays_the_same_run() {
    let run = |seed| {
        let mut sim = Sim::new(SimConfig {
            nodes: 15,
            seed,
            loss: 0.05,
            latency: Latency::Uniform { min: Duration::from_millis(1), max: Duration::from_millis(20) },
            ..SimConfig::default()
        });
        sim.run_for(secs(10));
        sim.crash(3);
        sim.run_for(secs(30));
        let bytes: Vec<u64> = (0..15).map(|i| sim.metrics().bytes_sent(i)).collect();
        (bytes, sim.metrics().detections_of("node-3").to_vec())
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42).0, run(43).0);
}

#[test]
fn a_partition_whose_sides_declared_each_other_failed_heals_by_itself() {
    // memberlist issue 222: once both sides have declared the other failed
    // and forgotten it, nothing ever reconnects them. rumour nodes keep
    // trying members they declared failed (Config::reconnect_timeout).
    let mut sim = Sim::new(SimConfig { nodes: 12, seed: 222, ..SimConfig::default() });
    assert!(sim.run_until(Duration::from_secs(30), Sim::converged));
    sim.partition(&[(0..6).collect(), (6..12).collect()]);
    sim.run_for(Duration::from_secs(120));
    let forgotten = sim.node(0).expect("running").member("node-11").is_none();
    assert!(forgotten, "node-0 declared node-11 failed and forgot it");
    sim.heal();
    let healed_at = sim.elapsed();
    assert!(sim.run_until(Duration::from_secs(120), Sim::converged), "whole again without anyone joining");
    let took = sim.elapsed() - healed_at;
    eprintln!("partition healed by itself in {took:?}");
    assert!(took <= Duration::from_secs(60), "within two push-pull intervals: {took:?}");
    let attempts: u64 = (0..12).filter_map(|i| sim.node(i)).map(|p| p.stats().reconnect_attempts).sum();
    assert!(attempts > 0);
}

#[test]
fn a_failure_verdict_reaches_every_survivor_within_a_gossip_interval_of_the_first() {
    // Issue 3's benchmark setting: N=100, lan(), ten crashes one at a time.
    // With `Experiment::prompt_gossip` (the default, set here all the same
    // because this test is about it) a node that learns a verdict gossips it
    // at once, so the last survivor
    // hears of it a few network delays after the first verdict, not several
    // gossip ticks (200 ms each) later: with memberlist's pacing the spread
    // is 0.24 to 0.56 s (median 0.36 s) over 100 such crashes.
    let n = 100;
    let mut node_config = SimConfig::default().node_config;
    node_config.experiment.prompt_gossip = true;
    let mut sim =
        Sim::new(SimConfig { nodes: n, seed: 33, converged_start: true, node_config, ..SimConfig::default() });
    sim.run_for(secs(20));
    let prompt_packets =
        |sim: &Sim| (0..n).filter_map(|i| sim.node(i)).map(|p| p.stats().prompt_gossip_packets).sum::<u64>();
    let mut spreads = Vec::new();
    for c in 0..10 {
        let victim = n - 1 - c * 3;
        let survivors = n - 1 - c;
        let before = prompt_packets(&sim);
        sim.crash(victim);
        let name = sim.name(victim).to_string();
        let all = sim.run_until(secs(60), |s| s.metrics().detections_of(&name).len() == survivors);
        assert!(all, "crash of {name} not detected by every survivor in 60 s");
        let times: Vec<Duration> = sim.metrics().detections_of(&name).iter().map(|d| d.1).collect();
        let (first, last) = (*times.iter().min().unwrap(), *times.iter().max().unwrap());
        spreads.push(last - first);
        // Each survivor runs one extra round per verdict: at most gossip_nodes packets.
        sim.run_for(secs(5));
        let extra = prompt_packets(&sim) - before;
        assert!(extra <= 3 * survivors as u64, "{extra} prompt packets for one verdict");
        eprintln!("crash of {name}: first verdict {first:?}, last {last:?}, {extra} prompt packets");
    }
    spreads.sort();
    eprintln!("spreads from the first verdict to the last: {spreads:?}");
    assert!(spreads[5] <= Duration::from_millis(200), "median spread {:?}", spreads[5]);
    assert!(spreads[9] <= Duration::from_millis(400), "largest spread {:?}", spreads[9]);
    assert_eq!(sim.metrics().false_failures(), 0);
}

#[allow(dead_code)] // the example's `main` is not used here
#[path = "../examples/partition_false_failures.rs"]
mod partition_false_failures;

#[test]
fn a_short_partition_leaves_no_false_failures_among_the_majority() {
    // The soak's false failures: a node cut off for a few seconds kept a
    // suspicion of a majority node after the heal, and the rest heard of it
    // only just before its verdict, too late for the member to refute.
    // Without the rule for such verdicts in `dead_node`, seeds 1 to 40 of
    // this scenario gave 3 partitions with false failures (66 verdicts).
    let mut bad = Vec::new();
    for seed in 1..=40 {
        let outcome = partition_false_failures::short_partition(seed, &[]);
        if outcome.false_verdicts > 0 {
            bad.push((seed, outcome.false_verdicts, outcome.subjects));
        }
    }
    assert!(bad.is_empty(), "false failures among the majority (seed, verdicts, members): {bad:?}");
}

#[test]
fn digests_agree_exactly_when_the_cluster_does() {
    use rumour::Lifetime;
    let mut sim = cluster(20, 19);
    assert!(sim.run_until(secs(10), |s| s.converged() && s.digests_agree()));
    let before = sim.node(0).unwrap().digest();
    // A write changes the writer's digest at once, everyone's once it spread.
    sim.put(3, "k", b"v", Lifetime::UntilDeleted).expect("write");
    assert!(!sim.digests_agree(), "only the writer has it yet");
    assert!(sim.run_until(secs(10), Sim::digests_agree));
    assert_ne!(sim.node(0).unwrap().digest(), before);
    // A crash: the digests differ while the news spreads, agree while
    // every survivor suspects it (same state, same incarnation), and agree
    // again once every survivor counts it out.
    sim.crash(7);
    assert!(sim.run_until(secs(5), |s| !s.digests_agree()), "the survivors disagree at first");
    let gone = |s: &Sim| s.node(0).unwrap().members().iter().all(|m| &*m.name != "node-7");
    assert!(sim.run_until(secs(60), |s| gone(s) && s.digests_agree()));
    assert_eq!(sim.node(0).unwrap().digest().to_string().len(), 16);
}
