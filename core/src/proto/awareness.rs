//! Lifeguard's local health awareness (memberlist `awareness.go`): a score
//! from 0 to `max - 1` that rises when this node's own probes fail in ways
//! that point at itself (missing nacks, having to refute) and falls with each
//! successful probe. The probe interval is scaled by `score + 1`, so a node
//! that is itself slow probes less and accuses less.

use std::time::Duration;

/// The health score of the local node.
#[derive(Debug, Clone)]
pub(crate) struct Awareness {
    max: u32,
    score: u32,
    enabled: bool,
}

impl Awareness {
    /// `max` is memberlist's `AwarenessMaxMultiplier`; disabled, the score
    /// stays 0 (plain SWIM).
    pub(crate) fn new(max: u32, enabled: bool) -> Self {
        Awareness { max: max.max(1), score: 0, enabled }
    }

    /// Adds `delta`, clamped to `0..=max-1`.
    pub(crate) fn apply_delta(&mut self, delta: i32) {
        if !self.enabled {
            return;
        }
        let next = (self.score as i64 + delta as i64).clamp(0, self.max as i64 - 1);
        self.score = next as u32;
    }

    /// The current score.
    pub(crate) fn score(&self) -> u32 {
        self.score
    }

    /// `timeout * (score + 1)`.
    pub(crate) fn scale(&self, timeout: Duration) -> Duration {
        timeout * (self.score + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_is_clamped_and_scales_the_timeout() {
        // The table of memberlist's awareness_test.go: deltas and the score after each.
        let mut a = Awareness::new(8, true);
        let steps = [
            (0, 0),
            (-1, 0),
            (-10, 0),
            (1, 1),
            (-1, 0),
            (10, 7),
            (-1, 6),
            (-1, 5),
            (-1, 4),
            (-1, 3),
            (-1, 2),
            (-1, 1),
            (-1, 0),
            (-1, 0),
        ];
        for (delta, score) in steps {
            a.apply_delta(delta);
            assert_eq!(a.score(), score);
            assert_eq!(a.scale(Duration::from_secs(1)), Duration::from_secs(score as u64 + 1));
        }
    }

    #[test]
    fn disabled_awareness_never_moves() {
        let mut a = Awareness::new(8, false);
        a.apply_delta(5);
        assert_eq!(a.score(), 0);
    }
}
