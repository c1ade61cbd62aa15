//! Where a pruned search keeps training states between rungs, and which
//! runs leave one.
//!
//! A trial at rung k + 1 is the trial's run at rung k with more epochs: the
//! same trajectory ([`RunConfig::trajectory`]) on the same data. The run at
//! rung k saves its state when it ends, and the run at rung k + 1 continues
//! from it instead of training those epochs again, to the same result (the
//! model crate's `checkpoint.rs`). States live under the store's files,
//! `states/KEY/`, KEY a hash of the trajectory and of the data files' names,
//! sizes and modification times (the key the data cache trusts), so a
//! changed file never lends its state to another run. Nothing depends on a
//! state being there: without one a run trains from its first epoch.

use std::collections::BTreeSet;
use std::path::PathBuf;

use headsweep_spec::{Role, RunConfig, SweepFile};
use headsweep_store::StoreFiles;

use crate::runs::PlannedRun;

/// A sweep's training states: where each run's are, and whether it saves
/// its own.
#[derive(Debug, Clone)]
pub struct TrainingStates {
    root: PathBuf,
    /// With pruning, the designs' full epochs: a run with fewer is at a
    /// rung below the last and saves its state. `None`: no run saves.
    full: Option<BTreeSet<usize>>,
}

impl TrainingStates {
    /// The states of `sweep`'s runs in `files` (`None`: a sweep not known,
    /// whose runs save nothing).
    pub fn new(files: &StoreFiles, sweep: Option<&SweepFile>) -> TrainingStates {
        let full = sweep
            .filter(|s| s.search.as_ref().is_some_and(|s| s.prune.is_some()))
            .map(|s| s.points.iter().map(|p| p.config.train.epochs).collect());
        TrainingStates {
            root: files.states(),
            full,
        }
    }

    /// The folder of `config`'s trajectory; `None` when the sweep does not
    /// prune (no run of it saves a state, so none is looked for) or a data
    /// file cannot be looked at (the run then neither continues nor saves
    /// a state).
    pub fn folder(&self, config: &RunConfig) -> Option<PathBuf> {
        self.full.as_ref()?;
        self.trajectory_folder(config)
    }

    fn trajectory_folder(&self, config: &RunConfig) -> Option<PathBuf> {
        let data = headsweep_data::cache_key(&config.data, &config.tasks).ok()?;
        let mut h = blake3::Hasher::new();
        h.update(b"headsweep training state 1\n");
        h.update(data.as_bytes());
        h.update(b"\n");
        h.update(config.trajectory().as_bytes());
        Some(self.root.join(&h.finalize().to_hex()[..32]))
    }

    /// Whether a run of `config` leaves its state when it ends: in a pruned
    /// search, a run with fewer epochs than every design's full training
    /// (a rung below the last). A run that no rung continues saves nothing.
    pub fn saves(&self, config: &RunConfig) -> bool {
        self.full
            .as_ref()
            .is_some_and(|full| !full.contains(&config.train.epochs))
    }

    /// Removes the states of `runs`' trial trajectories, once their search
    /// has ended and no run will continue them; how many folders went.
    pub fn forget(&self, runs: &[PlannedRun]) -> usize {
        self.forget_configs(
            runs.iter()
                .filter(|r| r.role == Role::Trial)
                .map(|r| &r.config),
        )
    }

    /// Removes the states of these runs' trajectories (runs `rm` forgets);
    /// how many folders went.
    pub fn forget_configs<'a>(&self, configs: impl IntoIterator<Item = &'a RunConfig>) -> usize {
        let folders: BTreeSet<PathBuf> = configs
            .into_iter()
            .filter_map(|c| self.trajectory_folder(c))
            .collect();
        folders
            .into_iter()
            .filter(|f| std::fs::remove_dir_all(f).is_ok())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRUNED: &str = r#"
[sweep]
name = "p"
[data]
synthetic = { preset = "methylation", samples = 100, features = 20 }
[[tasks]]
name = "sex"
[train]
epochs = 27
[search]
method = "random"
trials = 9
prune = "sha"
metric = "val.sex.balanced_accuracy"
[search.space]
"train.lr" = { log_uniform = [1e-4, 1e-1] }
[evaluate]
seeds = [5]
"#;

    #[test]
    fn rungs_below_the_last_save_and_runs_of_one_trajectory_share_a_folder() {
        let sweep = SweepFile::parse(std::path::Path::new("p.toml"), PRUNED).unwrap();
        let d = tempfile::tempdir().unwrap();
        let files = StoreFiles::own(d.path(), "s");
        let states = TrainingStates::new(&files, Some(&sweep));
        let mut c = sweep.first_run();
        c.train.epochs = 3;
        assert!(states.saves(&c));
        let rung = states.folder(&c).unwrap();
        assert!(rung.starts_with(files.states()));
        c.train.epochs = 27;
        assert!(!states.saves(&c), "the last rung continues nothing");
        assert_eq!(states.folder(&c).unwrap(), rung, "one trajectory");
        c.seed += 1;
        assert_ne!(states.folder(&c).unwrap(), rung, "another seed");
        c.seed -= 1;
        std::fs::create_dir_all(&rung).unwrap();
        std::fs::write(rung.join("epochs-3.safetensors"), b"").unwrap();
        assert_eq!(states.forget_configs([&c]), 1);
        assert!(!rung.exists());
        assert_eq!(states.forget_configs([&c]), 0, "nothing left to remove");
        let mut unpruned = sweep.clone();
        unpruned.search.as_mut().unwrap().prune = None;
        c.train.epochs = 3;
        for other in [
            TrainingStates::new(&files, Some(&unpruned)),
            TrainingStates::new(&files, None),
        ] {
            assert!(!other.saves(&c));
            assert_eq!(other.folder(&c), None, "nothing to look for");
        }
    }
}
