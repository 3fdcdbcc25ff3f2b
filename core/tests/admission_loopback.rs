//! TCP admission under connection floods, on real sockets (issue 18): a
//! node keeps taking joins and push-pulls while a flood of idle
//! connections comes from one address, or from 50. The flood keeps the
//! 2,000 newest connections open and opens more as fast as one thread can,
//! for a few seconds, from 127.0.0.0/8 source addresses other than the
//! nodes' own (Linux routes the whole block to loopback).

mod common;

use std::collections::VecDeque;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::wait_until;
use rumour::{Config, Node};

/// Connections the flood keeps open at once.
const HELD: usize = 2_000;
/// Connections the flood opens at most (each source keeps well clear of
/// running out of ephemeral ports).
const MAX_OPENED: usize = 12_000;
/// How long the flood lasts at most.
const FLOOD_FOR: Duration = Duration::from_secs(6);

fn config(name: &str) -> Config {
    Config { name: name.into(), bind: "127.0.0.1:0".into(), ..Config::lan() }
}

/// Raises the open-file limit far enough for the flood, or says why not.
fn enough_files() -> Result<(), String> {
    let want = (HELD + 1_500) as libc::rlim_t;
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err("getrlimit failed".into());
        }
        if lim.rlim_cur >= want {
            return Ok(());
        }
        if lim.rlim_max < want {
            return Err(format!("the open-file limit is {} (hard); the flood needs {want}", lim.rlim_max));
        }
        lim.rlim_cur = want;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            return Err("setrlimit failed".into());
        }
    }
    Ok(())
}

/// The process's resident memory, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

struct Flood {
    stop: Arc<AtomicBool>,
    opened: Arc<AtomicUsize>,
    task: JoinHandle<(usize, usize)>,
}

impl Flood {
    /// Opens idle connections to `target` from `sources` in turn, keeping
    /// the newest `HELD` open, until stopped (at most `FLOOD_FOR`; after
    /// `MAX_OPENED`, it only holds them).
    fn start(target: SocketAddr, sources: Vec<IpAddr>) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let opened_so_far = Arc::new(AtomicUsize::new(0));
        let opened_shared = opened_so_far.clone();
        let task = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let (mut opened, mut failed) = (0, 0);
                let mut held = VecDeque::with_capacity(HELD + 1);
                let until = Instant::now() + FLOOD_FOR;
                while !stopped.load(Ordering::Relaxed) && Instant::now() < until {
                    if opened >= MAX_OPENED {
                        // Out of fresh ports: hold what is open until stopped.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                    let source = sources[opened % sources.len()];
                    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
                    socket.bind(SocketAddr::new(source, 0)).expect("bind a loopback source address");
                    match tokio::time::timeout(Duration::from_millis(500), socket.connect(target)).await {
                        Ok(Ok(conn)) => {
                            opened += 1;
                            opened_shared.store(opened, Ordering::Relaxed);
                            held.push_back(conn);
                            if held.len() > HELD {
                                held.pop_front();
                            }
                        }
                        _ => failed += 1,
                    }
                }
                assert!(stopped.load(Ordering::Relaxed), "the joins came after the flood had ended");
                (opened, failed)
            })
        });
        Flood { stop, opened: opened_so_far, task }
    }

    /// Connections opened so far.
    fn opened(&self) -> usize {
        self.opened.load(Ordering::Relaxed)
    }

    fn stop(self) -> (usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.join().expect("flood thread")
    }
}

/// A join through `victim` under the flood, with how long it took.
fn timed_join(name: &str, victim: SocketAddr) -> (Node, Duration) {
    let node = Node::start(config(name)).expect("start");
    let started = Instant::now();
    node.join(&[victim.to_string()]).unwrap_or_else(|e| panic!("{name} could not join under the flood: {e}"));
    (node, started.elapsed())
}

fn flood_and_join(sources: Vec<IpAddr>, label: &str) {
    let _one = ONE_FLOOD_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    if let Err(why) = enough_files() {
        println!("skipped: {why}");
        return;
    }
    let victim = Node::start(config("victim")).expect("start");
    let member = Node::start(config("member")).expect("start");
    member.join(&[victim.addr().to_string()]).expect("join before the flood");
    let rss_before = rss_kib();

    let flood = Flood::start(victim.addr(), sources);
    // 2,000 idle connections open (and more coming) before the joins.
    assert!(wait_until(FLOOD_FOR / 2, || flood.opened() >= HELD), "the flood opened only {}", flood.opened());
    let (newcomer, join_took) = timed_join("newcomer", victim.addr());
    // A member's push-pull (a join again is one).
    let started = Instant::now();
    member.join(&[victim.addr().to_string()]).expect("a member's push-pull under the flood");
    let push_pull_took = started.elapsed();
    let stats = victim.stats().expect("stats");
    let rss_during = rss_kib();
    let (opened, failed) = flood.stop();

    println!(
        "{label}: {opened} connections opened ({failed} failed to connect); a newcomer's join took {join_took:?}, \
         a member's push-pull {push_pull_took:?}; victim: {} evicted, {} silent, {} refused; \
         process RSS {rss_before} KiB before, {rss_during} KiB during",
        stats.streams_evicted, stats.streams_silent, stats.streams_refused
    );
    assert!(opened >= HELD, "the flood opened only {opened}");
    assert!(join_took < Duration::from_secs(1), "join took {join_took:?}");
    assert!(push_pull_took < Duration::from_secs(1), "push-pull took {push_pull_took:?}");
    assert!(stats.streams_evicted > 0, "the counters say the flood was evicted");
    // Held connections are bounded (256 tasks and sockets); the flood's own
    // 2,000 sockets are in this process too.
    assert!(rss_during < rss_before + 64 * 1024, "RSS grew from {rss_before} to {rss_during} KiB");
    assert!(wait_until(Duration::from_secs(5), || victim.members().is_ok_and(|m| m.len() == 3)));
    drop(newcomer);
}

/// The floods run one at a time: they share the process's files and RSS.
static ONE_FLOOD_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn a_connection_that_sends_nothing_is_closed_at_the_first_byte_deadline() {
    let victim =
        Node::start(Config { tcp_first_byte_timeout: Duration::from_millis(300), ..config("victim") }).expect("start");
    let mut idle: Vec<TcpStream> = (0..5).map(|_| TcpStream::connect(victim.addr()).expect("connect")).collect();
    assert!(
        wait_until(Duration::from_secs(10), || victim.stats().is_ok_and(|s| s.streams_silent == 5)),
        "{:?}",
        victim.stats()
    );
    for conn in &mut idle {
        conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut byte = [0u8; 1];
        assert!(matches!(conn.read(&mut byte), Ok(0) | Err(_)), "closed by the node");
    }
    // A peer that writes at once is served as before.
    let member = Node::start(config("member")).expect("start");
    member.join(&[victim.addr().to_string()]).expect("join");
}

#[test]
fn a_join_and_a_push_pull_get_through_a_flood_of_idle_connections_from_one_address() {
    flood_and_join(vec![IpAddr::V4(Ipv4Addr::new(127, 0, 0, 99))], "one address");
}

#[test]
fn a_join_and_a_push_pull_get_through_a_flood_of_idle_connections_from_50_addresses() {
    let sources = (1..=50).map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 1, i))).collect();
    flood_and_join(sources, "50 addresses");
}

#[test]
fn a_burst_of_real_joiners_is_read_not_evicted() {
    // 120 nodes join one seed at once, past its limits (16 held, 16 from
    // one address): each connection's bytes are read as soon as it is
    // accepted, so admission sees them busy with the protocol, never
    // silent; before, the accept loop ran ahead of the reads and evicted
    // joiners whose requests were already there.
    let seed_config = Config {
        tcp_max_incoming: 16,
        tcp_max_incoming_per_source: 16,
        tcp_reserved_for_members: 4,
        ..config("burst-seed")
    };
    let seed = Node::start(seed_config).expect("seed starts");
    let addr = seed.addr().to_string();
    let joiners: Vec<Node> = (0..120).map(|i| Node::start(config(&format!("burst-{i}"))).expect("starts")).collect();
    std::thread::scope(|scope| {
        for node in &joiners {
            let addr = addr.as_str();
            scope.spawn(move || {
                // A refused one retries, as a configured seed would.
                let _ = (0..20).any(|_| {
                    node.join(&[addr]).is_ok() || {
                        std::thread::sleep(Duration::from_millis(50));
                        false
                    }
                });
            });
        }
    });
    let stats = seed.stats().unwrap();
    assert_eq!(stats.streams_evicted, 0, "a joiner's connection was evicted: {stats:?}");
    assert!(stats.proto.streams_accepted >= 120, "{stats:?}");
    for node in joiners {
        node.shutdown();
    }
    seed.shutdown();
}
