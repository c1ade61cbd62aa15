#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error(transparent)]
    Store(#[from] headsweep_store::StoreError),
    #[error(transparent)]
    Train(#[from] headsweep_model::TrainError),
    /// A run's files could not be written; the run went back to pending.
    #[error("cannot write {}: {source}; the run went back to pending: free space (or fix the folder) and run again", path.display())]
    Unsaved {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl WorkError {
    /// Whether the machine, not the work, is at fault: files or the store
    /// could not be written (a full disk, an I/O error, a read-only
    /// folder). Runs are then never marked failed; they go back to pending
    /// or their claims lapse, and the next `run` trains them.
    pub fn is_environment(&self) -> bool {
        match self {
            WorkError::Unsaved { .. } => true,
            WorkError::Store(e) => e.is_environment(),
            WorkError::Train(_) => false,
        }
    }
}
