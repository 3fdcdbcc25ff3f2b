//! The simulated network: who can reach whom, how late and how lossy.
//!
//! A message from `a` to `b` takes the first link model that applies: one
//! set for that pair of nodes ([`super::Change::Link`]), one for their pair
//! of zones ([`super::SimConfig::zone_links`], [`super::Change::ZoneLink`]),
//! or the network's default. On top
//! sit partitions, one-way cuts, muted nodes, per-node loss and egress
//! bandwidth caps. With none of them set, the simulator takes a fast path
//! that costs what the plain model always cost.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use rand_distr::{Distribution, Exp, LogNormal, Normal, Pareto};

use super::SimError;
use crate::proto::Rng;

/// Delay of one message on a link. Every distribution is sampled from the
/// simulator's seeded generator, so a seed replays the same delays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Latency {
    /// Every message takes exactly this long.
    Fixed(Duration),
    /// Uniform between `min` and `max`.
    Uniform {
        /// Shortest delay.
        min: Duration,
        /// Longest delay.
        max: Duration,
    },
    /// Normal around `mean`; a draw below zero counts as zero.
    Normal {
        /// The mean delay.
        mean: Duration,
        /// Its standard deviation.
        std_dev: Duration,
    },
    /// Log-normal: `median × e^(sigma·Z)` for a standard normal `Z`. A
    /// long right tail, as measured round trips across a busy network have.
    LogNormal {
        /// The median delay.
        median: Duration,
        /// The spread of its logarithm (0 makes it fixed).
        sigma: f64,
    },
    /// Pareto: at least `scale`, with a heavy tail that grows as `shape`
    /// falls (below 2 its variance is infinite).
    Pareto {
        /// The smallest delay.
        scale: Duration,
        /// The tail index; greater than 0.
        shape: f64,
    },
}

impl Latency {
    /// Checks the parameters, so that sampling cannot fail later.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |why: String| Err(SimError::BadLatency(why));
        match *self {
            Latency::Fixed(_) | Latency::Normal { .. } => Ok(()),
            Latency::Uniform { min, max } if min > max => bad(format!("uniform min {min:?} is above max {max:?}")),
            Latency::Uniform { .. } => Ok(()),
            Latency::LogNormal { median, .. } if median.is_zero() => bad("log-normal median must be above zero".into()),
            Latency::LogNormal { sigma, .. } if !(sigma.is_finite() && sigma >= 0.0) => {
                bad(format!("log-normal sigma {sigma} must be zero or more"))
            }
            Latency::LogNormal { .. } => Ok(()),
            Latency::Pareto { scale, .. } if scale.is_zero() => bad("Pareto scale must be above zero".into()),
            Latency::Pareto { shape, .. } if !(shape.is_finite() && shape > 0.0) => {
                bad(format!("Pareto shape {shape} must be above zero"))
            }
            Latency::Pareto { .. } => Ok(()),
        }
    }

    pub(crate) fn sample(&self, rng: &mut Rng) -> Duration {
        let secs = |s: f64| Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX);
        match *self {
            Latency::Fixed(d) => d,
            Latency::Uniform { min, max } => {
                let span = max.saturating_sub(min).as_nanos() as f64;
                min + Duration::from_nanos((rng.unit() * span) as u64)
            }
            Latency::Normal { mean, std_dev } => match Normal::new(mean.as_secs_f64(), std_dev.as_secs_f64()) {
                Ok(d) => secs(d.sample(&mut Draw(rng))),
                Err(_) => mean,
            },
            Latency::LogNormal { median, sigma } => match LogNormal::new(median.as_secs_f64().ln(), sigma) {
                Ok(d) => secs(d.sample(&mut Draw(rng))),
                Err(_) => median,
            },
            Latency::Pareto { scale, shape } => match Pareto::new(scale.as_secs_f64(), shape) {
                Ok(d) => secs(d.sample(&mut Draw(rng))),
                Err(_) => scale,
            },
        }
    }
}

/// Seconds until the next event of a Poisson process of `rate` per second.
pub(crate) fn exponential_gap(rate: f64, rng: &mut Rng) -> Duration {
    match Exp::new(rate) {
        Ok(d) => Duration::try_from_secs_f64(d.sample(&mut Draw(rng))).unwrap_or(Duration::MAX),
        Err(_) => Duration::MAX,
    }
}

/// Lends the simulator's generator to `rand_distr`.
struct Draw<'a>(&'a mut Rng);

impl rand::RngCore for Draw<'_> {
    fn next_u32(&mut self) -> u32 {
        (self.0.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.0.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// How one link behaves: its delay and its loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// Delay of each message.
    pub latency: Latency,
    /// Probability that a packet is lost, independently (streams are TCP:
    /// they are slowed by nothing here but latency and bandwidth).
    pub loss: f64,
}

impl Link {
    /// Checks the latency and that the loss is a probability.
    pub fn validate(&self) -> Result<(), SimError> {
        self.latency.validate()?;
        check_probability("loss", self.loss)
    }
}

pub(crate) fn check_probability(what: &'static str, p: f64) -> Result<(), SimError> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(SimError::NotAProbability { what, value: p })
    }
}

/// A cap on what a node can send per second. Packets queue behind each
/// other; one that would wait longer than `max_queue` is dropped (a tail
/// drop). `Duration::MAX` queues without limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bandwidth {
    /// Bytes per second leaving the node.
    pub bytes_per_sec: u64,
    /// The longest a packet waits in the queue before it is dropped instead.
    pub max_queue: Duration,
}

/// A CPU-starved node: it handles what arrives late, and its timers fire
/// late, as a process that the scheduler keeps off the CPU does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowNode {
    /// Extra delay before an arriving packet or stream is handled.
    pub message_delay: Duration,
    /// Extra delay before a due timer is handled.
    pub timer_delay: Duration,
}

/// Links, loss, partitions and the rest of the model.
#[derive(Debug, Clone)]
pub(crate) struct Network {
    pub(crate) latency: Latency,
    pub(crate) loss: f64,
    /// Partition group of each node; `None` when the network is whole.
    pub(crate) groups: Option<Vec<u32>>,
    /// Zone names, and each node's zone (empty: no zones).
    pub(crate) zones: Vec<String>,
    pub(crate) zone_of: Vec<u16>,
    /// Link per ordered pair of zones, `a * zones + b`.
    zone_links: Vec<Option<Link>>,
    /// Link per ordered pair of nodes.
    links: HashMap<(u32, u32), Link>,
    /// Ordered pairs that cannot reach each other.
    cuts: HashSet<(u32, u32)>,
    /// Nodes whose packets and streams go nowhere (they still receive).
    muted: Vec<bool>,
    /// Extra loss on everything a node sends or receives.
    node_loss: Vec<f64>,
    egress: Vec<Option<Bandwidth>>,
    /// When each capped node's queue is empty again.
    busy_until: Vec<Option<Instant>>,
    /// Whether anything beyond latency, loss and partitions is set.
    detailed: bool,
}

/// The fate of one message put on the network.
pub(crate) enum Route {
    /// It arrives after this delay.
    Deliver(Duration),
    /// It is lost (packet loss, or a full egress queue).
    Lost,
    /// The two ends cannot reach each other (partition, cut, muted sender).
    Unreachable,
}

impl Network {
    pub(crate) fn new(nodes: usize, latency: Latency, loss: f64) -> Self {
        Network {
            latency,
            loss,
            groups: None,
            zones: Vec::new(),
            zone_of: Vec::new(),
            zone_links: Vec::new(),
            links: HashMap::new(),
            cuts: HashSet::new(),
            muted: vec![false; nodes],
            node_loss: vec![0.0; nodes],
            egress: vec![None; nodes],
            busy_until: vec![None; nodes],
            detailed: false,
        }
    }

    fn refresh_detailed(&mut self) {
        self.detailed = !self.zones.is_empty()
            || !self.links.is_empty()
            || !self.cuts.is_empty()
            || self.muted.iter().any(|&m| m)
            || self.node_loss.iter().any(|&l| l > 0.0)
            || self.egress.iter().any(Option::is_some);
    }

    /// Places every node in a zone: `zone_of[i]` indexes `zones`.
    pub(crate) fn set_zones(&mut self, zones: Vec<String>, zone_of: Vec<u16>) {
        self.zone_links = vec![None; zones.len() * zones.len()];
        self.zones = zones;
        self.zone_of = zone_of;
        self.refresh_detailed();
    }

    pub(crate) fn zone_index(&self, name: &str) -> Result<usize, SimError> {
        self.zones
            .iter()
            .position(|z| z == name)
            .ok_or_else(|| SimError::UnknownZone { zone: name.to_string(), known: self.zones.clone() })
    }

    pub(crate) fn set_zone_link(&mut self, a: usize, b: usize, link: Option<Link>) {
        let z = self.zones.len();
        self.zone_links[a * z + b] = link;
    }

    pub(crate) fn set_link(&mut self, from: usize, to: usize, link: Option<Link>) {
        match link {
            Some(l) => self.links.insert((from as u32, to as u32), l),
            None => self.links.remove(&(from as u32, to as u32)),
        };
        self.refresh_detailed();
    }

    pub(crate) fn set_cut(&mut self, from: usize, to: usize, cut: bool) {
        if cut {
            self.cuts.insert((from as u32, to as u32));
        } else {
            self.cuts.remove(&(from as u32, to as u32));
        }
        self.refresh_detailed();
    }

    pub(crate) fn set_muted(&mut self, node: usize, muted: bool) {
        self.muted[node] = muted;
        self.refresh_detailed();
    }

    pub(crate) fn set_node_loss(&mut self, node: usize, loss: f64) {
        self.node_loss[node] = loss;
        self.refresh_detailed();
    }

    pub(crate) fn set_bandwidth(&mut self, node: usize, cap: Option<Bandwidth>) {
        self.egress[node] = cap;
        self.busy_until[node] = None;
        self.refresh_detailed();
    }

    /// Whether anything beyond latency, loss and partitions is set.
    pub(crate) fn is_detailed(&self) -> bool {
        self.detailed
    }

    /// Whether `from` can reach `to` at all.
    pub(crate) fn reachable(&self, from: usize, to: usize) -> bool {
        let same_side = match &self.groups {
            Some(g) => g[from] == g[to],
            None => true,
        };
        same_side && (!self.detailed || (!self.muted[from] && !self.cuts.contains(&(from as u32, to as u32))))
    }

    fn link(&self, from: usize, to: usize) -> (Latency, f64) {
        if let Some(l) = self.links.get(&(from as u32, to as u32)) {
            return (l.latency, l.loss);
        }
        if !self.zones.is_empty() {
            let z = self.zones.len();
            let (a, b) = (self.zone_of[from] as usize, self.zone_of[to] as usize);
            if let Some(l) = self.zone_links[a * z + b] {
                return (l.latency, l.loss);
            }
        }
        (self.latency, self.loss)
    }

    /// The delay of a message from `from` to `to`, without loss (a stream's
    /// reply, or a connection refused).
    pub(crate) fn delay(&self, from: usize, to: usize, rng: &mut Rng) -> Duration {
        if !self.detailed {
            return self.latency.sample(rng);
        }
        self.link(from, to).0.sample(rng)
    }

    /// What happens to `bytes` sent from `from` to `to` at `now`:
    /// `lossy` for a packet, false for a stream (TCP retransmits).
    pub(crate) fn route(
        &mut self,
        from: usize,
        to: usize,
        bytes: usize,
        now: Instant,
        lossy: bool,
        rng: &mut Rng,
    ) -> Route {
        if !self.reachable(from, to) {
            return Route::Unreachable;
        }
        if !self.detailed {
            if lossy && self.loss > 0.0 && rng.unit() < self.loss {
                return Route::Lost;
            }
            return Route::Deliver(self.latency.sample(rng));
        }
        let (latency, loss) = self.link(from, to);
        if lossy {
            let kept = (1.0 - loss) * (1.0 - self.node_loss[from]) * (1.0 - self.node_loss[to]);
            if kept < 1.0 && rng.unit() >= kept {
                return Route::Lost;
            }
        }
        let mut queued = Duration::ZERO;
        if let Some(cap) = self.egress[from] {
            let start = self.busy_until[from].map_or(now, |b| b.max(now));
            queued = start - now;
            if lossy && queued > cap.max_queue {
                return Route::Lost;
            }
            let send = Duration::from_secs_f64(bytes as f64 / cap.bytes_per_sec.max(1) as f64);
            self.busy_until[from] = Some(start + send);
            queued += send;
        }
        Route::Deliver(queued + latency.sample(rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(latency: Latency, n: usize) -> Vec<f64> {
        let mut rng = Rng::new(7);
        let mut v: Vec<f64> = (0..n).map(|_| latency.sample(&mut rng).as_secs_f64()).collect();
        v.sort_by(f64::total_cmp);
        v
    }

    #[test]
    fn distributions_have_the_shape_they_claim() {
        let ms = Duration::from_millis;
        let normal = draws(Latency::Normal { mean: ms(50), std_dev: ms(10) }, 20_000);
        let mean = normal.iter().sum::<f64>() / normal.len() as f64;
        assert!((mean - 0.050).abs() < 0.001, "normal mean {mean}");
        let lognormal = draws(Latency::LogNormal { median: ms(20), sigma: 1.0 }, 20_000);
        let median = lognormal[lognormal.len() / 2];
        assert!((median - 0.020).abs() < 0.001, "log-normal median {median}");
        // e^(1.645) ≈ 5.2: the 95th percentile sits about 5 times the median.
        let p95 = lognormal[lognormal.len() * 95 / 100];
        assert!((p95 / median - 5.18).abs() < 0.5, "log-normal p95/median {}", p95 / median);
        let pareto = draws(Latency::Pareto { scale: ms(10), shape: 2.0 }, 20_000);
        assert!(pareto[0] >= 0.010, "Pareto below its scale: {}", pareto[0]);
        // P(X > 10·scale) = 10^-shape = 1 %.
        let beyond = pareto.iter().filter(|&&x| x > 0.100).count() as f64 / pareto.len() as f64;
        assert!((beyond - 0.01).abs() < 0.003, "Pareto tail {beyond}");
        assert_eq!(draws(Latency::Fixed(ms(3)), 3), vec![0.003; 3]);
    }

    #[test]
    fn bad_parameters_are_refused() {
        let ms = Duration::from_millis;
        assert!(Latency::Uniform { min: ms(5), max: ms(1) }.validate().is_err());
        assert!(Latency::LogNormal { median: ms(0), sigma: 1.0 }.validate().is_err());
        assert!(Latency::Pareto { scale: ms(1), shape: 0.0 }.validate().is_err());
        assert!(Latency::Pareto { scale: ms(1), shape: f64::NAN }.validate().is_err());
        assert!(Link { latency: Latency::Fixed(ms(1)), loss: 1.5 }.validate().is_err());
    }

    #[test]
    fn a_bandwidth_cap_queues_then_drops() {
        let mut rng = Rng::new(1);
        let mut net = Network::new(2, Latency::Fixed(Duration::ZERO), 0.0);
        // 1,000 bytes/s; a 100-byte packet takes 0.1 s to leave.
        net.set_bandwidth(0, Some(Bandwidth { bytes_per_sec: 1_000, max_queue: Duration::from_millis(250) }));
        let now = Instant::now();
        let delays: Vec<Option<u128>> = (0..5)
            .map(|_| match net.route(0, 1, 100, now, true, &mut rng) {
                Route::Deliver(d) => Some(d.as_millis()),
                _ => None,
            })
            .collect();
        // Waits of 0, 0.1, 0.2 s are within the queue; 0.3 s is not.
        assert_eq!(delays, vec![Some(100), Some(200), Some(300), None, None]);
    }

    #[test]
    fn one_way_cuts_and_muted_nodes() {
        let mut net = Network::new(3, Latency::Fixed(Duration::ZERO), 0.0);
        net.set_cut(0, 1, true);
        assert!(!net.reachable(0, 1) && net.reachable(1, 0));
        net.set_muted(2, true);
        assert!(!net.reachable(2, 0) && net.reachable(0, 2));
        net.set_cut(0, 1, false);
        net.set_muted(2, false);
        assert!(net.reachable(0, 1) && net.reachable(2, 0));
    }
}
