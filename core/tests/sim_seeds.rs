//! Seeds that keep working, on the simulator (issue 16): any start order,
//! islands that merge, a seed restarted empty, a seed name with dead
//! addresses, and a whole cluster restarted from its peer files with the
//! seed down. `lan()` timings; seeds are literals, each test one seed.

use std::net::SocketAddr;
use std::time::Duration;

use rumour::proto::{MemberState, Rng};
use rumour::sim::{Sim, SimConfig};
use rumour::Config;

fn sim(nodes: usize, seeds: Vec<String>, seed: u64) -> Sim {
    let node_config = Config { enable_compression: false, seeds, ..Config::lan() };
    Sim::new(SimConfig { nodes, seed, node_config, autostart: false, ..SimConfig::default() })
}

fn addr(i: usize) -> String {
    Sim::address(i).to_string()
}

/// Whether the running nodes in `group` all see each other alive.
fn group_converged(sim: &Sim, group: &[usize]) -> bool {
    group.iter().all(|&o| group.iter().all(|&s| sim.view(o, s) == Some(MemberState::Alive)))
}

#[test]
fn fifty_nodes_started_in_random_order_with_the_seed_last_form_one_cluster() {
    let mut sim = sim(50, vec![addr(0)], 0x5EED_0016);
    let mut rng = Rng::new(16);
    let mut order: Vec<usize> = (1..50).collect();
    rng.shuffle(&mut order);
    // Nodes 1..49 start at random instants over 20 s; the seed at 20 s.
    let mut at: Vec<(Duration, usize)> =
        order.into_iter().map(|i| (Duration::from_millis(rng.below(20_000) as u64), i)).collect();
    at.sort();
    for (t, i) in at {
        sim.run_for(t.saturating_sub(sim.elapsed()));
        sim.start(i);
    }
    sim.run_for(Duration::from_secs(20).saturating_sub(sim.elapsed()));
    assert!(!sim.converged(), "nobody could have met before the seed");
    sim.start(0);
    let seed_started = sim.elapsed();
    assert!(sim.run_until(Duration::from_secs(30), |s| s.converged()), "one cluster");
    let took = sim.elapsed() - seed_started;
    println!("50 nodes, seed last: one cluster {took:?} after the seed started");
    assert!(took < Duration::from_secs(5), "{took:?}");
    for i in 0..50 {
        assert!(matches!(sim.node(i).unwrap().join_status(), rumour::proto::JoinStatus::Joined { .. }));
    }
    assert_eq!(sim.metrics().false_failures(), 0);
}

#[test]
fn two_islands_that_formed_apart_merge_within_one_push_pull_interval() {
    // Every node knows both seeds, 0 and 20; each island reaches only its own.
    let mut sim = sim(40, vec![addr(0), addr(20)], 0x1514);
    let (a, b): (Vec<usize>, Vec<usize>) = ((0..20).collect(), (20..40).collect());
    sim.partition(&[a.clone(), b.clone()]);
    for i in 0..40 {
        sim.start(i);
    }
    sim.run_for(Duration::from_secs(60));
    assert!(group_converged(&sim, &a) && group_converged(&sim, &b), "each island formed");
    assert!(!sim.converged());
    sim.heal();
    let healed = sim.elapsed();
    assert!(sim.run_until(Duration::from_secs(60), |s| s.converged()), "one cluster");
    let took = sim.elapsed() - healed;
    println!("two islands of 20: one cluster {took:?} after they could reach each other");
    assert!(took <= Config::lan().push_pull_interval, "{took:?}");
    sim.run_for(Duration::from_secs(30));
    assert!(sim.converged());
    assert_eq!(sim.metrics().false_failures(), 0, "{:?}", sim.metrics().false_verdicts());
    let pulls: u64 = (0..40).map(|i| sim.node(i).unwrap().stats().seed_push_pulls).sum();
    assert!(pulls > 0, "the merge came from gossip to seeds");
}

#[test]
fn islands_of_fifty_merge_with_no_straggler_left_to_the_periodic_push_pull() {
    // At 100 members the periodic push-pull comes every 90 s (scaled). A few
    // (node, member) pairs missed by the merge's alive rumours used to wait
    // for it: up to 55 s to see all. Catch-up pulls repair them seconds after.
    let mut worst = Duration::ZERO;
    for run in 0..4u64 {
        let mut sim = sim(100, vec![addr(0), addr(50)], 0x5050 + run);
        let (a, b): (Vec<usize>, Vec<usize>) = ((0..50).collect(), (50..100).collect());
        sim.partition(&[a.clone(), b.clone()]);
        for i in 0..100 {
            sim.start(i);
        }
        sim.run_for(Duration::from_secs(60));
        assert!(group_converged(&sim, &a) && group_converged(&sim, &b), "each island formed");
        // The heal falls at a different phase of the seed-gossip timers each run.
        let mut rng = Rng::new(run);
        sim.run_for(Duration::from_millis(rng.below(30_000) as u64));
        let pulls_before: u64 = (0..100).map(|i| sim.node(i).unwrap().stats().catch_up_pulls).sum();
        sim.heal();
        let healed = sim.elapsed();
        assert!(sim.run_until(Duration::from_secs(60), |s| s.converged()), "run {run}: one cluster");
        let took = sim.elapsed() - healed;
        sim.run_for(Duration::from_secs(10));
        let pulls: u64 = (0..100).map(|i| sim.node(i).unwrap().stats().catch_up_pulls).sum::<u64>() - pulls_before;
        println!("islands of 50, run {run}: one cluster {took:?} after the heal; {pulls} catch-up pulls in all");
        assert!(pulls >= 100, "every node learned 50 members at once, and pulled: {pulls}");
        assert_eq!(sim.metrics().false_failures(), 0, "{:?}", sim.metrics().false_verdicts());
        worst = worst.max(took);
    }
    assert!(worst < Duration::from_secs(10), "the slowest of 4 merges took {worst:?}");
}

#[test]
fn members_joining_one_at_a_time_cost_no_catch_up_pull() {
    let mut sim = sim(30, vec![addr(0)], 0x0_1A1);
    for i in 0..20 {
        sim.start(i);
    }
    assert!(sim.run_until(Duration::from_secs(30), |s| s.converged()));
    sim.run_for(Duration::from_secs(10));
    let pulls = |sim: &Sim| -> Vec<u64> { (0..20).map(|i| sim.node(i).unwrap().stats().catch_up_pulls).collect() };
    let before = pulls(&sim);
    // The start was a burst of joins at the seed; the joiners had the
    // table from their join and the resyncs after it, and pulled no more.
    assert!(before[0] >= 1 && before[1..].iter().all(|p| *p == 0), "{before:?}");
    // The steady state: one newcomer every 10 s.
    for i in 20..30 {
        sim.start(i);
        sim.run_for(Duration::from_secs(10));
    }
    assert!(sim.converged());
    assert_eq!(pulls(&sim), before, "single joins are left to gossip and the periodic push-pull");
}

#[test]
fn a_seed_restarted_empty_is_taken_back_and_nodes_that_joined_it_meanwhile_too() {
    let mut sim = sim(25, vec![addr(0)], 0xE0E0);
    for i in 0..20 {
        sim.start(i);
    }
    assert!(sim.run_until(Duration::from_secs(30), |s| s.converged()));
    sim.run_for(Duration::from_secs(10));
    sim.crash(0);
    sim.run_for(Duration::from_secs(3));
    sim.start(0); // empty: no peer file
                  // Newcomers join the restarted seed while the old members still run.
    for i in 20..25 {
        sim.start(i);
    }
    let restarted = sim.elapsed();
    assert!(sim.run_until(Duration::from_secs(30), |s| s.converged()), "one cluster");
    let took = sim.elapsed() - restarted;
    println!("seed restarted empty, 5 newcomers: one cluster {took:?} later");
    sim.run_for(Duration::from_secs(60));
    assert!(sim.converged());
    assert_eq!(sim.metrics().false_failures(), 0, "{:?}", sim.metrics().false_verdicts());
}

#[test]
fn a_seed_name_with_two_dead_addresses_of_three_is_joined_through_the_live_one() {
    let name = "seeds.sim:7946";
    let mut sim = sim(22, vec![name.to_string()], 0xD45);
    // Nodes 20 and 21 never start: their addresses are dead.
    let records: Vec<SocketAddr> = vec![Sim::address(20), Sim::address(0), Sim::address(21)];
    sim.set_dns(name, records);
    for i in 0..20 {
        sim.start(i);
    }
    let group: Vec<usize> = (0..20).collect();
    assert!(sim.run_until(Duration::from_secs(30), |s| group_converged(s, &group)));
    println!("seed name with 2 dead addresses of 3: 20 nodes converged at {:?}", sim.elapsed());
    // A name that stops resolving fails attempts, not nodes; the cluster stays.
    sim.set_dns(name, Vec::new());
    sim.run_for(Duration::from_secs(60));
    assert!(group_converged(&sim, &group));
    assert_eq!(sim.metrics().false_failures(), 0);
}

#[test]
fn a_cluster_restarted_with_its_seed_down_reforms_from_its_peer_files() {
    let node_config = Config { enable_compression: false, seeds: vec![addr(0)], ..Config::lan() };
    let cfg =
        SimConfig { nodes: 20, seed: 0xF11E, node_config, autostart: false, peer_files: true, ..SimConfig::default() };
    let mut sim = Sim::new(cfg);
    for i in 0..20 {
        sim.start(i);
    }
    assert!(sim.run_until(Duration::from_secs(30), |s| s.converged()));
    sim.run_for(Duration::from_secs(10));
    let incarnations: Vec<u32> = (0..20).map(|i| sim.node(i).unwrap().local().incarnation).collect();
    for i in 0..20 {
        sim.crash(i);
    }
    sim.run_for(Duration::from_secs(5));
    // Everyone but the seed comes back.
    for i in 1..20 {
        sim.start(i);
    }
    let restarted = sim.elapsed();
    let group: Vec<usize> = (1..20).collect();
    assert!(sim.run_until(Duration::from_secs(30), |s| group_converged(s, &group)), "re-formed without the seed");
    println!("19 nodes restarted with the seed down: one cluster {:?} later", sim.elapsed() - restarted);
    for (i, old) in incarnations.iter().enumerate().skip(1) {
        assert!(sim.node(i).unwrap().local().incarnation > *old, "node {i} starts above its old incarnation");
    }
    // When the seed returns (empty), it is taken back too.
    sim.start(0);
    assert!(sim.run_until(Duration::from_secs(30), |s| s.converged()));
}
