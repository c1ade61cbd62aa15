//! A sweep's runs as planned, and their identities.

use std::collections::HashMap;
use std::path::PathBuf;

use headsweep_spec::{Role, RunConfig};

use crate::RunnerError;

/// One run of a sweep, resolved.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    pub id: String,
    /// The grid point (for a search, the design).
    pub point: usize,
    pub config: RunConfig,
    pub axes: Vec<(String, serde_json::Value)>,
    pub role: Role,
    /// A trial's index within its design.
    pub trial: Option<usize>,
}

/// Run identities, hashing each data file once.
#[derive(Default)]
pub(crate) struct Identities {
    hashes: HashMap<PathBuf, String>,
}

impl Identities {
    pub(crate) fn of(&mut self, config: &RunConfig) -> Result<String, RunnerError> {
        config.identity(|path| -> Result<String, RunnerError> {
            if let Some(h) = self.hashes.get(path) {
                return Ok(h.clone());
            }
            let h = headsweep_data::content_hash(path)?;
            self.hashes.insert(path.to_path_buf(), h.clone());
            Ok(h)
        })
    }
}
