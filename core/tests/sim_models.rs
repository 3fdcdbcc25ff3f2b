//! The simulator's network, churn and workload models and its event log
//! (issue 20). Seeds are literals; every run replays exactly.

use std::collections::HashMap;
use std::time::Duration;

use rumour::sim::{
    Bandwidth, Change, Churn, Fate, Latency, Link, MessageType, Recording, Sim, SimConfig, SimError, Workload,
    WorkloadKind, Zone,
};
use rumour::Config;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

fn everything() -> Recording {
    Recording { membership: true, state: true, messages: true, traffic: true }
}

/// Nine nodes in three zones of three, 1 ms inside a zone and `wan` between.
fn three_zones(wan: Latency, record: Recording) -> SimConfig {
    let zones = ["eu", "us", "ap"]
        .iter()
        .enumerate()
        .map(|(z, name)| Zone { name: name.to_string(), nodes: (z * 3..z * 3 + 3).collect() })
        .collect();
    let wan = Link { latency: wan, loss: 0.0 };
    SimConfig {
        nodes: 9,
        seed: 20,
        converged_start: true,
        latency: Latency::Fixed(ms(1)),
        zones,
        zone_links: vec![
            ("eu".into(), "us".into(), wan),
            ("eu".into(), "ap".into(), wan),
            ("us".into(), "ap".into(), wan),
        ],
        record,
        ..SimConfig::default()
    }
}

#[test]
fn zones_put_their_latency_on_every_message_between_them() {
    let mut sim = Sim::new(three_zones(Latency::Fixed(ms(80)), everything()));
    sim.run_for(secs(10));
    let zone = |i: u32| sim.zone_of(i as usize).unwrap().to_string();
    let mut inside = 0;
    let mut across = 0;
    for m in sim.metrics().message_log().iter().filter(|m| m.fate == Fate::Delivered && !m.stream) {
        if zone(m.from) == zone(m.to) {
            assert_eq!(m.latency, ms(1), "{m:?}");
            inside += 1;
        } else {
            assert_eq!(m.latency, ms(80), "{m:?}");
            across += 1;
        }
    }
    assert!(inside > 40 && across > 100, "inside {inside}, across {across}");
    assert!(sim.converged());
    assert_eq!(sim.zones(), ["eu", "us", "ap"]);
}

#[test]
fn no_node_across_the_wan_has_a_broadcast_before_the_wan_latency() {
    let mut sim = Sim::new(three_zones(Latency::Fixed(ms(150)), Recording::default()));
    sim.run_for(secs(5));
    sim.broadcast(0, b"from eu").unwrap();
    sim.run_for(secs(5));
    let spread = sim.metrics().broadcast_spread(b"from eu").unwrap().to_vec();
    let far = spread[3..].iter().map(|t| t.unwrap()).min().unwrap();
    assert!(far >= ms(150), "a node across the WAN had it after {far:?}");
}

#[test]
fn bad_zones_are_refused_with_what_is_wrong() {
    let mut cfg = three_zones(Latency::Fixed(ms(10)), Recording::default());
    cfg.zones[1].nodes.push(0);
    assert!(
        matches!(Sim::try_new(cfg.clone()), Err(SimError::BadZones(why)) if why.contains("node 0 is in two zones"))
    );
    cfg.zones[1].nodes.pop();
    cfg.zones[2].nodes.pop();
    assert!(matches!(Sim::try_new(cfg.clone()), Err(SimError::BadZones(why)) if why.contains("node 8 is in no zone")));
    cfg.zones[2].nodes.push(8);
    cfg.zone_links.push(("eu".into(), "mars".into(), Link { latency: Latency::Fixed(ms(1)), loss: 0.0 }));
    let err = Sim::try_new(cfg.clone()).err().unwrap();
    assert!(matches!(&err, SimError::UnknownZone { zone, .. } if zone == "mars"), "{err}");
    assert_eq!(err.field(), "zone");
    cfg.zone_links.pop();
    cfg.loss = 1.5;
    assert_eq!(Sim::try_new(cfg).err().unwrap().field(), "loss");
}

#[test]
fn a_muted_node_is_declared_failed_and_comes_back_when_it_can_send() {
    let mut sim = Sim::new(SimConfig { nodes: 8, seed: 21, converged_start: true, ..SimConfig::default() });
    sim.run_for(secs(2));
    sim.apply(Change::Mute(3, true)).unwrap();
    sim.run_for(secs(40));
    // It hears everyone but nothing it sends arrives: to the others, a crash.
    assert!(sim.metrics().false_verdicts().iter().filter(|v| v.subject == "node-3").count() >= 7);
    sim.apply(Change::Mute(3, false)).unwrap();
    assert!(sim.run_until(secs(60), Sim::converged), "node 3 is back once it can send");
}

#[test]
fn a_one_way_cut_stops_one_direction_only() {
    let mut sim =
        Sim::new(SimConfig { nodes: 4, seed: 22, converged_start: true, record: everything(), ..SimConfig::default() });
    sim.apply(Change::Cut { from: 0, to: 1 }).unwrap();
    sim.run_for(secs(10));
    let log = sim.metrics().message_log();
    let zero_to_one: Vec<_> = log.iter().filter(|m| m.from == 0 && m.to == 1).collect();
    assert!(!zero_to_one.is_empty(), "node 0 kept trying node 1");
    assert!(zero_to_one.iter().all(|m| m.fate == Fate::Unreachable));
    assert!(log.iter().any(|m| m.from == 1 && m.to == 0 && m.fate == Fate::Delivered));
    // Lifeguard: 1 suspects 0 (no acks), but the others vouch for 0 and it
    // refutes through them; nobody declares it failed.
    assert_eq!(sim.metrics().false_failures(), 0);
}

#[test]
fn a_bandwidth_cap_queues_and_then_drops_what_a_node_sends() {
    let mut sim = Sim::new(SimConfig {
        nodes: 10,
        seed: 23,
        converged_start: true,
        record: everything(),
        ..SimConfig::default()
    });
    // 2 kB/s with 50 ms of queue: a node sending 10 probes and gossip a
    // second gets far less through.
    let cap = Bandwidth { bytes_per_sec: 2_000, max_queue: ms(50) };
    sim.apply(Change::Bandwidth(0, Some(cap))).unwrap();
    sim.run_for(secs(20));
    let log = sim.metrics().message_log();
    let lost = log.iter().filter(|m| m.from == 0 && m.fate == Fate::Lost).count();
    let queued = log.iter().filter(|m| m.from == 0 && m.fate == Fate::Delivered && m.latency > ms(10)).count();
    assert!(lost > 0 && queued > 0, "lost {lost}, queued {queued}");
    let from_one: Vec<_> = log.iter().filter(|m| m.from == 1).collect();
    assert!(!from_one.is_empty() && from_one.iter().all(|m| m.fate == Fate::Delivered), "others are not capped");
}

#[test]
fn scheduled_changes_happen_at_their_times() {
    let mut sim = Sim::new(SimConfig {
        nodes: 12,
        seed: 24,
        converged_start: true,
        record: everything(),
        ..SimConfig::default()
    });
    sim.schedule(secs(5), Change::Crash(4)).unwrap();
    sim.schedule(secs(10), Change::Partition(vec![(0..6).collect()])).unwrap();
    sim.schedule(secs(12), Change::Heal).unwrap();
    sim.schedule(secs(15), Change::Put { node: 2, key: "k".into(), value: b"v".to_vec() }).unwrap();
    sim.schedule(secs(60), Change::Restart { node: 4, via: None }).unwrap();
    sim.run_for(secs(59));
    let crash = &sim.metrics().crashes()[0];
    assert_eq!((crash.subject.as_str(), crash.at), ("node-4", secs(5)));
    assert_eq!(crash.detections.len(), 11, "every survivor");
    let writes: Vec<_> = sim.metrics().state_log().iter().filter(|s| s.key == "k").collect();
    assert_eq!(writes.len(), 11, "every running replica holds the write: {writes:?}");
    assert!(writes.iter().all(|w| w.at >= secs(15) && w.writer == 2 && !w.deleted));
    assert!(sim.node(4).is_none());
    sim.run_for(secs(10));
    assert!(sim.node(4).is_some(), "restarted at 60 s");
    assert_eq!(sim.metrics().crashes()[0].restarted, Some(secs(60)));
    assert!(sim.run_until(secs(30), Sim::converged));
    // The past, a node out of range and a bad probability are refused.
    assert_eq!(sim.schedule(secs(1), Change::Heal).err().unwrap().field(), "at");
    assert_eq!(sim.schedule(secs(99), Change::Crash(12)).err().unwrap().field(), "node");
    assert_eq!(sim.schedule(secs(99), Change::NodeLoss(1, -0.1)).err().unwrap().field(), "loss");
}

#[test]
fn the_membership_log_has_every_observers_view_of_a_crash() {
    let mut sim =
        Sim::new(SimConfig { nodes: 6, seed: 25, converged_start: true, record: everything(), ..SimConfig::default() });
    sim.run_for(secs(2));
    sim.crash(5);
    sim.run_for(secs(40));
    let failed: Vec<_> =
        sim.metrics().membership_log().iter().filter(|r| r.subject == 5 && r.change == "failed").collect();
    let observers: std::collections::BTreeSet<u32> = failed.iter().map(|r| r.observer).collect();
    assert_eq!(observers, (0..5).collect());
    assert!(sim.metrics().membership_log().iter().any(|r| r.subject == 5 && r.change == "suspect"));
}

#[test]
fn poisson_churn_comes_at_its_rates_and_the_cluster_settles_after() {
    let mut sim = Sim::new(SimConfig { nodes: 40, seed: 26, converged_start: true, ..SimConfig::default() });
    let churn = Churn {
        nodes: (1..40).collect(),
        join_rate: 0.5,
        leave_rate: 0.2,
        crash_rate: 0.2,
        from: secs(5),
        until: secs(105),
    };
    sim.churn(churn).unwrap();
    sim.run_for(secs(106));
    let crashes = sim.metrics().crashes().len();
    // 0.2 a second for 100 s: 20 expected; Poisson's spread is about ±4.5.
    assert!((8..=34).contains(&crashes), "{crashes} crashes");
    assert!(sim.metrics().leaves_seen() > 0);
    // Afterwards every node that is down comes back, and all see all.
    for i in 0..40 {
        sim.apply(Change::Restart { node: i, via: Some(0) }).unwrap();
    }
    assert!(sim.run_until(secs(60), Sim::converged), "converged after the churn");
    let rate = Churn {
        crash_rate: -1.0,
        ..Churn { nodes: vec![], join_rate: 0.0, leave_rate: 0.0, crash_rate: 0.0, from: secs(0), until: secs(1) }
    };
    assert_eq!(sim.churn(rate).err().unwrap().field(), "crash_rate");
}

#[test]
fn a_graceful_rolling_restart_fails_no_one() {
    let mut sim = Sim::new(SimConfig { nodes: 10, seed: 27, converged_start: true, ..SimConfig::default() });
    sim.rolling_restart(&(0..10).collect::<Vec<_>>(), secs(5), secs(10), secs(4), true).unwrap();
    sim.run_for(secs(5 + 100));
    assert_eq!(sim.metrics().false_failures(), 0);
    assert_eq!(sim.metrics().crashes().len(), 0, "leaves, not crashes");
    assert!(sim.run_until(secs(30), Sim::converged));
    assert!(sim.rolling_restart(&[1], secs(200), secs(1), secs(1), true).is_err(), "shorter than a leave");
}

#[test]
fn workloads_broadcast_and_write_at_their_rates() {
    let mut sim = Sim::new(SimConfig {
        nodes: 10,
        seed: 28,
        converged_start: true,
        record: everything(),
        ..SimConfig::default()
    });
    sim.workload(Workload {
        nodes: vec![0, 1],
        rate: 5.0,
        kind: WorkloadKind::Broadcast { size: 64 },
        poisson: false,
        from: secs(1),
        until: secs(11),
    })
    .unwrap();
    sim.workload(Workload {
        nodes: vec![2],
        rate: 2.0,
        kind: WorkloadKind::StateWrites { keys: 4, size: 32 },
        poisson: true,
        from: secs(1),
        until: secs(11),
    })
    .unwrap();
    sim.run_for(secs(15));
    let user: u64 = (0..10).map(|i| sim.metrics().traffic_by_type(i)[MessageType::User as usize].0).sum();
    let state: u64 = (0..10).map(|i| sim.metrics().traffic_by_type(i)[MessageType::State as usize].0).sum();
    assert!(user >= 50, "{user} user messages for 50 broadcasts");
    assert!(state > 0);
    let writes = sim.metrics().state_log().iter().filter(|s| s.observer == 2).count();
    assert!((8..=40).contains(&writes), "{writes} writes at node 2");
    // Every kind's bytes add up to what the message log holds.
    let logged: u64 = sim.metrics().message_log().iter().map(|m| m.bytes as u64).sum();
    let counted: u64 = (0..10).flat_map(|i| sim.metrics().traffic_by_type(i)).map(|c| c.1).sum();
    assert_eq!(logged, counted);
    let too_big = WorkloadKind::Broadcast { size: 100_000 };
    let w = Workload { nodes: vec![0], rate: 1.0, kind: too_big, poisson: false, from: secs(0), until: secs(1) };
    assert_eq!(sim.workload(w).err().unwrap().field(), "size");
}

#[test]
fn nodes_with_configs_of_their_own_run_side_by_side() {
    let mut swim = Config::lan();
    swim.experiment.lifeguard = false;
    let wan = Config { enable_compression: false, ..Config::wan() };
    let newer = Config { enable_compression: false, protocol_version: 5, ..Config::lan() };
    let configs: HashMap<usize, Config> = [(1, swim), (2, wan), (3, newer)].into_iter().collect();
    let mut sim = Sim::new(SimConfig { nodes: 8, seed: 29, configs, ..SimConfig::default() });
    assert!(sim.run_until(secs(30), Sim::converged));
    sim.crash(7);
    sim.run_for(secs(60));
    assert_eq!(sim.metrics().detections_of("node-7").len(), 7);
    let bad = Config { protocol_version: 9, ..Config::lan() };
    let cfg = SimConfig { nodes: 8, configs: [(4, bad)].into_iter().collect(), ..SimConfig::default() };
    let err = Sim::try_new(cfg).err().unwrap();
    assert!(matches!(err, SimError::Config { node: 4, .. }), "{err}");
    let cfg = SimConfig { nodes: 8, configs: [(8, Config::lan())].into_iter().collect(), ..SimConfig::default() };
    assert!(matches!(Sim::try_new(cfg), Err(SimError::NoSuchNode { index: 8, nodes: 8 })));
}

#[test]
fn heavy_tailed_latency_and_the_log_replay_with_the_seed() {
    let cfg = || SimConfig {
        nodes: 12,
        seed: 30,
        latency: Latency::Pareto { scale: ms(2), shape: 1.5 },
        record: everything(),
        ..SimConfig::default()
    };
    let run = || {
        let mut sim = Sim::new(cfg());
        sim.schedule(secs(3), Change::NodeLoss(2, 0.3)).unwrap();
        sim.run_for(secs(20));
        sim.metrics().message_log().to_vec()
    };
    let (a, b) = (run(), run());
    assert!(a.len() > 1000);
    assert_eq!(a, b);
    let lost_at_2 = a.iter().filter(|m| (m.from == 2 || m.to == 2) && m.fate == Fate::Lost && !m.stream).count();
    assert!(lost_at_2 > 0);
}

#[test]
fn an_oversized_broadcast_or_metadata_is_refused_not_a_panic() {
    let mut sim = Sim::new(SimConfig { nodes: 3, seed: 31, converged_start: true, ..SimConfig::default() });
    let err = sim.broadcast(0, &vec![b'x'; 100_000]).unwrap_err();
    assert_eq!(err.field(), "payload");
    assert!(sim.metrics().broadcast_spread(&vec![b'x'; 100_000]).is_none(), "nothing tracked");
    assert_eq!(sim.set_meta(1, &[0; 600]).unwrap_err().field(), "meta");
    sim.run_for(secs(2));
    assert!(sim.converged());
}
