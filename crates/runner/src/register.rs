//! A sweep file's runs, with identities, as the store registers them.

use std::collections::HashMap;
use std::path::PathBuf;

use headsweep_spec::{display_value, fusion_blockers, fusion_key, RunConfig, SweepFile};
use headsweep_store::{NewRun, NewSweep, Store};

use crate::{hostname, RunnerError, CODE_VERSION};

/// One run of a sweep, resolved.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    pub id: String,
    pub point: usize,
    pub config: RunConfig,
    pub axes: Vec<(String, serde_json::Value)>,
}

/// Every run of `sweep`, with its identity; data files are hashed once each.
/// Runs with the same identity (an include repeating a grid point) appear
/// once.
pub fn runs_of(sweep: &SweepFile) -> Result<Vec<PlannedRun>, RunnerError> {
    let mut hashes: HashMap<PathBuf, String> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (point, p) in sweep.points.iter().enumerate() {
        for &seed in &sweep.seeds {
            let config = RunConfig {
                seed,
                ..p.config.clone()
            };
            let id = config.identity(|path| -> Result<String, RunnerError> {
                if let Some(h) = hashes.get(path) {
                    return Ok(h.clone());
                }
                let h = headsweep_data::content_hash(path)?;
                hashes.insert(path.to_path_buf(), h.clone());
                Ok(h)
            })?;
            if seen.insert(id.clone()) {
                out.push(PlannedRun {
                    id,
                    point,
                    config,
                    axes: p.values.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// Registers `sweep` and its runs. Returns the runs and how many were new.
pub async fn register(
    store: &Store,
    sweep: &SweepFile,
) -> Result<(Vec<PlannedRun>, usize), RunnerError> {
    let runs = runs_of(sweep)?;
    let record = NewSweep {
        name: sweep.name().to_string(),
        file_path: sweep.path.display().to_string(),
        file_text: sweep.text.clone(),
        axes: sweep.axes.clone(),
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
        })
        .collect();
    let new = store.register(&record, &rows).await?;
    Ok((runs, new))
}
