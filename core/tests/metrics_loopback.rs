//! Metrics of real nodes on 127.0.0.1: every name of the catalogue is
//! reported with its kind, the values follow what the cluster did, the
//! Prometheus text holds every family, the README's table lists the
//! catalogue, and a `metrics` recorder installed by the program receives
//! the samples by itself.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::wait_until;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use rumour::metrics::{prometheus_name, prometheus_text, MetricKind, NodeMetrics, Value, CATALOGUE};
use rumour::{Config, MemberState, Node};

fn config(name: &str) -> Config {
    Config {
        name: name.into(),
        bind: "127.0.0.1:0".into(),
        metrics_interval: Duration::from_millis(100),
        ..Config::local()
    }
}

fn value(m: &NodeMetrics, name: &str, label: Option<(&str, &str)>) -> Value {
    m.samples
        .iter()
        .find(|s| s.info.name == name && label.is_none_or(|l| s.labels.contains(&l)))
        .unwrap_or_else(|| panic!("{name} is missing"))
        .value
        .clone()
}

fn counter(m: &NodeMetrics, name: &str) -> u64 {
    match value(m, name, None) {
        Value::Counter(v) => v,
        other => panic!("{name} is {other:?}, not a counter"),
    }
}

#[test]
fn a_three_node_cluster_reports_every_metric_and_a_recorder_receives_them() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().expect("the first recorder of this process");

    let nodes: Vec<Node> = (0..3).map(|i| Node::start(config(&format!("m{i}"))).expect("starts")).collect();
    let seed = nodes[0].addr().to_string();
    for n in &nodes[1..] {
        assert_eq!(n.join(&[seed.as_str()]), Ok(1));
    }
    let alive = |n: &Node| n.members().map(|m| m.iter().filter(|m| m.state == MemberState::Alive).count());
    assert!(wait_until(Duration::from_secs(5), || nodes.iter().all(|n| alive(n) == Ok(3))));
    // A probe or two each, and a gossip round with something in it.
    std::thread::sleep(Duration::from_millis(2500));

    let all: Vec<NodeMetrics> = nodes.iter().map(|n| n.metrics().expect("running")).collect();
    let seed_metrics = &all[0];
    // Every name, with its kind, exactly once (node.instances once per state).
    let mut seen: BTreeMap<&str, (MetricKind, usize)> = BTreeMap::new();
    for s in &seed_metrics.samples {
        let kind = match s.value {
            Value::Counter(_) => MetricKind::Counter,
            Value::Gauge(_) => MetricKind::Gauge,
            Value::Histogram(_) => MetricKind::Histogram,
        };
        assert_eq!(kind, s.info.kind, "{} reported as {kind:?}", s.info.name);
        seen.entry(s.info.name).or_insert((kind, 0)).1 += 1;
    }
    for info in CATALOGUE {
        let expected = if info.name == "memberlist.node.instances" { 4 } else { 1 };
        assert_eq!(seen.get(info.name).map(|(_, n)| *n), Some(expected), "{}", info.name);
        println!("{:<32} {:<9} {}", info.name, info.kind.as_str(), info.help);
    }
    assert_eq!(seen.len(), CATALOGUE.len(), "no name outside the catalogue");

    // The values follow what happened.
    assert_eq!(value(seed_metrics, "memberlist.node.instances", Some(("node_state", "alive"))), Value::Gauge(3.0));
    assert_eq!(value(seed_metrics, "memberlist.node.instances", Some(("node_state", "dead"))), Value::Gauge(0.0));
    assert!(counter(seed_metrics, "memberlist.msg.alive") >= 3, "itself and two joiners");
    assert!(counter(seed_metrics, "memberlist.tcp.accept") >= 2, "two joins came to the seed");
    assert!(counter(&all[1], "memberlist.tcp.connect") >= 1, "a joiner opened a stream");
    assert!(counter(seed_metrics, "memberlist.tcp.sent") > 0);
    assert!(counter(seed_metrics, "memberlist.udp.sent") > 0 && counter(seed_metrics, "memberlist.udp.received") > 0);
    assert!(counter(seed_metrics, "rumour.probes") >= 1);
    match value(seed_metrics, "memberlist.probeNode", None) {
        Value::Histogram(t) => assert!(t.count() >= 1 && t.count() <= counter(seed_metrics, "rumour.probes")),
        other => panic!("probeNode is {other:?}"),
    }
    match value(seed_metrics, "memberlist.gossip", None) {
        Value::Histogram(t) => assert!(t.count() >= 1, "the joins were gossiped"),
        other => panic!("gossip is {other:?}"),
    }
    match value(&all[1], "memberlist.pushPullNode", None) {
        Value::Histogram(t) => assert!(t.count() >= 1, "the join was a push-pull"),
        other => panic!("pushPullNode is {other:?}"),
    }
    match value(seed_metrics, "memberlist.size.remote", None) {
        Value::Gauge(v) => assert!(v > 0.0),
        other => panic!("size.remote is {other:?}"),
    }

    // The text format: a TYPE line per family and a sample per node.
    let text = prometheus_text(&all);
    for info in CATALOGUE {
        let family = info.name.replace('.', "_");
        assert!(text.contains(&format!("# TYPE {family} {}\n", info.kind.as_str())), "{family}");
        let name = prometheus_name(info);
        let line = match info.kind {
            MetricKind::Histogram => format!("{name}_count{{node=\"m2\"}} "),
            _ if info.name == "memberlist.node.instances" => format!("{name}{{node=\"m2\",node_state=\"left\"}} "),
            _ => format!("{name}{{node=\"m2\"}} "),
        };
        assert!(text.contains(&line), "{line} missing");
    }

    // The recorder got the samples without being asked, labelled by node.
    let got = |name: &str, node: &str| {
        snapshotter.snapshot().into_vec().into_iter().find_map(|(key, _, _, v)| {
            let k = key.key();
            let labelled = k.labels().any(|l| l.key() == "node" && l.value() == node);
            (k.name() == name && labelled).then_some(v)
        })
    };
    let mut counted = None;
    assert!(
        wait_until(Duration::from_secs(10), || {
            counted = got("memberlist.udp.sent", "m1");
            matches!(counted, Some(DebugValue::Counter(v)) if v > 0)
        }),
        "the recorder has memberlist.udp.sent for m1: {counted:?}"
    );
    assert!(
        wait_until(Duration::from_secs(10), || matches!(got("memberlist.probeNode", "m0"),
            Some(DebugValue::Histogram(h)) if !h.is_empty())),
        "probe timings reached the recorder"
    );
    for n in &nodes {
        n.shutdown();
    }
}

/// The README's metrics table lists every metric of the catalogue with its
/// kind, so the documentation cannot drift from the code.
#[test]
fn the_readme_table_lists_the_catalogue() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    for info in CATALOGUE {
        let row = format!("| `{}` | {} |", info.name, info.kind.as_str());
        assert!(readme.contains(&row), "README lacks the row starting {row}");
    }
}
