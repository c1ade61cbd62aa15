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

use headsweep_search::{best, propose, Observation};
use headsweep_spec::{display_value, Objective, Role, RunConfig, RunStatus, SweepFile};
use headsweep_store::Store;
use serde_json::Value;

use crate::runs::{Identities, PlannedRun};
use crate::RunnerError;

/// What the store says of runs: status, and the objective's value where
/// stored.
#[derive(Debug, Default, Clone)]
pub struct Known(pub HashMap<String, (RunStatus, Option<f64>)>);

/// Reads the status of every run of `sweep` and each one's `objective`.
pub async fn known(
    store: &Store,
    sweep: &str,
    objective: &Objective,
) -> Result<Known, RunnerError> {
    let mut out = HashMap::new();
    for r in store.runs(sweep).await? {
        out.insert(r.id, (r.status, None));
    }
    let ids: Vec<String> = out.keys().cloned().collect();
    let values = store
        .run_values(
            &ids,
            &objective.split,
            &objective.head,
            objective.metric.name(),
        )
        .await?;
    for (id, v) in values {
        if let Some(e) = out.get_mut(&id) {
            e.1 = Some(v);
        }
    }
    Ok(Known(out))
}

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
        let mut history: Vec<Observation> = Vec::new();
        let mut means: HashMap<usize, f64> = HashMap::new();
        let mut state = DesignSearch {
            design: design.clone(),
            proposed: 0,
            ended: 0,
            failed: 0,
            rounds: 0,
            chosen: None,
            nothing_chosen: false,
        };
        let mut all_ended = true;
        for (r, trials) in rounds.iter().enumerate() {
            let proposals = propose(search, &design, r, trials.clone(), &history);
            state.rounds += 1;
            let mut round_ended = true;
            for (trial, values) in trials.clone().zip(proposals) {
                let point_config = configure(&values)?;
                let mut seeds_values = Vec::new();
                let mut ended = true;
                for &seed in &sweep.seeds {
                    let config = RunConfig {
                        seed,
                        ..point_config.config.clone()
                    };
                    let id = ids.of(&config)?;
                    match known.0.get(&id) {
                        Some((s, v)) if s.is_final() => seeds_values.push(*v),
                        _ => ended = false,
                    }
                    runs.push(PlannedRun {
                        id,
                        point,
                        config,
                        axes: point_config.values.clone(),
                        role: Role::Trial,
                        trial: Some(trial),
                    });
                }
                state.proposed += 1;
                if !ended {
                    round_ended = false;
                    continue;
                }
                state.ended += 1;
                // The mean over the search seeds; a seed without a value
                // leaves the trial unscored.
                let mean = seeds_values
                    .iter()
                    .copied()
                    .collect::<Option<Vec<f64>>>()
                    .map(|v| v.iter().sum::<f64>() / v.len() as f64)
                    .filter(|m| m.is_finite());
                let score = mean.and_then(|m| search.objective.metric.direction().score(m));
                if let Some(m) = mean {
                    means.insert(trial, m);
                }
                if score.is_none() {
                    state.failed += 1;
                }
                history.push(Observation {
                    trial,
                    values,
                    score,
                });
            }
            if !round_ended {
                all_ended = false;
                break;
            }
        }
        if all_ended {
            match best(&history) {
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
                    for &seed in &search.evaluate_seeds {
                        let config = RunConfig {
                            seed,
                            ..chosen.config.clone()
                        };
                        runs.push(PlannedRun {
                            id: ids.of(&config)?,
                            point,
                            config,
                            axes: chosen.values.clone(),
                            role: Role::Evaluate,
                            trial: None,
                        });
                    }
                }
            }
        }
        designs.push(state);
    }
    // A trial that repeats another (a choice-only space drawn twice) is
    // one run.
    let mut seen = std::collections::HashSet::new();
    runs.retain(|r| seen.insert(r.id.clone()));
    Ok(SearchPlan { runs, designs })
}

#[cfg(test)]
mod tests {
    use super::*;

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
