//! The replicated map on real nodes (127.0.0.1, port 0, `local()`
//! timings): writes, watches filtered by prefix, deletes, a late joiner
//! catching up, ephemeral keys gone with a leaving owner, large values over
//! TCP, and typed errors. Every wait is bounded.

mod common;

use std::time::Duration;

use common::wait_until;
use rumour::{Config, Event, MemberState, Node, NodeError, StateError};

fn config(name: &str) -> Config {
    Config { name: name.into(), bind: "127.0.0.1:0".into(), retransmit_mult: 4, ..Config::local() }
}

fn cluster(n: usize, prefix: &str) -> Vec<Node> {
    let nodes: Vec<Node> = (0..n).map(|i| Node::start(config(&format!("{prefix}{i}"))).expect("starts")).collect();
    let seed = nodes[0].addr().to_string();
    for node in &nodes[1..] {
        assert_eq!(node.join(&[seed.as_str()]), Ok(1));
    }
    let alive = |n: &Node| n.members().map(|m| m.iter().filter(|m| m.state == MemberState::Alive).count());
    assert!(wait_until(Duration::from_secs(10), || nodes.iter().all(|x| alive(x) == Ok(n))), "cluster forms");
    nodes
}

fn value(node: &Node, key: &str) -> Option<Vec<u8>> {
    node.state().get(key).expect("running").map(|e| e.value)
}

fn same_root(nodes: &[Node]) -> bool {
    let roots: Vec<u64> = nodes.iter().map(|n| n.state().summary().expect("running").root).collect();
    roots.iter().all(|r| *r == roots[0])
}

#[test]
fn writes_reach_every_node_and_watches_see_only_their_prefix() {
    let nodes = cluster(3, "w");
    let mut watch = nodes[2].state().watch("svc/");
    nodes[0].state().put("other/x", b"ignored").expect("write");
    let ts = nodes[0].state().put("svc/web", b"10.0.0.1:80").expect("write");
    match watch.next_blocking(Duration::from_secs(10)) {
        Some(Event::StateChanged(c)) => {
            assert_eq!(
                (c.key.as_str(), c.value.as_deref(), c.writer.as_str()),
                ("svc/web", Some(&b"10.0.0.1:80"[..]), "w0")
            );
            assert_eq!(c.timestamp, ts);
        }
        other => panic!("expected the svc/ write only, got {other:?}"),
    }
    assert!(wait_until(Duration::from_secs(10), || nodes.iter().all(|n| value(n, "other/x").is_some())));
    let listed: Vec<String> = nodes[1].state().entries("svc/").expect("running").into_iter().map(|e| e.key).collect();
    assert_eq!(listed, ["svc/web"]);
    assert!(nodes[1].state().delete("svc/web").expect("delete").is_some());
    match watch.next_blocking(Duration::from_secs(10)) {
        Some(Event::StateChanged(c)) => {
            assert_eq!((c.key.as_str(), c.value, c.writer.as_str()), ("svc/web", None, "w1"))
        }
        other => panic!("expected the delete, got {other:?}"),
    }
    assert!(wait_until(Duration::from_secs(10), || same_root(&nodes)));
    assert!(watch.try_next().is_none(), "nothing outside the prefix: {:?}", watch.try_next());
    for n in &nodes {
        n.shutdown();
    }
}

#[test]
fn a_late_joiner_receives_the_whole_map() {
    let mut nodes = cluster(2, "late");
    for i in 0..500 {
        nodes[i % 2].state().put(&format!("k/{i:03}"), format!("v{i}").as_bytes()).expect("write");
    }
    assert!(wait_until(Duration::from_secs(20), || same_root(&nodes)), "the first two agree");
    let late = Node::start(config("late-new")).expect("starts");
    late.join(&[nodes[0].addr().to_string()]).expect("joins");
    nodes.push(late);
    assert!(wait_until(Duration::from_secs(20), || same_root(&nodes)), "the joiner caught up");
    assert_eq!(nodes[2].state().entries("k/").expect("running").len(), 500);
    assert_eq!(value(&nodes[2], "k/123").as_deref(), Some(&b"v123"[..]));
    for n in &nodes {
        n.shutdown();
    }
}

#[test]
fn ephemeral_keys_leave_with_their_owner() {
    let nodes = cluster(3, "eph");
    nodes[1].state().put_ephemeral("svc/eph1", b"up").expect("write");
    nodes[1].state().put("kept", b"1").expect("write");
    assert!(wait_until(Duration::from_secs(10), || nodes.iter().all(|n| value(n, "svc/eph1").is_some())));
    assert!(nodes[0].state().get("svc/eph1").expect("running").is_some_and(|e| e.ephemeral));
    nodes[1].leave(Duration::from_secs(5)).expect("leaves");
    let gone = |n: &Node| value(n, "svc/eph1").is_none() && value(n, "kept").is_some();
    assert!(wait_until(Duration::from_secs(10), || gone(&nodes[0]) && gone(&nodes[2])));
    assert_eq!(nodes[1].state().put("x", b"1"), Err(NodeError::State(StateError::Left)));
    for n in &nodes {
        n.shutdown();
    }
}

#[test]
fn a_value_too_large_for_a_packet_arrives_over_tcp() {
    let nodes = cluster(3, "big");
    let blob: Vec<u8> = (0..60_000u32).map(|i| (i % 251) as u8).collect();
    nodes[0].state().put("blob", &blob).expect("60 KB is within the 64 KiB default");
    assert!(wait_until(Duration::from_secs(20), || nodes.iter().all(|n| value(n, "blob").as_ref() == Some(&blob))));
    for n in &nodes {
        n.shutdown();
    }
}

#[test]
fn bad_writes_are_typed_errors() {
    let node = Node::start(config("errors")).expect("starts");
    let state = node.state();
    assert_eq!(state.put("", b"v"), Err(NodeError::State(StateError::EmptyKey)));
    assert_eq!(
        state.put("k", &vec![0; 64 * 1024 + 1]),
        Err(NodeError::State(StateError::ValueTooLarge { len: 64 * 1024 + 1, limit: 64 * 1024 }))
    );
    assert_eq!(state.put_with_ttl("k", b"v", Duration::ZERO), Err(NodeError::State(StateError::ZeroTtl)));
    assert_eq!(state.delete("absent"), Ok(None));
    assert!(state.entries("").expect("running").is_empty(), "nothing was written");
    node.shutdown();
    assert_eq!(node.state().get("k"), Err(NodeError::Shutdown));
}
