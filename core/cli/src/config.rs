//! The agent's TOML file: every `rumour::Config` field under its own name
//! (durations in seconds, keys and metadata as text), `preset` for the
//! defaults they override, and an `[agent]` table for the HTTP API.
//! Unknown keys and wrong types are refused with the key and the line
//! (serde's `deny_unknown_fields` and toml's spans do that).

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Deserializer};

/// A duration written as a number of seconds (`0.5`, `30`).
#[derive(Debug, Clone, Copy)]
pub struct Secs(pub Duration);

impl<'de> Deserialize<'de> for Secs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v)
            .map(Secs)
            .map_err(|_| serde::de::Error::custom(format!("{v} is not a number of seconds, zero or more")))
    }
}

/// The presets a file starts from.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// memberlist's LAN defaults.
    #[default]
    Lan,
    /// memberlist's WAN defaults.
    Wan,
    /// memberlist's local (loopback) defaults.
    Local,
}

/// The `[agent]` table: where the HTTP API listens and its token.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSection {
    /// Address of the HTTP API (default 127.0.0.1:7947).
    pub http: Option<String>,
    /// The bearer token every request must carry.
    pub token: Option<String>,
    /// A file holding the token (its first line), instead of `token`.
    pub token_file: Option<PathBuf>,
}

/// The `[state]` table: the replicated map's bounds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSection {
    max_value_bytes: Option<usize>,
    max_entries: Option<usize>,
    max_bytes: Option<usize>,
    tombstone_grace: Option<Secs>,
}

/// The `[experiment]` table: protocol switches for experiments.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSection {
    lifeguard: Option<bool>,
    suspect_on_failed_probe: Option<bool>,
    retransmit_limit: Option<u32>,
    prompt_gossip: Option<bool>,
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `lan` (default), `wan` or `local`.
    pub preset: Option<Preset>,
    /// The HTTP API.
    #[serde(default)]
    pub agent: AgentSection,
    name: Option<String>,
    bind: Option<String>,
    advertise: Option<String>,
    seeds: Option<Vec<String>>,
    retry_join_interval: Option<Secs>,
    retry_join_max_interval: Option<Secs>,
    retry_join_max_attempts: Option<u32>,
    gossip_to_seeds: Option<bool>,
    peers_file: Option<PathBuf>,
    /// Base64, as `rumour keygen` prints them; the first encrypts.
    keys: Option<Vec<String>>,
    label: Option<String>,
    meta: Option<String>,
    protocol_version: Option<u8>,
    tcp_timeout: Option<Secs>,
    tcp_first_byte_timeout: Option<Secs>,
    metrics_interval: Option<Secs>,
    tcp_max_incoming: Option<usize>,
    tcp_max_incoming_per_source: Option<usize>,
    tcp_reserved_for_members: Option<usize>,
    indirect_checks: Option<usize>,
    retransmit_mult: Option<u32>,
    suspicion_mult: Option<u32>,
    suspicion_max_timeout_mult: Option<u32>,
    push_pull_interval: Option<Secs>,
    probe_interval: Option<Secs>,
    probe_timeout: Option<Secs>,
    disable_tcp_pings: Option<bool>,
    awareness_max_multiplier: Option<u32>,
    gossip_nodes: Option<usize>,
    gossip_interval: Option<Secs>,
    gossip_to_the_dead_time: Option<Secs>,
    gossip_verify_incoming: Option<bool>,
    gossip_verify_outgoing: Option<bool>,
    enable_compression: Option<bool>,
    dead_node_reclaim_time: Option<Secs>,
    udp_buffer_size: Option<usize>,
    broadcast_queue_depth: Option<usize>,
    raw_user_messages: Option<bool>,
    reconnect_timeout: Option<Secs>,
    state: Option<StateSection>,
    experiment: Option<ExperimentSection>,
}

/// Reads and checks the file at `path`.
pub fn read(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses a file's text; the error names the key and its line.
pub fn parse(text: &str) -> Result<FileConfig, String> {
    toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
}

/// Decodes a key written in base64 (16, 24 or 32 bytes once decoded).
pub fn decode_key(text: &str) -> Result<Vec<u8>, String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| format!("a key is base64 (as `rumour keygen` prints it): {e}"))?;
    if ![16, 24, 32].contains(&key.len()) {
        return Err(format!("a key is 16, 24 or 32 bytes; this one is {}", key.len()));
    }
    Ok(key)
}

/// Writes a key as the file and the API take it.
pub fn encode_key(key: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(key)
}

impl FileConfig {
    /// The node's config: the preset, then every field the file sets.
    pub fn to_config(&self) -> Result<rumour::Config, String> {
        let mut c = match self.preset.unwrap_or_default() {
            Preset::Lan => rumour::Config::lan(),
            Preset::Wan => rumour::Config::wan(),
            Preset::Local => rumour::Config::local(),
        };
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = self.$field.clone() { c.$field = v; } )* };
        }
        macro_rules! set_secs {
            ($($field:ident),*) => { $( if let Some(Secs(v)) = self.$field { c.$field = v; } )* };
        }
        set!(
            name,
            bind,
            seeds,
            retry_join_max_attempts,
            gossip_to_seeds,
            label,
            protocol_version,
            tcp_max_incoming,
            tcp_max_incoming_per_source,
            tcp_reserved_for_members,
            indirect_checks,
            retransmit_mult,
            suspicion_mult,
            suspicion_max_timeout_mult,
            disable_tcp_pings,
            awareness_max_multiplier,
            gossip_nodes,
            gossip_verify_incoming,
            gossip_verify_outgoing,
            enable_compression,
            udp_buffer_size,
            broadcast_queue_depth,
            raw_user_messages
        );
        set_secs!(
            retry_join_interval,
            retry_join_max_interval,
            tcp_timeout,
            tcp_first_byte_timeout,
            metrics_interval,
            push_pull_interval,
            probe_interval,
            probe_timeout,
            gossip_interval,
            gossip_to_the_dead_time,
            dead_node_reclaim_time,
            reconnect_timeout
        );
        if let Some(a) = &self.advertise {
            c.advertise = Some(a.clone());
        }
        if let Some(p) = &self.peers_file {
            c.peers_file = Some(p.clone());
        }
        if let Some(m) = &self.meta {
            c.meta = m.as_bytes().to_vec();
        }
        if let Some(keys) = &self.keys {
            c.keys = keys
                .iter()
                .enumerate()
                .map(|(i, k)| decode_key(k).map_err(|e| format!("keys[{i}]: {e}")))
                .collect::<Result<_, _>>()?;
        }
        if let Some(s) = &self.state {
            if let Some(v) = s.max_value_bytes {
                c.state.max_value_bytes = v;
            }
            if let Some(v) = s.max_entries {
                c.state.max_entries = v;
            }
            if let Some(v) = s.max_bytes {
                c.state.max_bytes = v;
            }
            if let Some(Secs(v)) = s.tombstone_grace {
                c.state.tombstone_grace = v;
            }
        }
        if let Some(e) = &self.experiment {
            if let Some(v) = e.lifeguard {
                c.experiment.lifeguard = v;
            }
            if let Some(v) = e.suspect_on_failed_probe {
                c.experiment.suspect_on_failed_probe = v;
            }
            if e.retransmit_limit.is_some() {
                c.experiment.retransmit_limit = e.retransmit_limit;
            }
            if let Some(v) = e.prompt_gossip {
                c.experiment.prompt_gossip = v;
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_read_under_its_own_name() {
        let f = parse(
            "preset = \"local\"\nname = \"a\"\nprobe_interval = 0.5\nseeds = [\"10.0.0.1:7946\"]\n\
             keys = [\"AAECAwQFBgcICQoLDA0ODw==\"]\n[state]\nmax_entries = 10\n[agent]\nhttp = \"127.0.0.1:9\"\n",
        )
        .unwrap();
        let c = f.to_config().unwrap();
        assert_eq!((c.name.as_str(), c.probe_interval), ("a", Duration::from_millis(500)));
        assert_eq!(c.probe_timeout, rumour::Config::local().probe_timeout, "the preset's default");
        assert_eq!((c.seeds.len(), c.keys[0].len(), c.state.max_entries), (1, 16, 10));
        assert_eq!(f.agent.http.as_deref(), Some("127.0.0.1:9"));
    }

    #[test]
    fn an_unknown_key_or_a_wrong_type_is_named_with_its_line() {
        let e = parse("name = \"a\"\nprobe_intervall = 1\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("probe_intervall"), "{e}");
        let e = parse("name = \"a\"\n\nprobe_interval = \"fast\"\n").unwrap_err();
        assert!(e.contains("line 3") && e.contains("probe_interval"), "{e}");
        let e = parse("probe_timeout = -1\n").unwrap_err();
        assert!(e.contains("line 1") && e.contains("zero or more"), "{e}");
        let e = parse("keys = [\"short\"]\n").unwrap().to_config().unwrap_err();
        assert!(e.contains("keys[0]"), "{e}");
    }
}
