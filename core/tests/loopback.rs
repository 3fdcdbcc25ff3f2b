//! Real nodes on 127.0.0.1 (port 0), `local()` timings. Every wait is
//! bounded; a test fails with what it last saw.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::wait_until;
use rumour::proto::MessageKind;
use rumour::{Config, Event, JoinError, MemberState, Node, NodeError};

fn config(name: &str) -> Config {
    Config { name: name.into(), bind: "127.0.0.1:0".into(), ..Config::local() }
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

/// What each node that does not see `count` alive sees instead: the
/// members it lacks or holds in another state, and the first such node's
/// stats (failed probes, refused streams), for a failed wait.
fn views(nodes: &[&Node], count: usize) -> String {
    let names: Vec<&str> = nodes.iter().map(|n| n.name()).collect();
    let (mut out, mut stats_shown) = (Vec::new(), false);
    for n in nodes {
        let Ok(members) = n.members() else {
            out.push(format!("{}: stopped", n.name()));
            continue;
        };
        if members.iter().filter(|m| m.state == MemberState::Alive).count() == count {
            continue;
        }
        let lacks: Vec<&str> = names.iter().copied().filter(|w| !members.iter().any(|m| &*m.name == *w)).collect();
        let other: Vec<String> = members
            .iter()
            .filter(|m| m.state != MemberState::Alive)
            .map(|m| format!("{} {:?}", m.name, m.state))
            .collect();
        out.push(format!("{} lacks {lacks:?}, sees {other:?}", n.name()));
        if !stats_shown {
            out.push(format!("its stats: {:?}", n.stats()));
            stats_shown = true;
        }
    }
    out.join("; ")
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
    assert!(wait_until(Duration::from_secs(30), || all_see(&refs, 10)), "10 nodes see 10 alive: {}", views(&refs, 10));
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

#[test]
fn fifty_nodes_converge() {
    let log = Log::default();
    let nodes = cluster(&log, 50, "c50-");
    let refs: Vec<&Node> = nodes.iter().collect();
    assert!(wait_until(Duration::from_secs(30), || all_see(&refs, 50)), "50 nodes see 50 alive: {}", views(&refs, 50));
}

#[test]
fn a_node_restarted_under_its_name_rejoins_and_wins_over_its_old_incarnation() {
    let log = Log::default();
    let nodes = cluster(&log, 3, "rs-");
    let refs: Vec<&Node> = nodes.iter().collect();
    assert!(wait_until(Duration::from_secs(5), || all_see(&refs, 3)));
    let addr = nodes[2].bound_addr();
    nodes[2].set_meta(b"v1").unwrap();
    let old_inc = |n: &Node| n.member("rs-2").unwrap().map_or(0, |m| m.incarnation);
    assert!(wait_until(Duration::from_secs(5), || old_inc(&nodes[0]) >= 1), "the meta change raised the incarnation");
    let before = old_inc(&nodes[0]);
    nodes[2].shutdown();
    let failed = || log.count("rs-0", |e| matches!(e, Event::MemberFailed(m) if &*m.name == "rs-2")) == 1;
    assert!(wait_until(Duration::from_secs(30), failed), "the crash is detected");

    let again = log.start(Config { bind: addr.to_string(), ..config("rs-2") });
    assert_eq!(again.join(&[nodes[0].addr().to_string()]), Ok(1));
    let back =
        |n: &Node| n.member("rs-2").unwrap().is_some_and(|m| m.state == MemberState::Alive && m.incarnation > before);
    assert!(
        wait_until(Duration::from_secs(10), || back(&nodes[0]) && back(&nodes[1])),
        "alive again, newer incarnation"
    );
    assert!(wait_until(Duration::from_secs(5), || all_see(&[&nodes[0], &nodes[1], &again], 3)));
}

fn keyed(name: &str, keys: &[&[u8]]) -> Config {
    Config { keys: keys.iter().map(|k| k.to_vec()).collect(), ..config(name) }
}

#[test]
fn without_the_key_a_node_can_neither_join_nor_inject() {
    let key: &[u8] = &[1; 16];
    let a = Node::start(keyed("enc-a", &[key])).unwrap();
    let b = Node::start(keyed("enc-b", &[key])).unwrap();
    assert_eq!(b.join(&[a.addr().to_string()]), Ok(1), "same key joins");
    let plain = Node::start(config("enc-plain")).unwrap();
    let wrong = Node::start(keyed("enc-wrong", &[&[2; 32]])).unwrap();
    for outsider in [&plain, &wrong] {
        assert!(matches!(outsider.join(&[a.addr().to_string()]), Err(JoinError::NoneAnswered(_))), "{outsider:?}");
        // Its gossip and probes cannot get in either way.
        assert!(matches!(a.join(&[outsider.addr().to_string()]), Err(JoinError::NoneAnswered(_))));
    }
    std::thread::sleep(Duration::from_secs(1));
    let names = |n: &Node| {
        let mut v: Vec<String> = n.members().unwrap().iter().map(|m| m.name.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(names(&a), ["enc-a", "enc-b"]);
    assert_eq!(names(&b), ["enc-a", "enc-b"]);
    assert!(a.stats().unwrap().proto.decode_errors > 0, "the outsiders' packets were refused and counted");
}

#[test]
fn a_key_rotation_keeps_the_cluster_whole() {
    let (old, new): (&[u8], &[u8]) = (&[3; 16], &[4; 32]);
    let nodes: Vec<Node> = (0..3).map(|i| Node::start(keyed(&format!("rot-{i}"), &[old])).unwrap()).collect();
    for n in &nodes[1..] {
        assert_eq!(n.join(&[nodes[0].addr().to_string()]), Ok(1));
    }
    let refs: Vec<&Node> = nodes.iter().collect();
    assert!(wait_until(Duration::from_secs(5), || all_see(&refs, 3)));
    for n in &nodes {
        n.install_key(new).unwrap();
    }
    for n in &nodes {
        n.use_key(new).unwrap();
    }
    for n in &nodes {
        n.remove_key(old).unwrap();
    }
    std::thread::sleep(Duration::from_secs(3));
    assert!(all_see(&refs, 3), "nobody was suspected through the rotation");
    let fresh = Node::start(keyed("rot-new", &[new])).unwrap();
    assert_eq!(fresh.join(&[nodes[0].addr().to_string()]), Ok(1), "the new key alone is enough");
    let stale = Node::start(keyed("rot-old", &[old])).unwrap();
    assert!(stale.join(&[nodes[0].addr().to_string()]).is_err(), "the removed key no longer works");
    assert_eq!(nodes[0].remove_key(new), Err(NodeError::Keyring(rumour::wire::KeyringError::RemovingPrimary)));
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_hostile_peer_leaves_the_node_healthy_with_bounded_memory() {
    use std::io::Write;
    use std::net::{TcpStream, UdpSocket};

    let a = Node::start(config("host-a")).unwrap();
    let b = Node::start(config("host-b")).unwrap();
    assert_eq!(b.join(&[a.addr().to_string()]), Ok(1));
    let rss_before = rss_kib();
    let target = a.addr();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut junk = |len: usize| -> Vec<u8> {
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    };
    for i in 0..20_000 {
        let len = [1, 12, 300, 1400, 9000, 65_000][i % 6];
        let mut p = junk(len);
        if i % 3 == 0 && !p.is_empty() {
            p[0] = [0, 2, 7, 8, 9, 244][i % 6]; // plausible type bytes: ping, ack, compound, compress, crc, label
        }
        let _ = udp.send_to(&p, target);
    }
    // Half-open and stalled TCP: connect and say nothing, or start a
    // push-pull and stop; also garbage and an endless stream.
    let mut conns = Vec::new();
    for i in 0..100 {
        if let Ok(mut c) = TcpStream::connect(target) {
            match i % 4 {
                0 => {}
                1 => {
                    let _ = c.write_all(&[6, 0x83]);
                }
                2 => {
                    let _ = c.write_all(&junk(4096));
                }
                _ => {
                    let _ = c.write_all(&[6, 0xde, 0xff]);
                    let _ = c.write_all(&junk(200_000));
                }
            }
            conns.push(c);
        }
    }
    std::thread::sleep(Duration::from_secs(3)); // past local()'s 1 s tcp_timeout
    drop(conns);
    let stats = a.stats().unwrap();
    assert!(stats.proto.decode_errors > 1000, "garbage packets were counted: {stats:?}");
    assert!(stats.streams_timed_out + stats.streams_refused + stats.streams_rejected >= 50, "{stats:?}");
    assert!(wait_until(Duration::from_secs(5), || all_see(&[&a, &b], 2)), "still healthy");
    b.broadcast(b"still here").unwrap();
    let grown = rss_kib().saturating_sub(rss_before);
    assert!(grown < 200 * 1024, "memory grew by {grown} KiB");
}

#[test]
fn events_arrive_as_a_stream_and_a_panicking_callback_is_contained() {
    let a = Node::start_with_callback(config("ev-a"), |e: &Event| {
        if matches!(e, Event::MemberJoined(_)) {
            panic!("a user bug");
        }
    })
    .unwrap();
    let mut events = a.events();
    let b = Node::start(config("ev-b")).unwrap();
    assert_eq!(b.join(&[a.addr().to_string()]), Ok(1));
    let first = events.next_blocking(Duration::from_secs(5));
    assert!(matches!(&first, Some(Event::MemberJoined(m)) if &*m.name == "ev-b"), "{first:?}");
    // Being joined ends a's own wait for a cluster.
    let joined = events.next_blocking(Duration::from_secs(5));
    assert!(matches!(&joined, Some(Event::Joined { .. })), "{joined:?}");
    assert!(wait_until(Duration::from_secs(10), || a.stats().unwrap().callback_panics == 1));
    b.set_meta(b"after the panic").unwrap();
    let next = events.next_blocking(Duration::from_secs(5));
    assert!(matches!(&next, Some(Event::MemberUpdated(m)) if m.meta == b"after the panic"), "{next:?}");
    a.shutdown();
    assert_eq!(events.next_blocking(Duration::from_secs(2)), None, "the stream ends at shutdown");
}

#[test]
fn shutdown_from_inside_a_callback_returns_and_no_callback_runs_after() {
    let slot: Arc<Mutex<Option<Arc<Node>>>> = Arc::default();
    let calls = Arc::new(Mutex::new(0u32));
    let (slot2, calls2) = (slot.clone(), calls.clone());
    let a = Arc::new(
        Node::start_with_callback(config("cb-a"), move |_e: &Event| {
            *calls2.lock().unwrap() += 1;
            if let Some(node) = slot2.lock().unwrap().clone() {
                node.shutdown();
            }
        })
        .unwrap(),
    );
    *slot.lock().unwrap() = Some(a.clone());
    let b = Node::start(config("cb-b")).unwrap();
    let _ = b.join(&[a.addr().to_string()]);
    assert!(wait_until(Duration::from_secs(5), || *calls.lock().unwrap() >= 1));
    b.set_meta(b"more events").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(*calls.lock().unwrap(), 1, "nothing after the shutdown");
    assert_eq!(a.members(), Err(NodeError::Shutdown));
    slot.lock().unwrap().take();
}

#[test]
fn the_blocking_api_works_from_inside_a_callers_tokio_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let a = Node::start(config("rt-a")).unwrap();
        let b = Node::start(config("rt-b")).unwrap();
        assert_eq!(b.join_async(&[a.addr().to_string()]).await, Ok(1));
        assert_eq!(a.join(&[b.addr().to_string()]), Ok(1), "blocking call inside async code");
        let mut events = a.events();
        b.set_meta(b"async").unwrap();
        // The stream may open with the joins' events: produced before it
        // was subscribed, but not yet through the dispatch thread.
        let mut e = None;
        for _ in 0..3 {
            e = tokio::time::timeout(Duration::from_secs(5), events.next()).await.unwrap();
            if !matches!(&e, Some(Event::Joined { .. } | Event::MemberJoined(_))) {
                break;
            }
        }
        assert!(matches!(&e, Some(Event::MemberUpdated(m)) if &*m.name == "rt-b"), "{e:?}");
        assert_eq!(a.leave_async(Duration::from_secs(2)).await, Ok(()));
    });
}

#[test]
fn clusters_with_different_labels_ignore_each_other() {
    let labelled = |name: &str, label: &str| Config { label: label.into(), ..config(name) };
    let a = Node::start(labelled("lab-a", "blue")).unwrap();
    let b = Node::start(labelled("lab-b", "blue")).unwrap();
    let c = Node::start(labelled("lab-c", "green")).unwrap();
    assert_eq!(b.join(&[a.addr().to_string()]), Ok(1), "same label");
    assert!(matches!(c.join(&[a.addr().to_string()]), Err(JoinError::NoneAnswered(_))), "other label");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(a.members().unwrap().len(), 2);
    assert_eq!(c.members().unwrap().len(), 1);
}

#[test]
fn nodes_work_over_ipv6() {
    let v6 = |name: &str| Config { bind: "[::1]:0".into(), ..config(name) };
    let Ok(a) = Node::start(v6("v6-a")) else {
        eprintln!("skipped: no IPv6 loopback on this machine");
        return;
    };
    let b = Node::start(v6("v6-b")).unwrap();
    assert!(a.addr().is_ipv6());
    assert_eq!(b.join(&[a.addr().to_string()]), Ok(1));
    assert!(wait_until(Duration::from_secs(5), || all_see(&[&a, &b], 2)));
}

#[test]
fn a_node_joins_its_configured_seeds_by_itself() {
    let a = Node::start(config("seed-a")).unwrap();
    let b = Node::start(Config { seeds: vec![a.addr().to_string()], ..config("seed-b") }).unwrap();
    assert!(wait_until(Duration::from_secs(5), || all_see(&[&a, &b], 2)), "joined without a join call");
}

#[test]
fn the_advertised_address_is_what_peers_see() {
    // A free port, then a node bound to every interface on it that tells
    // peers a different (here: loopback) address, as behind NAT. Between
    // the two, another test's outgoing connection may take the port as its
    // own (ephemeral ports come from the same range): then another port.
    let (a, advertised) = (0..20)
        .find_map(|_| {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let advertised = format!("127.0.0.1:{port}");
            let bind = format!("0.0.0.0:{port}");
            let cfg = Config { bind, advertise: Some(advertised.clone()), ..config("adv-a") };
            Node::start(cfg).ok().map(|a| (a, advertised))
        })
        .expect("a port free on every interface");
    assert_eq!(a.addr().to_string(), advertised);
    assert!(a.bound_addr().ip().is_unspecified());
    let b = Node::start(config("adv-b")).unwrap();
    assert_eq!(b.join(&[advertised.as_str()]), Ok(1));
    let seen = || b.member("adv-a").unwrap().is_some_and(|m| m.addr.to_string() == advertised);
    assert!(wait_until(Duration::from_secs(5), seen), "peers list the advertised address");

    // Bound to every interface with nothing advertised: a concrete address
    // peers can use, never 0.0.0.0.
    let c = Node::start(Config { bind: "0.0.0.0:0".into(), ..config("adv-c") }).unwrap();
    assert!(!c.addr().ip().is_unspecified(), "{}", c.addr());
    assert_eq!(c.addr().port(), c.bound_addr().port());
}

#[test]
fn nodes_that_agree_report_the_same_digest() {
    let a = Node::start(config("digest-a")).unwrap();
    let b = Node::start(config("digest-b")).unwrap();
    assert_ne!(a.digest().unwrap(), b.digest().unwrap(), "each alone sees only itself");
    b.join(&[a.addr().to_string()]).unwrap();
    assert!(wait_until(Duration::from_secs(5), || a.digest().unwrap() == b.digest().unwrap()));
    b.state().put("k", b"v").unwrap();
    assert!(wait_until(Duration::from_secs(5), || a.digest().unwrap() == b.digest().unwrap()), "the write spread");
}

#[test]
fn twenty_nodes_on_one_shared_runtime_thread_converge_detect_a_crash_and_shut_down() {
    use rumour::{SharedRuntime, StartError};
    assert!(matches!(SharedRuntime::new(0), Err(StartError::Runtime(e)) if e.to_string().contains("threads = 0")));
    let shared = SharedRuntime::new(1).expect("a shared runtime");
    let failed = Arc::new(Mutex::new(Vec::new()));
    let nodes: Vec<Node> = (0..20)
        .map(|i| {
            let seen = failed.clone();
            shared
                .start_with_callback(config(&format!("sh{i}")), move |e: &Event| {
                    if let Event::MemberFailed(m) = e {
                        seen.lock().unwrap().push(m.name.to_string());
                    }
                })
                .expect("node starts on the shared runtime")
        })
        .collect();
    let seed = nodes[0].addr().to_string();
    for node in &nodes[1..] {
        assert_eq!(node.join(&[seed.as_str()]), Ok(1), "{} joins through {seed}", node.name());
    }
    let refs: Vec<&Node> = nodes.iter().collect();
    // Not a speed check (the cold start bench is): long enough to ride out a
    // stall of the machine and the false suspicions it brings.
    assert!(wait_until(Duration::from_secs(30), || all_see(&refs, 20)), "20 nodes see 20 alive: {}", views(&refs, 20));
    // A crash: one node stops without leaving; the others fail it.
    nodes[19].shutdown();
    assert_eq!(nodes[19].members(), Err(NodeError::Shutdown), "a stopped node says so");
    let failed_by_all = || failed.lock().unwrap().iter().filter(|n| *n == "sh19").count() == 19;
    assert!(wait_until(Duration::from_secs(30), failed_by_all), "{:?}", failed.lock().unwrap());
    // Dropping the handle leaves the nodes running on the pool they hold.
    drop(shared);
    assert!(wait_until(Duration::from_secs(10), || all_see(&refs[..19], 19)), "{}", views(&refs[..19], 19));
    for n in &nodes[..19] {
        n.shutdown();
    }
}
