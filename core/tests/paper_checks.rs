//! The numbers from the literature the simulator must reproduce
//! (`../shared/PAPER-CHECKS.md`). Each check prints what it measured.
//! Check 5 lives with the machine (`proto::tests::paper_check_5`); check 7
//! is the `paper_check_7` benchmark (with `sim_10k`, which times it).

use std::time::Duration;

use rumour::proto::{Config, Experiment, ProbeSelection};
use rumour::sim::{Latency, Sim, SimConfig, SlowNode};

fn quiet(nodes: usize, seed: u64, node_config: Config, aligned: bool) -> Sim {
    Sim::new(SimConfig {
        nodes,
        seed,
        node_config,
        latency: Latency::Uniform { min: Duration::from_millis(1), max: Duration::from_millis(5) },
        converged_start: true,
        aligned_timers: aligned,
        trace_probes: true,
        ..SimConfig::default()
    })
}

fn lan() -> Config {
    Config { enable_compression: false, ..Config::lan() }
}

/// Runs rounds of "crash every node at once" (as stopwatches, see
/// `Sim::watch_first_probe`) until `trials` first-probe delays are in.
fn first_probe_delays(sim: &mut Sim, trials: usize, at_period_start: bool) -> Vec<Duration> {
    let mut rounds = 0;
    while sim.metrics().watched_probe_delays().len() < trials {
        rounds += 1;
        assert!(rounds < 10_000, "bounded");
        if at_period_start {
            // Just before the next aligned tick: the crash's own period.
            let next = (sim.elapsed().as_millis() / 1000 + 1) as u64 * 1000;
            sim.run_for(Duration::from_millis(next - 1) - sim.elapsed());
        } else {
            // A moment that is random relative to every node's phase.
            sim.run_for(Duration::from_millis(1000 + (rounds * 7919) % 1000));
        }
        for i in 0..sim.len() {
            sim.watch_first_probe(i);
        }
        let done = sim.run_until(Duration::from_secs(120), |s| s.metrics().pending_probe_watches() == 0);
        assert!(done, "every node gets probed eventually");
    }
    sim.metrics().watched_probe_delays().to_vec()
}

/// PAPER-CHECKS 1(a): SWIM's own model (uniform random targets, aligned
/// periods, crash at a period's start): expected periods to first probe
/// e/(e-1) = 1.582, within 5%.
#[test]
fn paper_check_1a() {
    for (nodes, seed) in [(100, 11), (1000, 12)] {
        let cfg = Config {
            experiment: Experiment { probe_selection: ProbeSelection::UniformRandom, ..Experiment::default() },
            ..lan()
        };
        let mut sim = quiet(nodes, seed, cfg, true);
        sim.run_for(Duration::from_millis(500));
        let delays = first_probe_delays(&mut sim, 10_000, true);
        let periods: Vec<f64> = delays.iter().map(|d| (d.as_secs_f64() / 1.0).ceil()).collect();
        let mean = periods.iter().sum::<f64>() / periods.len() as f64;
        let expected = std::f64::consts::E / (std::f64::consts::E - 1.0);
        println!("paper_check_1a N={nodes}: {} trials, mean {mean:.4} periods, expected {expected:.4}", periods.len());
        assert!((mean / expected - 1.0).abs() <= 0.05, "N={nodes}: mean {mean}");
    }
}

/// PAPER-CHECKS 1(b): memberlist's way (shuffled round robin, each node's
/// timer at its own phase, crash at a random moment): mean time to first
/// probe 1.0 period within 10%, and no trial above 2N-1 periods.
#[test]
fn paper_check_1b() {
    for (nodes, seed) in [(100, 13), (1000, 14)] {
        let mut sim = quiet(nodes, seed, lan(), false);
        sim.run_for(Duration::from_secs(2));
        let delays = first_probe_delays(&mut sim, 10_000, false);
        let periods: Vec<f64> = delays.iter().map(Duration::as_secs_f64).collect();
        let mean = periods.iter().sum::<f64>() / periods.len() as f64;
        let max = periods.iter().cloned().fold(0.0, f64::max);
        println!("paper_check_1b N={nodes}: {} trials, mean {mean:.4} periods, max {max:.2}", periods.len());
        assert!((mean - 1.0).abs() <= 0.10, "N={nodes}: mean {mean}");
        assert!(max <= (2 * nodes - 1) as f64, "N={nodes}: max {max}");
    }
}

/// PAPER-CHECKS 3: N=1000, one rumour (a metadata update), GossipNodes=3,
/// no loss, memberlist's retransmit limit; gossip rounds aligned as in the
/// convergence model. Gossip intervals until 99.9% and 100% of nodes hold
/// it: about 7.9 and 8.2, within 15%, never slower than 9.2.
#[test]
fn paper_check_3() {
    let mut sim = quiet(1000, 15, lan(), true);
    sim.run_for(Duration::from_millis(1500));
    let interval = 0.2;
    let (mut at_999, mut at_all) = (Vec::new(), Vec::new());
    for trial in 0..10 {
        // Created just before a gossip tick, as the model's round 1 starts.
        let ms = sim.elapsed().as_millis() as u64;
        let next_tick = (ms / 200 + 1) * 200;
        sim.run_for(Duration::from_millis(next_tick - 1 - ms));
        let origin = trial * 97 % 1000;
        sim.set_meta(origin, format!("v{trial}").as_bytes()).unwrap();
        sim.run_for(Duration::from_secs(6));
        let mut times: Vec<f64> = sim
            .metrics()
            .update_spread(sim.name(origin))
            .unwrap()
            .iter()
            .map(|t| t.expect("every node holds it").as_secs_f64())
            .collect();
        times.sort_by(f64::total_cmp);
        at_999.push((times[998] / interval).ceil());
        at_all.push((times[999] / interval).ceil());
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (m999, mall) = (mean(&at_999), mean(&at_all));
    println!("paper_check_3: rounds to 99.9% {at_999:?} mean {m999:.2}; to 100% {at_all:?} mean {mall:.2}");
    assert!((m999 / 7.9 - 1.0).abs() <= 0.15, "99.9% after {m999} rounds");
    assert!((mall / 8.2 - 1.0).abs() <= 0.15, "100% after {mall} rounds");
    assert!(at_all.iter().all(|&r| r <= 9.2 + 1.0), "a trial slower than the convergence model: {at_all:?}");
}

/// PAPER-CHECKS 4: blind push, one random node per send, T sends per node,
/// N=1000: the share never reached solves s = e^(-T(1-s)): 5.95% (T=3),
/// 1.98% (T=4), 0.70% (T=5), within 10% relative.
#[test]
fn paper_check_4() {
    for (t, expected) in [(3u32, 0.0595), (4, 0.0198), (5, 0.0070)] {
        let cfg = Config {
            gossip_nodes: 1,
            // No probes and no anti-entropy: only the push is measured.
            probe_interval: Duration::from_secs(3600),
            push_pull_interval: Duration::ZERO,
            experiment: Experiment { retransmit_limit: Some(t), ..Experiment::default() },
            ..lan()
        };
        let mut sim = quiet(1000, 40 + t as u64, cfg, false);
        let (mut missed, mut total) = (0usize, 0usize);
        let rumours = 20;
        for batch in 0..8 {
            let payloads: Vec<Vec<u8>> = (0..rumours).map(|r| format!("t{t}-b{batch}-r{r}").into_bytes()).collect();
            for (r, p) in payloads.iter().enumerate() {
                sim.broadcast((batch * 131 + r * 37) % 1000, p).unwrap();
            }
            sim.run_for(Duration::from_secs(5));
            for p in &payloads {
                let spread = sim.metrics().broadcast_spread(p).unwrap();
                missed += spread.iter().filter(|s| s.is_none()).count();
                total += spread.len();
            }
        }
        let share = missed as f64 / total as f64;
        println!(
            "paper_check_4 T={t}: never reached {:.3}% (expected {:.2}%) over {} rumours",
            share * 100.0,
            expected * 100.0,
            total / 1000
        );
        assert!((share / expected - 1.0).abs() <= 0.10, "T={t}: share {share}");
    }
}

/// PAPER-CHECKS 2: N=100, IndirectChecks K=3, independent loss q on every
/// message, suspicion and TCP fallback off. The share of probes of live
/// nodes that end with no ack is (1-(1-q)^2)(1-(1-q)^4)^K: the direct ping
/// or its ack is lost, and each of the K indirect paths (ping-req, ping, ack,
/// forwarded ack) loses one of its four messages. 1,000,000 probes per q,
/// within the binomial 95% interval or 10%, whichever is wider.
#[test]
fn paper_check_2() {
    for (q, seed) in [(0.05, 21), (0.10, 22)] {
        let cfg = Config {
            indirect_checks: 3,
            disable_tcp_pings: true,
            experiment: Experiment { suspect_on_failed_probe: false, ..Experiment::default() },
            ..lan()
        };
        let mut sim = Sim::new(SimConfig {
            nodes: 100,
            seed,
            node_config: cfg,
            latency: Latency::Uniform { min: Duration::from_millis(1), max: Duration::from_millis(5) },
            loss: q,
            converged_start: true,
            trace_probes: true,
            ..SimConfig::default()
        });
        let wanted = 1_000_000;
        let mut chunks = 0;
        while sim.metrics().probes().finished_live < wanted {
            chunks += 1;
            assert!(chunks <= 200, "bounded: 1,000,000 probes take about 10,000 virtual seconds");
            sim.run_for(Duration::from_secs(100));
        }
        let counts = sim.metrics().probes();
        let n = counts.finished_live as f64;
        let share = counts.failed_live as f64 / n;
        let expected = (1.0 - (1.0f64 - q).powi(2)) * (1.0 - (1.0f64 - q).powi(4)).powi(3);
        let binomial = 1.96 * (expected * (1.0 - expected) / n).sqrt();
        let tolerance = binomial.max(0.10 * expected);
        println!(
            "paper_check_2 q={q}: {} of {} probes unanswered, share {share:.3e}, expected {expected:.3e} +- {tolerance:.1e} (binomial 95% {binomial:.1e})",
            counts.failed_live, counts.finished_live
        );
        assert!((share - expected).abs() <= tolerance, "q={q}: share {share:.3e}, expected {expected:.3e}");
    }
}

/// One run for check 6: `slow` members whose inbound messages are handled
/// `delay` late, healthy members crashed one by one. Returns the false
/// verdicts about healthy members and the detection delays (in seconds) of
/// the real crashes at healthy observers.
fn slow_members_run(slow: usize, delay: Duration, lifeguard: bool, seed: u64) -> (usize, Vec<f64>) {
    let nodes = 100;
    let cfg = Config { experiment: Experiment { lifeguard, ..Experiment::default() }, ..lan() };
    let mut sim = quiet(nodes, seed, cfg, false);
    sim.run_for(Duration::from_secs(5));
    for i in 0..slow {
        sim.set_slow(i, Some(SlowNode { message_delay: delay, timer_delay: Duration::ZERO }));
    }
    let crashes = 8;
    let victims: Vec<usize> = (0..crashes).map(|c| nodes - 1 - c * 7).collect();
    for &v in &victims {
        sim.run_for(Duration::from_secs(60));
        sim.crash(v);
    }
    sim.run_for(Duration::from_secs(90));
    let healthy = |i: usize| i >= slow && !victims.contains(&i);
    let healthy_names: Vec<String> = (0..nodes).filter(|&i| i >= slow).map(|i| sim.name(i).to_string()).collect();
    let false_verdicts = sim.metrics().false_verdicts().iter().filter(|v| healthy_names.contains(&v.subject)).count();
    let mut detections = Vec::new();
    for &v in &victims {
        let seen = sim.metrics().detections_of(sim.name(v));
        detections.extend(seen.iter().filter(|(o, _)| healthy(*o)).map(|(_, d)| d.as_secs_f64()));
    }
    (false_verdicts, detections)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// PAPER-CHECKS 6: N=100 with m in {1, 2, 4, 8} slow members, Lifeguard on
/// and off. A slow member handles each arriving message `d` late while its
/// timers fire on time, as memberlist does when its packet handler is
/// starved but its timer goroutines are not; d in {2, 10, 20} s spans "less
/// than" and "more than" plain SWIM's 8 s suspicion timeout. Eight healthy
/// members crash during each 10-minute run.
///
/// Lifeguard must cut the false "failed" verdicts about healthy members at
/// least 20x for each m (pooled over d), and its median time for healthy
/// members to declare a real crash must stay within 1.2x plain SWIM's.
///
/// Most of SWIM's false verdicts come from the slow members themselves (their
/// 8 s timer fires before they read the refutation). The rest, also seen at
/// d=2 s, come from the epidemic tail: with N=100 a refutation is sent
/// 4*ceil(log10 N) = 8 times per holder, so now and then one healthy member
/// misses it and its fixed 8 s timer expires before push-pull repairs it;
/// Lifeguard's 48 s unconfirmed timeout leaves room for that repair.
#[test]
fn paper_check_6() {
    for m in [1, 2, 4, 8] {
        let (mut fp_swim_total, mut fp_lg_total) = (0, 0);
        for d in [2, 10, 20] {
            let seed = 60 + m as u64 * 10 + d;
            let (fp_swim, mut det_swim) = slow_members_run(m, Duration::from_secs(d), false, seed);
            let (fp_lg, mut det_lg) = slow_members_run(m, Duration::from_secs(d), true, seed);
            let (med_swim, med_lg) = (median(&mut det_swim), median(&mut det_lg));
            println!(
                "paper_check_6 m={m} d={d}s: false verdicts SWIM {fp_swim}, Lifeguard {fp_lg}; median detection SWIM {med_swim:.2} s, Lifeguard {med_lg:.2} s (x{:.3}) over {} and {} verdicts",
                med_lg / med_swim,
                det_swim.len(),
                det_lg.len()
            );
            assert!(med_lg <= 1.2 * med_swim, "m={m} d={d}: Lifeguard detects in {med_lg} s, SWIM in {med_swim} s");
            fp_swim_total += fp_swim;
            fp_lg_total += fp_lg;
        }
        let ratio = fp_swim_total as f64 / fp_lg_total.max(1) as f64;
        println!(
            "paper_check_6 m={m}: false verdicts SWIM {fp_swim_total}, Lifeguard {fp_lg_total}, reduced x{ratio:.0}"
        );
        assert!(
            fp_swim_total >= 20,
            "m={m}: SWIM made only {fp_swim_total} false verdicts; the setup does not stress it"
        );
        assert!(ratio >= 20.0, "m={m}: Lifeguard reduces false verdicts only x{ratio:.1}");
    }
}
