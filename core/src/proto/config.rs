//! Configuration, one field per knob, named as memberlist names it.
//!
//! [`Config::lan`], [`Config::wan`] and [`Config::local`] equal memberlist's
//! `DefaultLANConfig`, `DefaultWANConfig` and `DefaultLocalConfig` value for
//! value (tested below). [`Config::validate`] names the field at fault.

use std::time::Duration;

use crate::wire::{Keyring, LABEL_MAX_SIZE, META_MAX_SIZE};

/// How a node chooses whom to probe. Only the simulator's experiments need
/// anything but the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProbeSelection {
    /// memberlist: walk a shuffled list of members, reshuffling each round,
    /// so every member is probed once per round.
    #[default]
    RoundRobin,
    /// The SWIM paper's model: a uniformly random member each period.
    UniformRandom,
}

/// Switches for experiments; the defaults are memberlist's behaviour and the
/// only settings to use against real peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Experiment {
    /// Probe target choice. Default: [`ProbeSelection::RoundRobin`].
    pub probe_selection: ProbeSelection,
    /// Lifeguard (local health awareness, nacks, suspicion shrinking with
    /// confirmations, the suspicion piggybacked on probes of a suspect).
    /// Off gives plain SWIM with a fixed suspicion timeout (the minimum).
    /// Default: on.
    pub lifeguard: bool,
    /// Whether a failed probe raises a suspicion. Off isolates the probe
    /// mechanism for measurement. Default: on.
    pub suspect_on_failed_probe: bool,
    /// Send each rumour exactly this many times instead of
    /// `retransmit_mult * ceil(log10(n + 1))`. Default: none.
    pub retransmit_limit: Option<u32>,
    /// A node that learns a member failed or left gossips it at once
    /// instead of at its next gossip tick (at most `gossip_nodes` more
    /// packets per node per verdict; ordinary gossip packets on the wire).
    /// Off gives memberlist's pacing. Default: on.
    pub prompt_gossip: bool,
}

impl Default for Experiment {
    fn default() -> Self {
        Experiment {
            probe_selection: ProbeSelection::RoundRobin,
            lifeguard: true,
            suspect_on_failed_probe: true,
            retransmit_limit: None,
            prompt_gossip: true,
        }
    }
}

/// Everything a node needs to know, protocol timings included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Unique node name. Empty asks the runtime to use the host name plus a
    /// short random suffix; the protocol itself needs a non-empty name.
    pub name: String,
    /// Address to bind, "host:port"; port 0 picks a free port. Default
    /// "0.0.0.0:7946". Used by the runtime.
    pub bind: String,
    /// Address to tell peers, "host:port", when it differs from the bound one
    /// (NAT, containers). Default none.
    pub advertise: Option<String>,
    /// Peers to join, "host:port" (host names allowed, every A/AAAA
    /// record tried; port 7946 when omitted). Not used once: the node
    /// keeps trying them until one answers (`retry_join_*`), resolves the
    /// names again at each attempt, and later push-pulls with any that is
    /// not among its live members (`gossip_to_seeds`). Duplicates and this
    /// node's own address are skipped.
    pub seeds: Vec<String>,
    /// The wait after the first failed attempt to join the seeds; it
    /// doubles after each further failure up to `retry_join_max_interval`,
    /// each wait jittered into its upper half. Meanwhile a UDP ping goes to
    /// each seed address four times per interval, and an ack brings the
    /// next attempt forward, so a cluster forms within about a quarter of
    /// this after its seed starts. Default 1 s; must not be zero.
    pub retry_join_interval: Duration,
    /// The longest wait between join attempts. Longer spares a seed that
    /// is down a storm of reconnects; shorter joins sooner when it only
    /// answers TCP. Default 30 s; at least `retry_join_interval`.
    pub retry_join_max_interval: Duration,
    /// Join attempts before giving up (then `Node::joined` reports the
    /// failures; gossip to seeds still goes on). 0, the default, tries
    /// forever.
    pub retry_join_max_attempts: u32,
    /// Once joined (or after giving up), push-pull every unscaled
    /// `push_pull_interval` with one seed address that is not among the
    /// live members, or with any seed or remembered peer while alone, as
    /// Cassandra gossips to seeds: two clusters that formed apart become
    /// one. Costs one TCP exchange per interval per node while a seed is
    /// missing. Default true.
    pub gossip_to_seeds: bool,
    /// A file where the node keeps the members it knows and its own
    /// incarnation (written atomically, at most every few seconds and at
    /// leave), and reads them back at start: a restarted node rejoins its
    /// peers with no seed up, and starts above its old incarnation. A
    /// missing, damaged or foreign file is logged and ignored. Used by the
    /// runtime. Default none.
    pub peers_file: Option<std::path::PathBuf>,
    /// Encryption keys (16, 24 or 32 bytes); the first encrypts. Empty: no
    /// encryption.
    pub keys: Vec<Vec<u8>>,
    /// Cluster label; peers with another label are ignored. Default empty.
    pub label: String,
    /// Node metadata, at most 512 bytes (memberlist `MetaMaxSize`).
    pub meta: Vec<u8>,
    /// Protocol version spoken, 2 to 5. Default 2
    /// (`ProtocolVersion2Compatible`). 3 adds TCP pings, 4 nacks, 5 CRCs;
    /// this node understands all of them whatever it speaks.
    pub protocol_version: u8,
    /// Timeout of a TCP exchange (push-pull, reliable send). LAN 10 s.
    pub tcp_timeout: Duration,
    /// How long a peer's connection may stay silent before its first bytes
    /// (real peers write as soon as they connect); then it is closed and
    /// counted (`streams_silent`). A longer `tcp_timeout` than this is not
    /// needed for it: the shorter of the two applies. LAN and local 1 s,
    /// WAN 3 s; must not be zero. Used by the runtime.
    pub tcp_first_byte_timeout: Duration,
    /// How often a running node records its metrics through the `metrics`
    /// facade (see [`crate::metrics`]), on a wake-up it has anyway; zero
    /// turns that off. Default 1 s. Used by the runtime; `Node::metrics`
    /// and the bindings' collectors read the counters whenever asked.
    pub metrics_interval: Duration,
    /// Peers' connections held at once. When full, a newcomer replaces the
    /// connection that has been silent longest (`streams_evicted`); one is
    /// refused (`streams_refused`) only if every held connection is being
    /// judged at that moment. Default 256. Used by the runtime.
    pub tcp_max_incoming: usize,
    /// Connections held at once from one source address that is not a
    /// known member's; beyond it, a newcomer from that address replaces the
    /// address's own quietest connection. Default 32; at most
    /// `tcp_max_incoming`. Used by the runtime.
    pub tcp_max_incoming_per_source: usize,
    /// Of `tcp_max_incoming`, the places only addresses of known members
    /// may take, so a flood from elsewhere never silences the cluster's
    /// own push-pulls. Default 64; less than `tcp_max_incoming`. Used by
    /// the runtime.
    pub tcp_reserved_for_members: usize,
    /// Helpers asked to probe a member that missed a direct probe. LAN 3.
    /// More helpers mean fewer false suspicions on lossy links, more traffic.
    pub indirect_checks: usize,
    /// Each rumour is sent `retransmit_mult * ceil(log10(n + 1))` times. LAN 4.
    /// Higher spreads more surely, at more traffic.
    pub retransmit_mult: u32,
    /// Suspicion lasts at least `suspicion_mult * max(1, log10(n)) *
    /// probe_interval`. LAN 4. Higher means fewer false failures, slower
    /// detection.
    pub suspicion_mult: u32,
    /// The suspicion timeout starts at `suspicion_max_timeout_mult` times the
    /// minimum and shrinks with confirmations. LAN 6.
    pub suspicion_max_timeout_mult: u32,
    /// Full state exchange with one random member every interval, scaled up
    /// with cluster size past 32 members. LAN 30 s; zero disables.
    pub push_pull_interval: Duration,
    /// Time between probes. LAN 1 s. Shorter detects sooner at more traffic.
    pub probe_interval: Duration,
    /// Wait for a direct ack before asking helpers. LAN 500 ms; set it near
    /// the 99th percentile round trip.
    pub probe_timeout: Duration,
    /// Do not try a TCP ping when UDP probes fail. LAN false.
    pub disable_tcp_pings: bool,
    /// Local health awareness scales the probe interval up to this many
    /// times. LAN 8.
    pub awareness_max_multiplier: u32,
    /// Members gossiped to each gossip interval. LAN 3.
    pub gossip_nodes: usize,
    /// Time between gossip rounds. LAN 200 ms; zero disables gossip.
    pub gossip_interval: Duration,
    /// Keep gossiping to a dead member this long, so it can learn it was
    /// declared dead and refute. LAN 30 s.
    pub gossip_to_the_dead_time: Duration,
    /// Refuse unencrypted input when keys are set. LAN true; turn off only
    /// while rolling encryption out.
    pub gossip_verify_incoming: bool,
    /// Encrypt output when keys are set. LAN true.
    pub gossip_verify_outgoing: bool,
    /// Compress packets (when that makes them smaller) and streams. LAN true.
    pub enable_compression: bool,
    /// A dead member's name may be reclaimed by a new address after this
    /// long. Zero (the default) never allows it; a left member always may.
    pub dead_node_reclaim_time: Duration,
    /// Largest packet this node sends; rumours are packed up to it. LAN 1400.
    pub udp_buffer_size: usize,
    /// Queued user broadcasts beyond this are dropped, most-sent first.
    /// Default 1024.
    pub broadcast_queue_depth: usize,
    /// Send user messages as memberlist does, without rumour's envelope:
    /// Go peers then receive exactly the bytes given. The cost: no sender
    /// name, no broadcast/direct distinction, no relaying (a broadcast
    /// goes out from this node only, as a memberlist delegate's does) and
    /// no duplicate suppression: as in memberlist, each of a broadcast's
    /// retransmissions that reaches a node is delivered there.
    /// Default false (rumour nodes read both forms either way).
    pub raw_user_messages: bool,
    /// How long this node keeps trying to reach a member it declared
    /// failed (one random such member every `push_pull_interval`), so that
    /// the two sides of a healed partition find each other again without
    /// anyone joining by hand (memberlist never retries; Serf's reconnect
    /// does this). Zero turns it off. Default 24 hours.
    pub reconnect_timeout: Duration,
    /// Bounds and tombstone grace of the replicated map.
    pub state: super::kv::StateConfig,
    /// Experimental switches (keep the defaults against real peers).
    pub experiment: Experiment,
}

/// A configuration value that cannot work. Nothing was started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid config field `{field}`: {reason}")]
pub struct ConfigError {
    /// The field at fault, as named in [`Config`].
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

fn err(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError { field, reason: reason.into() }
}

impl Config {
    /// memberlist `DefaultLANConfig`.
    pub fn lan() -> Self {
        Config {
            name: String::new(),
            bind: "0.0.0.0:7946".into(),
            advertise: None,
            seeds: Vec::new(),
            retry_join_interval: Duration::from_secs(1),
            retry_join_max_interval: Duration::from_secs(30),
            retry_join_max_attempts: 0,
            gossip_to_seeds: true,
            peers_file: None,
            keys: Vec::new(),
            label: String::new(),
            meta: Vec::new(),
            protocol_version: 2,
            tcp_timeout: Duration::from_secs(10),
            tcp_first_byte_timeout: Duration::from_secs(1),
            tcp_max_incoming: 256,
            metrics_interval: Duration::from_secs(1),
            tcp_max_incoming_per_source: 32,
            tcp_reserved_for_members: 64,
            indirect_checks: 3,
            retransmit_mult: 4,
            suspicion_mult: 4,
            suspicion_max_timeout_mult: 6,
            push_pull_interval: Duration::from_secs(30),
            probe_interval: Duration::from_secs(1),
            probe_timeout: Duration::from_millis(500),
            disable_tcp_pings: false,
            awareness_max_multiplier: 8,
            gossip_nodes: 3,
            gossip_interval: Duration::from_millis(200),
            gossip_to_the_dead_time: Duration::from_secs(30),
            gossip_verify_incoming: true,
            gossip_verify_outgoing: true,
            enable_compression: true,
            dead_node_reclaim_time: Duration::ZERO,
            udp_buffer_size: 1400,
            broadcast_queue_depth: 1024,
            raw_user_messages: false,
            reconnect_timeout: Duration::from_secs(24 * 3600),
            state: super::kv::StateConfig::default(),
            experiment: Experiment::default(),
        }
    }

    /// memberlist `DefaultWANConfig`: slower, more tolerant timings.
    pub fn wan() -> Self {
        Config {
            tcp_timeout: Duration::from_secs(30),
            tcp_first_byte_timeout: Duration::from_secs(3),
            suspicion_mult: 6,
            push_pull_interval: Duration::from_secs(60),
            probe_timeout: Duration::from_secs(3),
            probe_interval: Duration::from_secs(5),
            gossip_nodes: 4,
            gossip_interval: Duration::from_millis(500),
            gossip_to_the_dead_time: Duration::from_secs(60),
            ..Config::lan()
        }
    }

    /// memberlist `DefaultLocalConfig`: fast timings for loopback.
    pub fn local() -> Self {
        Config {
            tcp_timeout: Duration::from_secs(1),
            indirect_checks: 1,
            retransmit_mult: 2,
            suspicion_mult: 3,
            push_pull_interval: Duration::from_secs(15),
            probe_timeout: Duration::from_millis(200),
            probe_interval: Duration::from_secs(1),
            gossip_interval: Duration::from_millis(100),
            gossip_to_the_dead_time: Duration::from_secs(15),
            ..Config::lan()
        }
    }

    /// Checks every field; the error names the first one at fault.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.name.len() > u8::MAX as usize * 4 {
            return Err(err("name", "longer than 1020 bytes"));
        }
        if self.meta.len() > META_MAX_SIZE {
            return Err(err("meta", format!("{} bytes; at most {META_MAX_SIZE}", self.meta.len())));
        }
        if self.label.len() > LABEL_MAX_SIZE {
            return Err(err("label", format!("{} bytes; at most {LABEL_MAX_SIZE}", self.label.len())));
        }
        if let Some((first, rest)) = self.keys.split_first() {
            Keyring::new(first, rest).map_err(|e| err("keys", e.to_string()))?;
        }
        if !(2..=5).contains(&self.protocol_version) {
            return Err(err("protocol_version", format!("{}; supported are 2 to 5", self.protocol_version)));
        }
        let positive = [
            ("probe_interval", self.probe_interval),
            ("probe_timeout", self.probe_timeout),
            ("tcp_timeout", self.tcp_timeout),
            ("tcp_first_byte_timeout", self.tcp_first_byte_timeout),
        ];
        for (field, d) in positive {
            if d.is_zero() {
                return Err(err(field, "must not be zero"));
            }
        }
        if self.tcp_max_incoming == 0 {
            return Err(err("tcp_max_incoming", "must not be zero"));
        }
        if self.tcp_max_incoming_per_source == 0 || self.tcp_max_incoming_per_source > self.tcp_max_incoming {
            return Err(err("tcp_max_incoming_per_source", "must be 1 to tcp_max_incoming"));
        }
        if self.tcp_reserved_for_members >= self.tcp_max_incoming {
            return Err(err("tcp_reserved_for_members", "must be less than tcp_max_incoming"));
        }
        if self.retry_join_interval.is_zero() {
            return Err(err("retry_join_interval", "must not be zero"));
        }
        if self.retry_join_max_interval < self.retry_join_interval {
            return Err(err("retry_join_max_interval", "must be at least retry_join_interval"));
        }
        if self.peers_file.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            return Err(err("peers_file", "must not be empty (use none to turn it off)"));
        }
        if self.probe_timeout > self.probe_interval {
            return Err(err("probe_timeout", "must not exceed probe_interval"));
        }
        if self.suspicion_mult == 0 {
            return Err(err("suspicion_mult", "must not be zero"));
        }
        if self.suspicion_max_timeout_mult == 0 {
            return Err(err("suspicion_max_timeout_mult", "must not be zero"));
        }
        if self.retransmit_mult == 0 {
            return Err(err("retransmit_mult", "must not be zero"));
        }
        if self.awareness_max_multiplier == 0 {
            return Err(err("awareness_max_multiplier", "must not be zero"));
        }
        if !(256..=65_000).contains(&self.udp_buffer_size) {
            return Err(err("udp_buffer_size", format!("{}; use 256 to 65000", self.udp_buffer_size)));
        }
        if self.broadcast_queue_depth == 0 {
            return Err(err("broadcast_queue_depth", "must not be zero"));
        }
        if self.state.tombstone_grace.is_zero() {
            return Err(err("state.tombstone_grace", "must not be zero"));
        }
        if self.state.max_value_bytes > crate::wire::MAX_PUSH_STATE_BYTES / 2 {
            return Err(err("state.max_value_bytes", "must fit in a stream (at most 10 MiB)"));
        }
        Ok(())
    }

    /// The keyring the keys make, if any (call after [`Config::validate`]).
    pub(crate) fn keyring(&self) -> Option<Keyring> {
        let (first, rest) = self.keys.split_first()?;
        Keyring::new(first, rest).ok()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::lan()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }
    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Values from memberlist config.go, DefaultLANConfig, field by field.
    #[test]
    fn lan_equals_memberlist_default_lan_config() {
        let c = Config::lan();
        assert_eq!(c.bind, "0.0.0.0:7946");
        assert_eq!(c.protocol_version, 2);
        assert_eq!(c.tcp_timeout, s(10));
        assert_eq!(c.indirect_checks, 3);
        assert_eq!(c.retransmit_mult, 4);
        assert_eq!(c.suspicion_mult, 4);
        assert_eq!(c.suspicion_max_timeout_mult, 6);
        assert_eq!(c.push_pull_interval, s(30));
        assert_eq!(c.probe_timeout, ms(500));
        assert_eq!(c.probe_interval, s(1));
        assert!(!c.disable_tcp_pings);
        assert_eq!(c.awareness_max_multiplier, 8);
        assert_eq!(c.gossip_nodes, 3);
        assert_eq!(c.gossip_interval, ms(200));
        assert_eq!(c.gossip_to_the_dead_time, s(30));
        assert!(c.gossip_verify_incoming && c.gossip_verify_outgoing);
        assert!(c.enable_compression);
        assert!(c.keys.is_empty());
        assert_eq!(c.udp_buffer_size, 1400);
        assert_eq!(c.dead_node_reclaim_time, Duration::ZERO);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn wan_equals_memberlist_default_wan_config() {
        let c = Config::wan();
        assert_eq!(c.tcp_timeout, s(30));
        assert_eq!(c.suspicion_mult, 6);
        assert_eq!(c.push_pull_interval, s(60));
        assert_eq!(c.probe_timeout, s(3));
        assert_eq!(c.probe_interval, s(5));
        assert_eq!(c.gossip_nodes, 4);
        assert_eq!(c.gossip_interval, ms(500));
        assert_eq!(c.gossip_to_the_dead_time, s(60));
        assert_eq!((c.indirect_checks, c.retransmit_mult, c.suspicion_max_timeout_mult), (3, 4, 6));
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn local_equals_memberlist_default_local_config() {
        let c = Config::local();
        assert_eq!(c.tcp_timeout, s(1));
        assert_eq!(c.indirect_checks, 1);
        assert_eq!(c.retransmit_mult, 2);
        assert_eq!(c.suspicion_mult, 3);
        assert_eq!(c.push_pull_interval, s(15));
        assert_eq!(c.probe_timeout, ms(200));
        assert_eq!(c.probe_interval, s(1));
        assert_eq!(c.gossip_interval, ms(100));
        assert_eq!(c.gossip_to_the_dead_time, s(15));
        assert_eq!((c.gossip_nodes, c.suspicion_max_timeout_mult, c.awareness_max_multiplier), (3, 6, 8));
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn invalid_fields_are_named() {
        type Breaker = Box<dyn Fn(&mut Config)>;
        let cases: Vec<(&str, Breaker)> = vec![
            ("meta", Box::new(|c| c.meta = vec![0; 513])),
            ("keys", Box::new(|c| c.keys = vec![vec![0; 7]])),
            ("protocol_version", Box::new(|c| c.protocol_version = 9)),
            ("probe_interval", Box::new(|c| c.probe_interval = Duration::ZERO)),
            ("probe_timeout", Box::new(|c| c.probe_timeout = s(5))),
            ("suspicion_mult", Box::new(|c| c.suspicion_mult = 0)),
            ("udp_buffer_size", Box::new(|c| c.udp_buffer_size = 10)),
            ("label", Box::new(|c| c.label = "x".repeat(300))),
            ("retry_join_interval", Box::new(|c| c.retry_join_interval = Duration::ZERO)),
            ("retry_join_max_interval", Box::new(|c| c.retry_join_max_interval = ms(10))),
            ("peers_file", Box::new(|c| c.peers_file = Some("".into()))),
            ("tcp_first_byte_timeout", Box::new(|c| c.tcp_first_byte_timeout = Duration::ZERO)),
            ("tcp_max_incoming", Box::new(|c| c.tcp_max_incoming = 0)),
            ("tcp_max_incoming_per_source", Box::new(|c| c.tcp_max_incoming_per_source = 0)),
            ("tcp_max_incoming_per_source", Box::new(|c| c.tcp_max_incoming_per_source = 257)),
            ("tcp_reserved_for_members", Box::new(|c| c.tcp_reserved_for_members = 256)),
        ];
        for (field, break_it) in cases {
            let mut c = Config::lan();
            break_it(&mut c);
            assert_eq!(c.validate().unwrap_err().field, field);
        }
    }
}
