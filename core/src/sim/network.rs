//! The simulated network: who can reach whom, how late and how lossy.

use std::time::Duration;

use crate::proto::Rng;

/// Delay of one message on a link.
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
}

impl Latency {
    pub(crate) fn sample(&self, rng: &mut Rng) -> Duration {
        match *self {
            Latency::Fixed(d) => d,
            Latency::Uniform { min, max } => {
                let span = max.saturating_sub(min).as_nanos() as f64;
                min + Duration::from_nanos((rng.unit() * span) as u64)
            }
        }
    }
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

/// Links, loss and partitions.
#[derive(Debug, Clone)]
pub(crate) struct Network {
    pub(crate) latency: Latency,
    pub(crate) loss: f64,
    /// Partition group of each node; `None` when the network is whole.
    pub(crate) groups: Option<Vec<u32>>,
}

impl Network {
    pub(crate) fn connected(&self, a: usize, b: usize) -> bool {
        match &self.groups {
            Some(g) => g[a] == g[b],
            None => true,
        }
    }
}
