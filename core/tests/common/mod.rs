//! Helpers shared by the tests that run real nodes.

use std::time::{Duration, Instant};

/// Polls `done` every 20 ms for up to `limit`; the last answer on timeout.
pub fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}
