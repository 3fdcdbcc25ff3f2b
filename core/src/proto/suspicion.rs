//! Suspicion timers with Lifeguard's confirmations (memberlist
//! `suspicion.go`, `util.go`).
//!
//! A suspicion starts with the maximum timeout when `k` independent
//! confirmations are expected, and each confirmation from a distinct member
//! shrinks it logarithmically toward the minimum. The math is in pure
//! functions with table tests; the [`Suspicion`] value only keeps state.

use std::collections::HashSet;
use std::time::{Duration, Instant};

/// memberlist's `suspicionTimeout`: `mult * max(1, log10(max(1, n))) * interval`,
/// with the scale truncated to milliseconds as Go does.
pub fn suspicion_timeout(suspicion_mult: u32, n: usize, interval: Duration) -> Duration {
    let node_scale = (n.max(1) as f64).log10().max(1.0);
    let scale_ms = (node_scale * 1000.0) as u64;
    interval * suspicion_mult * scale_ms as u32 / 1000
}

/// memberlist's `remainingSuspicionTime` before subtracting the elapsed time:
/// the total timeout after `n` of `k` expected confirmations, floored to
/// whole milliseconds and never below `min`.
pub fn suspicion_timeout_after(n: u32, k: u32, min: Duration, max: Duration) -> Duration {
    if k == 0 {
        return min;
    }
    let frac = ((n as f64) + 1.0).ln() / ((k as f64) + 1.0).ln();
    let raw = max.as_secs_f64() - frac * (max.as_secs_f64() - min.as_secs_f64());
    let timeout = Duration::from_millis((1000.0 * raw).floor().max(0.0) as u64);
    timeout.max(min)
}

/// One member under suspicion.
#[derive(Debug, Clone)]
pub(crate) struct Suspicion {
    k: u32,
    n: u32,
    min: Duration,
    max: Duration,
    start: Instant,
    deadline: Instant,
    confirmations: HashSet<String>,
    /// When the member entered the suspect state; the timer only fires if
    /// the member is still suspect since then.
    pub(crate) state_change: Instant,
}

impl Suspicion {
    /// Starts a suspicion raised by `from` at `now`.
    pub(crate) fn new(from: &str, k: u32, min: Duration, max: Duration, now: Instant) -> Self {
        let timeout = if k < 1 { min } else { max };
        Suspicion {
            k,
            n: 0,
            min,
            max,
            start: now,
            deadline: now + timeout,
            confirmations: HashSet::from([from.to_string()]),
            state_change: now,
        }
    }

    /// Records a confirmation; true when it is new and counted (and so worth
    /// re-gossiping).
    pub(crate) fn confirm(&mut self, from: &str, now: Instant) -> bool {
        if self.n >= self.k || self.confirmations.contains(from) {
            return false;
        }
        self.confirmations.insert(from.to_string());
        self.n += 1;
        let total = suspicion_timeout_after(self.n, self.k, self.min, self.max);
        self.deadline = (self.start + total).max(now);
        true
    }

    /// When the member is declared dead unless refuted.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Confirmations counted so far.
    pub(crate) fn confirmations(&self) -> u32 {
        self.n
    }

    /// Confirmations this suspicion expected (Lifeguard's k).
    pub(crate) fn expected(&self) -> u32 {
        self.k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn suspicion_timeout_matches_memberlist_table() {
        // util_test.go TestSuspicionTimeout (its values times 3: it divides by the mult).
        let cases = [(5, 3_000), (10, 3_000), (50, 5_094), (100, 6_000), (500, 8_094), (1000, 9_000)];
        for (n, ms) in cases {
            assert_eq!(suspicion_timeout(3, n, Duration::from_secs(1)), MS(ms), "n={n}");
        }
    }

    #[test]
    fn remaining_time_matches_memberlist_table() {
        // suspicion_test.go TestSuspicion_remainingSuspicionTime (before elapsed).
        let (min, max) = (Duration::from_secs(2), Duration::from_secs(30));
        assert_eq!(suspicion_timeout_after(0, 3, min, max), Duration::from_secs(30));
        assert_eq!(suspicion_timeout_after(1, 3, min, max), MS(16_000));
        assert_eq!(suspicion_timeout_after(2, 3, min, max), MS(7_810));
        assert_eq!(suspicion_timeout_after(3, 3, min, max), min);
        assert_eq!(suspicion_timeout_after(4, 3, min, max), min);
    }

    #[test]
    fn confirmations_shrink_the_deadline_once_per_member() {
        let t0 = Instant::now();
        let mut s = Suspicion::new("a", 3, Duration::from_secs(2), Duration::from_secs(30), t0);
        assert_eq!(s.deadline(), t0 + Duration::from_secs(30));
        assert!(!s.confirm("a", t0), "the accuser does not confirm itself");
        assert!(s.confirm("b", t0 + Duration::from_secs(1)));
        assert_eq!(s.deadline(), t0 + MS(16_000));
        assert!(!s.confirm("b", t0), "a member confirms once");
        assert!(s.confirm("c", t0));
        assert!(s.confirm("d", t0));
        assert_eq!(s.deadline(), t0 + Duration::from_secs(2));
        assert!(!s.confirm("e", t0), "no more than k confirmations count");
        assert_eq!(s.confirmations(), 3);
    }

    #[test]
    fn without_expected_confirmations_the_minimum_applies() {
        let t0 = Instant::now();
        let s = Suspicion::new("a", 0, Duration::from_secs(2), Duration::from_secs(30), t0);
        assert_eq!(s.deadline(), t0 + Duration::from_secs(2));
    }
}
