//! Real nodes on 127.0.0.1 (port 0), `local()` timings. Every wait is
//! bounded; a test fails with what it last saw.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumour::proto::MessageKind;
use rumour::{Config, Event, JoinError, MemberState, Node, NodeError};

fn config(name: &str) -> Config {
    Config { name: name.into(), bind: "127.0.0.1:0".into(), ..Config::local() }
}

/// Polls `done` every 20 ms for up to `limit`.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// Every event each node saw, by node name.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<HashMap<String, Vec<Event>>>>);

impl Log {
    fn start(&self, cfg: Config) -> Node {
        let (log, name) = (self.0.clone(), cfg.name.clone());
        Node::start_with_callback(cfg, move |e: &Event| {
            log.lock().unwrap().entry(name.clone()).or_default().push(e.clone())
        })
        .expect("node starts")
    }

    fn count(&self, node: &str, pred: impl Fn(&Event) -> bool) -> usize {
        self.0.lock().unwrap().get(node).map_or(0, |v| v.iter().filter(|e| pred(e)).count())
    }
}

fn cluster(log: &Log, n: usize, prefix: &str) -> Vec<Node> {
    let nodes: Vec<Node> = (0..n).map(|i| log.start(config(&format!("{prefix}{i}")))).collect();
    let seed = nodes[0].addr().to_string();
    for node in &nodes[1..] {
        assert_eq!(node.join(&[seed.as_str()]), Ok(1), "{} joins through {seed}", node.name());
    }
    nodes
}

fn all_see(nodes: &[&Node], count: usize) -> bool {
    nodes.iter().all(|n| n.members().map(|m| m.iter().filter(|m| m.state == MemberState::Alive).count()) == Ok(count))
}

#[test]
fn three_nodes_converge() {
    let log = Log::default();
    let nodes = cluster(&log, 3, "c3-");
    let refs: Vec<&Node> = nodes.iter().collect();
    assert!(wait_until(Duration::from_secs(5), || all_see(&refs, 3)), "3 nodes see 3 alive");
    assert!(nodes[0].bound_addr().port() != 0, "the real port is reported");
    for n in &nodes {
        n.shutdown();
    }
}

#[test]
fn ten_nodes_converge_and_a_crash_is_detected_by_every_node() {
    let log = Log::default();
    let nodes = cluster(&log, 10, "c10-");
    let refs: Vec<&Node> = nodes.iter().collect();
    assert!(wait_until(Duration::from_secs(10), || all_see(&refs, 10)), "10 nodes see 10 alive");
    // A crash: no leave, the sockets just close.
    nodes[9].shutdown();
    let survivors = &refs[..9];
    let failed = |n: &&Node| log.count(n.name(), |e| matches!(e, Event::MemberFailed(m) if &*m.name == "c10-9")) == 1;
    assert!(
        wait_until(Duration::from_secs(30), || survivors.iter().all(failed)),
        "every survivor declares c10-9 failed"
    );
    assert_eq!(log.count("c10-0", |e| matches!(e, Event::MemberLeft(_))), 0, "a crash is not a leave");
}

#[test]
fn a_graceful_leave_is_seen_as_left_not_failed() {
    let log = Log::default();
    let nodes = cluster(&log, 3, "lv-");
    let refs: Vec<&Node> = nodes.iter().collect();
    assert!(wait_until(Duration::from_secs(5), || all_see(&refs, 3)));
    assert_eq!(nodes[2].leave(Duration::from_secs(3)), Ok(()));
    nodes[2].shutdown();
    let left = |name: &str| log.count(name, |e| matches!(e, Event::MemberLeft(m) if &*m.name == "lv-2")) == 1;
    assert!(wait_until(Duration::from_secs(5), || left("lv-0") && left("lv-1")), "both see the leave");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(log.count("lv-0", |e| matches!(e, Event::MemberFailed(_))), 0, "no failure verdict");
}

#[test]
fn metadata_broadcasts_and_messages_arrive() {
    let log = Log::default();
    let nodes = cluster(&log, 3, "mb-");
    let refs: Vec<&Node> = nodes.iter().collect();
    assert!(wait_until(Duration::from_secs(5), || all_see(&refs, 3)));
    nodes[1].set_meta(b"zone=b").unwrap();
    let sees_meta = |n: &Node| n.member("mb-1").unwrap().is_some_and(|m| m.meta == b"zone=b");
    assert!(wait_until(Duration::from_secs(5), || sees_meta(&nodes[0]) && sees_meta(&nodes[2])), "meta spreads");

    nodes[0].broadcast(b"hello all").unwrap();
    let got = |name: &str| {
        log.count(
            name,
            |e| matches!(e, Event::Message { kind: MessageKind::Broadcast, payload, .. } if payload == b"hello all"),
        )
    };
    assert!(wait_until(Duration::from_secs(5), || got("mb-1") == 1 && got("mb-2") == 1), "broadcast reaches both");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!((got("mb-0"), got("mb-1"), got("mb-2")), (0, 1, 1), "exactly once, never to the sender");

    nodes[2].send("mb-1", b"just you").unwrap();
    let big = vec![7u8; 100_000];
    nodes[2].send("mb-1", &big).unwrap();
    let direct = |p: &'static [u8]| move |e: &Event| matches!(e, Event::Message { kind: MessageKind::Direct, payload, from } if payload == p && from.as_deref() == Some("mb-2"));
    assert!(wait_until(Duration::from_secs(5), || log.count("mb-1", direct(b"just you")) == 1), "a packet message");
    let big_arrived = |e: &Event| matches!(e, Event::Message { payload, .. } if payload.len() == 100_000);
    assert!(wait_until(Duration::from_secs(5), || log.count("mb-1", big_arrived) == 1), "a large message over tcp");
}

#[test]
fn bad_calls_are_typed_errors() {
    let node = Node::start(config("bad-0")).unwrap();
    assert_eq!(node.join::<&str>(&[]), Err(JoinError::NoSeeds));
    match node.join(&["127.0.0.1:1"]) {
        Err(JoinError::NoneAnswered(f)) => assert_eq!(f.len(), 1, "{f:?}"),
        other => panic!("joining a closed port: {other:?}"),
    }
    assert!(matches!(node.set_meta(&[0; 600]), Err(NodeError::Command(_))));
    assert!(matches!(node.send("nobody", b"x"), Err(NodeError::Command(_))));
    node.shutdown();
    node.shutdown();
    assert_eq!(node.members(), Err(NodeError::Shutdown));
    assert!(Node::start(Config { bind: "no-such-host.invalid:1".into(), ..config("bad-1") }).is_err());
    assert!(Node::start(Config { probe_interval: Duration::ZERO, ..config("bad-2") }).is_err());
}
