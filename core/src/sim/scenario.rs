//! Scenarios: changes at scheduled virtual times, churn at Poisson rates,
//! rolling restarts and steady workloads. Each is turned into actions on
//! the simulator's queue, so a scenario replays with its seed like the rest.

use std::time::Duration;

use super::network::{check_probability, exponential_gap, Bandwidth, Latency, Link, SlowNode};
use super::{Action, Sim, SimError};
use crate::proto::Lifetime;

/// One change to the cluster or the network, applied now with
/// [`Sim::apply`] or later with [`Sim::schedule`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Change {
    /// The node stops without a word (`kill -9`).
    Crash(usize),
    /// A node that is down starts and finds the cluster through its
    /// config's seeds (see [`Sim::start`]).
    Start(usize),
    /// A node that is down starts and joins through `via`, or through a
    /// running node picked at random when `via` is `None`.
    Restart {
        /// The node.
        node: usize,
        /// Whom it joins through.
        via: Option<usize>,
    },
    /// The node leaves gracefully and its process exits one second later
    /// (time for the leave to be gossiped, as memberlist's `Leave` waits).
    Leave(usize),
    /// The node joins through `via`.
    Join {
        /// The node.
        node: usize,
        /// Whom it joins through.
        via: usize,
    },
    /// Splits the network (see [`Sim::partition`]).
    Partition(Vec<Vec<usize>>),
    /// Heals every partition.
    Heal,
    /// The default packet loss.
    Loss(f64),
    /// The default latency.
    Latency(Latency),
    /// The link from one node to another (`None`: back to the zone's or
    /// the default).
    Link {
        /// Sender.
        from: usize,
        /// Receiver.
        to: usize,
        /// The model, or `None`.
        link: Option<Link>,
    },
    /// The link from one zone to another (`None`: back to the default).
    ZoneLink {
        /// Sending zone.
        from: String,
        /// Receiving zone.
        to: String,
        /// The model, or `None`.
        link: Option<Link>,
    },
    /// Nothing from `from` reaches `to` (the other way still works).
    Cut {
        /// Sender.
        from: usize,
        /// Receiver.
        to: usize,
    },
    /// Undoes a [`Change::Cut`].
    Restore {
        /// Sender.
        from: usize,
        /// Receiver.
        to: usize,
    },
    /// The node receives but nothing it sends leaves it (or, with false,
    /// it can send again).
    Mute(usize, bool),
    /// Extra loss on every packet the node sends or receives.
    NodeLoss(usize, f64),
    /// A cap on what the node sends per second (`None`: no cap).
    Bandwidth(usize, Option<Bandwidth>),
    /// The node is CPU-starved (`None`: normal again).
    Slow(usize, Option<SlowNode>),
    /// The node broadcasts the payload (its spread is tracked).
    Broadcast {
        /// The node.
        node: usize,
        /// The bytes.
        payload: Vec<u8>,
    },
    /// The node writes a key of the replicated map.
    Put {
        /// The node.
        node: usize,
        /// The key.
        key: String,
        /// The value.
        value: Vec<u8>,
    },
    /// The node deletes a key of the replicated map.
    Delete {
        /// The node.
        node: usize,
        /// The key.
        key: String,
    },
    /// The node changes its metadata (its spread is tracked).
    Meta {
        /// The node.
        node: usize,
        /// The metadata.
        meta: Vec<u8>,
    },
    /// The node's process exits after a leave, without counting as a crash.
    Stop(usize),
}

/// Nodes joining, leaving and crashing at random, each kind a Poisson
/// process over the whole pool (rates are events per second, 0 for none).
#[derive(Debug, Clone, PartialEq)]
pub struct Churn {
    /// The nodes that churn; the others stay as they are.
    pub nodes: Vec<usize>,
    /// Starts per second: a pool node that is down starts and joins
    /// through a running node picked at random.
    pub join_rate: f64,
    /// Graceful leaves per second, of running pool nodes.
    pub leave_rate: f64,
    /// Crashes per second, of running pool nodes.
    pub crash_rate: f64,
    /// When the churn begins, since the start.
    pub from: Duration,
    /// When it ends.
    pub until: Duration,
}

/// What a workload does at each operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    /// A broadcast of `size` bytes (each a new payload, tracked).
    Broadcast {
        /// Payload size in bytes (at least 8).
        size: usize,
    },
    /// A write of `size` bytes to one of `keys` keys (`load/0` ...).
    StateWrites {
        /// How many distinct keys the writes go to.
        keys: usize,
        /// Value size in bytes.
        size: usize,
    },
}

/// A steady stream of operations from chosen nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// The nodes that may issue an operation (a running one is picked at
    /// random each time).
    pub nodes: Vec<usize>,
    /// Operations per second, over all of them.
    pub rate: f64,
    /// What each operation is.
    pub kind: WorkloadKind,
    /// Poisson arrivals when true, evenly spaced when false.
    pub poisson: bool,
    /// When it begins, since the start.
    pub from: Duration,
    /// When it ends.
    pub until: Duration,
}

#[derive(Debug, Clone)]
pub(crate) enum ProcessKind {
    Join,
    Leave,
    Crash,
    Work(WorkloadKind),
}

/// A running Poisson (or periodic) process: churn of one kind, or a workload.
#[derive(Debug, Clone)]
pub(crate) struct Process {
    kind: ProcessKind,
    rate: f64,
    pool: Vec<usize>,
    poisson: bool,
    until: Duration,
    done: u64,
}

/// How long a leaving node keeps running before its process exits.
const LEAVE_GRACE: Duration = Duration::from_secs(1);

impl Sim {
    fn check_node(&self, index: usize) -> Result<usize, SimError> {
        if index < self.nodes.len() {
            Ok(index)
        } else {
            Err(SimError::NoSuchNode { index, nodes: self.nodes.len() })
        }
    }

    fn check_nodes(&self, nodes: &[usize]) -> Result<(), SimError> {
        nodes.iter().try_for_each(|&i| self.check_node(i).map(|_| ()))
    }

    /// Checks a change without applying it.
    pub fn validate(&self, change: &Change) -> Result<(), SimError> {
        match change {
            Change::Crash(i)
            | Change::Start(i)
            | Change::Leave(i)
            | Change::Stop(i)
            | Change::Mute(i, _)
            | Change::Bandwidth(i, None)
            | Change::Slow(i, _) => self.check_node(*i).map(|_| ()),
            Change::Bandwidth(i, Some(cap)) => {
                self.check_node(*i)?;
                if cap.bytes_per_sec == 0 {
                    return Err(SimError::Invalid { field: "bytes_per_sec", why: "must be above zero".into() });
                }
                Ok(())
            }
            Change::Restart { node, via } => {
                self.check_node(*node)?;
                via.map_or(Ok(()), |v| self.check_node(v).map(|_| ()))
            }
            Change::Join { node, via } => self.check_nodes(&[*node, *via]),
            Change::Partition(groups) => groups.iter().try_for_each(|g| self.check_nodes(g)),
            Change::Heal => Ok(()),
            Change::Loss(p) => check_probability("loss", *p),
            Change::Latency(l) => l.validate(),
            Change::Link { from, to, link } => {
                self.check_nodes(&[*from, *to])?;
                link.as_ref().map_or(Ok(()), Link::validate)
            }
            Change::ZoneLink { from, to, link } => {
                self.net.zone_index(from)?;
                self.net.zone_index(to)?;
                link.as_ref().map_or(Ok(()), Link::validate)
            }
            Change::Cut { from, to } | Change::Restore { from, to } => self.check_nodes(&[*from, *to]),
            Change::NodeLoss(i, p) => {
                self.check_node(*i)?;
                check_probability("loss", *p)
            }
            Change::Broadcast { node, payload } => {
                self.check_node(*node)?;
                let limit = self.max_broadcast_size(*node);
                // A node that is down now may be up when it is due: checked then.
                if self.nodes[*node].proto.is_some() && payload.len() > limit {
                    return Err(SimError::Invalid {
                        field: "payload",
                        why: format!("{} bytes; at most {limit} fit in a packet", payload.len()),
                    });
                }
                Ok(())
            }
            Change::Put { node, key, .. } | Change::Delete { node, key } => {
                self.check_node(*node)?;
                if key.is_empty() {
                    return Err(SimError::Invalid { field: "key", why: "is empty".into() });
                }
                Ok(())
            }
            Change::Meta { node, meta } => {
                self.check_node(*node)?;
                if meta.len() > 512 {
                    return Err(SimError::Invalid { field: "meta", why: format!("{} bytes; at most 512", meta.len()) });
                }
                Ok(())
            }
        }
    }

    /// Applies a change now.
    pub fn apply(&mut self, change: Change) -> Result<(), SimError> {
        self.validate(&change)?;
        self.apply_checked(change);
        Ok(())
    }

    /// Applies a change at virtual time `at` (since the start; not before now).
    pub fn schedule(&mut self, at: Duration, change: Change) -> Result<(), SimError> {
        if at < self.elapsed() {
            return Err(SimError::Invalid { field: "at", why: format!("{at:?} is before now ({:?})", self.elapsed()) });
        }
        self.validate(&change)?;
        let when = self.epoch + at;
        self.push(when, Action::Scheduled(Box::new(change)));
        Ok(())
    }

    /// Applies a validated change. What can still go wrong (a write to a
    /// node that is down, a broadcast from one) is a no-op, as it would be
    /// for a process that is not running.
    pub(crate) fn apply_checked(&mut self, change: Change) {
        match change {
            Change::Crash(i) => {
                if self.nodes[i].proto.is_some() {
                    self.crash(i);
                }
            }
            Change::Start(i) => self.start(i),
            Change::Restart { node, via } => self.restart_down(node, via),
            Change::Leave(i) => {
                if self.nodes[i].proto.is_some() && !self.nodes[i].leaving {
                    self.leave(i);
                    self.nodes[i].leaving = true;
                    let when = self.now + LEAVE_GRACE;
                    self.push(when, Action::Scheduled(Box::new(Change::Stop(i))));
                }
            }
            Change::Stop(i) => self.stop(i),
            Change::Join { node, via } => self.join(node, via),
            Change::Partition(groups) => self.partition(&groups),
            Change::Heal => self.heal(),
            Change::Loss(p) => self.set_loss(p),
            Change::Latency(l) => self.net.latency = l,
            Change::Link { from, to, link } => self.net.set_link(from, to, link),
            Change::ZoneLink { from, to, link } => {
                if let (Ok(a), Ok(b)) = (self.net.zone_index(&from), self.net.zone_index(&to)) {
                    self.net.set_zone_link(a, b, link);
                }
            }
            Change::Cut { from, to } => self.net.set_cut(from, to, true),
            Change::Restore { from, to } => self.net.set_cut(from, to, false),
            Change::Mute(i, muted) => self.net.set_muted(i, muted),
            Change::NodeLoss(i, p) => self.net.set_node_loss(i, p),
            Change::Bandwidth(i, cap) => self.net.set_bandwidth(i, cap),
            Change::Slow(i, slow) => self.set_slow(i, slow),
            Change::Broadcast { node, payload } => {
                // A payload that does not fit is refused by `broadcast`
                // itself (checked again when due: the node may have been down).
                if self.nodes[node].proto.is_some() {
                    let _ = self.broadcast(node, &payload);
                }
            }
            Change::Put { node, key, value } => {
                let _ = self.put(node, &key, &value, Lifetime::UntilDeleted);
            }
            Change::Delete { node, key } => {
                let _ = self.delete(node, &key);
            }
            Change::Meta { node, meta } => {
                if self.nodes[node].proto.is_some() {
                    let _ = self.set_meta(node, &meta);
                }
            }
        }
    }

    /// A node that is down starts and joins through `via` (or a random
    /// running node); a running node is left alone.
    fn restart_down(&mut self, node: usize, via: Option<usize>) {
        if self.nodes[node].proto.is_some() {
            return;
        }
        match via.or_else(|| self.random_node(0..self.nodes.len(), true, Some(node))) {
            Some(via) => self.restart(node, via),
            None => self.start(node),
        }
    }

    /// A node of `pool` picked at random: running and not leaving when
    /// `running`, down otherwise; never `except`.
    fn random_node(
        &mut self,
        pool: impl Iterator<Item = usize> + Clone,
        running: bool,
        except: Option<usize>,
    ) -> Option<usize> {
        let fits = |s: &Sim, i: usize| {
            let node = &s.nodes[i];
            // A leaving node is neither: it is about to stop.
            let state_fits = if running { node.proto.is_some() && !node.leaving } else { node.proto.is_none() };
            Some(i) != except && state_fits
        };
        let count = pool.clone().filter(|&i| fits(self, i)).count();
        if count == 0 {
            return None;
        }
        let pick = self.rng.below(count);
        pool.filter(|&i| fits(self, i)).nth(pick)
    }

    /// Starts churn (see [`Churn`]).
    pub fn churn(&mut self, churn: Churn) -> Result<(), SimError> {
        self.check_nodes(&churn.nodes)?;
        for (kind, rate, what) in [
            (ProcessKind::Join, churn.join_rate, "join_rate"),
            (ProcessKind::Leave, churn.leave_rate, "leave_rate"),
            (ProcessKind::Crash, churn.crash_rate, "crash_rate"),
        ] {
            if !(rate.is_finite() && rate >= 0.0) {
                return Err(SimError::BadRate { what, value: rate });
            }
            if rate > 0.0 {
                self.start_process(kind, rate, churn.nodes.clone(), true, churn.from, churn.until);
            }
        }
        Ok(())
    }

    /// Starts a workload (see [`Workload`]).
    pub fn workload(&mut self, workload: Workload) -> Result<(), SimError> {
        self.check_nodes(&workload.nodes)?;
        if !(workload.rate.is_finite() && workload.rate > 0.0) {
            return Err(SimError::BadRate { what: "rate", value: workload.rate });
        }
        match workload.kind {
            WorkloadKind::Broadcast { size } => {
                let limit = workload.nodes.iter().map(|&i| self.max_broadcast_size(i)).min().unwrap_or(0);
                if !(8..=limit).contains(&size) {
                    return Err(SimError::Invalid { field: "size", why: format!("{size} bytes; 8 to {limit} fit") });
                }
            }
            WorkloadKind::StateWrites { keys: 0, .. } => {
                return Err(SimError::Invalid { field: "keys", why: "must be at least 1".into() });
            }
            WorkloadKind::StateWrites { .. } => {}
        }
        let kind = ProcessKind::Work(workload.kind);
        self.start_process(kind, workload.rate, workload.nodes, workload.poisson, workload.from, workload.until);
        Ok(())
    }

    /// Restarts `nodes` one after another: the k-th goes down at
    /// `start + k × every` (a leave when `graceful`, else a crash) and comes
    /// back `down_for` later, joining through a running node.
    pub fn rolling_restart(
        &mut self,
        nodes: &[usize],
        start: Duration,
        every: Duration,
        down_for: Duration,
        graceful: bool,
    ) -> Result<(), SimError> {
        self.check_nodes(nodes)?;
        if graceful && down_for <= LEAVE_GRACE {
            return Err(SimError::Invalid {
                field: "down_for",
                why: format!("{down_for:?}; a graceful restart needs more than the {LEAVE_GRACE:?} a leave takes"),
            });
        }
        for (k, &i) in nodes.iter().enumerate() {
            let down = start + every * k as u32;
            let change = if graceful { Change::Leave(i) } else { Change::Crash(i) };
            self.schedule(down.max(self.elapsed()), change)?;
            self.schedule((down + down_for).max(self.elapsed()), Change::Restart { node: i, via: None })?;
        }
        Ok(())
    }

    fn start_process(
        &mut self,
        kind: ProcessKind,
        rate: f64,
        pool: Vec<usize>,
        poisson: bool,
        from: Duration,
        until: Duration,
    ) {
        let id = self.processes.len();
        self.processes.push(Process { kind, rate, pool, poisson, until, done: 0 });
        let first = from.max(self.elapsed()) + self.gap(id);
        if first <= until {
            let when = self.epoch + first;
            self.push(when, Action::Process { id });
        }
    }

    fn gap(&mut self, id: usize) -> Duration {
        let p = &self.processes[id];
        if p.poisson {
            let rate = p.rate;
            exponential_gap(rate, &mut self.rng)
        } else {
            Duration::try_from_secs_f64(1.0 / p.rate).unwrap_or(Duration::MAX)
        }
    }

    /// One event of process `id`, and the next one scheduled.
    pub(crate) fn run_process(&mut self, id: usize) {
        let kind = self.processes[id].kind.clone();
        let pool = std::mem::take(&mut self.processes[id].pool);
        match kind {
            ProcessKind::Join => {
                if let Some(i) = self.random_node(pool.iter().copied(), false, None) {
                    self.restart_down(i, None);
                }
            }
            ProcessKind::Leave => {
                if let Some(i) = self.random_node(pool.iter().copied(), true, None) {
                    self.apply_checked(Change::Leave(i));
                }
            }
            ProcessKind::Crash => {
                if let Some(i) = self.random_node(pool.iter().copied(), true, None) {
                    self.crash(i);
                }
            }
            ProcessKind::Work(work) => {
                if let Some(i) = self.random_node(pool.iter().copied(), true, None) {
                    let n = self.processes[id].done;
                    match work {
                        WorkloadKind::Broadcast { size } => {
                            // Eight bytes that name the operation, so each
                            // broadcast is tracked on its own.
                            let mut payload = ((id as u64) << 40 | n).to_be_bytes().to_vec();
                            payload.resize(size.max(8), b'.');
                            let _ = self.broadcast(i, &payload); // size checked in workload()
                        }
                        WorkloadKind::StateWrites { keys, size } => {
                            let key = format!("load/{}", self.rng.below(keys));
                            let _ = self.put(i, &key, &vec![b'v'; size], Lifetime::UntilDeleted);
                        }
                    }
                }
            }
        }
        let p = &mut self.processes[id];
        p.pool = pool;
        p.done += 1;
        let until = p.until;
        let next = self.elapsed() + self.gap(id);
        if next <= until {
            let when = self.epoch + next;
            self.push(when, Action::Process { id });
        }
    }
}
