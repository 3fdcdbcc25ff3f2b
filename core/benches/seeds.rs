//! Benchmark `seeds` (issue 16, seeds that keep working): real nodes on
//! 127.0.0.1 in one process, `lan()` timings except that each node binds
//! a fixed port found free beforehand (a seed's address must be known
//! before it starts). Two figures, each over `BENCH_RUNS` runs (default
//! 3; medians reported):
//!
//! 1. Cold start: N nodes (`BENCH_NODES`, default 100), every one given
//!    the seed's address, started in random order evenly over 5 s, the
//!    seed (node 0) last. Time from the seed's start until every node sees
//!    N alive (target under 2 s); also until the last node's
//!    `Event::Joined`, and the join attempts made in all.
//! 2. Islands: two islands of N/2 formed apart, each around its own seed,
//!    then able to reach each other. Time from that instant until every
//!    node sees N alive (target under one `push_pull_interval`, 30 s with
//!    `lan()`); also until the first node sees a member of the other
//!    island (the first gossip to a missing seed that got through).
//!
//! How the islands are made on loopback. Island A is configured with
//! seeds [A0, B'] and island B with [B0, A'], where B' and A' are relays
//! (TCP and UDP, in this process) to B0 and A0 on ports of their own,
//! closed while the islands form: each island's nodes try the other
//! island's seed and are refused, as across a partition. Giving island A
//! B0's own address instead cannot work on one host: B0's port is open to
//! everyone from the moment island B forms around it. Once both islands
//! see their N/2 members, the bench waits a random time in
//! [0, `push_pull_interval`), so that the instant falls at a random phase
//! of the nodes' seed-gossip timers, and then opens both relays at once:
//! that is the instant the islands can reach each other. The relays'
//! addresses are never members, so after the merge the nodes keep
//! push-pulling with them once per interval; that does not touch the
//! figure.
//!
//! Prints the config, the machine and a table, and writes JSON to
//! `target/bench/seeds.json`. When `make bench-memberlist-coldstart` has
//! written `target/bench/memberlist_coldstart.json`, its figure is printed
//! beside rumour's (memberlist does not retry: there each node runs a
//! rejoin loop with rumour's backoff; see
//! `core/benches/go/memberlist_coldstart/main.go`). `BENCH_SEED` fixes the
//! random choices.

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumour::{Config, Event, JoinStatus, MemberState, Node};

/// The cold start's starts are spread over this long; the seed starts at
/// its end.
const SPREAD: Duration = Duration::from_secs(5);
/// How often the convergence is looked at.
const POLL: Duration = Duration::from_millis(10);

/// SplitMix64: enough for shuffles and waits, and seedable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// `n` distinct ports free for both TCP and UDP on 127.0.0.1, below the
/// kernel's ephemeral range (32768 and up by default), so that no outgoing
/// connection takes one before its node binds it.
fn free_ports(n: usize, rng: &mut Rng) -> Vec<u16> {
    let mut ports = Vec::with_capacity(n);
    for _ in 0..100_000 {
        if ports.len() == n {
            break;
        }
        let port = 20_000 + rng.below(12_000) as u16;
        if ports.contains(&port) {
            continue;
        }
        let tcp = std::net::TcpListener::bind(("127.0.0.1", port));
        let udp = std::net::UdpSocket::bind(("127.0.0.1", port));
        if tcp.is_ok() && udp.is_ok() {
            ports.push(port);
        }
    }
    assert_eq!(ports.len(), n, "could not find {n} free ports on 127.0.0.1");
    ports
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn alive(node: &Node) -> usize {
    node.members().map_or(0, |m| m.iter().filter(|m| m.state == MemberState::Alive).count())
}

/// Waits until every node sees `count` members alive, looking every
/// `POLL` for at most `limit` after `since`: the time from `since`, or
/// `None`. Nodes already seen complete are not asked again until the
/// last one is, then all are checked once more.
fn all_see(nodes: &[Node], count: usize, since: Instant, limit: Duration) -> Option<Duration> {
    let mut complete = 0;
    while since.elapsed() < limit {
        while complete < nodes.len() && alive(&nodes[complete]) == count {
            complete += 1;
        }
        if complete == nodes.len() {
            let at = Instant::now();
            if nodes.iter().all(|n| alive(n) == count) {
                return Some(at.duration_since(since));
            }
            complete = 0;
        }
        std::thread::sleep(POLL);
    }
    None
}

/// A TCP and UDP relay on 127.0.0.1 from one port to `target`, on a thread
/// of its own: the link between the islands. Closing it (drop) stops the
/// thread and cuts its connections.
struct Relay {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Relay {
    /// Binds `listen` (TCP and UDP) before returning: the relay is open.
    fn open(listen: SocketAddr, target: SocketAddr) -> std::io::Result<Relay> {
        let tcp = std::net::TcpListener::bind(listen)?;
        tcp.set_nonblocking(true)?;
        let udp = std::net::UdpSocket::bind(listen)?;
        udp.set_nonblocking(true)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("relay runtime");
            rt.block_on(async move {
                let tcp = tokio::net::TcpListener::from_std(tcp).expect("relay tcp");
                let udp = Arc::new(tokio::net::UdpSocket::from_std(udp).expect("relay udp"));
                tokio::select! {
                    _ = stopped => {}
                    _ = relay_tcp(tcp, target) => {}
                    _ = relay_udp(udp, target) => {}
                }
            });
            // Dropping the runtime cancels the connections' tasks.
        });
        Ok(Relay { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Each connection accepted is joined to a new one to `target`. Runs
/// until the relay stops.
async fn relay_tcp(listener: tokio::net::TcpListener, target: SocketAddr) {
    loop {
        match listener.accept().await {
            Ok((mut inbound, _)) => {
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}

/// Each client gets a socket of its own towards `target` (at most 1,024),
/// whose replies go back to the client from the relay's port. Runs until
/// the relay stops.
async fn relay_udp(front: Arc<tokio::net::UdpSocket>, target: SocketAddr) {
    let mut backs: HashMap<SocketAddr, Arc<tokio::net::UdpSocket>> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((len, client)) = front.recv_from(&mut buf).await else {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        };
        if !backs.contains_key(&client) {
            if backs.len() >= 1024 {
                continue;
            }
            let Ok(back) = tokio::net::UdpSocket::bind("127.0.0.1:0").await else { continue };
            if back.connect(target).await.is_err() {
                continue;
            }
            let back = Arc::new(back);
            backs.insert(client, back.clone());
            let front = front.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65_536];
                // Ends at the first error (the target's port closed).
                while let Ok(len) = back.recv(&mut buf).await {
                    let _ = front.send_to(&buf[..len], client).await;
                }
            });
        }
        let _ = backs[&client].send(&buf[..len]).await;
    }
}

/// `lan()` with a name, a fixed port on 127.0.0.1 and seeds.
fn config(name: String, port: u16, seeds: &[SocketAddr]) -> Config {
    Config {
        name,
        bind: loopback(port).to_string(),
        seeds: seeds.iter().map(ToString::to_string).collect(),
        ..Config::lan()
    }
}

struct ColdStart {
    /// The seed's start until every node sees N alive.
    converge: Duration,
    /// The seed's start until the last node's `Event::Joined`.
    all_joined: Option<Duration>,
    /// Join attempts, all nodes together.
    join_attempts: u64,
}

fn cold_start(n: usize, rng: &mut Rng) -> ColdStart {
    let ports = free_ports(n, rng);
    let seed = [loopback(ports[0])];
    let joined: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; n]));
    let start = |i: usize| {
        let joined = joined.clone();
        Node::start_with_callback(config(format!("c{i}"), ports[i], &seed), move |e: &Event| {
            if let Event::Joined { .. } = e {
                joined.lock().unwrap()[i].get_or_insert_with(Instant::now);
            }
        })
        .unwrap_or_else(|e| panic!("node c{i} starts on port {}: {e}", ports[i]))
    };
    let mut order: Vec<usize> = (1..n).collect();
    rng.shuffle(&mut order);
    let began = Instant::now();
    let mut nodes = Vec::with_capacity(n);
    for (k, &i) in order.iter().enumerate() {
        let at = began + SPREAD.mul_f64(k as f64 / (n - 1) as f64);
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        nodes.push(start(i));
    }
    std::thread::sleep((began + SPREAD).saturating_duration_since(Instant::now()));
    let seed_start = Instant::now();
    nodes.push(start(0));
    let converge = all_see(&nodes, n, seed_start, Duration::from_secs(120))
        .unwrap_or_else(|| panic!("the cold start did not converge within 120 s of the seed's start"));
    // The seed itself has no seed to join: it is joined by the others.
    let all_joined = joined.lock().unwrap().iter().copied().collect::<Option<Vec<Instant>>>();
    let all_joined = all_joined.and_then(|t| t.into_iter().max()).map(|t| t.saturating_duration_since(seed_start));
    let join_attempts = nodes.iter().map(|x| x.stats().map_or(0, |s| s.proto.join_attempts)).sum();
    for node in &nodes {
        node.shutdown();
    }
    ColdStart { converge, all_joined, join_attempts }
}

struct Islands {
    /// Wait between both islands seeing their N/2 and the relays opening.
    waited: Duration,
    /// Nodes whose join status was `Joined` when the relays opened.
    joined_before: usize,
    /// The relays' opening until a node first saw the other island.
    first_contact: Option<Duration>,
    /// The relays' opening until every node sees N alive.
    merge: Option<Duration>,
}

fn islands(n: usize, push_pull: Duration, rng: &mut Rng) -> Islands {
    let half = n / 2;
    let ports = free_ports(2 * half + 2, rng);
    let (a0, b0) = (loopback(ports[0]), loopback(ports[half]));
    let (to_a0, to_b0) = (loopback(ports[2 * half]), loopback(ports[2 * half + 1]));
    let first_contact: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let start = |i: usize| {
        let (island, other, seeds) = if i < half { ('a', 'b', [a0, to_b0]) } else { ('b', 'a', [b0, to_a0]) };
        let first_contact = first_contact.clone();
        let callback = move |e: &Event| {
            if let Event::MemberJoined(m) = e {
                if m.name.starts_with(other) {
                    first_contact.lock().unwrap().get_or_insert_with(Instant::now);
                }
            }
        };
        Node::start_with_callback(config(format!("{island}{}", i % half), ports[i], &seeds), callback)
            .unwrap_or_else(|e| panic!("node {island}{} starts on port {}: {e}", i % half, ports[i]))
    };
    // The seeds first, then the others in random order, as fast as they
    // start.
    let mut order: Vec<usize> = (0..2 * half).filter(|&i| i != 0 && i != half).collect();
    rng.shuffle(&mut order);
    let mut nodes: Vec<Option<Node>> = (0..2 * half).map(|_| None).collect();
    for i in [0, half].into_iter().chain(order) {
        nodes[i] = Some(start(i));
    }
    let nodes: Vec<Node> = nodes.into_iter().flatten().collect();
    let formed = Instant::now();
    for (name, island) in [("A", &nodes[..half]), ("B", &nodes[half..])] {
        assert!(
            all_see(island, half, formed, Duration::from_secs(60)).is_some(),
            "island {name} did not form (every node seeing {half} alive) within 60 s"
        );
    }
    let waited = push_pull.mul_f64(rng.unit());
    std::thread::sleep(waited);
    assert!(first_contact.lock().unwrap().is_none(), "the islands met before the relays opened");
    let joined_before = nodes.iter().filter(|x| matches!(x.join_status(), Ok(JoinStatus::Joined { .. }))).count();
    let reachable = Instant::now();
    let relays =
        [Relay::open(to_a0, a0).expect("relay to A0 opens"), Relay::open(to_b0, b0).expect("relay to B0 opens")];
    let limit = push_pull * 3 + Duration::from_secs(30);
    let merge = all_see(&nodes, 2 * half, reachable, limit);
    let first_contact = first_contact.lock().unwrap().map(|t| t.saturating_duration_since(reachable));
    for node in &nodes {
        node.shutdown();
    }
    drop(relays);
    Islands { waited, joined_before, first_contact, merge }
}

fn secs(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64())
}

/// Median, min and max of the values there are, as a table row's cells.
fn cells(values: &[Option<f64>]) -> String {
    let got: Vec<f64> = values.iter().flatten().copied().collect();
    let missing = values.len() - got.len();
    let mut row = if got.is_empty() {
        "none | | ".to_string()
    } else {
        let lo = got.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = got.iter().copied().fold(0.0, f64::max);
        format!("{:.3} s | {lo:.3} s | {hi:.3} s", support::median(&got))
    };
    if missing > 0 {
        row += &format!(" ({missing} of {} runs without one)", values.len());
    }
    row
}

fn median_of(values: &[Option<f64>]) -> Option<f64> {
    let got: Vec<f64> = values.iter().flatten().copied().collect();
    (!got.is_empty()).then(|| support::median(&got))
}

fn main() {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let n = var("BENCH_NODES").map_or(100, |v| v as usize).max(4);
    let runs = var("BENCH_RUNS").map_or(3, |v| v as usize).max(1);
    let random_seed = var("BENCH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    let mut rng = Rng(random_seed);
    let lan = Config::lan();
    let push_pull = lan.push_pull_interval;
    let machine = support::machine();
    println!(
        "seeds  nodes={n} runs={runs} preset=lan (bind 127.0.0.1, fixed ports) BENCH_SEED={random_seed}\n\
         config: retry_join_interval {:?}, retry_join_max_interval {:?}, retry_join_max_attempts {} (forever), \
         gossip_to_seeds {}, push_pull_interval {:?} (seed gossip unscaled), probe_interval {:?}, gossip_interval {:?}\n\
         machine: {machine}",
        lan.retry_join_interval,
        lan.retry_join_max_interval,
        lan.retry_join_max_attempts,
        lan.gossip_to_seeds,
        push_pull,
        lan.probe_interval,
        lan.gossip_interval,
    );

    let mut cold = Vec::new();
    for run in 0..runs {
        let c = cold_start(n, &mut rng);
        println!(
            "cold start {run}: all see all {:.3} s after the seed's start; last joined at {}; {} join attempts",
            c.converge.as_secs_f64(),
            c.all_joined.map_or("(not all)".into(), |d| format!("{:.3} s", d.as_secs_f64())),
            c.join_attempts,
        );
        cold.push(c);
        std::thread::sleep(Duration::from_secs(1));
    }
    let mut isl = Vec::new();
    for run in 0..runs {
        let r = islands(n, push_pull, &mut rng);
        println!(
            "islands {run}: opened {:.1} s after both formed ({} of {} nodes joined); first contact {}; all see all {}",
            r.waited.as_secs_f64(),
            r.joined_before,
            n / 2 * 2,
            r.first_contact.map_or("none".into(), |d| format!("{:.3} s", d.as_secs_f64())),
            r.merge.map_or(format!("not within {} s", (push_pull * 3).as_secs() + 30), |d| format!(
                "{:.3} s",
                d.as_secs_f64()
            )),
        );
        isl.push(r);
        std::thread::sleep(Duration::from_secs(1));
    }

    let converge: Vec<Option<f64>> = cold.iter().map(|c| Some(c.converge.as_secs_f64())).collect();
    let all_joined: Vec<Option<f64>> = cold.iter().map(|c| secs(c.all_joined)).collect();
    let merge: Vec<Option<f64>> = isl.iter().map(|r| secs(r.merge)).collect();
    let contact: Vec<Option<f64>> = isl.iter().map(|r| secs(r.first_contact)).collect();
    let pp = push_pull.as_secs_f64();
    let half = n / 2;
    println!("\n| metric, {runs} runs | median | min | max | target |\n|---|---|---|---|---|");
    println!("| cold start of {n}: seed's start until all see all | {} | < 2 s |", cells(&converge));
    println!("| cold start of {n}: seed's start until the last joined | {} | |", cells(&all_joined));
    println!("| islands of {half}: reachable until all see all | {} | < {pp} s (push_pull_interval) |", cells(&merge));
    println!("| islands of {half}: reachable until the first sees the other island | {} | |", cells(&contact));

    // memberlist's figure, when `make bench-memberlist-coldstart` wrote it.
    let bench_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    let go = std::fs::read_to_string(bench_dir.join("memberlist_coldstart.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok());
    if let Some(go) = &go {
        println!(
            "| memberlist 0.2.2, same cold start, rejoin loop with rumour's backoff (target/bench/memberlist_coldstart.json, {} runs, {} nodes) | {:.3} s | | {:.3} s | |",
            go["runs"], go["nodes"], go["converge_median_s"].as_f64().unwrap_or(f64::NAN), go["converge_max_s"].as_f64().unwrap_or(f64::NAN),
        );
    } else {
        println!("(memberlist's cold start: `make bench-memberlist-coldstart`, then run this again to see it here)");
    }

    let json = serde_json::json!({
        "bench": "seeds",
        "nodes": n,
        "runs": runs,
        "preset": "lan, bind 127.0.0.1 on fixed ports",
        "retry_join_interval_s": lan.retry_join_interval.as_secs_f64(),
        "retry_join_max_interval_s": lan.retry_join_max_interval.as_secs_f64(),
        "gossip_to_seeds": lan.gossip_to_seeds,
        "push_pull_interval_s": pp,
        "cold_start": {
            "spread_s": SPREAD.as_secs_f64(),
            "converge_median_s": median_of(&converge),
            "converge_s": converge,
            "all_joined_median_s": median_of(&all_joined),
            "all_joined_s": all_joined,
            "join_attempts": cold.iter().map(|c| c.join_attempts).collect::<Vec<_>>(),
            "target_s": 2.0,
        },
        "islands": {
            "island_nodes": half,
            "merge_median_s": median_of(&merge),
            "merge_s": merge,
            "first_contact_median_s": median_of(&contact),
            "first_contact_s": contact,
            "opened_after_formed_s": isl.iter().map(|r| r.waited.as_secs_f64()).collect::<Vec<_>>(),
            "joined_before_opening": isl.iter().map(|r| r.joined_before).collect::<Vec<_>>(),
            "target_s": pp,
        },
        "memberlist_coldstart": go,
        "machine": machine,
        "random_seed": random_seed,
    });
    println!("{json}");
    if std::fs::create_dir_all(&bench_dir).is_ok() {
        let _ = std::fs::write(bench_dir.join("seeds.json"), format!("{json}\n"));
    }
}
