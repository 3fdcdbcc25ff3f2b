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
//! How the islands are kept apart on one host, then linked
//! (`BENCH_LINK`):
//! - `keys` (the default): island A is configured with seeds [A0, B0] and
//!   island B with [B0, A0], the real addresses, but each island has an
//!   encryption key of its own (`gossip_verify_incoming`, as in `lan()`):
//!   A's push-pulls to B0 are refused, as across a partition. The link is
//!   every node installing the other island's key (`Node::install_key`,
//!   A and B nodes in turn; 100 nodes take about 2 ms, counted in the
//!   figure). Seed gossip behaves exactly as it would after a partition:
//!   a node stops gossiping to B0 once it sees B0 alive.
//! - `relay`: no encryption; island A is configured with [A0, B'] and B
//!   with [B0, A'], where B' and A' are relays (TCP and UDP, in this
//!   process) to B0 and A0 on ports of their own, closed while the
//!   islands form; the link is opening both. The relays' addresses are
//!   never members, so every node keeps gossiping to them once per
//!   interval, even after it sees the other seed alive: this rescues
//!   nodes that missed a few members' rumours sooner than real seed
//!   addresses would, and flatters the figure.
//!
//! Giving island A B0's plain address with nothing in the way cannot
//! work on one host: B0's port is open to everyone from the moment island
//! B forms around it. Once both islands see their N/2 members, the bench
//! waits a random time in [0, `push_pull_interval`), so that the link
//! falls at a random phase of the nodes' seed-gossip timers, then links
//! them: that is the instant the islands can reach each other.
//!
//! Prints the config, the machine and a table, and writes JSON to
//! `target/bench/seeds.json`. When `make bench-memberlist-coldstart` has
//! written `target/bench/memberlist_coldstart.json`, its figure is printed
//! beside rumour's (memberlist does not retry: there each node runs a
//! rejoin loop with rumour's backoff; see
//! `core/benches/go/memberlist_coldstart/main.go`). `BENCH_SEED` fixes the
//! random choices; `BENCH_PART=cold` or `islands` runs one part only.
//!
//! To say where the time goes, each run also reports: per node, when it
//! first saw a member of the other island and when it had seen them all
//! (from its events); the gossips to seeds made meanwhile; suspicions;
//! the host's UDP receive-buffer drops (/proc/net/snmp); and, when the
//! cold start has not converged 3 s after the seed's start or the islands
//! 3 s after their first contact, which nodes lacked which members then.

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// The host's UDP receive-buffer drops so far (`RcvbufErrors` in
/// /proc/net/snmp; 0 when unreadable): a lost packet can be a lost rumour.
fn udp_drops() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (Some(names), Some(values)) = (udp.next(), udp.next()) else { return 0 };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(name, _)| *name == "RcvbufErrors")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
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
    /// `streams` counts the TCP connections it accepts.
    fn open(listen: SocketAddr, target: SocketAddr, streams: Arc<AtomicUsize>) -> std::io::Result<Relay> {
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
                    _ = relay_tcp(tcp, target, streams) => {}
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
async fn relay_tcp(listener: tokio::net::TcpListener, target: SocketAddr, streams: Arc<AtomicUsize>) {
    loop {
        match listener.accept().await {
            Ok((mut inbound, _)) => {
                streams.fetch_add(1, Ordering::Relaxed);
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
    /// When not converged `LATE` after the seed's start: how many nodes
    /// still lacked members then, and the first few of them.
    late: Option<(usize, Vec<String>)>,
    /// UDP packets the host dropped (full receive buffers) meanwhile.
    udp_drops: u64,
}

/// A cold start not converged this long after the seed's start is
/// described (who lacks whom).
const LATE: Duration = Duration::from_secs(3);

/// The nodes that do not see every other alive, each with whom it lacks.
fn lacking(nodes: &[Node], names: &[String]) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for node in nodes {
        let members = node.members().unwrap_or_default();
        let lacks: Vec<String> = names
            .iter()
            .filter(|name| !members.iter().any(|m| *m.name == ***name && m.state == MemberState::Alive))
            .cloned()
            .collect();
        if !lacks.is_empty() {
            out.push((node.name().to_string(), lacks));
        }
    }
    out
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
    let drops_before = udp_drops();
    let seed_start = Instant::now();
    nodes.push(start(0));
    let mut converge = all_see(&nodes, n, seed_start, LATE);
    let mut late = None;
    if converge.is_none() {
        let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        let lack = lacking(&nodes, &names);
        let shown = lack.iter().take(3).map(|(who, lacks)| format!("{who} lacks {}", lacks.join(" "))).collect();
        late = Some((lack.len(), shown));
        converge = all_see(&nodes, n, seed_start, Duration::from_secs(120));
    }
    let converge =
        converge.unwrap_or_else(|| panic!("the cold start did not converge within 120 s of the seed's start"));
    let udp_drops = udp_drops() - drops_before;
    // The seed itself has no seed to join: it is joined by the others.
    let all_joined = joined.lock().unwrap().iter().copied().collect::<Option<Vec<Instant>>>();
    let all_joined = all_joined.and_then(|t| t.into_iter().max()).map(|t| t.saturating_duration_since(seed_start));
    let join_attempts = nodes.iter().map(|x| x.stats().map_or(0, |s| s.proto.join_attempts)).sum();
    for node in &nodes {
        node.shutdown();
    }
    ColdStart { converge, all_joined, join_attempts, late, udp_drops }
}

struct Islands {
    /// Wait between both islands seeing their N/2 and the relays opening.
    waited: Duration,
    /// Nodes whose join status was `Joined` when the relays opened.
    joined_before: usize,
    /// The relays' opening until a node first saw the other island.
    first_contact: Option<Duration>,
    /// Per node, the relays' opening until it first saw a member of the
    /// other island, and until it had seen all of them join (from its
    /// events): how the merge spread.
    node_contact: Vec<Option<f64>>,
    node_complete: Vec<Option<f64>>,
    /// Suspicions raised anywhere between the opening and the merge.
    suspicions: u64,
    /// The relays' opening until every node sees N alive.
    merge: Option<Duration>,
    /// TCP streams (push-pulls) the relays carried until then.
    relayed: usize,
    /// When not merged `LATE` after the first contact: how many nodes
    /// still lacked members then, and the first few of them.
    late: Option<(usize, Vec<String>)>,
    /// UDP packets the host dropped (full receive buffers) meanwhile.
    udp_drops: u64,
    /// Gossip to missing seeds (push-pulls) until then, all nodes together.
    seed_push_pulls: u64,
    /// How long opening the relays or installing the keys took (counted
    /// in the merge time).
    linking: Duration,
}

/// What one island node's events said.
#[derive(Debug, Clone, Default)]
struct Track {
    /// Members of the other island seen joining.
    others: usize,
    /// The first of them.
    first_other: Option<Instant>,
    /// When the count reached the other island's size.
    all_others: Option<Instant>,
    suspicions: u64,
}

/// The `q` quantile of the values, when every one is there.
fn quantile(values: &[Option<f64>], q: f64) -> Option<f64> {
    let mut got: Vec<f64> = values.iter().copied().collect::<Option<_>>()?;
    got.sort_by(f64::total_cmp);
    got.get(((got.len().max(1) - 1) as f64 * q).round() as usize).copied()
}

/// "p50 x s, p90 y s, max z s" of the values there are.
fn spread(values: &[Option<f64>]) -> String {
    let mut got: Vec<f64> = values.iter().flatten().copied().collect();
    if got.is_empty() {
        return "none".into();
    }
    got.sort_by(f64::total_cmp);
    let at = |q: f64| got[((got.len() - 1) as f64 * q).round() as usize];
    let missing = values.len() - got.len();
    let mut out = format!("p50 {:.2} s, p90 {:.2} s, max {:.2} s", at(0.5), at(0.9), at(1.0));
    if missing > 0 {
        out += &format!(", {missing} nodes never");
    }
    out
}

/// How the islands are kept apart, then linked (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Each island has a key of its own; every node installs the other's.
    Keys,
    /// The other island's seed is reached through a relay, opened.
    Relay,
}

const KEY_A: [u8; 16] = *b"island A key 16b";
const KEY_B: [u8; 16] = *b"island B key 16b";

fn islands(n: usize, link: Link, push_pull: Duration, rng: &mut Rng) -> Islands {
    let half = n / 2;
    let ports = free_ports(2 * half + 2, rng);
    let (a0, b0) = (loopback(ports[0]), loopback(ports[half]));
    let (to_a0, to_b0) = (loopback(ports[2 * half]), loopback(ports[2 * half + 1]));
    // With keys, the seeds are the real addresses; with relays, the other
    // island's seed is its relay.
    let (far_a0, far_b0) = if link == Link::Keys { (a0, b0) } else { (to_a0, to_b0) };
    let tracks: Arc<Mutex<Vec<Track>>> = Arc::new(Mutex::new(vec![Track::default(); 2 * half]));
    let start = |i: usize| {
        let (island, other, seeds, key) =
            if i < half { ('a', 'b', [a0, far_b0], KEY_A) } else { ('b', 'a', [b0, far_a0], KEY_B) };
        let tracks = tracks.clone();
        let callback = move |e: &Event| {
            let now = Instant::now();
            let t = &mut tracks.lock().unwrap()[i];
            match e {
                Event::MemberJoined(m) if m.name.starts_with(other) => {
                    t.first_other.get_or_insert(now);
                    t.others += 1;
                    if t.others == half {
                        t.all_others = Some(now);
                    }
                }
                Event::MemberSuspect(_) => t.suspicions += 1,
                _ => {}
            }
        };
        let mut cfg = config(format!("{island}{}", i % half), ports[i], &seeds);
        if link == Link::Keys {
            cfg.keys = vec![key.to_vec()];
        }
        Node::start_with_callback(cfg, callback)
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
    assert!(tracks.lock().unwrap().iter().all(|t| t.others == 0), "the islands met before they were linked");
    let suspicions_before: u64 = tracks.lock().unwrap().iter().map(|t| t.suspicions).sum();
    let seed_push_pulls =
        |nodes: &[Node]| -> u64 { nodes.iter().map(|x| x.stats().map_or(0, |s| s.proto.seed_push_pulls)).sum() };
    let seed_push_pulls_before = seed_push_pulls(&nodes);
    let joined_before = nodes.iter().filter(|x| matches!(x.join_status(), Ok(JoinStatus::Joined { .. }))).count();
    let streams = Arc::new(AtomicUsize::new(0));
    let drops_before = udp_drops();
    let reachable = Instant::now();
    let mut relays = Vec::new();
    match link {
        Link::Relay => {
            relays.push(Relay::open(to_a0, a0, streams.clone()).expect("relay to A0 opens"));
            relays.push(Relay::open(to_b0, b0, streams.clone()).expect("relay to B0 opens"));
        }
        Link::Keys => {
            // A and B nodes in turn, so that both sides gain at the same pace.
            for k in 0..half {
                nodes[k].install_key(&KEY_B).expect("install the other island's key");
                nodes[half + k].install_key(&KEY_A).expect("install the other island's key");
            }
        }
    }
    let linking = reachable.elapsed();
    let limit = push_pull * 3 + Duration::from_secs(30);
    // Until the first contact, then `LATE` more; whoever still lacks
    // members then is described; then on until the limit.
    let contact_at = || tracks.lock().unwrap().iter().filter_map(|t| t.first_other).min();
    while contact_at().is_none() && reachable.elapsed() < limit {
        std::thread::sleep(POLL);
    }
    let checkpoint = contact_at().map_or(limit, |t| t.saturating_duration_since(reachable) + LATE);
    let mut merge = all_see(&nodes, 2 * half, reachable, checkpoint.min(limit));
    let mut late = None;
    if merge.is_none() {
        let names: Vec<String> = (0..half).map(|i| format!("a{i}")).chain((0..half).map(|i| format!("b{i}"))).collect();
        let lack = lacking(&nodes, &names);
        let shown = lack.iter().take(3).map(|(who, lacks)| format!("{who} lacks {}", lacks.join(" "))).collect();
        late = Some((lack.len(), shown));
        merge = all_see(&nodes, 2 * half, reachable, limit);
    }
    let relayed = streams.load(Ordering::Relaxed);
    let udp_drops = udp_drops() - drops_before;
    let seed_push_pulls = seed_push_pulls(&nodes) - seed_push_pulls_before;
    let tracks = tracks.lock().unwrap().clone();
    let since = |t: Option<Instant>| t.map(|t| t.saturating_duration_since(reachable).as_secs_f64());
    let node_contact: Vec<Option<f64>> = tracks.iter().map(|t| since(t.first_other)).collect();
    let node_complete: Vec<Option<f64>> = tracks.iter().map(|t| since(t.all_others)).collect();
    let first_contact =
        tracks.iter().filter_map(|t| t.first_other).min().map(|t| t.saturating_duration_since(reachable));
    let suspicions = tracks.iter().map(|t| t.suspicions).sum::<u64>() - suspicions_before;
    for node in &nodes {
        node.shutdown();
    }
    drop(relays);
    Islands {
        waited,
        joined_before,
        linking,
        first_contact,
        node_contact,
        node_complete,
        suspicions,
        merge,
        relayed,
        late,
        udp_drops,
        seed_push_pulls,
    }
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

    let part = std::env::var("BENCH_PART").unwrap_or_default();
    let link = match std::env::var("BENCH_LINK").as_deref() {
        Ok("relay") => Link::Relay,
        _ => Link::Keys,
    };
    let (do_cold, do_islands) = (part != "islands", part != "cold");
    let mut cold = Vec::new();
    for run in (0..runs).filter(|_| do_cold) {
        let c = cold_start(n, &mut rng);
        println!(
            "cold start {run}: all see all {:.3} s after the seed's start; last joined at {}; {} join attempts; \
             {} UDP receive-buffer drops (host){}",
            c.converge.as_secs_f64(),
            c.all_joined.map_or("(not all)".into(), |d| format!("{:.3} s", d.as_secs_f64())),
            c.join_attempts,
            c.udp_drops,
            c.late.as_ref().map_or(String::new(), |(count, shown)| format!(
                "; at {LATE:?}, {count} nodes lacked members ({})",
                shown.join("; ")
            )),
        );
        cold.push(c);
        std::thread::sleep(Duration::from_secs(1));
    }
    let mut isl = Vec::new();
    for run in (0..runs).filter(|_| do_islands) {
        let r = islands(n, link, push_pull, &mut rng);
        println!(
            "islands {run}: linked {:.1} s after both formed ({} of {} nodes joined; linking took {:.3} s); \
             first contact {}; all see all {} ({} gossips to seeds meanwhile, {} push-pulls through relays)",
            r.waited.as_secs_f64(),
            r.joined_before,
            n / 2 * 2,
            r.linking.as_secs_f64(),
            r.first_contact.map_or("none".into(), |d| format!("{:.3} s", d.as_secs_f64())),
            r.merge.map_or(format!("not within {} s", (push_pull * 3).as_secs() + 30), |d| format!(
                "{:.3} s",
                d.as_secs_f64()
            )),
            r.seed_push_pulls,
            r.relayed,
        );
        println!(
            "  per node, first member of the other island: {}; all of them: {}; suspicions meanwhile: {}; \
             UDP receive-buffer drops (host): {}{}",
            spread(&r.node_contact),
            spread(&r.node_complete),
            r.suspicions,
            r.udp_drops,
            r.late.as_ref().map_or(String::new(), |(count, shown)| format!(
                "\n  {LATE:?} after the first contact, {count} nodes lacked members ({})",
                shown.join("; ")
            )),
        );
        isl.push(r);
        std::thread::sleep(Duration::from_secs(1));
    }

    let converge: Vec<Option<f64>> = cold.iter().map(|c| Some(c.converge.as_secs_f64())).collect();
    let all_joined: Vec<Option<f64>> = cold.iter().map(|c| secs(c.all_joined)).collect();
    let merge: Vec<Option<f64>> = isl.iter().map(|r| secs(r.merge)).collect();
    let contact: Vec<Option<f64>> = isl.iter().map(|r| secs(r.first_contact)).collect();
    let p90: Vec<Option<f64>> = isl.iter().map(|r| quantile(&r.node_complete, 0.9)).collect();
    let pp = push_pull.as_secs_f64();
    let half = n / 2;
    println!("\n| metric, {runs} runs | median | min | max | target |\n|---|---|---|---|---|");
    println!("| cold start of {n}: seed's start until all see all | {} | < 2 s |", cells(&converge));
    println!("| cold start of {n}: seed's start until the last joined | {} | |", cells(&all_joined));
    let l = format!("{link:?}").to_lowercase();
    println!(
        "| islands of {half} (link: {l}): reachable until all see all | {} | < {pp} s (push_pull_interval) |",
        cells(&merge)
    );
    println!(
        "| islands of {half} (link: {l}): reachable until 90% of nodes saw the whole other island | {} | |",
        cells(&p90)
    );
    println!(
        "| islands of {half} (link: {l}): reachable until the first sees the other island | {} | |",
        cells(&contact)
    );

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
            "late_nodes_at_3s": cold.iter().map(|c| c.late.as_ref().map_or(0, |l| l.0)).collect::<Vec<_>>(),
            "udp_rcvbuf_drops": cold.iter().map(|c| c.udp_drops).collect::<Vec<_>>(),
            "target_s": 2.0,
        },
        "islands": {
            "island_nodes": half,
            "merge_median_s": median_of(&merge),
            "merge_s": merge,
            "first_contact_median_s": median_of(&contact),
            "p90_nodes_complete_s": p90,
            "first_contact_s": contact,
            "opened_after_formed_s": isl.iter().map(|r| r.waited.as_secs_f64()).collect::<Vec<_>>(),
            "joined_before_opening": isl.iter().map(|r| r.joined_before).collect::<Vec<_>>(),
            "link": format!("{link:?}").to_lowercase(),
            "linking_s": isl.iter().map(|r| r.linking.as_secs_f64()).collect::<Vec<_>>(),
            "seed_push_pulls_during_merge": isl.iter().map(|r| r.seed_push_pulls).collect::<Vec<_>>(),
            "relayed_push_pulls": isl.iter().map(|r| r.relayed).collect::<Vec<_>>(),
            "late_nodes_3s_after_contact": isl.iter().map(|r| r.late.as_ref().map_or(0, |l| l.0)).collect::<Vec<_>>(),
            "udp_rcvbuf_drops": isl.iter().map(|r| r.udp_drops).collect::<Vec<_>>(),
            "suspicions_during_merge": isl.iter().map(|r| r.suspicions).collect::<Vec<_>>(),
            "per_node_first_other_s": isl.iter().map(|r| r.node_contact.clone()).collect::<Vec<_>>(),
            "per_node_all_others_s": isl.iter().map(|r| r.node_complete.clone()).collect::<Vec<_>>(),
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
