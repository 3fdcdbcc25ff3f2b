//! Benchmark `sim_10k`: N=10,000 simulated nodes, `lan()` timings, no loss,
//! converged start, 60 virtual seconds, three runs. Prints each run, the
//! median wall time against the 60 s target, false suspicions and failures
//! (PAPER-CHECKS 7: both 0 in every run), traffic per node, the
//! configuration and the machine, as a table and JSON.
//! `SIM_NODES`, `SIM_SECS` and `SIM_RUNS` override the size; `SIM_MODELS=1`
//! adds three zones with their links and the full event log, to measure
//! their cost against the plain run.

mod support;

fn main() {
    let s = support::Settings::from_env(3);
    let outcomes: Vec<support::Outcome> = (0..s.runs).map(|run| support::quiet_cluster(&s, run)).collect();
    let mut walls: Vec<f64> = outcomes.iter().map(|o| o.wall.as_secs_f64()).collect();
    walls.sort_by(f64::total_cmp);
    let median = walls[walls.len() / 2];
    let fs: u64 = outcomes.iter().map(|o| o.false_suspicions).sum();
    let ff: u64 = outcomes.iter().map(|o| o.false_failures).sum();
    let last = outcomes.last().expect("at least one run");
    let (nodes, secs, runs) = (s.nodes, s.virtual_secs, s.runs);
    let models = if s.models { "zones=3 record=membership,state,messages" } else { "plain" };
    println!(
        "\nsim_10k  nodes={nodes} virtual={secs}s preset=lan loss=0 runs={runs} models={models}  machine: {}",
        support::machine()
    );
    println!("| metric | value | target |\n|---|---|---|");
    println!("| wall time, median | {median:.2} s | < 60 s |");
    println!("| false suspicions, all runs | {fs} | 0 |");
    println!("| false failures, all runs | {ff} | 0 |");
    println!(
        "{{\"bench\":\"sim_10k\",\"models\":\"{models}\",\"nodes\":{nodes},\"virtual_secs\":{secs},\"runs\":{runs},\"wall_median_s\":{median:.3},\"false_suspicions\":{fs},\"false_failures\":{ff},\"packets_per_node_s\":{:.2},\"bytes_per_node_s\":{:.1},\"machine\":\"{}\"}}",
        last.packets_per_node_s,
        last.bytes_per_node_s,
        support::machine()
    );
    assert_eq!((fs, ff), (0, 0), "PAPER-CHECKS 7: no false suspicion or failure in a quiet cluster");
}
