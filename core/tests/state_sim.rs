//! The replicated map in the simulator: convergence of concurrent writes,
//! partitions and their healing, deletes that stay deleted, a node away past
//! the tombstone grace, ephemeral and TTL keys, bounds, large values, and
//! the cost of anti-entropy between replicas that agree.

use std::time::Duration;

use rumour::proto::{Config, Lifetime, MemberState, StateConfig, StateError, MAX_KEY_BYTES};
use rumour::sim::{Sim, SimConfig};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn cluster(nodes: usize, seed: u64, state: StateConfig) -> Sim {
    let node_config = Config { enable_compression: false, state, ..Config::lan() };
    let mut sim = Sim::new(SimConfig { nodes, seed, node_config, ..SimConfig::default() });
    assert!(sim.run_until(secs(30), Sim::converged), "the cluster forms");
    sim
}

/// The value of `key` at every running node.
fn values(sim: &Sim, key: &str) -> Vec<Option<Vec<u8>>> {
    (0..sim.len()).filter_map(|i| sim.node(i)).map(|p| p.state_get(key).map(|e| e.value)).collect()
}

fn everywhere(sim: &Sim, key: &str, want: Option<&[u8]>) -> bool {
    values(sim, key).iter().all(|v| v.as_deref() == want)
}

#[test]
fn a_put_reaches_every_node_and_a_delete_follows() {
    let mut sim = cluster(20, 1, StateConfig::default());
    sim.put(3, "config/flag", b"on", Lifetime::UntilDeleted).expect("valid write");
    assert!(sim.run_until(secs(5), |s| everywhere(s, "config/flag", Some(b"on"))), "{:?}", values(&sim, "config/flag"));
    let entry = sim.node(7).and_then(|p| p.state_get("config/flag")).expect("replicated");
    assert_eq!(entry.writer, "node-3");
    assert!(sim.state_agrees());
    assert!(sim.delete(9, "config/flag").expect("valid delete").is_some());
    assert!(sim.run_until(secs(5), |s| everywhere(s, "config/flag", None)), "{:?}", values(&sim, "config/flag"));
    assert_eq!(sim.delete(9, "config/flag"), Ok(None), "deleting a deleted key writes nothing");
    assert!(sim.state_agrees());
}

#[test]
fn concurrent_writes_to_one_key_converge_to_one_winner() {
    let mut sim = cluster(12, 2, StateConfig::default());
    for i in 0..12 {
        sim.put(i, "leader", format!("node-{i}").as_bytes(), Lifetime::UntilDeleted).expect("valid write");
    }
    let agreed = sim.run_until(secs(60), |s| {
        let v = values(s, "leader");
        v.iter().all(|x| x == &v[0]) && s.state_agrees()
    });
    assert!(agreed, "{:?}", values(&sim, "leader"));
    // The winner is the greatest (timestamp, writer) among the writes.
    let winner = sim.node(0).and_then(|p| p.state_get("leader")).expect("a value");
    assert_eq!(winner.value, winner.writer.as_bytes());
}

#[test]
fn writes_on_both_sides_of_a_partition_converge_after_it_heals() {
    let mut sim = cluster(10, 3, StateConfig::default());
    sim.put(0, "k", b"before", Lifetime::UntilDeleted).expect("write");
    assert!(sim.run_until(secs(5), |s| everywhere(s, "k", Some(b"before"))));
    sim.partition(&[(0..5).collect(), (5..10).collect()]);
    sim.put(1, "k", b"left side", Lifetime::UntilDeleted).expect("write");
    sim.run_for(Duration::from_millis(1));
    sim.put(6, "k", b"right side", Lifetime::UntilDeleted).expect("write");
    for i in 0..50 {
        sim.put(i % 10, &format!("side/{}", i % 10), format!("{i}").as_bytes(), Lifetime::UntilDeleted).expect("write");
    }
    sim.run_for(secs(5));
    assert_eq!(values(&sim, "k")[0].as_deref(), Some(&b"left side"[..]));
    assert_eq!(values(&sim, "k")[9].as_deref(), Some(&b"right side"[..]));
    sim.heal();
    // Each side declared the other failed; a node rejoins across, as an
    // operator or a reconnect loop would.
    sim.run_for(secs(60));
    sim.join(5, 0);
    let healed = sim.run_until(secs(120), |s| s.converged() && s.state_agrees());
    assert!(healed, "every replica agrees after the heal");
    assert!(everywhere(&sim, "k", Some(b"right side")), "the later write wins: {:?}", values(&sim, "k"));
    for i in 0..10 {
        assert!(values(&sim, &format!("side/{i}")).iter().all(Option::is_some));
    }
}

#[test]
fn a_delete_made_during_a_partition_is_not_undone_by_the_heal() {
    let mut sim = cluster(8, 4, StateConfig::default());
    sim.put(2, "doomed", b"x", Lifetime::UntilDeleted).expect("write");
    assert!(sim.run_until(secs(5), |s| everywhere(s, "doomed", Some(b"x"))));
    sim.partition(&[(0..4).collect(), (4..8).collect()]);
    sim.delete(1, "doomed").expect("delete");
    sim.run_for(secs(60));
    assert!(values(&sim, "doomed")[7].is_some(), "the other side still has it");
    sim.heal();
    sim.join(4, 0);
    assert!(sim.run_until(secs(120), |s| s.converged() && s.state_agrees()));
    assert!(everywhere(&sim, "doomed", None), "{:?}", values(&sim, "doomed"));
}

#[test]
fn a_node_away_past_the_grace_period_resyncs_instead_of_resurrecting() {
    let grace = secs(60);
    let mut sim = cluster(6, 5, StateConfig { tombstone_grace: grace, ..StateConfig::default() });
    sim.put(0, "old", b"1", Lifetime::UntilDeleted).expect("write");
    sim.put(0, "kept", b"2", Lifetime::UntilDeleted).expect("write");
    assert!(sim.run_until(secs(5), |s| everywhere(s, "old", Some(b"1")) && s.state_agrees()));
    // Node 5 goes away; the others delete a key and, after the grace
    // period, forget the tombstone.
    sim.partition(&[(0..5).collect(), vec![5]]);
    sim.delete(1, "old").expect("delete");
    sim.run_for(grace + secs(30));
    let majority = sim.node(0).expect("running").state_summary();
    assert_eq!(majority.tombstones, 0, "the tombstone was collected");
    assert!(majority.horizon.0 > 0);
    assert!(sim.node(5).and_then(|p| p.state_get("old")).is_some(), "the absent node still holds the key");
    sim.heal();
    sim.join(5, 0);
    assert!(sim.run_until(secs(120), |s| s.converged() && s.state_agrees()), "replicas agree again");
    assert!(everywhere(&sim, "old", None), "not resurrected: {:?}", values(&sim, "old"));
    assert!(everywhere(&sim, "kept", Some(b"2")));
    assert!(sim.node(5).expect("running").stats().state_dropped_stale >= 1);
}

#[test]
fn ephemeral_keys_vanish_when_their_owner_fails_or_leaves() {
    let mut sim = cluster(8, 6, StateConfig::default());
    sim.put(3, "svc/a", b"3", Lifetime::Ephemeral).expect("write");
    sim.put(4, "svc/b", b"4", Lifetime::Ephemeral).expect("write");
    sim.put(4, "plain", b"4", Lifetime::UntilDeleted).expect("write");
    assert!(sim.run_until(secs(5), |s| everywhere(s, "svc/a", Some(b"3")) && everywhere(s, "svc/b", Some(b"4"))));
    let entry = sim.node(0).and_then(|p| p.state_get("svc/a")).expect("replicated");
    assert!(entry.ephemeral);
    sim.crash(3);
    assert!(sim.run_until(secs(60), |s| everywhere(s, "svc/a", None)), "{:?}", values(&sim, "svc/a"));
    sim.leave(4);
    let others = |s: &Sim, key: &str, want: Option<&[u8]>| {
        (0..8)
            .filter(|&i| i != 3 && i != 4)
            .all(|i| s.node(i).and_then(|p| p.state_get(key)).map(|e| e.value).as_deref() == want)
    };
    // A leave is one rumour: now and then (about once in 200 node-leaves
    // at this size) a node misses it and learns it at its next push-pull.
    assert!(sim.run_until(secs(35), |s| others(s, "svc/b", None)), "gone when its owner left");
    for i in (0..8).filter(|&i| i != 3 && i != 4) {
        assert_eq!(sim.view(i, 4), Some(MemberState::Left), "node {i} saw the owner leave, not fail");
    }
    assert!(others(&sim, "plain", Some(b"4")), "a plain key outlives its writer");
}

#[test]
fn an_owner_alive_again_reclaims_its_ephemeral_key() {
    let mut sim = cluster(6, 7, StateConfig::default());
    sim.put(2, "svc/x", b"here", Lifetime::Ephemeral).expect("write");
    assert!(sim.run_until(secs(5), |s| everywhere(s, "svc/x", Some(b"here"))));
    // Cut off long enough to be declared failed, then back.
    sim.partition(&[vec![2]]);
    assert!(sim.run_until(secs(60), |s| s.node(0).and_then(|p| p.state_get("svc/x")).is_none()), "reaped");
    sim.heal();
    sim.join(2, 0);
    let back = sim.run_until(secs(120), |s| s.converged() && everywhere(s, "svc/x", Some(b"here")) && s.state_agrees());
    assert!(back, "{:?}", values(&sim, "svc/x"));
}

#[test]
fn ttl_keys_expire_everywhere() {
    let mut sim = cluster(6, 8, StateConfig::default());
    let written = sim.elapsed();
    sim.put(1, "lease", b"x", Lifetime::Ttl(secs(10))).expect("write");
    assert!(sim.run_until(secs(5), |s| everywhere(s, "lease", Some(b"x"))));
    let expiry = sim.node(4).and_then(|p| p.state_get("lease")).and_then(|e| e.expires_unix_ms);
    assert!(expiry.is_some());
    sim.run_for(written + secs(9) - sim.elapsed());
    assert!(everywhere(&sim, "lease", Some(b"x")), "not before its time");
    sim.run_for(secs(2));
    assert!(everywhere(&sim, "lease", None));
    assert!(sim.state_agrees(), "every node turned it into the same tombstone");
    assert_eq!(sim.put(1, "lease", b"x", Lifetime::Ttl(Duration::ZERO)), Err(StateError::ZeroTtl));
}

#[test]
fn bad_writes_get_typed_errors_and_change_nothing() {
    let state = StateConfig { max_value_bytes: 100, max_entries: 3, max_bytes: 270, ..StateConfig::default() };
    let mut sim = cluster(3, 9, state);
    assert_eq!(sim.put(0, "", b"v", Lifetime::UntilDeleted), Err(StateError::EmptyKey));
    let long = "k".repeat(MAX_KEY_BYTES + 1);
    assert_eq!(
        sim.put(0, &long, b"v", Lifetime::UntilDeleted),
        Err(StateError::KeyTooLong { len: MAX_KEY_BYTES + 1, limit: MAX_KEY_BYTES })
    );
    assert_eq!(
        sim.put(0, "big", &[0; 101], Lifetime::UntilDeleted),
        Err(StateError::ValueTooLarge { len: 101, limit: 100 })
    );
    for k in ["a", "b", "c"] {
        sim.put(0, k, &[1; 80], Lifetime::UntilDeleted).expect("within bounds");
    }
    assert_eq!(sim.put(0, "d", b"v", Lifetime::UntilDeleted), Err(StateError::TooManyEntries { limit: 3 }));
    assert_eq!(
        sim.put(0, "a", &[1; 100], Lifetime::UntilDeleted),
        Err(StateError::TooManyBytes { would_be: 281, limit: 270 })
    );
    assert_eq!(sim.node(0).expect("running").state_entries("").len(), 3);
    sim.leave(2);
    assert_eq!(sim.put(2, "x", b"v", Lifetime::UntilDeleted), Err(StateError::Left));
}

#[test]
fn values_too_large_for_a_packet_travel_over_streams() {
    let mut sim = cluster(10, 10, StateConfig::default());
    let big = vec![7u8; 20_000];
    sim.put(4, "blob", &big, Lifetime::UntilDeleted).expect("write");
    assert!(sim.run_until(secs(120), |s| everywhere(s, "blob", Some(&big))), "every node has the blob");
}

#[test]
fn anti_entropy_repairs_writes_the_rumours_missed() {
    let mut sim = cluster(10, 11, StateConfig::default());
    // Every packet lost for a moment: the rumours die, members stay alive.
    sim.set_loss(1.0);
    for i in 0..40 {
        sim.put(i % 10, &format!("lost/{i}"), b"v", Lifetime::UntilDeleted).expect("write");
    }
    // Long enough for every rumour to use up its retransmissions.
    sim.run_for(secs(5));
    sim.set_loss(0.0);
    assert!(sim.run_until(secs(60), Sim::state_agrees), "push-pull repaired the replicas");
    // No rumour got through, so each key reached the 9 other nodes by
    // anti-entropy (streams are not lost in the simulator).
    let repaired: u64 = (0..10).filter_map(|i| sim.node(i)).map(|p| p.stats().state_repaired).sum();
    assert!(repaired >= 40 * 9, "repaired {repaired} entries");
    assert!((0..40).all(|i| values(&sim, &format!("lost/{i}")).iter().all(Option::is_some)));
}

#[test]
fn replicas_in_agreement_exchange_a_summary_of_constant_size() {
    let mut sim = cluster(2, 12, StateConfig::default());
    sim.with_node(0, |p, now| {
        for i in 0..20_000 {
            p.state_put(&format!("key/{i:06}"), &[i as u8; 32], Lifetime::UntilDeleted, now).expect("write");
        }
    });
    assert!(sim.run_until(secs(120), Sim::state_agrees), "the second node catches up");
    let sync_bytes =
        |s: &Sim| s.node(0).expect("up").stats().state_sync_bytes + s.node(1).expect("up").stats().state_sync_bytes;
    let before = sync_bytes(&sim);
    // Both nodes push-pull every 30 s in lan(); over 90 s they agree all along.
    sim.run_for(secs(90));
    assert!(sync_bytes(&sim) > before, "the nodes kept exchanging summaries");
    let exchanges = 90 / 30 * 2;
    let per_exchange = (sync_bytes(&sim) - before) / exchanges;
    assert!(per_exchange < 4096, "{per_exchange} bytes per exchange");
    assert!(sim.state_agrees());
}
