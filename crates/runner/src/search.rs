//! A search's runs, planned from the sweep file and the stored results
//! alone: every design's trials round by round — a round is proposed only
//! once every trial of the rounds before it has ended — then, once a
//! design's last round has ended, its best trial on the validation metric
//! trained again on each evaluation seed.
//!
//! Any process planning from the same store gets the same runs, so
//! `run`, a second `run` on another machine and `slurm` agree without
//! talking to each other.

use std::collections::HashMap;

use headsweep_search::seeds::{Arm, Outcome};
use headsweep_search::{best, propose, Observation};
use headsweep_spec::{display_value, GridPoint, Role, RunConfig, Search, SweepFile};
use serde_json::Value;

use crate::known::Known;
use crate::runs::{Identities, PlannedRun};
use crate::RunnerError;

/// Where one design's search stands.
#[derive(Debug, Clone)]
pub struct DesignSearch {
    /// The design's label, `axis=value …`.
    pub design: String,
    /// Trials proposed so far, of the search's `trials`.
    pub proposed: usize,
    /// Of those, trials ended (done or failed).
    pub ended: usize,
    /// Ended without a value of the metric (failed, or undefined).
    pub failed: usize,
    /// Ended at a rung below the last (with `prune`).
    pub pruned: usize,
    /// Rounds proposed, of [`headsweep_spec::Search::rounds`].
    pub rounds: usize,
    /// The best trial, once every round has ended.
    pub chosen: Option<Chosen>,
    /// Every round ended and no trial has a value: nothing to evaluate.
    pub nothing_chosen: bool,
}

/// A design's best trial.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// Its index within the design.
    pub trial: usize,
    /// `(setting, value)` in the space's order.
    pub values: Vec<(String, Value)>,
    /// The objective's mean over the search seeds.
    pub value: f64,
}

/// A search's runs as far as they can be known, and where each design is.
#[derive(Debug, Clone)]
pub struct SearchPlan {
    pub runs: Vec<PlannedRun>,
    pub designs: Vec<DesignSearch>,
    /// With evaluation seeds in rounds, once every search has ended: each
    /// chosen design's point and its evaluation seeds so far.
    pub evaluation: Option<Vec<(usize, Arm)>>,
}

/// A trial once its round has ended: the last rung it reached, and its
/// score there (the metric in its direction; `None`: failed or undefined).
struct Ended {
    trial: usize,
    values: Vec<Value>,
    rung: usize,
    score: Option<f64>,
}

/// What the proposals learn from. Without pruning, each trial's score.
/// With it, a trial pruned at a rung ranks below every trial that went
/// further, by its value at that rung: scores become ranks by (rung,
/// score), which TPE, using only their order, reads alike.
fn observations(raw: &[Ended], pruning: bool) -> Vec<Observation> {
    let mut keys: Vec<(usize, f64)> = raw
        .iter()
        .filter_map(|e| Some((e.rung, e.score?)))
        .collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    keys.dedup();
    raw.iter()
        .map(|e| Observation {
            trial: e.trial,
            values: e.values.clone(),
            score: match (pruning, e.score) {
                (false, s) => s,
                (true, None) => None,
                (true, Some(s)) => keys
                    .binary_search_by(|k| k.0.cmp(&e.rung).then(k.1.total_cmp(&s)))
                    .ok()
                    .map(|i| i as f64),
            },
        })
        .collect()
}

/// A run's axis values with `train.epochs` set to `epochs` when the search
/// prunes (each rung is a run of its own, told apart by its epochs).
fn with_epochs(values: &[(String, Value)], epochs: usize, search: &Search) -> Vec<(String, Value)> {
    let mut out = values.to_vec();
    if search.prune.is_some() {
        match out.iter_mut().find(|(k, _)| k == "train.epochs") {
            Some((_, v)) => *v = Value::from(epochs),
            None => out.push(("train.epochs".into(), Value::from(epochs))),
        }
    }
    out
}

/// Plans `sweep`'s search from what the store knows (`Known::default()`
/// for nothing: every design's first round).
pub fn plan(sweep: &SweepFile, known: &Known) -> Result<SearchPlan, RunnerError> {
    let search = sweep.search.as_ref().expect("a sweep with a search");
    let keys: Vec<String> = search.space.iter().map(|p| p.key.clone()).collect();
    let rounds = search.rounds();
    let mut ids = Identities::default();
    let mut runs = Vec::new();
    let mut designs = Vec::new();
    let mut chosen_configs: Vec<(usize, GridPoint)> = Vec::new();
    let mut every_search_ended = true;
    for (point, p) in sweep.points.iter().enumerate() {
        let design = p.label();
        let configure = |values: &[Value]| {
            let named: Vec<(String, Value)> =
                keys.iter().cloned().zip(values.iter().cloned()).collect();
            sweep
                .configure(point, &named)
                .map_err(|why| RunnerError::Trial {
                    design: design.clone(),
                    values: named
                        .iter()
                        .map(|(k, v)| format!("{k}={}", display_value(v)))
                        .collect::<Vec<_>>()
                        .join(" "),
                    why,
                })
        };
        let mut raw: Vec<Ended> = Vec::new();
        let mut means: HashMap<usize, f64> = HashMap::new();
        let mut state = DesignSearch {
            design: design.clone(),
            proposed: 0,
            ended: 0,
            failed: 0,
            pruned: 0,
            rounds: 0,
            chosen: None,
            nothing_chosen: false,
        };
        let rungs = search.rungs(p.config.train.epochs);
        let last = rungs.len() - 1;
        let direction = search.objective.metric.direction();
        let mut all_ended = true;
        for (r, trials) in rounds.iter().enumerate() {
            let history = observations(&raw, search.prune.is_some());
            let proposals = propose(search, &design, r, trials.clone(), &history);
            state.rounds += 1;
            let mut cohort = Vec::new();
            for (trial, values) in trials.clone().zip(proposals) {
                let config = configure(&values)?;
                cohort.push((trial, values, config));
            }
            state.proposed += cohort.len();
            // Each trial's last rung reached and its mean there.
            let mut result: Vec<(usize, Option<f64>)> = vec![(0, None); cohort.len()];
            let mut alive: Vec<usize> = (0..cohort.len()).collect();
            let mut round_ended = true;
            for (k, &epochs) in rungs.iter().enumerate() {
                let mut rung_ended = true;
                for &i in &alive {
                    let (trial, _, point_config) = &cohort[i];
                    let axes = with_epochs(&point_config.values, epochs, search);
                    let mut seeds_values = Vec::new();
                    let mut ended = true;
                    for &seed in &sweep.seeds {
                        let mut config = RunConfig {
                            seed,
                            ..point_config.config.clone()
                        };
                        config.train.epochs = epochs;
                        let id = ids.of(&config)?;
                        match known.outcome(&id) {
                            Outcome::Ended(v) => seeds_values.push(v),
                            Outcome::Pending => ended = false,
                        }
                        runs.push(PlannedRun {
                            id,
                            point,
                            config,
                            axes: axes.clone(),
                            role: Role::Trial,
                            trial: Some(*trial),
                        });
                    }
                    if !ended {
                        rung_ended = false;
                        continue;
                    }
                    // The mean over the search seeds; a seed without a
                    // value leaves the trial unscored.
                    let mean = seeds_values
                        .iter()
                        .copied()
                        .collect::<Option<Vec<f64>>>()
                        .map(|v| v.iter().sum::<f64>() / v.len() as f64)
                        .filter(|m| m.is_finite());
                    result[i] = (k, mean);
                    if k == last {
                        state.ended += 1;
                        if mean.and_then(|m| direction.score(m)).is_none() {
                            state.failed += 1;
                        }
                    }
                }
                if !rung_ended {
                    round_ended = false;
                    break;
                }
                if k < last {
                    // The best go on (unscored last, earlier trials first
                    // among equals); the rest are pruned here.
                    let score = |i: usize| result[i].1.and_then(|m| direction.score(m));
                    let mut order = alive.clone();
                    order.sort_by(|&a, &b| match (score(a), score(b)) {
                        (Some(x), Some(y)) => y.total_cmp(&x).then(a.cmp(&b)),
                        (Some(_), None) => std::cmp::Ordering::Less,
                        (None, Some(_)) => std::cmp::Ordering::Greater,
                        (None, None) => a.cmp(&b),
                    });
                    let keep = search.promoted(alive.len());
                    for &i in &order[keep..] {
                        state.ended += 1;
                        state.pruned += 1;
                        if score(i).is_none() {
                            state.failed += 1;
                        }
                    }
                    order.truncate(keep);
                    order.sort_unstable();
                    alive = order;
                }
            }
            if !round_ended {
                all_ended = false;
                break;
            }
            for ((trial, values, _), (rung, mean)) in cohort.into_iter().zip(result) {
                if rung == last {
                    if let Some(m) = mean {
                        means.insert(trial, m);
                    }
                }
                raw.push(Ended {
                    trial,
                    values,
                    rung,
                    score: mean.and_then(|m| direction.score(m)),
                });
            }
        }
        if all_ended {
            let completed: Vec<Observation> = raw
                .iter()
                .filter(|e| e.rung == last)
                .map(|e| Observation {
                    trial: e.trial,
                    values: e.values.clone(),
                    score: e.score,
                })
                .collect();
            match best(&completed) {
                None => state.nothing_chosen = true,
                Some(o) => {
                    let chosen = configure(&o.values)?;
                    let named: Vec<(String, Value)> =
                        keys.iter().cloned().zip(o.values.iter().cloned()).collect();
                    state.chosen = Some(Chosen {
                        trial: o.trial,
                        values: named,
                        value: means[&o.trial],
                    });
                    if search.evaluate_rounds.is_none() {
                        for &seed in &search.evaluate_seeds {
                            runs.push(evaluation(&chosen, seed, point, search, &mut ids)?);
                        }
                    }
                    chosen_configs.push((point, chosen));
                }
            }
        } else {
            every_search_ended = false;
        }
        designs.push(state);
    }
    // Evaluation seeds in rounds compare the chosen settings with each
    // other, so they start once every design's search has ended.
    let mut evaluation_arms = None;
    if let (Some(q), true) = (&search.evaluate_rounds, every_search_ended) {
        let mut rows: Vec<Vec<PlannedRun>> = Vec::new();
        for (point, chosen) in &chosen_configs {
            let mut row = Vec::new();
            for &seed in &search.evaluate_seeds {
                row.push(evaluation(chosen, seed, *point, search, &mut ids)?);
            }
            rows.push(row);
        }
        let (spent, arms) = crate::seeds::spend(q, rows, known);
        runs.extend(spent);
        evaluation_arms = Some(
            chosen_configs
                .iter()
                .map(|(point, _)| *point)
                .zip(arms)
                .collect(),
        );
    }
    // A trial that repeats another (a choice-only space drawn twice) is
    // one run.
    let mut seen = std::collections::HashSet::new();
    runs.retain(|r| seen.insert(r.id.clone()));
    Ok(SearchPlan {
        runs,
        designs,
        evaluation: evaluation_arms,
    })
}

/// The chosen setting of design `point` trained on evaluation seed `seed`.
fn evaluation(
    chosen: &GridPoint,
    seed: u64,
    point: usize,
    search: &Search,
    ids: &mut Identities,
) -> Result<PlannedRun, RunnerError> {
    let config = RunConfig {
        seed,
        ..chosen.config.clone()
    };
    Ok(PlannedRun {
        id: ids.of(&config)?,
        point,
        config,
        axes: with_epochs(&chosen.values, chosen.config.train.epochs, search),
        role: Role::Evaluate,
        trial: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use headsweep_spec::RunStatus;

    fn sweep(designs: &str) -> SweepFile {
        let text = format!(
            r#"[sweep]
name = "s"
seeds = [0]

[data]
synthetic = {{ preset = "methylation", samples = 120, features = 40 }}

[[tasks]]
name = "sex"

[grid]
"train.loss" = {designs}

[search]
method = "tpe"
trials = 4
startup = 2
round = 2
metric = "val.sex.log_loss"

[search.space]
"train.lr" = {{ log_uniform = [1e-3, 1e-1] }}

[evaluate]
seeds = [7, 8]
"#
        );
        SweepFile::parse(std::path::Path::new("s.toml"), &text).unwrap()
    }

    /// Every run of `plan` marked done, with log loss = its lr (so the
    /// smallest lr is best).
    fn all_done(plan: &SearchPlan, known: &mut Known) {
        for r in &plan.runs {
            known
                .0
                .entry(r.id.clone())
                .or_insert((RunStatus::Done, Some(r.config.train.lr)));
        }
    }

    #[test]
    fn rounds_are_proposed_once_the_rounds_before_have_ended() {
        let s = sweep(r#"["bce", "ce"]"#);
        let mut known = Known::default();
        let first = plan(&s, &known).unwrap();
        assert_eq!(first.runs.len(), 4, "two startup trials per design");
        assert!(first.runs.iter().all(|r| r.role == Role::Trial));
        // One run of the first round still pending: nothing more.
        all_done(&first, &mut known);
        known.0.get_mut(&first.runs[0].id).unwrap().0 = RunStatus::Running;
        let waiting = plan(&s, &known).unwrap();
        assert_eq!(waiting.runs.len(), 4 + 2, "only the other design moves on");
        known.0.get_mut(&first.runs[0].id).unwrap().0 = RunStatus::Done;
        let second = plan(&s, &known).unwrap();
        assert_eq!(second.runs.len(), 8);
        // The first round is kept as it was.
        assert!(first
            .runs
            .iter()
            .all(|f| second.runs.iter().any(|r| r.id == f.id)));
        all_done(&second, &mut known);
        let end = plan(&s, &known).unwrap();
        // Every trial ended: each design's best (lowest log loss, here the
        // lowest lr) on both evaluation seeds.
        let eval: Vec<&PlannedRun> = end
            .runs
            .iter()
            .filter(|r| r.role == Role::Evaluate)
            .collect();
        assert_eq!(eval.len(), 4);
        for d in &end.designs {
            let chosen = d.chosen.as_ref().unwrap();
            let trials: Vec<f64> = end
                .runs
                .iter()
                .filter(|r| r.role == Role::Trial && r.point == eval_point(&end, d))
                .map(|r| r.config.train.lr)
                .collect();
            let min = trials.iter().copied().fold(f64::INFINITY, f64::min);
            assert_eq!(chosen.value, min, "{}", d.design);
            assert_eq!(d.ended, 4);
        }
        assert_eq!(
            eval.iter().map(|r| r.config.seed).collect::<Vec<_>>(),
            [7, 8, 7, 8]
        );
    }

    fn eval_point(plan: &SearchPlan, d: &DesignSearch) -> usize {
        plan.designs
            .iter()
            .position(|x| x.design == d.design)
            .unwrap()
    }

    #[test]
    fn failed_trials_count_but_cannot_be_chosen() {
        let s = sweep(r#"["ce"]"#);
        let mut known = Known::default();
        let mut p = plan(&s, &known).unwrap();
        while p.designs[0].chosen.is_none() && !p.designs[0].nothing_chosen {
            for r in &p.runs {
                known
                    .0
                    .entry(r.id.clone())
                    .or_insert((RunStatus::Failed, None));
            }
            p = plan(&s, &known).unwrap();
        }
        assert!(p.designs[0].nothing_chosen);
        assert_eq!((p.designs[0].ended, p.designs[0].failed), (4, 4));
        assert!(p.runs.iter().all(|r| r.role == Role::Trial));
    }

    /// Successive halving, eta 3 over 9 random trials and 9 epochs: rungs
    /// of 1, 3 and 9 epochs train 9, 3 and 1 trials; the rest are pruned,
    /// and only a trial of the last rung can be chosen.
    #[test]
    fn successive_halving_promotes_the_best_third_at_each_rung() {
        let text = sweep(r#"["ce"]"#)
            .text
            .replace(
                "method = \"tpe\"\ntrials = 4\nstartup = 2\nround = 2",
                "method = \"random\"\ntrials = 9\nprune = \"sha\"",
            )
            .replace("[data]", "[train]\nepochs = 9\n\n[data]");
        let s = SweepFile::parse(std::path::Path::new("s.toml"), &text).unwrap();
        assert_eq!(s.search.as_ref().unwrap().rungs(9), [1, 3, 9]);
        let mut known = Known::default();
        let mut p = plan(&s, &known).unwrap();
        let mut rungs = Vec::new();
        while p.designs[0].chosen.is_none() {
            let fresh: Vec<&PlannedRun> = p
                .runs
                .iter()
                .filter(|r| r.role == Role::Trial && !known.0.contains_key(&r.id))
                .collect();
            assert!(!fresh.is_empty(), "no progress");
            rungs.push((fresh[0].config.train.epochs, fresh.len()));
            all_done(&p, &mut known);
            p = plan(&s, &known).unwrap();
        }
        assert_eq!(rungs, [(1, 9), (3, 3), (9, 1)]);
        let d = &p.designs[0];
        assert_eq!((d.ended, d.pruned, d.failed), (9, 8, 0));
        // Log loss = lr: the smallest lr of the nine went all the way.
        let lrs: Vec<f64> = p
            .runs
            .iter()
            .filter(|r| r.config.train.epochs == 1)
            .map(|r| r.config.train.lr)
            .collect();
        let min = lrs.iter().copied().fold(f64::INFINITY, f64::min);
        assert_eq!(d.chosen.as_ref().unwrap().value, min);
        let eval: Vec<&PlannedRun> = p.runs.iter().filter(|r| r.role == Role::Evaluate).collect();
        assert_eq!(eval.len(), 2);
        assert!(eval.iter().all(|r| r.config.train.epochs == 9));
        assert!(eval[0]
            .axes
            .contains(&("train.epochs".to_string(), serde_json::Value::from(9))));
    }

    /// Evaluation seeds in rounds start once every design's search has
    /// ended; a chosen setting settled below the best gets no more.
    #[test]
    fn evaluation_seeds_in_rounds_wait_for_every_search() {
        let text = sweep(r#"["bce", "ce"]"#)
            .text
            .replace("seeds = [7, 8]", "seeds = { rounds = [3, 2], first = 7 }");
        let s = SweepFile::parse(std::path::Path::new("s.toml"), &text).unwrap();
        let mut known = Known::default();
        let mut p = plan(&s, &known).unwrap();
        // Finish the first design's search alone: no evaluation yet.
        for _ in 0..4 {
            for r in p.runs.iter().filter(|r| r.point == 0) {
                known
                    .0
                    .entry(r.id.clone())
                    .or_insert((RunStatus::Done, Some(r.config.train.lr)));
            }
            p = plan(&s, &known).unwrap();
        }
        assert!(p.designs[0].chosen.is_some() && p.designs[1].chosen.is_none());
        assert!(p.evaluation.is_none());
        assert!(p.runs.iter().all(|r| r.role == Role::Trial));
        while p.designs.iter().any(|d| d.chosen.is_none()) {
            all_done(&p, &mut known);
            p = plan(&s, &known).unwrap();
        }
        let eval = |p: &SearchPlan| -> Vec<u64> {
            p.runs
                .iter()
                .filter(|r| r.role == Role::Evaluate)
                .map(|r| r.config.seed)
                .collect()
        };
        assert_eq!(eval(&p), [7, 8, 9, 7, 8, 9], "round 1 for both");
        // Log loss = the chosen lr on every seed: the larger lr is settled
        // below after round 1, and the other is left the best.
        all_done(&p, &mut known);
        p = plan(&s, &known).unwrap();
        assert_eq!(eval(&p).len(), 6, "no second round");
        let arms = p.evaluation.as_ref().unwrap();
        let lr = |d: usize| p.designs[d].chosen.as_ref().unwrap().value;
        let worse = if lr(0) > lr(1) { 0 } else { 1 };
        assert!(matches!(
            arms[worse].1.stopped,
            Some(headsweep_search::seeds::Stopped::Settled { .. })
        ));
        assert_eq!(
            arms[1 - worse].1.stopped,
            Some(headsweep_search::seeds::Stopped::Best)
        );
    }

    #[test]
    fn adding_a_design_leaves_the_others_trials_alone() {
        let two = plan(&sweep(r#"["bce", "ce"]"#), &Known::default()).unwrap();
        let three = plan(&sweep(r#"["bce", "bce_task", "ce"]"#), &Known::default()).unwrap();
        let ids = |p: &SearchPlan| -> std::collections::HashSet<String> {
            p.runs.iter().map(|r| r.id.clone()).collect()
        };
        assert!(ids(&two).is_subset(&ids(&three)));
        assert_eq!(three.runs.len(), 6);
    }
}
