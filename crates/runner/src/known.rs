//! What the store says of a sweep's runs, as a search or seeds in rounds
//! plan from it: each run's status and the value of the metric they rank
//! by.

use std::collections::HashMap;

use headsweep_search::seeds::Outcome;
use headsweep_spec::{Objective, RunStatus};
use headsweep_store::Store;

use crate::RunnerError;

/// What the store says of runs: status, and the objective's value where
/// stored.
#[derive(Debug, Default, Clone)]
pub struct Known(pub HashMap<String, (RunStatus, Option<f64>)>);

impl Known {
    /// Run `id` as a round's planning sees it: ended with its value (or
    /// none), or not yet.
    pub fn outcome(&self, id: &str) -> Outcome {
        match self.0.get(id) {
            Some((status, value)) if status.is_final() => Outcome::Ended(*value),
            _ => Outcome::Pending,
        }
    }
}

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
