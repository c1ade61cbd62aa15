//! Proposing the trials of a search: which tuned values each trial of a
//! design gets, from the sweep's `[search]`, a seed and the results of the
//! design's earlier trials — nothing else, so that every process asking
//! gets the same answer. Grid and random trials depend on their index
//! alone; TPE trials of a round depend on the rounds before it.
//!
//! Knows nothing about the store, runs or training: the runner turns
//! proposals into runs and hands back each finished trial's score.

mod random;
pub mod seeds;
mod space;
mod tpe;

use std::ops::Range;

use headsweep_spec::{Method, Search};
use serde_json::Value;

pub use space::round_significant;

/// A finished trial as the search sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Index of the trial within its design.
    pub trial: usize,
    /// The tuned values, in the space's order.
    pub values: Vec<Value>,
    /// The objective with its direction applied: higher is better. `None`
    /// for a trial that failed or whose metric is undefined; it keeps its
    /// place in the budget but does not inform the model.
    pub score: Option<f64>,
}

/// The values of trials `trials` (one round of [`Search::rounds`], the
/// `round`-th) of the design named `design`, given the finished trials of
/// the rounds before it. Each is a list of values in the space's order.
pub fn propose(
    search: &Search,
    design: &str,
    round: usize,
    trials: Range<usize>,
    history: &[Observation],
) -> Vec<Vec<Value>> {
    match search.method {
        Method::Grid => {
            let all = search.grid_trials();
            all[trials].to_vec()
        }
        Method::Random => trials.map(|i| random::trial(search, design, i)).collect(),
        Method::Tpe if round == 0 => trials.map(|i| random::trial(search, design, i)).collect(),
        Method::Tpe => {
            let scored: Vec<&Observation> = history.iter().filter(|o| o.score.is_some()).collect();
            if scored.is_empty() {
                // Nothing to model: every earlier trial failed.
                return trials.map(|i| random::trial(search, design, i)).collect();
            }
            let mut rng = random::generator(search.seed, design, "tpe round", round as u64);
            let mut round_so_far: Vec<Vec<Value>> = Vec::new();
            for _ in trials {
                let next = tpe::propose(
                    &search.space,
                    &scored,
                    &round_so_far,
                    search.candidates,
                    &mut rng,
                );
                round_so_far.push(next);
            }
            round_so_far
        }
    }
}

/// The best finished trial: the highest score, the lowest trial index
/// among equals. `None` when no trial has a score.
pub fn best(history: &[Observation]) -> Option<&Observation> {
    history
        .iter()
        .filter_map(|o| o.score.map(|s| (s, o)))
        .fold(
            None,
            |best: Option<(f64, &Observation)>, (s, o)| match best {
                Some((b, bo)) if b > s || (b == s && bo.trial < o.trial) => Some((b, bo)),
                _ => Some((s, o)),
            },
        )
        .map(|(_, o)| o)
}

#[cfg(test)]
mod tests;
