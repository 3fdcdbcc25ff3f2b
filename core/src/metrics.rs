//! Metrics under HashiCorp memberlist's names, so dashboards built for
//! memberlist (and Consul, Nomad, Serf on top of it) read rumour too.
//!
//! One catalogue ([`CATALOGUE`]) names every metric with its kind, unit and
//! meaning; a node's [`Sample`]s are taken from its counters when asked
//! ([`crate::Node::metrics`], [`crate::proto::Proto::metrics`]) and can be:
//! - written in the Prometheus text format ([`prometheus_text`]; the C
//!   library and the bindings' collectors use the same samples);
//! - recorded through the [`metrics`](https://docs.rs/metrics) facade
//!   ([`record`]), which a running [`crate::Node`] does by itself every
//!   `Config::metrics_interval` for whatever recorder the program installed
//!   (none is forced on it; with none, recording costs next to nothing).
//!
//! memberlist's counterparts keep their names and kinds (its timers,
//! `memberlist.probeNode`, `memberlist.pushPullNode` and `memberlist.gossip`,
//! are histograms in milliseconds here); what memberlist has no name for is
//! under `rumour.*`. Every sample carries a `node` label, as several nodes
//! may share a process.

use std::fmt::Write as _;

/// What a metric is, in Prometheus' terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Only goes up (restarts from zero with the node).
    Counter,
    /// A level that goes up and down.
    Gauge,
    /// A distribution of timings, in the buckets of [`TIMING_BOUNDS_MS`].
    Histogram,
}

impl MetricKind {
    /// The name Prometheus gives it (`counter`, `gauge`, `histogram`).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// One metric of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricInfo {
    /// The dotted name (`memberlist.msg.alive`); [`prometheus_name`] turns
    /// it into the exposition name.
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// What one unit is (`bytes`, `ms`, `messages`...).
    pub unit: &'static str,
    /// What it counts, in a sentence.
    pub help: &'static str,
}

const fn m(name: &'static str, kind: MetricKind, unit: &'static str, help: &'static str) -> MetricInfo {
    MetricInfo { name, kind, unit, help }
}

use MetricKind::{Counter, Gauge, Histogram};

/// Every metric a node reports, memberlist's first.
pub const CATALOGUE: &[MetricInfo] = &[
    m("memberlist.gossip", Histogram, "ms", "Time of the protocol turn that ran a gossip round with rumours to send (building its packets, and whatever else fell due)."),
    m("memberlist.probeNode", Histogram, "ms", "Time one probe took, from its ping to its ack or its end without one."),
    m(
        "memberlist.pushPullNode",
        Histogram,
        "ms",
        "Time one push-pull took, from opening the stream to merging the reply.",
    ),
    m("memberlist.msg.alive", Counter, "messages", "Alive messages that changed the member table."),
    m("memberlist.msg.suspect", Counter, "messages", "Suspect messages that made a member suspect."),
    m("memberlist.msg.dead", Counter, "messages", "Dead messages that marked a member failed or left."),
    m(
        "memberlist.health.score",
        Gauge,
        "score",
        "Lifeguard's local health score: 0 is healthy, higher means this node is slow to answer.",
    ),
    m(
        "memberlist.degraded.probe",
        Counter,
        "probes",
        "Probes started with a probe interval stretched by a poor health score.",
    ),
    m(
        "memberlist.degraded.timeout",
        Counter,
        "suspicions",
        "Suspicions that ran out with fewer confirmations than expected.",
    ),
    m("memberlist.udp.sent", Counter, "bytes", "Bytes of UDP packets sent."),
    m("memberlist.udp.received", Counter, "bytes", "Bytes of UDP packets received."),
    m("memberlist.tcp.accept", Counter, "streams", "Streams accepted from peers."),
    m("memberlist.tcp.connect", Counter, "streams", "Streams opened to peers."),
    m("memberlist.tcp.sent", Counter, "bytes", "Bytes written on streams to peers (ours and replies)."),
    m("memberlist.queue.broadcasts", Gauge, "messages", "Rumours (membership, user and state) waiting to be gossiped."),
    m("memberlist.node.instances", Gauge, "members", "Members this node knows, by state (label node_state)."),
    m("memberlist.size.local", Gauge, "bytes", "Size of the state this node sent in its last push-pull."),
    m("memberlist.size.remote", Gauge, "bytes", "Size of the state a peer sent in the last push-pull."),
    m("rumour.packets.sent", Counter, "packets", "UDP packets sent."),
    m("rumour.packets.received", Counter, "packets", "UDP packets received."),
    m(
        "rumour.decode.errors",
        Counter,
        "packets",
        "Packets or messages that failed to decode, or had the wrong label or key.",
    ),
    m("rumour.probes", Counter, "probes", "Probes started."),
    m("rumour.probes.failed", Counter, "probes", "Probes that ended without any ack."),
    m("rumour.refutes", Counter, "refutations", "Suspicions or deaths of this node it refuted."),
    m(
        "rumour.reasserts",
        Counter,
        "messages",
        "Times this node spread its alive again for a member that missed its refutation.",
    ),
    m(
        "rumour.accusers.answered",
        Counter,
        "messages",
        "Accusations of this node answered with its alive sent straight back.",
    ),
    m("rumour.name.conflicts", Counter, "messages", "Alive messages ignored because another address holds the name."),
    m("rumour.joins.retried", Counter, "attempts", "Attempts to join the configured seeds and remembered peers."),
    m("rumour.seed.push_pulls", Counter, "exchanges", "Push-pulls with a seed that was not among the live members."),
    m("rumour.catch_up.pulls", Counter, "exchanges", "Push-pulls with a random member after a burst of joins."),
    m("rumour.state.entries", Gauge, "entries", "Live entries in the replicated map."),
    m("rumour.state.tombstones", Gauge, "entries", "Deleted entries still kept in the replicated map."),
    m("rumour.state.bytes", Gauge, "bytes", "Bytes of keys and values in the replicated map."),
    m("rumour.state.repair_bytes", Counter, "bytes", "Bytes of replicated-map anti-entropy this node sent."),
    m("rumour.state.repaired", Counter, "entries", "Entries taken from peers through anti-entropy."),
    m("rumour.state.rejected", Counter, "writes", "Remote writes refused (over this node's bounds, or a bad key)."),
    m("rumour.events.lost", Counter, "events", "Events dropped because a subscriber's queue was full."),
    m(
        "rumour.streams.refused",
        Counter,
        "streams",
        "Streams refused: ours when too many were in progress, peers' when every held one was busy.",
    ),
    m(
        "rumour.streams.evicted",
        Counter,
        "streams",
        "Peers' connections closed to make room for a newcomer (the one silent longest).",
    ),
    m(
        "rumour.streams.silent",
        Counter,
        "streams",
        "Peers' connections that sent nothing within tcp_first_byte_timeout.",
    ),
    m("rumour.streams.timed_out", Counter, "streams", "Streams cut off by tcp_timeout."),
    m(
        "rumour.streams.rejected",
        Counter,
        "streams",
        "Streams that were garbage, cut short, oversized or refused by the protocol.",
    ),
    m("rumour.streams.failed", Counter, "streams", "Our streams that failed (connection, timeout, bad reply)."),
    m("rumour.udp.send_errors", Counter, "packets", "UDP packets the operating system would not send."),
];

/// The catalogue entry named `name`.
pub fn info(name: &str) -> Option<&'static MetricInfo> {
    CATALOGUE.iter().find(|i| i.name == name)
}

/// Upper bounds, in milliseconds, of the timing histograms' buckets (a
/// last bucket takes everything above).
pub const TIMING_BOUNDS_MS: [f64; 15] =
    [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0];

/// A timing histogram: counts per bucket of [`TIMING_BOUNDS_MS`] and the
/// sum, in microseconds so the counters stay exact integers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timing {
    /// Observations per bucket; the last counts those above every bound.
    pub buckets: [u64; TIMING_BOUNDS_MS.len() + 1],
    /// Sum of the observations, in microseconds.
    pub sum_micros: u64,
}

impl Timing {
    /// Counts one observation.
    pub fn observe(&mut self, took: std::time::Duration) {
        let ms = took.as_secs_f64() * 1000.0;
        let i = TIMING_BOUNDS_MS.iter().position(|b| ms <= *b).unwrap_or(TIMING_BOUNDS_MS.len());
        self.buckets[i] += 1;
        self.sum_micros = self.sum_micros.saturating_add(took.as_micros().min(u64::MAX as u128) as u64);
    }

    /// How many observations.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

/// A sample's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A counter's total.
    Counter(u64),
    /// A gauge's level.
    Gauge(f64),
    /// A timing histogram.
    Histogram(Timing),
}

/// One metric's value at one node, with its labels beyond `node`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Its catalogue entry.
    pub info: &'static MetricInfo,
    /// Extra labels (`node_state` for `memberlist.node.instances`).
    pub labels: Vec<(&'static str, &'static str)>,
    /// The value.
    pub value: Value,
}

impl Sample {
    /// The sample of the metric `name` (which must be in the catalogue;
    /// checked by the tests, so a typo fails them rather than a user).
    pub(crate) fn of(name: &str, value: Value) -> Sample {
        let info = info(name).unwrap_or_else(|| panic!("{name} is not in the metrics catalogue"));
        Sample { info, labels: Vec::new(), value }
    }
}

/// A node's samples, with the name that labels them.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeMetrics {
    /// The node's name (the `node` label).
    pub node: String,
    /// Its samples, in catalogue order.
    pub samples: Vec<Sample>,
}

/// The Prometheus exposition name: dots become underscores, and counters
/// end in `_total` (as OpenMetrics asks and `prometheus_client` writes).
pub fn prometheus_name(info: &MetricInfo) -> String {
    let base = info.name.replace('.', "_");
    match info.kind {
        MetricKind::Counter => base + "_total",
        _ => base,
    }
}

/// Escapes a label value for the text format.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The samples of every node in the Prometheus text format (version 0.0.4):
/// one `# HELP` and `# TYPE` per metric, then a line per node (and label).
pub fn prometheus_text(nodes: &[NodeMetrics]) -> String {
    let mut out = String::new();
    for info in CATALOGUE {
        let name = prometheus_name(info);
        let family = info.name.replace('.', "_");
        let mut header = false;
        for node in nodes {
            for s in node.samples.iter().filter(|s| s.info.name == info.name) {
                if !header {
                    let _ = writeln!(out, "# HELP {family} {} ({}).", info.help.trim_end_matches('.'), info.unit);
                    let _ = writeln!(out, "# TYPE {family} {}", info.kind.as_str());
                    header = true;
                }
                let mut labels = format!("node=\"{}\"", escape(&node.node));
                for (k, v) in &s.labels {
                    let _ = write!(labels, ",{k}=\"{}\"", escape(v));
                }
                match &s.value {
                    Value::Counter(v) => {
                        let _ = writeln!(out, "{name}{{{labels}}} {v}");
                    }
                    Value::Gauge(v) => {
                        let _ = writeln!(out, "{name}{{{labels}}} {v}");
                    }
                    Value::Histogram(t) => {
                        let mut cumulative = 0;
                        for (i, n) in t.buckets.iter().enumerate() {
                            cumulative += n;
                            let le = TIMING_BOUNDS_MS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
                            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
                        }
                        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", t.sum_micros as f64 / 1000.0);
                        let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
                    }
                }
            }
        }
    }
    out
}

/// Records `node`'s samples through the `metrics` facade: counters as
/// absolute totals, gauges as levels, and `observations` (metric name,
/// milliseconds: what was timed since the last call, see
/// [`crate::proto::Proto::take_observations`]) into the histograms. Does
/// nothing measurable without a recorder.
pub fn record(node: &NodeMetrics, observations: &[(&'static str, f64)]) {
    let labels = |extra: &[(&'static str, &'static str)]| {
        let mut labels = vec![metrics::Label::new("node", node.node.clone())];
        labels.extend(extra.iter().map(|(k, v)| metrics::Label::new(*k, *v)));
        labels
    };
    for s in &node.samples {
        match &s.value {
            Value::Counter(v) => metrics::counter!(s.info.name, labels(&s.labels)).absolute(*v),
            Value::Gauge(v) => metrics::gauge!(s.info.name, labels(&s.labels)).set(*v),
            Value::Histogram(_) => {}
        }
    }
    for info in CATALOGUE.iter().filter(|i| i.kind == MetricKind::Histogram) {
        let mut taken = observations.iter().filter(|(n, _)| *n == info.name).peekable();
        if taken.peek().is_some() {
            let h = metrics::histogram!(info.name, labels(&[]));
            taken.for_each(|(_, ms)| h.record(*ms));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_unique_and_in_the_memberlist_or_rumour_namespace() {
        let mut names: Vec<&str> = CATALOGUE.iter().map(|i| i.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), CATALOGUE.len());
        assert!(CATALOGUE.iter().all(|i| i.name.starts_with("memberlist.") || i.name.starts_with("rumour.")));
        assert!(CATALOGUE.iter().all(|i| !i.help.is_empty() && i.help.ends_with('.')));
    }

    #[test]
    fn a_timing_counts_each_observation_in_its_bucket() {
        let mut t = Timing::default();
        t.observe(std::time::Duration::from_micros(50));
        t.observe(std::time::Duration::from_millis(3));
        t.observe(std::time::Duration::from_secs(60));
        assert_eq!((t.buckets[0], t.buckets[5], t.buckets[15]), (1, 1, 1));
        assert_eq!((t.count(), t.sum_micros), (3, 60_003_050));
    }

    #[test]
    fn the_text_format_has_help_type_labels_and_cumulative_buckets() {
        let mut t = Timing::default();
        t.observe(std::time::Duration::from_millis(3));
        let mut instances = Sample::of("memberlist.node.instances", Value::Gauge(4.0));
        instances.labels.push(("node_state", "alive"));
        let nodes = [NodeMetrics {
            node: "a\"b".into(),
            samples: vec![
                Sample::of("memberlist.probeNode", Value::Histogram(t)),
                Sample::of("memberlist.msg.alive", Value::Counter(7)),
                instances,
            ],
        }];
        let text = prometheus_text(&nodes);
        assert!(text.contains("# TYPE memberlist_msg_alive counter\n"), "{text}");
        assert!(text.contains("memberlist_msg_alive_total{node=\"a\\\"b\"} 7\n"), "{text}");
        assert!(text.contains("memberlist_node_instances{node=\"a\\\"b\",node_state=\"alive\"} 4\n"), "{text}");
        assert!(text.contains("memberlist_probeNode_bucket{node=\"a\\\"b\",le=\"2.5\"} 0\n"), "{text}");
        assert!(text.contains("memberlist_probeNode_bucket{node=\"a\\\"b\",le=\"5\"} 1\n"), "{text}");
        assert!(text.contains("memberlist_probeNode_bucket{node=\"a\\\"b\",le=\"+Inf\"} 1\n"), "{text}");
        assert!(text.contains("memberlist_probeNode_sum{node=\"a\\\"b\"} 3\n"), "{text}");
        assert!(text.contains("memberlist_probeNode_count{node=\"a\\\"b\"} 1\n"), "{text}");
    }
}
