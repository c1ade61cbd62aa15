//! A sweep whose seeds come in rounds, planned from the sweep file and the
//! stored validation results alone (the rule is `headsweep_search::seeds`):
//! every design's first round, then each round for the designs not yet
//! settled below the best, once every run of the round before has ended.
//! Any process planning from the same store gets the same runs.

use headsweep_search::seeds::{allocate, Arm};
use headsweep_spec::{Role, RunConfig, Sequential, SweepFile};

use crate::known::Known;
use crate::runs::{Identities, PlannedRun};
use crate::RunnerError;

/// One design's seeds so far.
#[derive(Debug, Clone)]
pub struct DesignSeeds {
    /// The design's label, `axis=value …`.
    pub design: String,
    pub arm: Arm,
}

/// The runs of a sweep with seeds in rounds as far as they can be known,
/// and where each design stands.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    pub runs: Vec<PlannedRun>,
    pub designs: Vec<DesignSeeds>,
}

/// Each design's runs, one per seed in order (`rows`), cut to the seeds
/// the rule gives it by what `known` says of them; and each design's
/// standing. Grid designs and a search's chosen settings alike.
pub(crate) fn spend(
    seq: &Sequential,
    rows: Vec<Vec<PlannedRun>>,
    known: &Known,
) -> (Vec<PlannedRun>, Vec<Arm>) {
    let arms = allocate(seq, rows.len(), |d, s| known.outcome(&rows[d][s].id));
    let runs = rows
        .into_iter()
        .zip(&arms)
        .flat_map(|(row, arm)| row.into_iter().take(arm.seeds))
        .collect();
    (runs, arms)
}

/// Plans `sweep`'s seeds from what the store knows (`Known::default()` for
/// nothing: every design's first round).
pub fn plan(sweep: &SweepFile, known: &Known) -> Result<SeedPlan, RunnerError> {
    let seq = sweep
        .sequential
        .as_ref()
        .expect("a sweep with seeds in rounds");
    let seeds = seq.seeds();
    let mut ids = Identities::default();
    let mut rows: Vec<Vec<PlannedRun>> = Vec::new();
    for (point, p) in sweep.points.iter().enumerate() {
        let mut row = Vec::new();
        for &seed in &seeds {
            let config = RunConfig {
                seed,
                ..p.config.clone()
            };
            row.push(PlannedRun {
                id: ids.of(&config)?,
                point,
                config,
                axes: p.values.clone(),
                role: Role::Run,
                trial: None,
            });
        }
        rows.push(row);
    }
    let (mut runs, arms) = spend(seq, rows, known);
    // An include repeating a grid point is the same runs.
    let mut seen = std::collections::HashSet::new();
    runs.retain(|r| seen.insert(r.id.clone()));
    let designs = sweep
        .points
        .iter()
        .zip(arms)
        .map(|(p, arm)| DesignSeeds {
            design: p.label(),
            arm,
        })
        .collect();
    Ok(SeedPlan { runs, designs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use headsweep_search::seeds::Stopped;
    use headsweep_spec::RunStatus;

    fn sweep() -> SweepFile {
        let text = r#"[sweep]
name = "s"
seeds = { rounds = [3, 2], metric = "val.sex.accuracy", level = 0.1 }

[data]
synthetic = { preset = "methylation", samples = 120, features = 40 }

[[tasks]]
name = "sex"

[grid]
"train.lr" = [0.01, 0.02, 0.03]
"#;
        SweepFile::parse(std::path::Path::new("s.toml"), text).unwrap()
    }

    #[test]
    fn a_round_is_registered_once_the_round_before_has_ended() {
        let s = sweep();
        let mut known = Known::default();
        let first = plan(&s, &known).unwrap();
        assert_eq!(first.runs.len(), 9, "three seeds for each of three designs");
        assert!(first.runs.iter().all(|r| r.config.seed < 3));
        // Accuracy 0.9 for lr 0.01 and 0.02 (0.001 apart by seed), 0.1 for
        // 0.03: the last design is settled below after three seeds.
        let accuracy = |r: &PlannedRun| match r.config.train.lr {
            x if x > 0.025 => 0.1 + 0.01 * r.config.seed as f64,
            _ => 0.9 + 0.001 * ((r.config.seed * 7 + r.point as u64) % 5) as f64,
        };
        for r in &first.runs[..8] {
            known
                .0
                .insert(r.id.clone(), (RunStatus::Done, Some(accuracy(r))));
        }
        assert_eq!(plan(&s, &known).unwrap().runs.len(), 9, "one run pending");
        let last = &first.runs[8];
        known
            .0
            .insert(last.id.clone(), (RunStatus::Done, Some(accuracy(last))));
        let second = plan(&s, &known).unwrap();
        assert_eq!(second.runs.len(), 9 + 2 * 2);
        assert!(matches!(
            second.designs[2].arm.stopped,
            Some(Stopped::Settled { .. })
        ));
        assert_eq!(second.designs[2].arm.seeds, 3);
        assert!(first
            .runs
            .iter()
            .all(|f| second.runs.iter().any(|r| r.id == f.id)));
        for r in &second.runs {
            known
                .0
                .entry(r.id.clone())
                .or_insert((RunStatus::Failed, None));
        }
        let end = plan(&s, &known).unwrap();
        assert_eq!(end.runs.len(), 13);
        assert_eq!(end.designs[0].arm.stopped, Some(Stopped::Budget));
    }
}
