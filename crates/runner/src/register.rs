//! A sweep file's runs, with identities, as the store registers them.

use headsweep_spec::{display_value, fusion_blockers, fusion_key, Role, RunConfig, SweepFile};
use headsweep_store::{NewRun, NewSweep, Store};

use crate::known::{known, Known};
use crate::runs::{Identities, PlannedRun};
use crate::search::{self, SearchPlan};
use crate::seeds::{self, SeedPlan};
use crate::{hostname, RunnerError, CODE_VERSION};

/// Every run of `sweep` that can be known before any result: each grid
/// point on each seed; for a search, every design's first round; for seeds
/// in rounds, every design's first round of seeds.
/// Runs with the same identity (an include repeating a grid point) appear
/// once.
pub fn runs_of(sweep: &SweepFile) -> Result<Vec<PlannedRun>, RunnerError> {
    if sweep.search.is_some() {
        return Ok(search::plan(sweep, &Known::default())?.runs);
    }
    if sweep.sequential.is_some() {
        return Ok(seeds::plan(sweep, &Known::default())?.runs);
    }
    let mut ids = Identities::default();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (point, p) in sweep.points.iter().enumerate() {
        for &seed in &sweep.seeds {
            let config = RunConfig {
                seed,
                ..p.config.clone()
            };
            let id = ids.of(&config)?;
            if seen.insert(id.clone()) {
                out.push(PlannedRun {
                    id,
                    point,
                    config,
                    axes: p.values.clone(),
                    role: Role::Run,
                    trial: None,
                });
            }
        }
    }
    Ok(out)
}

/// What registering found: every run the sweep has now, how many are new
/// to the store, and for a search or seeds in rounds where each design
/// stands.
pub struct Registered {
    pub runs: Vec<PlannedRun>,
    pub new: usize,
    pub search: Option<SearchPlan>,
    pub seeds: Option<SeedPlan>,
}

/// Registers `sweep` and its runs: for a search, every trial the stored
/// results allow proposing now and the evaluation of every design whose
/// search has ended; for seeds in rounds, every round the stored results
/// allow.
pub async fn register(store: &Store, sweep: &SweepFile) -> Result<Registered, RunnerError> {
    let (runs, search, seeds) = match (&sweep.search, &sweep.sequential) {
        (Some(s), _) => {
            let known = known(store, sweep.name(), &s.objective).await?;
            let plan = search::plan(sweep, &known)?;
            (plan.runs.clone(), Some(plan), None)
        }
        (None, Some(q)) => {
            let known = known(store, sweep.name(), &q.objective).await?;
            let plan = seeds::plan(sweep, &known)?;
            (plan.runs.clone(), None, Some(plan))
        }
        (None, None) => (runs_of(sweep)?, None, None),
    };
    let record = NewSweep {
        name: sweep.name().to_string(),
        file_path: sweep.path.display().to_string(),
        file_text: sweep.text.clone(),
        axes: sweep.all_axes(),
        code_version: CODE_VERSION.to_string(),
        host: hostname(),
    };
    let rows: Vec<NewRun> = runs
        .iter()
        .map(|r| NewRun {
            id: r.id.clone(),
            config: serde_json::to_string(&r.config).expect("configs serialise"),
            seed: r.config.seed as i64,
            point: r.point as i64,
            axes: r
                .axes
                .iter()
                .map(|(k, v)| (k.clone(), display_value(v), v.as_f64()))
                .collect(),
            fuse_key: fusion_blockers(&r.config)
                .is_empty()
                .then(|| fusion_key(&r.config)),
            role: r.role,
            trial: r.trial.map(|t| t as i64),
        })
        .collect();
    let new = store.register(&record, &rows).await?;
    Ok(Registered {
        runs,
        new,
        search,
        seeds,
    })
}
