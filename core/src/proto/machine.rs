//! The protocol state machine: routes inputs to the mechanisms and collects
//! their outputs. It owns no socket and reads no clock.
//!
//! Drive it like this, in any order, from one thread:
//! - inputs: [`Proto::handle_packet`], [`Proto::handle_stream`] (a stream a
//!   peer opened), [`Proto::handle_stream_reply`] / [`Proto::handle_stream_failed`]
//!   (a stream we asked for), [`Proto::handle_timeout`], and the commands
//!   ([`Proto::join`], [`Proto::leave`], [`Proto::set_meta`],
//!   [`Proto::broadcast`], [`Proto::send`]);
//! - then drain the outputs: [`Proto::poll_transmit`] (UDP packets),
//!   [`Proto::poll_stream`] (TCP exchanges to open), [`Proto::poll_event`]
//!   (what the user sees), and sleep until [`Proto::poll_timeout`].

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::awareness::Awareness;
use super::broadcast_queue::{retransmit_limit, BroadcastQueue, Rumour};
use super::catch_up::CatchUp;
use super::config::{Config, ConfigError};
use super::kv::{sync::speaks_state, Replica, STATE_DELEGATE_VERSION};
use super::members::{Member, MemberState, Members, NodeState};
use super::probe::{ActiveProbe, Relay};
use super::rng::Rng;
use super::seeds::{ResolveRequest, SeedSettings, Seeds};
use super::suspicion::Suspicion;
use super::user::Seen;
use crate::metrics::{Sample, Timing};
use crate::wire::packet::{self, Layers};
use crate::wire::{compound, Alive, Message, COMPOUND_HEADER_OVERHEAD, COMPOUND_OVERHEAD, META_MAX_SIZE};

/// The highest protocol version this implementation understands.
pub const PROTOCOL_VERSION_MAX: u8 = 5;
/// The lowest protocol version this implementation understands.
pub const PROTOCOL_VERSION_MIN: u8 = 1;
/// Most parts in one compound packet we build (the count is one byte).
const MAX_COMPOUND_PARTS: usize = 255;

/// Timings kept for the `metrics` facade between two of the runtime's
/// collections; past that they still count in the histograms.
const MAX_KEPT_OBSERVATIONS: usize = 1024;
/// Token the leave's dead rumour carries through the broadcast queue.
pub(super) const LEAVE_TOKEN: u64 = 1;

/// A UDP packet to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Destination.
    pub to: SocketAddr,
    /// The packet, every layer applied.
    pub payload: Vec<u8>,
}

/// Identifies a stream the machine asked the runtime to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u64);

/// A TCP exchange to perform: connect to `to`, write `payload`, and if
/// `expects_reply`, read the reply and hand it to
/// [`Proto::handle_stream_reply`]; on any failure or after `timeout`, call
/// [`Proto::handle_stream_failed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRequest {
    /// Identifies the exchange in the replies.
    pub id: StreamId,
    /// Peer address.
    pub to: SocketAddr,
    /// Bytes to write.
    pub payload: Vec<u8>,
    /// Whether a reply message follows.
    pub expects_reply: bool,
    /// Give up after this long.
    pub timeout: Duration,
}

/// How a user message reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// Spread to every member by [`Proto::broadcast`].
    Broadcast,
    /// Sent to this member alone by [`Proto::send`].
    Direct,
    /// A plain memberlist user message: from a Go peer, or from a rumour
    /// node with `raw_user_messages`. memberlist does not say whether it
    /// was broadcast or sent to this member alone, nor by whom.
    Plain,
}

impl MessageKind {
    /// Its name in lower case (`broadcast`, `direct`, `plain`), as the
    /// bindings and the `rumour` command spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Broadcast => "broadcast",
            MessageKind::Direct => "direct",
            MessageKind::Plain => "plain",
        }
    }
}

/// What the user of a node is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A member joined (or came back after being dead or gone).
    MemberJoined(Member),
    /// A member changed its metadata.
    MemberUpdated(Member),
    /// A member missed probes and is suspected.
    MemberSuspect(Member),
    /// A suspected member refuted the suspicion.
    MemberRecovered(Member),
    /// A member was declared failed.
    MemberFailed(Member),
    /// A member left gracefully.
    MemberLeft(Member),
    /// A user message.
    Message {
        /// Sender's name, when the sender is a rumour node (Go memberlist
        /// user messages carry no sender).
        from: Option<String>,
        /// Broadcast or direct.
        kind: MessageKind,
        /// The bytes.
        payload: Vec<u8>,
    },
    /// A memberlist peer's push-pull user state (what its delegate's
    /// `LocalState` returned), from a periodic exchange or a join.
    RemoteState(Vec<u8>),
    /// A key of the replicated map changed in this node's replica.
    StateChanged(super::kv::StateChange),
    /// The runtime's event queue was full and this many events were dropped
    /// before this one (the protocol itself never drops or emits this).
    EventsLost(u64),
    /// This node joined a cluster: `via` answered a join (a configured
    /// seed, a remembered peer or an explicit `join`) or joined this node.
    /// Once per start; the moment `Node::joined` waits for.
    Joined {
        /// The peer's address.
        via: SocketAddr,
    },
    /// This node stopped trying its seeds: `attempts` attempts failed
    /// (`Config::retry_join_max_attempts`). It still gossips to the seeds
    /// and answers peers that reach it, so a [`Event::Joined`] may follow.
    /// What `Node::joined` reports as `JoinError::GaveUp`.
    JoinGaveUp {
        /// The attempts made.
        attempts: u32,
        /// The last attempt's seeds and why each failed.
        failures: Vec<super::seeds::SeedFailure>,
    },
}

impl Event {
    /// For a membership change, what happened (`joined`, `updated`,
    /// `suspect`, `recovered`, `failed` or `left`) and to whom; `None` for
    /// every other event.
    pub fn member_change(&self) -> Option<(&'static str, &Member)> {
        Some(match self {
            Event::MemberJoined(m) => ("joined", m),
            Event::MemberUpdated(m) => ("updated", m),
            Event::MemberSuspect(m) => ("suspect", m),
            Event::MemberRecovered(m) => ("recovered", m),
            Event::MemberFailed(m) => ("failed", m),
            Event::MemberLeft(m) => ("left", m),
            // Listed, not `_`, so a new kind of event has to be placed here.
            Event::Message { .. }
            | Event::RemoteState(_)
            | Event::StateChanged(_)
            | Event::EventsLost(_)
            | Event::Joined { .. }
            | Event::JoinGaveUp { .. } => return None,
        })
    }
}

/// Protocol decisions, recorded for the simulator when tracing is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trace {
    /// A probe of `target` began.
    ProbeStarted {
        /// The member probed.
        target: String,
    },
    /// The probe of `target` ended.
    ProbeFinished {
        /// The member probed.
        target: String,
        /// Whether any ack (direct, indirect or TCP) came back in time.
        acked: bool,
    },
    /// An attempt to join the seeds failed (every address of it).
    JoinAttemptFailed {
        /// Which attempt (1 is the first).
        attempt: u32,
        /// Why each address or name failed.
        failures: Vec<super::seeds::SeedFailure>,
        /// The wait before the next attempt; none when the node gave up.
        retry_in: Option<Duration>,
    },
    /// A push-pull went to a seed missing from the live members.
    SeedPushPull {
        /// The seed's address.
        to: SocketAddr,
    },
    /// A node alone joined back an unknown peer that reached it.
    Hailed {
        /// The peer's address.
        from: SocketAddr,
    },
}

/// A random delay in `(0, period)`, for timers started at a random phase
/// (memberlist's `triggerFunc` stagger); zero for a zero period.
fn stagger(rng: &mut Rng, period: Duration) -> Duration {
    if period.is_zero() {
        Duration::ZERO
    } else {
        Duration::from_nanos((rng.next_u64() % period.as_nanos().max(1) as u64).max(1))
    }
}

/// A cluster view's hash ([`Proto::digest`]); shown as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest(pub u64);

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Counters kept by the machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtoStats {
    /// Packets handed to [`Proto::poll_transmit`].
    pub packets_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
    /// Packets given to [`Proto::handle_packet`].
    pub packets_received: u64,
    /// Their bytes.
    pub bytes_received: u64,
    /// Packets or messages that failed to decode, or had the wrong label or key.
    pub decode_errors: u64,
    /// Streams requested.
    pub streams_opened: u64,
    /// Streams accepted from peers.
    pub streams_accepted: u64,
    /// Probes started.
    pub probes: u64,
    /// Probes that ended without any ack.
    pub probes_failed: u64,
    /// Times this node refuted a suspicion or death about itself.
    pub refutes: u64,
    /// Times this node spread its current alive again because an accusation
    /// older than its incarnation showed someone missed its refutation.
    pub reasserts: u64,
    /// Accusations of this node answered with its alive sent straight back.
    pub accusers_answered: u64,
    /// Alive messages ignored because the name is taken by another address.
    pub name_conflicts: u64,
    /// Push-pull exchanges refused for incompatible protocol versions.
    pub incompatible_peers: u64,
    /// Attempts to reach a member declared failed (see `Config::reconnect_timeout`).
    pub reconnect_attempts: u64,
    /// Packets of the extra gossip rounds run at once on learning that a
    /// member failed or left (see `Experiment::prompt_gossip`).
    pub prompt_gossip_packets: u64,
    /// Bytes of replicated-map rumours queued or pushed (each once, however
    /// often it is retransmitted).
    pub state_rumour_bytes: u64,
    /// Bytes of replicated-map anti-entropy this node sent: push-pull
    /// summaries and descent steps, before encryption.
    pub state_sync_bytes: u64,
    /// Entries this node took from peers through anti-entropy.
    pub state_repaired: u64,
    /// Remote writes refused (over this node's bounds, or a bad key).
    pub state_rejected: u64,
    /// Entries dropped because a peer showed them older than a tombstone
    /// it had already collected.
    pub state_dropped_stale: u64,
    /// Attempts to join the configured seeds (and remembered peers).
    pub join_attempts: u64,
    /// Push-pulls with a seed that was not among the live members
    /// (`Config::gossip_to_seeds`).
    pub seed_push_pulls: u64,
    /// Joins back to an unknown peer that reached this node while it was
    /// alone (a cluster that still counts it as a member).
    pub hails_answered: u64,
    /// Push-pulls with a random member after a burst of joins, to pick up
    /// the rumours gossip missed (see the `catch_up` module).
    pub catch_up_pulls: u64,
    /// Alive messages that changed the member table (`memberlist.msg.alive`).
    pub msg_alive: u64,
    /// Suspect messages that made a member suspect (`memberlist.msg.suspect`).
    pub msg_suspect: u64,
    /// Dead messages that marked a member failed or left (`memberlist.msg.dead`).
    pub msg_dead: u64,
    /// Probes started with an interval stretched by a poor health score
    /// (`memberlist.degraded.probe`).
    pub degraded_probes: u64,
    /// Suspicions that ran out with fewer confirmations than expected
    /// (`memberlist.degraded.timeout`).
    pub degraded_timeouts: u64,
    /// Bytes of the state this node sent in its last push-pull, either side.
    pub last_push_pull_local_bytes: u64,
    /// Bytes of the state the peer sent in the last push-pull, either side.
    pub last_push_pull_remote_bytes: u64,
    /// How long probes took, ping to ack or to their end without one.
    pub probe_time: Timing,
    /// How long our push-pulls took, opening to merging the reply.
    pub push_pull_time: Timing,
    /// How long gossip rounds that had rumours to send took to build and send.
    pub gossip_time: Timing,
}

/// Why a command was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// Metadata above memberlist's 512-byte limit.
    #[error("metadata is {0} bytes; at most 512 are allowed")]
    MetaTooLarge(usize),
    /// A message that does not fit in one packet.
    #[error("message is {size} bytes; at most {limit} fit in one packet (send reliably for more)")]
    MessageTooLarge {
        /// Its size.
        size: usize,
        /// The most that fits.
        limit: usize,
    },
    /// No member of that name is known.
    #[error("no member named {0:?}")]
    UnknownMember(String),
    /// The member is dead or has left.
    #[error("member {0:?} is not alive")]
    MemberGone(String),
    /// The node has left the cluster.
    #[error("this node has left the cluster")]
    Left,
    /// Push-pull user state above the limit.
    #[error("local state is {size} bytes; at most {limit} are allowed")]
    LocalStateTooLarge {
        /// Its size.
        size: usize,
        /// The most allowed.
        limit: usize,
    },
}

/// What the stream a peer opened came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamOutcome {
    /// The message is incomplete: read more and call again with all of it.
    NeedMore,
    /// Handled; write `reply` back if there is one, then close.
    Done {
        /// Bytes to write back.
        reply: Option<Vec<u8>>,
    },
    /// The input was bad; write `reply` (an error message) if any, then close.
    Rejected {
        /// Bytes to write back.
        reply: Option<Vec<u8>>,
        /// What was wrong.
        error: crate::wire::DecodeError,
    },
}

/// What a stream we opened came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyOutcome {
    /// The reply is incomplete: read more and call again with all of it.
    NeedMore,
    /// The exchange is over.
    Done(Result<(), StreamFailure>),
}

/// Why an exchange we opened failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamFailure {
    /// The reply could not be decoded.
    #[error("bad reply: {0}")]
    Decode(crate::wire::DecodeError),
    /// The peer answered with an error message.
    #[error("peer reported: {0}")]
    Remote(String),
    /// The peer answered with something else than expected.
    #[error("unexpected reply")]
    UnexpectedReply,
    /// The peer's protocol versions cannot work with ours.
    #[error("incompatible protocol versions: {0}")]
    Incompatible(String),
    /// No exchange of that id is pending.
    #[error("unknown stream")]
    UnknownStream,
    /// Connection failed or timed out (reported by the runtime).
    #[error("connection failed or timed out")]
    Connection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PendingStream {
    PushPull {
        join: bool,
        to: SocketAddr,
        started: Instant,
    },
    TcpPing {
        seq: u32,
    },
    UserMessage,
    /// A step of the replicated map's anti-entropy descent.
    StateSync {
        to: SocketAddr,
        hops: u8,
        /// Some step so far left something out for lack of room.
        partial: bool,
    },
}

#[derive(Debug, Default)]
pub(super) struct Timers {
    pub(super) probe: Option<Instant>,
    pub(super) gossip: Option<Instant>,
    pub(super) push_pull: Option<Instant>,
    /// A second exchange with a seed shortly after joining through it.
    pub(super) resync: Option<(Instant, SocketAddr)>,
    /// A follow-up state exchange after one that repaired something.
    pub(super) state_sync: Option<Instant>,
    /// The next attempt to reach a member declared failed.
    pub(super) reconnect: Option<Instant>,
}

/// One node's protocol state. See the module documentation for how to drive it.
#[derive(Debug)]
pub struct Proto {
    pub(super) cfg: Config,
    pub(super) layers: Layers,
    pub(super) name: String,
    pub(super) addr: SocketAddr,
    pub(super) incarnation: u32,
    pub(super) seq_no: u32,
    pub(super) rng: Rng,
    pub(super) members: Members,
    pub(super) awareness: Awareness,
    pub(super) suspicions: HashMap<String, Suspicion>,
    pub(super) broadcasts: BroadcastQueue,
    pub(super) user_broadcasts: BroadcastQueue,
    /// Replicated-map writes, sent only to members that take state.
    pub(super) state_broadcasts: BroadcastQueue,
    pub(super) kv: Replica,
    /// Timestamps below this were issued before this node started.
    pub(super) kv_boot: u64,
    /// (instant, Unix ms at that instant): see [`Proto::set_wall_clock`].
    pub(super) wall: (Instant, u64),
    /// State exchanges still to make after the last one that taught us something.
    pub(super) follow_ups: u8,
    /// Push-pull user state for memberlist peers.
    pub(super) local_user_state: Vec<u8>,
    /// Members declared failed and since forgotten, with when: tried now
    /// and then, so a healed partition rejoins by itself.
    pub(super) failed: VecDeque<(Member, Instant)>,
    /// Gossip rounds that had rumours to send (the runtime times them).
    pub(super) gossip_rounds: u64,
    /// When each accuser last got our alive straight back (state.rs).
    pub(super) answered_accusers: HashMap<SocketAddr, Instant>,
    pub(super) seen: Seen,
    pub(super) user_seq: u64,
    pub(super) probe: Option<ActiveProbe>,
    pub(super) probe_pending: bool,
    /// An extra gossip round is due at the end of this input (gossip.rs).
    pub(super) gossip_due: bool,
    /// Nothing was queued when the driver last asked (gossip.rs
    /// `park_idle_gossip`): the gossip ticks are left out of `poll_timeout`.
    pub(super) gossip_parked: bool,
    /// The resync exchange under way, the members its seed knew at the
    /// exchange before, and how many more may follow (push_pull.rs,
    /// `schedule_resync`).
    pub(super) resync_stream: Option<StreamId>,
    pub(super) resync_seed_knew: usize,
    pub(super) resyncs_left: u8,
    /// Our last answer to a push-pull, for the ones that follow it closely
    /// (push_pull.rs, `push_pull_answer`).
    pub(super) last_answer: Option<super::push_pull::Answer>,
    pub(super) probe_index: usize,
    pub(super) relays: HashMap<u32, Relay>,
    pub(super) timers: Timers,
    /// The configured seeds and remembered peers (seeds.rs).
    pub(super) seeds: Seeds,
    /// Extra pulls after a burst of joins (catch_up.rs).
    pub(super) catch_up: CatchUp,
    /// Seed names waiting for the runtime to resolve them.
    pub(super) resolves: VecDeque<ResolveRequest>,
    pub(super) pending_streams: HashMap<StreamId, PendingStream>,
    pub(super) next_stream: u64,
    pub(super) left: bool,
    pub(super) leave_done: bool,
    transmits: VecDeque<Transmit>,
    streams: VecDeque<StreamRequest>,
    pub(super) events: VecDeque<Event>,
    trace: Option<VecDeque<Trace>>,
    /// Timings since the runtime last took them, for the `metrics` facade
    /// (see [`Proto::take_observations`]); `None` unless asked for.
    observations: Option<Vec<(&'static str, f64)>>,
    pub(super) stats: ProtoStats,
}

impl Proto {
    /// A node named `config.name` reachable at `addr`, with its RNG seeded by
    /// `seed`. It knows only itself until it joins or is joined.
    pub fn new(config: Config, addr: SocketAddr, seed: u64, now: Instant) -> Result<Self, ConfigError> {
        config.validate()?;
        if config.name.is_empty() {
            return Err(ConfigError { field: "name", reason: "must not be empty".into() });
        }
        let layers = Layers {
            label: config.label.clone(),
            keyring: config.keyring(),
            compress: config.enable_compression,
            verify_incoming: config.gossip_verify_incoming,
            verify_outgoing: config.gossip_verify_outgoing,
        };
        let lifeguard = config.experiment.lifeguard;
        let mut rng = Rng::new(seed);
        let settings = SeedSettings {
            retry_interval: config.retry_join_interval,
            retry_max_interval: config.retry_join_max_interval,
            max_attempts: config.retry_join_max_attempts,
            gossip_interval: (config.gossip_to_seeds && !config.push_pull_interval.is_zero())
                .then_some(config.push_pull_interval),
            probe_interval: config.probe_interval,
            hail_gap: if config.push_pull_interval.is_zero() {
                Duration::from_secs(30)
            } else {
                config.push_pull_interval
            },
        };
        let seeds = Seeds::new(&config.seeds, settings, now, &mut rng);
        let mut p = Proto {
            name: config.name.clone(),
            addr,
            incarnation: 0,
            seq_no: 0,
            rng,
            members: Members::new(Rng::new(!seed).next_u64()),
            awareness: Awareness::new(config.awareness_max_multiplier, lifeguard),
            suspicions: HashMap::new(),
            broadcasts: BroadcastQueue::default(),
            user_broadcasts: BroadcastQueue::default(),
            state_broadcasts: BroadcastQueue::default(),
            kv: Replica::new(config.state.clone()),
            kv_boot: 0,
            wall: (now, 0),
            follow_ups: 0,
            local_user_state: Vec::new(),
            failed: VecDeque::new(),
            gossip_rounds: 0,
            answered_accusers: HashMap::new(),
            seen: Seen::default(),
            user_seq: 0,
            probe: None,
            probe_pending: false,
            gossip_due: false,
            gossip_parked: false,
            resync_stream: None,
            resync_seed_knew: 0,
            resyncs_left: 0,
            last_answer: None,
            probe_index: 0,
            relays: HashMap::new(),
            timers: Timers::default(),
            seeds,
            catch_up: CatchUp::default(),
            resolves: VecDeque::new(),
            pending_streams: HashMap::new(),
            next_stream: 0,
            left: false,
            leave_done: false,
            transmits: VecDeque::new(),
            streams: VecDeque::new(),
            events: VecDeque::new(),
            trace: None,
            observations: None,
            stats: ProtoStats::default(),
            layers,
            cfg: config,
        };
        p.schedule(now);
        let alive = Alive {
            incarnation: p.next_incarnation(),
            node: p.name.clone(),
            addr,
            meta: p.cfg.meta.clone(),
            vsn: p.vsn(),
        };
        p.alive_node(alive, true, now);
        Ok(p)
    }

    /// Starts the periodic timers, each at a random phase as memberlist's
    /// `triggerFunc` staggers them (or all at once when experiment
    /// alignment asks for it).
    fn schedule(&mut self, now: Instant) {
        let probe = stagger(&mut self.rng, self.cfg.probe_interval);
        self.timers.probe = Some(now + probe);
        if !self.cfg.gossip_interval.is_zero() && self.cfg.gossip_nodes > 0 {
            let g = stagger(&mut self.rng, self.cfg.gossip_interval);
            self.timers.gossip = Some(now + g);
        }
        if !self.cfg.push_pull_interval.is_zero() {
            let pp = stagger(&mut self.rng, self.cfg.push_pull_interval);
            self.timers.push_pull = Some(now + pp);
            if !self.cfg.reconnect_timeout.is_zero() {
                let rc = stagger(&mut self.rng, self.cfg.push_pull_interval);
                self.timers.reconnect = Some(now + rc);
            }
        }
    }

    /// Moves every periodic timer so that its next tick falls at `at`
    /// (the simulator aligns nodes this way for the SWIM-model experiments).
    pub fn align_timers(&mut self, at: Instant) {
        self.timers.probe = Some(at);
        if self.timers.gossip.is_some() {
            self.timers.gossip = Some(at);
        }
    }

    /// Turns recording of [`Trace`] records on or off.
    pub fn set_tracing(&mut self, on: bool) {
        self.trace = on.then(VecDeque::new);
    }

    pub(super) fn trace(&mut self, t: Trace) {
        if let Some(q) = &mut self.trace {
            q.push_back(t);
        }
    }

    /// The next trace record, if tracing is on.
    pub fn poll_trace(&mut self) -> Option<Trace> {
        self.trace.as_mut()?.pop_front()
    }

    /// This node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This node's configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Protocol version vector this node advertises.
    pub(super) fn vsn(&self) -> [u8; 6] {
        [PROTOCOL_VERSION_MIN, PROTOCOL_VERSION_MAX, self.cfg.protocol_version, 0, STATE_DELEGATE_VERSION, 0]
    }

    pub(super) fn next_seq(&mut self) -> u32 {
        self.seq_no = self.seq_no.wrapping_add(1);
        self.seq_no
    }

    pub(super) fn next_incarnation(&mut self) -> u32 {
        self.incarnation = self.incarnation.wrapping_add(1);
        self.incarnation
    }

    /// This node as a member.
    pub fn local(&self) -> Member {
        self.members.get(&self.name).expect("the local node is always in the table").member.clone()
    }

    /// Members that are alive or suspect, this node included.
    pub fn members(&self) -> Vec<Member> {
        self.members.iter().filter(|n| !n.member.state.is_gone()).map(|n| n.member.clone()).collect()
    }

    /// Every member still in the table, dead and left ones included.
    pub fn all_members(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().map(|n| &n.member)
    }

    /// One member by name.
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.get(name).map(|n| &n.member)
    }

    /// A short hash of how this node sees the cluster: the members alive
    /// or suspect (name, state, incarnation) and the replicated map's
    /// Merkle root. Every node of a converged cluster reports the same
    /// digest, so comparing digests (a deploy script, a test, a dashboard)
    /// says whether the cluster agrees without comparing member lists.
    /// Members dead or left are left out: each node forgets them at its
    /// own moment.
    pub fn digest(&self) -> Digest {
        let mut live: Vec<&Member> = self.members.iter().map(|n| &n.member).filter(|m| !m.state.is_gone()).collect();
        live.sort_by(|a, b| a.name.cmp(&b.name));
        let mut buf = Vec::with_capacity(live.len() * 24 + 8);
        for m in live {
            // Length-prefixed, so names cannot run into each other.
            buf.extend_from_slice(&(m.name.len() as u32).to_le_bytes());
            buf.extend_from_slice(m.name.as_bytes());
            buf.push(m.state as u8);
            buf.extend_from_slice(&m.incarnation.to_le_bytes());
        }
        buf.extend_from_slice(&self.kv.summary().root.to_le_bytes());
        Digest(xxhash_rust::xxh3::xxh3_64(&buf))
    }

    /// How many members are alive or suspect, this node included.
    pub fn num_members(&self) -> usize {
        self.members.iter().filter(|n| !n.member.state.is_gone()).count()
    }

    /// When the suspicion of `name` runs out, if it is suspected.
    pub fn suspicion_deadline(&self, name: &str) -> Option<Instant> {
        self.suspicions.get(name).map(|s| s.deadline())
    }

    /// Lifeguard's local health score (0 is healthy).
    pub fn health_score(&self) -> u32 {
        self.awareness.score()
    }

    /// Counters.
    pub fn stats(&self) -> &ProtoStats {
        &self.stats
    }

    /// This node's metrics under memberlist's names (see [`crate::metrics`]),
    /// from the machine's own counters; [`crate::Node::metrics`] adds the
    /// runtime's (streams, events lost).
    pub fn metrics(&self) -> Vec<Sample> {
        use crate::metrics::Value::{Counter, Gauge, Histogram};
        let s = &self.stats;
        let mut out = vec![
            Sample::of("memberlist.gossip", Histogram(s.gossip_time.clone())),
            Sample::of("memberlist.probeNode", Histogram(s.probe_time.clone())),
            Sample::of("memberlist.pushPullNode", Histogram(s.push_pull_time.clone())),
            Sample::of("memberlist.msg.alive", Counter(s.msg_alive)),
            Sample::of("memberlist.msg.suspect", Counter(s.msg_suspect)),
            Sample::of("memberlist.msg.dead", Counter(s.msg_dead)),
            Sample::of("memberlist.health.score", Gauge(self.health_score() as f64)),
            Sample::of("memberlist.degraded.probe", Counter(s.degraded_probes)),
            Sample::of("memberlist.degraded.timeout", Counter(s.degraded_timeouts)),
            Sample::of("memberlist.udp.sent", Counter(s.bytes_sent)),
            Sample::of("memberlist.udp.received", Counter(s.bytes_received)),
            Sample::of("memberlist.tcp.accept", Counter(s.streams_accepted)),
            Sample::of("memberlist.tcp.connect", Counter(s.streams_opened)),
            Sample::of("memberlist.queue.broadcasts", Gauge(self.queued_broadcasts() as f64)),
        ];
        let mut by_state = [0u64; 4];
        for n in self.members.iter() {
            by_state[n.member.state as usize] += 1;
        }
        for state in [MemberState::Alive, MemberState::Suspect, MemberState::Dead, MemberState::Left] {
            let mut sample = Sample::of("memberlist.node.instances", Gauge(by_state[state as usize] as f64));
            sample.labels.push(("node_state", state.as_str()));
            out.push(sample);
        }
        let kv = self.kv.summary();
        out.extend([
            Sample::of("memberlist.size.local", Gauge(s.last_push_pull_local_bytes as f64)),
            Sample::of("memberlist.size.remote", Gauge(s.last_push_pull_remote_bytes as f64)),
            Sample::of("rumour.packets.sent", Counter(s.packets_sent)),
            Sample::of("rumour.packets.received", Counter(s.packets_received)),
            Sample::of("rumour.decode.errors", Counter(s.decode_errors)),
            Sample::of("rumour.probes", Counter(s.probes)),
            Sample::of("rumour.probes.failed", Counter(s.probes_failed)),
            Sample::of("rumour.refutes", Counter(s.refutes)),
            Sample::of("rumour.reasserts", Counter(s.reasserts)),
            Sample::of("rumour.accusers.answered", Counter(s.accusers_answered)),
            Sample::of("rumour.name.conflicts", Counter(s.name_conflicts)),
            Sample::of("rumour.joins.retried", Counter(s.join_attempts)),
            Sample::of("rumour.seed.push_pulls", Counter(s.seed_push_pulls)),
            Sample::of("rumour.catch_up.pulls", Counter(s.catch_up_pulls)),
            Sample::of("rumour.state.entries", Gauge(kv.live as f64)),
            Sample::of("rumour.state.tombstones", Gauge(kv.tombstones as f64)),
            Sample::of("rumour.state.bytes", Gauge(kv.bytes as f64)),
            Sample::of("rumour.state.repair_bytes", Counter(s.state_sync_bytes)),
            Sample::of("rumour.state.repaired", Counter(s.state_repaired)),
            Sample::of("rumour.state.rejected", Counter(s.state_rejected)),
        ]);
        out
    }

    /// Keeps each timing from now on for [`Proto::take_observations`] (the
    /// runtime does, to record them through the `metrics` facade).
    pub fn keep_observations(&mut self, on: bool) {
        self.observations = on.then(Vec::new);
    }

    /// Gossip rounds run so far that had rumours to send: the runtime,
    /// which reads the clock, times a turn that ran one and reports it
    /// with [`Proto::observe_gossip_round`] (memberlist times the round's
    /// own work; the machine has no clock to do so).
    pub fn gossip_rounds(&self) -> u64 {
        self.gossip_rounds
    }

    /// Counts one gossip round's time in `memberlist.gossip`.
    pub fn observe_gossip_round(&mut self, took: Duration) {
        self.observe("memberlist.gossip", took);
    }

    /// The timings since the last call: (metric name, milliseconds).
    pub fn take_observations(&mut self) -> Vec<(&'static str, f64)> {
        self.observations.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Counts one timing in `metric`'s histogram (and keeps it for the
    /// facade when asked; at most [`MAX_KEPT_OBSERVATIONS`] wait).
    pub(super) fn observe(&mut self, metric: &'static str, took: Duration) {
        let timing = match metric {
            "memberlist.probeNode" => &mut self.stats.probe_time,
            "memberlist.pushPullNode" => &mut self.stats.push_pull_time,
            _ => &mut self.stats.gossip_time,
        };
        timing.observe(took);
        if let Some(kept) = self.observations.as_mut().filter(|k| k.len() < MAX_KEPT_OBSERVATIONS) {
            kept.push((metric, took.as_secs_f64() * 1000.0));
        }
    }

    /// Rumours (membership and user) waiting to be gossiped.
    pub fn queued_broadcasts(&self) -> usize {
        self.broadcasts.len() + self.user_broadcasts.len() + self.state_broadcasts.len()
    }

    /// Whether this node has left (see [`Proto::leave`]).
    pub fn has_left(&self) -> bool {
        self.left
    }

    /// After [`Proto::leave`]: whether the leave rumour has been sent as many
    /// times as a rumour is, or there was nobody to tell. The runtime waits
    /// for this (with a timeout) before shutting down.
    pub fn leave_broadcast_done(&self) -> bool {
        self.leave_done
    }

    /// Installs members as alive without gossiping about them or raising
    /// events: the state of a node in a cluster that has long converged.
    /// For the simulator's large experiments, where learning 10,000 members
    /// by gossip first would queue 10^8 rumours before the measurement
    /// starts. Unknown names only; the local node is skipped.
    pub fn bootstrap_members(&mut self, members: impl IntoIterator<Item = Member>, now: Instant) {
        let nodes = members.into_iter().map(|member| super::members::NodeState { member, state_change: now });
        self.members.extend(nodes, &mut self.rng);
        // A node of a long-running cluster is at a random phase of its
        // scaled push-pull period, not in the first unscaled interval that
        // follows a start (where every node of a large cluster would
        // exchange its whole table at once).
        if self.timers.push_pull.is_some() {
            let scaled = super::push_pull::push_pull_scale(self.cfg.push_pull_interval, self.members.len());
            self.timers.push_pull = Some(now + stagger(&mut self.rng, scaled));
        }
    }

    // ---- commands ----

    /// Joins through `seed`: a push-pull exchange marked as a join. The
    /// result comes back through [`Proto::handle_stream_reply`] for the
    /// returned id.
    pub fn join(&mut self, seed: SocketAddr, now: Instant) -> StreamId {
        self.start_push_pull(seed, true, now)
    }

    /// Leaves gracefully: spreads a dead rumour about ourselves, which peers
    /// read as "left". See [`Proto::leave_broadcast_done`].
    pub fn leave(&mut self, now: Instant) {
        if self.left {
            return;
        }
        self.left = true;
        self.seeds.stop();
        let d = crate::wire::Dead { incarnation: self.incarnation, node: self.name.clone(), from: self.name.clone() };
        self.dead_node(d, now);
        let anyone = self.members.iter().any(|n| *n.member.name != *self.name && !n.member.state.is_gone());
        if !anyone {
            self.leave_done = true;
        }
        self.gossip_if_due(now);
    }

    /// Replaces this node's metadata and spreads it with a new incarnation.
    pub fn set_meta(&mut self, meta: Vec<u8>, now: Instant) -> Result<(), CommandError> {
        if meta.len() > META_MAX_SIZE {
            return Err(CommandError::MetaTooLarge(meta.len()));
        }
        if self.left {
            return Err(CommandError::Left);
        }
        self.cfg.meta = meta.clone();
        let alive = Alive {
            incarnation: self.next_incarnation(),
            node: self.name.clone(),
            addr: self.addr,
            meta,
            vsn: self.vsn(),
        };
        self.alive_node(alive, true, now);
        Ok(())
    }

    /// The largest user payload [`Proto::broadcast`] accepts.
    pub fn max_broadcast_size(&self) -> usize {
        let envelope = if self.cfg.raw_user_messages { 1 } else { super::user::envelope_overhead(&self.name) };
        self.packet_room() - envelope - COMPOUND_OVERHEAD
    }

    /// Spreads `payload` to every other member, each receiving it once.
    pub fn broadcast(&mut self, payload: &[u8]) -> Result<(), CommandError> {
        let limit = self.max_broadcast_size();
        if payload.len() > limit {
            return Err(CommandError::MessageTooLarge { size: payload.len(), limit });
        }
        if self.left {
            return Err(CommandError::Left);
        }
        let msg = if self.cfg.raw_user_messages {
            super::user::encode_raw(payload)
        } else {
            self.user_seq += 1;
            self.seen.insert(&self.name, self.user_seq);
            super::user::encode_broadcast(&self.name, self.user_seq, payload)
        };
        self.user_broadcasts.push(None, msg, None);
        self.user_broadcasts.prune(self.cfg.broadcast_queue_depth);
        Ok(())
    }

    /// Sends `payload` to one member: in a packet (best effort) or, when
    /// `reliable`, over a stream.
    pub fn send(&mut self, to: &str, payload: &[u8], reliable: bool, now: Instant) -> Result<(), CommandError> {
        let node = self.members.get(to).ok_or_else(|| CommandError::UnknownMember(to.to_string()))?;
        if node.member.state.is_gone() {
            return Err(CommandError::MemberGone(to.to_string()));
        }
        let addr = node.member.addr;
        let msg = if self.cfg.raw_user_messages {
            super::user::encode_raw(payload)
        } else {
            super::user::encode_direct(&self.name, payload)
        };
        if reliable {
            let _ = now;
            let stream = crate::wire::stream::StreamMessage::User(msg[1..].to_vec());
            self.open_stream(addr, stream.encode_plain(), PendingStream::UserMessage, false);
            return Ok(());
        }
        let limit = self.packet_room();
        if msg.len() > limit {
            return Err(CommandError::MessageTooLarge {
                size: payload.len(),
                limit: limit - (msg.len() - payload.len()),
            });
        }
        self.raw_send(addr, Some(to), msg);
        Ok(())
    }

    // ---- inputs ----

    /// A UDP packet arrived from `from`.
    pub fn handle_packet(&mut self, from: SocketAddr, packet: &[u8], now: Instant) {
        self.stats.packets_received += 1;
        self.stats.bytes_received += packet.len() as u64;
        let body = match packet::open(&self.layers, packet) {
            Ok(b) => b,
            Err(_) => {
                self.stats.decode_errors += 1;
                return;
            }
        };
        let (msgs, errors) = packet::split(&body);
        self.stats.decode_errors += errors.len() as u64;
        if !msgs.is_empty() {
            self.maybe_hailed(from, now);
        }
        for m in msgs {
            self.handle_message(from, m, now);
        }
        self.gossip_if_due(now);
    }

    fn handle_message(&mut self, from: SocketAddr, msg: Message, now: Instant) {
        match msg {
            Message::Ping(p) => {
                if !p.source_node.is_empty()
                    && self.members.get(&p.source_node).is_none_or(|n| n.member.state.is_gone())
                {
                    self.unknown_pinger(from, now);
                }
                self.handle_ping(from, p)
            }
            Message::Suspect(s) if s.node == self.name => {
                self.suspect_node(s, now);
                self.answer_accuser(from, now);
            }
            Message::Dead(d) if d.node == self.name => {
                self.dead_node(d, now);
                self.answer_accuser(from, now);
            }
            Message::IndirectPing(ind) => self.handle_indirect_ping(from, ind, now),
            Message::Ack(a) if self.seeds.is_seed_ping(a.seq_no) => self.seeds.seed_answered(now),
            Message::Ack(a) => self.handle_ack(a, now),
            Message::Nack(n) => self.handle_nack(n),
            Message::Suspect(s) => self.suspect_node(s, now),
            Message::Alive(a) => {
                if !self.left || a.node != self.name {
                    self.alive_node(a, false, now)
                }
            }
            Message::Dead(d) => self.dead_node(d, now),
            Message::User(bytes) => self.handle_user(&bytes, now),
        }
    }

    /// Time passed: fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.probe_timers(now);
        if let Some(at) = self.timers.probe.filter(|t| *t <= now) {
            self.timers.probe = Some(next_tick(at, self.cfg.probe_interval, now));
            if self.probe.is_some() {
                // memberlist's ticker keeps one tick while a probe runs.
                self.probe_pending = true;
            } else {
                self.start_probe(now);
            }
        }
        if let Some(at) = self.timers.gossip.filter(|t| *t <= now) {
            self.timers.gossip = Some(next_tick(at, self.cfg.gossip_interval, now));
            // Parked, the ticks up to now passed with nothing queued (what a
            // probe timer above just queued waits for the next one).
            if !self.gossip_parked {
                self.gossip(now);
            }
        }
        if self.timers.push_pull.is_some_and(|t| t <= now) {
            let interval = super::push_pull::push_pull_scale(self.cfg.push_pull_interval, self.members.len());
            self.timers.push_pull = Some(now + interval);
            self.periodic_push_pull(now);
        }
        if self.timers.reconnect.is_some_and(|t| t <= now) {
            self.timers.reconnect = Some(now + self.cfg.push_pull_interval);
            self.reconnect(now);
        }
        if let Some((_, seed)) = self.timers.resync.filter(|(at, _)| *at <= now) {
            self.timers.resync = None;
            self.resync_stream = Some(self.start_pull(seed, now));
        }
        if self.catch_up.take_due(now) {
            self.catch_up_pull(now);
        }
        self.relay_timers(now);
        self.suspicion_timers(now);
        self.state_timers(now);
        self.seed_timers(now);
        self.gossip_if_due(now);
    }

    /// When [`Proto::handle_timeout`] next needs calling.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        consider(self.timers.probe);
        if !self.gossip_parked {
            consider(self.timers.gossip);
        }
        consider(self.timers.push_pull);
        consider(self.timers.resync.map(|(at, _)| at));
        consider(self.timers.reconnect);
        if let Some(p) = &self.probe {
            consider(Some(p.next_deadline()));
        }
        for r in self.relays.values() {
            consider(Some(r.next_deadline()));
        }
        for s in self.suspicions.values() {
            consider(Some(s.deadline()));
        }
        consider(self.state_deadline());
        consider(self.seeds.deadline());
        consider(self.catch_up.deadline());
        next
    }

    /// The next packet to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next stream exchange to open.
    pub fn poll_stream(&mut self) -> Option<StreamRequest> {
        self.streams.pop_front()
    }

    /// The next seed names to resolve: resolve every A and AAAA record of
    /// each and hand them back with [`Proto::handle_resolved`] (a name that
    /// does not resolve is an error of that attempt, not of the node).
    pub fn poll_resolve(&mut self) -> Option<ResolveRequest> {
        self.resolves.pop_front()
    }

    /// The next event for the user.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ---- output helpers ----

    /// Bytes available in one packet for messages, after compound header
    /// and encryption overheads.
    pub(super) fn packet_room(&self) -> usize {
        self.cfg.udp_buffer_size - COMPOUND_HEADER_OVERHEAD - self.layers.packet_overhead()
    }

    /// Takes queued rumours fitting in `limit` bytes: membership first, user
    /// broadcasts in what is left (memberlist `getBroadcasts`), then, for a
    /// member that takes state, replicated-map writes.
    pub(super) fn get_broadcasts(&mut self, overhead: usize, limit: usize, state: bool) -> Vec<Rumour> {
        let tl = self
            .cfg
            .experiment
            .retransmit_limit
            .unwrap_or_else(|| retransmit_limit(self.cfg.retransmit_mult, self.members.len()));
        let mut out = self.broadcasts.take(overhead, limit, tl);
        let used: usize = out.iter().map(|m| m.len() + overhead).sum();
        let avail = limit.saturating_sub(used);
        if avail > overhead + crate::wire::USER_MSG_OVERHEAD {
            out.extend(self.user_broadcasts.take(overhead, avail, tl));
        }
        if state && !self.state_broadcasts.is_empty() {
            let used: usize = out.iter().map(|m| m.len() + overhead).sum();
            let avail = limit.saturating_sub(used);
            if avail > overhead + crate::wire::USER_MSG_OVERHEAD {
                out.extend(self.state_broadcasts.take(overhead, avail, tl));
            }
        }
        out.truncate(MAX_COMPOUND_PARTS - 1);
        if self.broadcasts.take_finished().contains(&LEAVE_TOKEN) {
            self.leave_done = true;
        }
        out
    }

    /// Sends one message, piggybacking queued rumours (memberlist `sendMsg`).
    pub(super) fn send_msg(&mut self, to: SocketAddr, to_name: Option<&str>, msg: Vec<u8>) {
        let avail = self.packet_room().saturating_sub(msg.len());
        let state = to_name.and_then(|n| self.members.get(n)).is_some_and(|n| speaks_state(&n.member));
        let extra = self.get_broadcasts(COMPOUND_OVERHEAD, avail, state);
        if extra.is_empty() {
            self.raw_send(to, to_name, msg);
            return;
        }
        let parts: Vec<&[u8]> = std::iter::once(&msg[..]).chain(extra.iter().map(|r| &r[..])).collect();
        let payload = compound::encode(&parts);
        self.raw_send(to, to_name, payload);
    }

    /// Wraps and queues a packet. A CRC is added for members known to speak
    /// protocol 5, as memberlist adds it.
    pub(super) fn raw_send(&mut self, to: SocketAddr, to_name: Option<&str>, payload: Vec<u8>) {
        let crc = to_name.and_then(|n| self.members.get(n)).is_some_and(|n| n.member.protocol[1] >= 5);
        let nonce = if self.layers.encrypts() { self.rng.nonce() } else { [0; 12] };
        let wire = packet::seal(&self.layers, payload, crc, nonce);
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += wire.len() as u64;
        self.transmits.push_back(Transmit { to, payload: wire });
    }

    /// Queues a stream exchange and remembers what it is for.
    pub(super) fn open_stream(
        &mut self,
        to: SocketAddr,
        plain: Vec<u8>,
        purpose: PendingStream,
        expects_reply: bool,
    ) -> StreamId {
        self.next_stream += 1;
        let id = StreamId(self.next_stream);
        let nonce = if self.layers.encrypts() { self.rng.nonce() } else { [0; 12] };
        let payload = crate::wire::stream::seal_encoded(&self.layers, plain, nonce);
        if expects_reply {
            self.pending_streams.insert(id, purpose);
        }
        self.stats.streams_opened += 1;
        self.streams.push_back(StreamRequest { id, to, payload, expects_reply, timeout: self.cfg.tcp_timeout });
        id
    }

    pub(super) fn emit(&mut self, event: Event) {
        self.events.push_back(event);
    }

    pub(super) fn node_mut(&mut self, name: &str) -> Option<&mut NodeState> {
        self.members.get_mut(name)
    }
}

/// The first tick of a `period` grid anchored at `at` that lies after `now`
/// (missed ticks are dropped, as Go's ticker drops them).
pub(super) fn next_tick(at: Instant, period: Duration, now: Instant) -> Instant {
    let mut next = at + period;
    if next <= now {
        let behind = now.duration_since(at).as_nanos() / period.as_nanos().max(1);
        next = at + period * (behind as u32 + 1);
    }
    next
}
