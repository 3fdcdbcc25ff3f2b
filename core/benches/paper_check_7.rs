//! PAPER-CHECKS 7, a benchmark because it is too slow for the test suite:
//! N=10,000, no loss, 60 virtual seconds after convergence: 0 false
//! suspicions and 0 false failures, exactly. One run by default (`sim_10k`
//! makes three and reports the wall time); `SIM_RUNS` for more.

mod support;

fn main() {
    let s = support::Settings::from_env(1);
    for run in 0..s.runs {
        let o = support::quiet_cluster(&s, run);
        println!(
            "paper_check_7 N={} {} virtual s, run {run}: false suspicions {} (expected 0), false failures {} (expected 0); machine: {}",
            s.nodes,
            s.virtual_secs,
            o.false_suspicions,
            o.false_failures,
            support::machine()
        );
        assert_eq!((o.false_suspicions, o.false_failures), (0, 0), "PAPER-CHECKS 7 fails in run {run}");
    }
}
