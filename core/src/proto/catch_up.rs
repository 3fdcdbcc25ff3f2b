//! Catching up after a burst of joins: one extra push-pull with a random
//! member once the burst's rumours have had time to spread.
//!
//! When two clusters merge, or a whole cluster starts at once, every node
//! learns of tens of members within a second or two, mostly through alive
//! rumours. Each rumour reaches each node with high probability, but not
//! certainty: half of a rumour's gossip targets already knew, and a packet
//! holds only so many rumours, so out of thousands of (node, member) pairs a
//! few are missed. memberlist leaves those to the periodic push-pull, which
//! at 100 members comes every 90 s (scaled); simulated islands of 50 + 50
//! took up to 55 s to see all.
//!
//! [`CatchUp`] repairs them sooner. A node that sees [`BURST`] members join
//! its view within one delay pulls the whole table from a random live
//! member that delay later: long enough for the burst's rumours to have
//! spread, so the peer most likely knows them all. While a pull still
//! teaches something, another follows (at most [`CHAIN`] in a row). A
//! single member joining, the steady state, never triggers one, and a node
//! makes at most one such pull per delay.

use std::time::{Duration, Instant};

use super::machine::StreamId;

/// Members joining within one delay that make a burst.
pub(super) const BURST: u32 = 3;

/// Pulls in a row, each made because the previous one still taught
/// something (or failed), after the one a burst triggers.
pub(super) const CHAIN: u8 = 3;

/// The state of a node's catch-up pulls.
#[derive(Debug, Default)]
pub(super) struct CatchUp {
    /// When the current counting window opened, and the joins seen in it.
    window: Option<(Instant, u32)>,
    /// When the next pull is due.
    due: Option<Instant>,
    /// The pull under way, and the joins counted when it started.
    in_flight: Option<(StreamId, u64)>,
    /// Members that joined our view, ever.
    joins: u64,
    /// Further pulls allowed in the current chain.
    chain_left: u8,
    /// Pulls started, for the stats.
    started: u64,
}

impl CatchUp {
    /// A member joined our view (new, or back from dead or left). True
    /// when this completes a burst (joins within `window`) and no pull is
    /// pending: the caller then [`CatchUp::arm`]s one.
    pub(super) fn member_joined(&mut self, now: Instant, window: Duration) -> bool {
        self.joins += 1;
        self.counts_towards_burst(now, window)
    }

    /// A member joined our view through an exchange that is already part
    /// of a pull (the resyncs with a seed after a join): it counts as
    /// taught, but not towards a burst, since that pull is the catch-up.
    pub(super) fn member_joined_by_resync(&mut self) {
        self.joins += 1;
    }

    fn counts_towards_burst(&mut self, now: Instant, window: Duration) -> bool {
        if self.due.is_some() || self.in_flight.is_some() {
            return false;
        }
        let count = match self.window {
            Some((opened, count)) if now.saturating_duration_since(opened) <= window => count + 1,
            _ => {
                self.window = Some((now, 0));
                1
            }
        };
        if count < BURST {
            self.window = self.window.map(|(opened, _)| (opened, count));
            return false;
        }
        self.window = None;
        self.chain_left = CHAIN;
        true
    }

    /// The next pull is due at `at`.
    pub(super) fn arm(&mut self, at: Instant) {
        self.due = Some(at);
    }

    /// When the next pull is due.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.due
    }

    /// Whether a pull is due at `now` (it is then no longer pending).
    pub(super) fn take_due(&mut self, now: Instant) -> bool {
        if self.due.is_some_and(|t| t <= now) {
            self.due = None;
            return true;
        }
        false
    }

    /// The due pull was opened as stream `id`.
    pub(super) fn launched(&mut self, id: StreamId) {
        self.in_flight = Some((id, self.joins));
        self.started += 1;
    }

    /// Stream `id` ended (`ok`: its reply was merged). True when it was our
    /// pull and another should follow: it taught something, or failed, and
    /// the chain lasts. The caller then [`CatchUp::arm`]s it.
    pub(super) fn stream_done(&mut self, id: StreamId, ok: bool) -> bool {
        let Some((pending, joins_before)) = self.in_flight else { return false };
        if pending != id {
            return false;
        }
        self.in_flight = None;
        let taught = self.joins > joins_before;
        if (taught || !ok) && self.chain_left > 0 && self.due.is_none() {
            self.chain_left -= 1;
            return true;
        }
        false
    }

    /// Catch-up pulls started so far.
    pub(super) fn started(&self) -> u64 {
        self.started
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(2);

    #[test]
    fn a_single_join_or_joins_spread_out_never_trigger_a_pull() {
        let t0 = Instant::now();
        let mut c = CatchUp::default();
        for k in 0..10 {
            // Two joins per window at most: windows are 2 s, joins 1.5 s apart.
            assert!(!c.member_joined(t0 + Duration::from_millis(1500 * k), WINDOW));
        }
        assert_eq!(c.deadline(), None);
    }

    #[test]
    fn a_burst_triggers_one_pull_and_a_chain_follows_while_pulls_teach() {
        let t0 = Instant::now();
        let mut c = CatchUp::default();
        let burst: Vec<bool> =
            (0..BURST).map(|k| c.member_joined(t0 + Duration::from_millis(100 * u64::from(k)), WINDOW)).collect();
        assert_eq!(burst.iter().filter(|b| **b).count(), 1);
        assert!(burst[BURST as usize - 1], "the burst's last join arms the pull");
        let due = t0 + WINDOW;
        c.arm(due);
        // More joins while it is pending change nothing.
        assert!(!c.member_joined(due - Duration::from_millis(1), WINDOW));
        assert!(!c.take_due(due - Duration::from_millis(1)));
        assert!(c.take_due(due));
        assert_eq!(c.deadline(), None);

        for round in 0..=u64::from(CHAIN) {
            c.launched(StreamId(round));
            assert!(!c.member_joined(due, WINDOW), "a join during the pull");
            let follow = c.stream_done(StreamId(round), true);
            assert_eq!(follow, round < u64::from(CHAIN), "round {round}: the chain is bounded");
        }
        assert_eq!(c.started(), u64::from(CHAIN) + 1);
    }

    #[test]
    fn a_pull_that_teaches_nothing_ends_the_chain_and_a_failed_one_is_retried() {
        let t0 = Instant::now();
        let mut c = CatchUp::default();
        assert!((0..BURST).any(|_| c.member_joined(t0, WINDOW)), "the third join arms a pull");
        c.arm(t0);
        assert!(c.take_due(t0));
        c.launched(StreamId(1));
        assert!(!c.stream_done(StreamId(7), false), "another stream's end is not ours");
        assert!(c.stream_done(StreamId(1), false), "a failed pull is tried again");
        c.launched(StreamId(2));
        assert!(!c.stream_done(StreamId(2), true), "nothing new: caught up");
        assert!(!c.stream_done(StreamId(2), true), "an ended pull ends once");
    }
}
