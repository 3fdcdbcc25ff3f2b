//! Seeds that keep working, on real sockets (127.0.0.1): a node started
//! before its seed joins once the seed is up; `joined` times out, gives up
//! or answers; bad seeds and bad peer files never stop a node; a cluster
//! restarted with no seed re-forms from its peer files.

mod common;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::wait_until;
use rumour::{Config, Event, JoinError, Node};

/// A port free for both TCP and UDP on 127.0.0.1 right now.
fn free_port() -> u16 {
    for _ in 0..50 {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind tcp");
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port");
}

fn config(name: &str, bind: &str, seeds: &[String]) -> Config {
    Config { name: name.into(), bind: bind.into(), seeds: seeds.to_vec(), ..Config::local() }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rumour-seeds-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_node_started_before_its_seed_joins_once_the_seed_is_up() {
    let port = free_port();
    let seed_addr = format!("127.0.0.1:{port}");
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let b =
        Node::start_with_callback(config("b", "127.0.0.1:0", std::slice::from_ref(&seed_addr)), move |e: &Event| {
            seen.lock().unwrap().push(e.clone());
        })
        .expect("start does not fail because the seed is down");
    assert!(matches!(b.joined(Duration::from_millis(300)), Err(JoinError::Timeout(_))));
    std::thread::sleep(Duration::from_secs(2));
    let seed_started = Instant::now();
    let a = Node::start(config("a", &seed_addr, &[])).unwrap();
    let via = b.joined(Duration::from_secs(10)).expect("joined once the seed is up");
    let took = seed_started.elapsed();
    assert_eq!(via, a.addr());
    assert!(wait_until(Duration::from_secs(5), || a.members().unwrap().len() == 2));
    // The event reaches the dispatch thread a moment after `joined` answers.
    assert!(wait_until(Duration::from_secs(10), || events.lock().unwrap().contains(&Event::Joined { via })));
    let stats = b.stats().unwrap();
    assert!(stats.proto.join_attempts >= 2, "{:?}", stats.proto);
    println!("joined {took:?} after the seed started ({} attempts)", stats.proto.join_attempts);
    // joined answers at once from now on.
    assert_eq!(b.joined(Duration::ZERO), Ok(via));
}

#[test]
fn joined_reports_giving_up_with_the_reasons() {
    let port = free_port();
    let mut c = config("lonely", "127.0.0.1:0", &[format!("127.0.0.1:{port}"), "nowhere.invalid".into()]);
    c.retry_join_interval = Duration::from_millis(50);
    c.retry_join_max_attempts = 3;
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let n = Node::start_with_callback(c, move |e: &Event| seen.lock().unwrap().push(e.clone())).unwrap();
    let reported = match n.joined(Duration::from_secs(10)) {
        Err(JoinError::GaveUp { attempts: 3, failures }) => {
            let text = format!("{failures:?}");
            assert!(text.contains("nowhere.invalid") && text.contains(&port.to_string()), "{text}");
            failures
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(n.stats().unwrap().proto.join_attempts, 3);
    // Event watchers are told too, once, with the same reasons.
    let gave_up = |e: &Event| matches!(e, Event::JoinGaveUp { .. });
    assert!(wait_until(Duration::from_secs(10), || events.lock().unwrap().iter().any(gave_up)));
    let told: Vec<Event> = events.lock().unwrap().iter().filter(|e| gave_up(e)).cloned().collect();
    assert_eq!(told, vec![Event::JoinGaveUp { attempts: 3, failures: reported }]);
}

#[test]
fn bad_seeds_never_stop_a_node() {
    let port = free_port();
    let me = format!("127.0.0.1:{port}");
    // Itself, twice, an unresolvable name and a malformed one.
    let seeds = vec![me.clone(), me.clone(), "nowhere.invalid:7946".into(), "::::".into()];
    let mut c = config("self-seeded", &me, &seeds);
    c.retry_join_interval = Duration::from_millis(50);
    let n = Node::start(c).expect("starts");
    assert!(matches!(n.joined(Duration::from_millis(500)), Err(JoinError::Timeout(_))));
    assert!(n.stats().unwrap().proto.join_attempts >= 2);
    assert_eq!(n.members().unwrap().len(), 1, "not joined to itself");
    // A peer joining it ends its wait.
    let other = Node::start(config("other", "127.0.0.1:0", std::slice::from_ref(&me))).unwrap();
    assert!(n.joined(Duration::from_secs(10)).is_ok());
    assert!(other.joined(Duration::from_secs(10)).is_ok());
}

#[test]
fn bad_peer_files_are_ignored_and_counted() {
    let dir = temp_dir("bad");
    let garbage = dir.join("garbage");
    std::fs::write(
        &garbage,
        (0..10 * 1024 * 1024).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<u8>>(),
    )
    .unwrap();
    let empty = dir.join("empty");
    std::fs::write(&empty, b"").unwrap();
    let truncated = dir.join("truncated");
    std::fs::write(&truncated, b"rumour-peers 1\nnode 3 t\npeer 127.0.0.1:1 x\n").unwrap();
    let unwritable = dir.join("no-such-dir").join("peers");
    let foreign = dir.join("foreign");
    let other = rumour::proto::PeerSnapshot { name: "someone-else".into(), incarnation: 9, peers: Vec::new() };
    std::fs::write(&foreign, other.encode()).unwrap();
    // A directory, garbage, an empty, a cut-short and another node's file
    // fail the read; the directory and the missing directory fail the
    // writes too.
    for path in [dir.clone(), garbage, empty, truncated, foreign, unwritable] {
        let mut c = config("p", "127.0.0.1:0", &[]);
        c.peers_file = Some(path.clone());
        let n = Node::start(c).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert!(wait_until(Duration::from_secs(10), || n.stats().unwrap().peers_file_errors >= 1), "{path:?}");
        n.leave(Duration::from_millis(200)).ok();
        n.shutdown();
    }
    // The directory is still a directory: nothing was written over it.
    assert!(dir.is_dir());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_cluster_restarted_with_no_seed_reforms_from_its_peer_files() {
    let dir = temp_dir("restart");
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let start = |i: usize, seeds: &[String]| {
        let mut c = config(&format!("r{i}"), &format!("127.0.0.1:{}", ports[i]), seeds);
        c.peers_file = Some(dir.join(format!("r{i}.peers")));
        Node::start(c).unwrap()
    };
    let first = format!("127.0.0.1:{}", ports[0]);
    let nodes: Vec<Node> = (0..3).map(|i| start(i, if i == 0 { &[] } else { std::slice::from_ref(&first) })).collect();
    assert!(wait_until(Duration::from_secs(10), || nodes.iter().all(|n| n.members().unwrap().len() == 3)));
    let old_incarnation = nodes[1].local().unwrap().incarnation;
    for n in &nodes {
        n.leave(Duration::from_secs(1)).ok();
        n.shutdown();
    }
    drop(nodes);
    let text = std::fs::read_to_string(dir.join("r1.peers")).unwrap();
    assert!(text.contains("peer 127.0.0.1:") && text.contains(" r0\n"), "{text}");
    // Nobody has seeds now; each knows the others only from its file.
    let nodes: Vec<Node> = (0..3).map(|i| start(i, &[])).collect();
    assert!(
        wait_until(Duration::from_secs(15), || nodes.iter().all(|n| n.members().unwrap().len() == 3)),
        "{:?}",
        nodes.iter().map(|n| n.members().unwrap().len()).collect::<Vec<_>>()
    );
    assert!(nodes[1].local().unwrap().incarnation > old_incarnation);
    for n in &nodes {
        assert!(n.joined(Duration::ZERO).is_ok());
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_seed_name_with_several_addresses_is_joined_through_the_live_one() {
    // "localhost" resolves to 127.0.0.1 (and maybe ::1, where nothing
    // listens): every address is tried and the live one answers.
    let port = free_port();
    let a = Node::start(config("a", &format!("127.0.0.1:{port}"), &[])).unwrap();
    let b = Node::start(config("b", "127.0.0.1:0", &[format!("localhost:{port}")])).unwrap();
    let via: SocketAddr = b.joined(Duration::from_secs(10)).unwrap();
    assert_eq!(via.port(), port);
    assert!(wait_until(Duration::from_secs(5), || a.members().unwrap().len() == 2));
}
