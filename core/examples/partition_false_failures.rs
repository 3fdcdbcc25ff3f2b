//! False failures after a short partition, on the simulator: the soak's
//! partition fault (`make soak`) repeated over many seeds.
//!
//! ```text
//! cargo run --release -p rumour --example partition_false_failures [seeds]
//! SEED=1 WATCH=node-8 cargo run --release -p rumour --example partition_false_failures 1
//! ```
//!
//! Each seed: 20 nodes (`lan()`, a converged start), then 1 to 3 of nodes
//! 10-19 cut off from the rest for 5 to 40 s, then healed and run for 60 s.
//! Counts the failure verdicts that a node of the majority reached about
//! another node of the majority: none of them was ever unreachable from it,
//! so each is false. `SEED` with `WATCH` prints every change in how each
//! node sees the watched members during that seed's run (10 ms steps).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use rumour::proto::Rng;
use rumour::sim::{Sim, SimConfig};

const NODES: usize = 20;

fn main() {
    let seeds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(100);
    let traced: Option<u64> = std::env::var("SEED").ok().and_then(|v| v.parse().ok());
    let watched: Vec<String> =
        std::env::var("WATCH").map(|w| w.split(',').map(String::from).collect()).unwrap_or_default();
    let (mut episodes, mut verdicts) = (0, 0);
    for seed in 1..=seeds {
        let watch = if traced == Some(seed) { &watched[..] } else { &[] };
        let outcome = short_partition(seed, watch);
        if let Some(first_s) = outcome.first_after_heal_s {
            episodes += 1;
            verdicts += outcome.false_verdicts;
            println!(
                "seed {seed}: {:?} cut off for {} s: {} false verdicts on {:?}, the first {first_s:.2} s after the heal",
                outcome.minority, outcome.cut_secs, outcome.false_verdicts, outcome.subjects
            );
        }
    }
    println!(
        "{seeds} partitions: {episodes} with false failures of majority nodes at the majority ({verdicts} verdicts)"
    );
}

/// What one seed's partition left behind.
pub struct Outcome {
    /// The nodes cut off.
    pub minority: Vec<usize>,
    /// For how long.
    pub cut_secs: u64,
    /// Verdicts a majority node reached on a majority node.
    pub false_verdicts: usize,
    /// The members they failed.
    pub subjects: BTreeSet<String>,
    /// When the first came, in seconds after the heal (negative: before).
    pub first_after_heal_s: Option<f64>,
}

/// One seed of the scenario (see the module documentation); prints how
/// every node sees the `watch`ed members whenever that changes.
pub fn short_partition(seed: u64, watch: &[String]) -> Outcome {
    let mut sim = Sim::new(SimConfig { nodes: NODES, seed, converged_start: true, ..SimConfig::default() });
    sim.run_for(Duration::from_secs(20));
    let mut draw = Rng::new(seed ^ 0x005E_ED0F_FA17);
    let mut minority: Vec<usize> = (10..NODES).collect();
    draw.shuffle(&mut minority);
    minority.truncate(1 + draw.below(3));
    let cut_secs = 5 + draw.below(36) as u64;
    let majority: Vec<usize> = (0..NODES).filter(|i| !minority.contains(i)).collect();
    let majority_names: Vec<String> = majority.iter().map(|&i| sim.name(i).to_string()).collect();
    let mut views = Views { watched: watch, last: HashMap::new() };

    let before = sim.metrics().false_verdicts().len();
    sim.partition(&[majority.clone(), minority.clone()]);
    views.run(&mut sim, Duration::from_secs(cut_secs), "cut");
    let healed = sim.elapsed();
    sim.heal();
    views.run(&mut sim, Duration::from_secs(60), "healed");

    let wrong: Vec<_> = sim.metrics().false_verdicts()[before..]
        .iter()
        .filter(|v| majority.contains(&v.observer) && majority_names.contains(&v.subject))
        .collect();
    Outcome {
        minority,
        cut_secs,
        false_verdicts: wrong.len(),
        subjects: wrong.iter().map(|v| v.subject.clone()).collect(),
        first_after_heal_s: wrong.first().map(|v| v.at.as_secs_f64() - healed.as_secs_f64()),
    }
}

/// Prints changes in how each node sees the watched members.
struct Views<'a> {
    watched: &'a [String],
    last: HashMap<(usize, String), String>,
}

impl Views<'_> {
    fn run(&mut self, sim: &mut Sim, span: Duration, phase: &str) {
        if self.watched.is_empty() {
            sim.run_for(span);
            return;
        }
        let end = sim.elapsed() + span;
        while sim.elapsed() < end {
            sim.run_for(Duration::from_millis(10));
            for observer in 0..sim.len() {
                let Some(p) = sim.node(observer) else { continue };
                for name in self.watched {
                    let view = p.member(name).map(|m| format!("{:?}/{}", m.state, m.incarnation)).unwrap_or_default();
                    if self.last.insert((observer, name.clone()), view.clone()).as_ref() != Some(&view) {
                        println!("{:8.2} {phase} node-{observer} sees {name} {view}", sim.elapsed().as_secs_f64());
                    }
                }
            }
        }
    }
}
