//! The public handle of a running node.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::block::block_on;
use super::dispatch::{Callback, DispatchCounters, Dispatcher, EventStream, Subscribers};
use super::driver::{Command, Driver, RuntimeCounters};
use super::error::{JoinError, NodeError, StartError};
use super::peers_file::PeersFile;
use super::shared::SharedPool;
use super::state::State;
use crate::metrics::NodeMetrics;
use crate::proto::{CommandError, Config, Digest, Event, JoinStatus, Member, Proto, ProtoStats};

/// Counters of a running node: the protocol's, and the runtime's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeStats {
    /// Members alive or suspect, this node included.
    pub members: usize,
    /// The protocol machine's counters (packets, bytes, probes, refutes...).
    pub proto: ProtoStats,
    /// Events dropped because a queue was full (also reported as
    /// [`Event::EventsLost`]).
    pub events_lost: u64,
    /// Event callbacks that panicked (each reported, the node kept running).
    pub callback_panics: u64,
    /// Streams not opened because too many of ours were in progress, and
    /// peers' connections refused because every held one was busy (see
    /// `Config::tcp_max_incoming`).
    pub streams_refused: u64,
    /// Peers' connections closed to make room for a newcomer: the held one
    /// silent longest (a flood of idle connections shows here).
    pub streams_evicted: u64,
    /// Peers' connections that sent nothing within
    /// `Config::tcp_first_byte_timeout`.
    pub streams_silent: u64,
    /// TCP streams cut off by the timeout (a stalled or slow peer).
    pub streams_timed_out: u64,
    /// TCP streams cut off at the size limit.
    pub streams_oversized: u64,
    /// TCP streams that were garbage, cut short or refused by the protocol.
    pub streams_rejected: u64,
    /// Our own TCP streams that failed (connection, timeout, bad reply).
    pub streams_failed: u64,
    /// UDP packets the OS would not send.
    pub udp_send_errors: u64,
    /// Peer file reads or writes that failed (each logged; see
    /// `Config::peers_file`).
    pub peers_file_errors: u64,
}

/// A running rumour node: a member of a cluster, on a background thread
/// with its own tokio runtime (or, started through a [`crate::SharedRuntime`], a
/// task on that one), driven by [`crate::proto`].
///
/// Every method may be called from any thread, and from async code (the
/// `_async` twins never block); all of them validate their input and return
/// a typed error. Dropping the node shuts it down.
///
/// ```
/// use std::time::Duration;
/// use rumour::{Config, Event, Node};
///
/// let config = |name: &str| Config { name: name.into(), bind: "127.0.0.1:0".into(), ..Config::local() };
/// let a = Node::start(config("a"))?;
/// let mut events = a.events();
/// let b = Node::start_with_callback(config("b"), |event: &Event| println!("b sees {event:?}"))?;
/// assert_eq!(b.join(&[a.addr().to_string()])?, 1);
/// let first = events.next_blocking(Duration::from_secs(5));
/// assert!(matches!(first, Some(Event::MemberJoined(m)) if &*m.name == "b"));
/// b.leave(Duration::from_secs(2))?;
/// b.shutdown();
/// a.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Node {
    name: String,
    addr: SocketAddr,
    bound: SocketAddr,
    commands: mpsc::UnboundedSender<Command>,
    runtime: Mutex<Option<Driving>>,
    dispatcher: Mutex<Dispatcher>,
    pub(super) subscribers: Arc<Subscribers>,
    dispatch_counters: Arc<DispatchCounters>,
    counters: Arc<RuntimeCounters>,
}

/// Where a node's driver runs, and how to wait for its end.
enum Driving {
    /// A thread of its own, with its own runtime (the default).
    Thread(JoinHandle<()>),
    /// A task on a [`crate::SharedRuntime`]: `ended` disconnects when it ends. The
    /// node keeps the pool alive while it runs.
    Task { ended: std::sync::mpsc::Receiver<()>, _pool: Arc<SharedPool> },
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("name", &self.name).field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Node {
    /// Binds the UDP socket and TCP listener, starts the runtime thread and
    /// the event dispatch thread, and joins `config.seeds` in the
    /// background, trying them until one answers (with backoff, resolving
    /// names again each time; see `Config::retry_join_interval`). It never
    /// fails because a seed is unreachable: start in any order. Wait for
    /// the join with [`Node::joined`], or watch for [`Event::Joined`].
    /// Events are available through [`Node::events`].
    pub fn start(config: Config) -> Result<Node, StartError> {
        Self::start_inner(config, None)
    }

    /// [`Node::start`], with `callback` called for every event, serially, on
    /// one dispatch thread. A callback that panics is counted in
    /// [`NodeStats::callback_panics`] and the node keeps running.
    pub fn start_with_callback(
        config: Config,
        callback: impl FnMut(&Event) + Send + 'static,
    ) -> Result<Node, StartError> {
        Self::start_inner(config, Some(Callback::Each(Box::new(callback))))
    }

    /// [`Node::start_with_callback`], with `callback` called once per batch
    /// of events instead of once per event: the dispatch thread hands over
    /// every event queued when it woke (at most 1,024, oldest first, never
    /// an empty slice), so a binding crosses into its language once per
    /// batch. Order, the bounded queue and [`Event::EventsLost`] are as for
    /// the per-event callback; a panic counts once per batch in
    /// [`NodeStats::callback_panics`]. After [`Node::shutdown`] from inside
    /// the callback, no later batch is handed over.
    pub fn start_with_batch_callback(
        config: Config,
        callback: impl FnMut(&[Event]) + Send + 'static,
    ) -> Result<Node, StartError> {
        Self::start_inner(config, Some(Callback::Batch(Box::new(callback))))
    }

    fn start_inner(config: Config, callback: Option<Callback>) -> Result<Node, StartError> {
        Self::start_on(config, callback, None)
    }

    /// Starts a node whose driver runs on `shared`, or on a runtime thread
    /// of its own when `None`.
    pub(super) fn start_on(
        mut config: Config,
        callback: Option<Callback>,
        shared: Option<&Arc<SharedPool>>,
    ) -> Result<Node, StartError> {
        if config.name.is_empty() {
            config.name = default_name();
        }
        config.validate()?;
        let bind = resolve("bind", &config.bind)?;
        let (tcp, udp) = bind_pair(bind)?;
        let bound = tcp.local_addr().map_err(|e| StartError::Bind { addr: bind, what: "tcp", source: e })?;
        let addr = match &config.advertise {
            Some(a) => resolve("advertise", a)?,
            None if bound.ip().is_unspecified() => SocketAddr::new(outbound_ip(bound.ip()), bound.port()),
            None => bound,
        };
        let name = config.name.clone();
        let peers_path = config.peers_file.clone();
        let mut proto = Proto::new(config, addr, random_seed(), Instant::now())?;
        let unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        proto.set_wall_clock(Instant::now(), unix.as_millis() as u64);
        let counters = Arc::new(RuntimeCounters::default());
        let peers_file =
            peers_path.map(|p| PeersFile::open(&p, &mut proto, Instant::now(), &counters.peers_file_errors));

        let subscribers = Arc::new(Subscribers::default());
        let dispatch_counters = Arc::new(DispatchCounters::default());
        let (dispatcher, sink) = Dispatcher::start(&name, callback, subscribers.clone(), dispatch_counters.clone())
            .map_err(StartError::Runtime)?;
        let (commands, commands_rx) = mpsc::unbounded_channel::<Command>();
        let driver_counters = counters.clone();
        let io_error = |what: &'static str| move |e| StartError::Bind { addr: bound, what, source: e };
        tcp.set_nonblocking(true).map_err(io_error("tcp"))?;
        udp.set_nonblocking(true).map_err(io_error("udp"))?;
        let drive = async move {
            let (Ok(udp), Ok(tcp)) = (tokio::net::UdpSocket::from_std(udp), tokio::net::TcpListener::from_std(tcp))
            else {
                tracing::error!(target: "rumour", "cannot register the node's sockets");
                return;
            };
            let (inputs_tx, inputs_rx) = mpsc::channel(64);
            let driver = Driver::new(proto, Arc::new(udp), inputs_tx, driver_counters, sink, peers_file);
            driver.run(tcp, commands_rx, inputs_rx).await;
        };
        let runtime = match shared {
            None => Driving::Thread(
                std::thread::Builder::new()
                    .name(format!("rumour-{name}"))
                    .spawn(move || match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        Ok(rt) => rt.block_on(drive),
                        Err(e) => tracing::error!(target: "rumour", error = %e, "cannot build the node's runtime"),
                    })
                    .map_err(StartError::Runtime)?,
            ),
            Some(pool) => {
                // Dropped when the driver ends (or the pool drops the task).
                let (ended_tx, ended) = std::sync::mpsc::channel::<()>();
                pool.handle().spawn(async move {
                    drive.await;
                    drop(ended_tx);
                });
                Driving::Task { ended, _pool: pool.clone() }
            }
        };
        let node = Node {
            name,
            addr,
            bound,
            commands,
            runtime: Mutex::new(Some(runtime)),
            dispatcher: Mutex::new(dispatcher),
            subscribers,
            dispatch_counters,
            counters,
        };
        Ok(node)
    }

    /// This node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address peers reach this node at (the advertised one).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address the sockets are bound to (the real port when the config
    /// asked for port 0).
    pub fn bound_addr(&self) -> SocketAddr {
        self.bound
    }

    /// Joins the cluster through `seeds` ("host:port"; host names are
    /// resolved, a missing port means 7946): a full state exchange with each
    /// address. Returns how many answered; [`JoinError::NoneAnswered`] lists
    /// why each failed. Blocks up to the config's `tcp_timeout`.
    pub fn join<S: AsRef<str>>(&self, seeds: &[S]) -> Result<usize, JoinError> {
        block_on(self.join_async(seeds))
    }

    /// [`Node::join`] for async code.
    pub async fn join_async<S: AsRef<str>>(&self, seeds: &[S]) -> Result<usize, JoinError> {
        let seeds: Vec<String> = seeds.iter().map(|s| s.as_ref().to_string()).collect();
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Box::new(move |d: &mut Driver| d.start_join(seeds, reply)))
            .map_err(|_| JoinError::Shutdown)?;
        answer.await.map_err(|_| JoinError::Shutdown)?
    }

    /// Waits until this node has joined a cluster: a configured seed (or a
    /// remembered peer, or an explicit [`Node::join`]) answered, or a peer
    /// joined this node. Returns the address of that peer; at once when the
    /// node joined earlier. [`JoinError::Timeout`] when `timeout` passes
    /// first (the node keeps trying), [`JoinError::GaveUp`] when
    /// `retry_join_max_attempts` ran out. A node with no seeds waits to be
    /// joined.
    pub fn joined(&self, timeout: Duration) -> Result<SocketAddr, JoinError> {
        block_on(self.joined_async(timeout))
    }

    /// [`Node::joined`] for async code.
    pub async fn joined_async(&self, timeout: Duration) -> Result<SocketAddr, JoinError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Box::new(move |d: &mut Driver| d.wait_joined(timeout, reply)))
            .map_err(|_| JoinError::Shutdown)?;
        answer.await.map_err(|_| JoinError::Shutdown)?
    }

    /// Where joining the configured seeds stands, without waiting: for
    /// callers that poll, or that wait on their own event loop.
    pub fn join_status(&self) -> Result<JoinStatus, NodeError> {
        self.call(|d| d.proto.join_status())
    }

    /// Leaves gracefully: tells the cluster, waits until the news has been
    /// sent out (up to `timeout`), and stays up to answer peers until
    /// [`Node::shutdown`]. Peers see [`Event::MemberLeft`], not a failure.
    pub fn leave(&self, timeout: Duration) -> Result<(), NodeError> {
        block_on(self.leave_async(timeout))
    }

    /// [`Node::leave`] for async code.
    pub async fn leave_async(&self, timeout: Duration) -> Result<(), NodeError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Box::new(move |d: &mut Driver| d.start_leave(timeout, reply)))
            .map_err(|_| NodeError::Shutdown)?;
        answer.await.map_err(|_| NodeError::Shutdown)?
    }

    /// Stops the node: no more packets, then every event already produced
    /// is delivered, then it returns; no callback runs after that. Safe to
    /// call twice and from inside a callback (which then returns at once,
    /// and no later callback runs). Without [`Node::leave`] first, peers
    /// will see this node fail, and what is still queued for gossip (a
    /// broadcast or state write made since the last gossip round, at most
    /// one `gossip_interval` ago) is not sent: a crash, for the others.
    pub fn shutdown(&self) {
        let _ = self.commands.send(Box::new(|d: &mut Driver| d.stop()));
        let mut dispatcher = self.dispatcher.lock().unwrap_or_else(|p| p.into_inner());
        if dispatcher.is_current() {
            self.subscribers.stopped.store(true, Ordering::Release);
        } else {
            match self.runtime.lock().unwrap_or_else(|p| p.into_inner()).take() {
                Some(Driving::Thread(t)) => {
                    let _ = t.join();
                }
                Some(Driving::Task { ended, .. }) => {
                    let _ = ended.recv();
                }
                None => {}
            }
            dispatcher.join();
        }
        self.subscribers.close_streams();
    }

    /// Members alive or suspect, this node included.
    pub fn members(&self) -> Result<Vec<Member>, NodeError> {
        self.call(|d| d.proto.members())
    }

    /// One member by name, in any state this node still remembers.
    pub fn member(&self, name: &str) -> Result<Option<Member>, NodeError> {
        let name = name.to_string();
        self.call(move |d| d.proto.member(&name).cloned())
    }

    /// A short hash of this node's view of the cluster (members alive or
    /// suspect with their states and incarnations, and the replicated
    /// map's root); equal on every node of a converged cluster (see
    /// [`crate::proto::Proto::digest`]). A deploy script waits for
    /// convergence by polling it on every node until they agree.
    pub fn digest(&self) -> Result<Digest, NodeError> {
        self.call(|d| d.proto.digest())
    }

    /// This node as its peers see it.
    pub fn local(&self) -> Result<Member, NodeError> {
        self.call(|d| d.proto.local())
    }

    /// Spreads `payload` to every member, best effort: each member delivers
    /// it once as [`Event::Message`]. It must fit in one packet.
    pub fn broadcast(&self, payload: &[u8]) -> Result<(), NodeError> {
        let payload = payload.to_vec();
        self.call(move |d| d.proto.broadcast(&payload))?.map_err(NodeError::from)
    }

    /// Sends `payload` to the member named `to`: in one packet when it
    /// fits, else over TCP (up to 20 MiB).
    pub fn send(&self, to: &str, payload: &[u8]) -> Result<(), NodeError> {
        let (to, payload) = (to.to_string(), payload.to_vec());
        self.call(move |d| match d.proto.send(&to, &payload, false, Instant::now()) {
            // The protocol knows what fits in a packet; beyond that, TCP.
            Err(CommandError::MessageTooLarge { .. }) => d.proto.send(&to, &payload, true, Instant::now()),
            sent => sent,
        })?
        .map_err(NodeError::from)
    }

    /// Sends `payload` to `to` over TCP, whatever its size.
    pub fn send_reliable(&self, to: &str, payload: &[u8]) -> Result<(), NodeError> {
        let (to, payload) = (to.to_string(), payload.to_vec());
        self.call(move |d| d.proto.send(&to, &payload, true, Instant::now()))?.map_err(NodeError::from)
    }

    /// Replaces this node's metadata (at most 512 bytes) and tells the cluster.
    pub fn set_meta(&self, meta: &[u8]) -> Result<(), NodeError> {
        let meta = meta.to_vec();
        self.call(move |d| d.proto.set_meta(meta, Instant::now()))?.map_err(NodeError::from)
    }

    /// Sets the user state this node sends in push-pull exchanges with Go
    /// memberlist peers (their delegate's `MergeRemoteState` receives it).
    /// Theirs arrives as [`Event::RemoteState`]. Rumour peers share state
    /// through [`Node::state`] instead.
    pub fn set_local_state(&self, state: &[u8]) -> Result<(), NodeError> {
        let state = state.to_vec();
        self.call(move |d| d.proto.set_local_state(state))?.map_err(NodeError::from)
    }

    /// Adds an encryption key this node accepts (see [`crate::wire::Keyring`]
    /// for the rotation order).
    pub fn install_key(&self, key: &[u8]) -> Result<(), NodeError> {
        let key = key.to_vec();
        self.call(move |d| d.proto.install_key(&key))?.map_err(NodeError::from)
    }

    /// The installed keys, the one this node encrypts with first; empty
    /// when encryption is off.
    pub fn keys(&self) -> Result<Vec<Vec<u8>>, NodeError> {
        self.call(|d| d.proto.keys())
    }

    /// Makes an installed key the one this node encrypts with.
    pub fn use_key(&self, key: &[u8]) -> Result<(), NodeError> {
        let key = key.to_vec();
        self.call(move |d| d.proto.use_key(&key))?.map_err(NodeError::from)
    }

    /// Stops accepting a key (not the primary).
    pub fn remove_key(&self, key: &[u8]) -> Result<(), NodeError> {
        let key = key.to_vec();
        self.call(move |d| d.proto.remove_key(&key))?.map_err(NodeError::from)
    }

    /// Counters of the protocol and the runtime.
    pub fn stats(&self) -> Result<NodeStats, NodeError> {
        let counters = self.counters.clone();
        let mut stats = self.call(move |d| NodeStats {
            members: d.proto.num_members(),
            proto: d.proto.stats().clone(),
            streams_refused: counters.streams_refused.load(Ordering::Relaxed),
            streams_evicted: counters.streams_evicted.load(Ordering::Relaxed),
            streams_silent: counters.streams_silent.load(Ordering::Relaxed),
            streams_timed_out: counters.streams_timed_out.load(Ordering::Relaxed),
            streams_oversized: counters.streams_oversized.load(Ordering::Relaxed),
            streams_rejected: counters.streams_rejected.load(Ordering::Relaxed),
            streams_failed: counters.streams_failed.load(Ordering::Relaxed),
            udp_send_errors: counters.udp_send_errors.load(Ordering::Relaxed),
            peers_file_errors: counters.peers_file_errors.load(Ordering::Relaxed),
            ..NodeStats::default()
        })?;
        stats.events_lost = self.dispatch_counters.events_lost.load(Ordering::Relaxed);
        stats.callback_panics = self.dispatch_counters.callback_panics.load(Ordering::Relaxed);
        Ok(stats)
    }

    /// This node's metrics under memberlist's names (see [`crate::metrics`]
    /// for the catalogue), read from its counters now: for a collector
    /// that scrapes, or [`crate::metrics::prometheus_text`]. A running node
    /// also records them through the `metrics` facade by itself (see
    /// `Config::metrics_interval`).
    pub fn metrics(&self) -> Result<NodeMetrics, NodeError> {
        self.call(|d| d.metrics())
    }

    /// The events from now on, as an async stream (it also offers blocking
    /// reads). Several streams may be open; each gets every event.
    ///
    /// "Now" is the dispatch thread's place in the event queue: events the
    /// node produced just before the call, and has not yet handed out, are
    /// in the stream too. So subscribe before the action whose events you
    /// need, and expect a stream to open with a few earlier ones.
    pub fn events(&self) -> EventStream {
        self.subscribers.subscribe(None)
    }

    /// The replicated key-value map (see [`State`]).
    pub fn state(&self) -> State<'_> {
        State { node: self }
    }

    /// Runs `f` on the protocol task and waits for its result.
    pub(super) fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Driver) -> T + Send + 'static,
    ) -> Result<T, NodeError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Box::new(move |d: &mut Driver| {
                let _ = reply.send(f(d));
            }))
            .map_err(|_| NodeError::Shutdown)?;
        block_on(answer).map_err(|_| NodeError::Shutdown)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn resolve(field: &'static str, value: &str) -> Result<SocketAddr, StartError> {
    let err = |reason: String| StartError::Resolve { field, value: value.to_string(), reason };
    let mut addrs = value.to_socket_addrs().map_err(|e| err(e.to_string()))?;
    addrs.next().ok_or_else(|| err("no address".into()))
}

/// A TCP listener and a UDP socket on the same port; with port 0, the
/// port the OS gives TCP (retried a few times if UDP has it taken).
fn bind_pair(addr: SocketAddr) -> Result<(std::net::TcpListener, UdpSocket), StartError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let tcp = listen(addr).map_err(|e| StartError::Bind { addr, what: "tcp", source: e })?;
        let port = tcp.local_addr().map_err(|e| StartError::Bind { addr, what: "tcp", source: e })?.port();
        let udp_addr = SocketAddr::new(addr.ip(), port);
        match UdpSocket::bind(udp_addr) {
            Ok(udp) => return Ok((tcp, udp)),
            Err(e) if addr.port() == 0 && attempts < 10 && e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(StartError::Bind { addr: udp_addr, what: "udp", source: e }),
        }
    }
}

/// Connections the kernel completes and queues for us before we accept
/// them (capped by `net.core.somaxconn`). std listens with 128: a burst
/// of joins, or a flood of connections, overflows that, and the kernel
/// then drops peers' SYNs, which they retry only after a second, so a
/// join under a flood would wait that long.
const LISTEN_BACKLOG: i32 = 4096;

/// A TCP listener on `addr` with a deep backlog (set up as std's own:
/// address reuse on, for a quick restart on the same port).
fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// The local address the OS would use to reach other hosts: what a node
/// bound to 0.0.0.0 advertises (no packet is sent to find it).
fn outbound_ip(unspecified: IpAddr) -> IpAddr {
    let probe = |bind: &str, target: &str| -> Option<IpAddr> {
        let s = UdpSocket::bind(bind).ok()?;
        s.connect(target).ok()?;
        s.local_addr().ok().map(|a| a.ip()).filter(|ip| !ip.is_unspecified())
    };
    let found =
        if unspecified.is_ipv4() { probe("0.0.0.0:0", "192.0.2.1:9") } else { probe("[::]:0", "[2001:db8::1]:9") };
    found.unwrap_or(if unspecified.is_ipv4() {
        IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
    } else {
        IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
    })
}

/// The host name plus a short random suffix.
fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "rumour".into());
    format!("{host}-{:06x}", random_seed() & 0xff_ffff)
}

/// A seed for the protocol's RNG from the OS: nonces and probe orders must
/// differ between nodes and runs.
fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS entropy: the clock and the process id still tell nodes apart.
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        return t.as_nanos() as u64 ^ (u64::from(std::process::id()) << 32);
    }
    u64::from_le_bytes(bytes)
}
