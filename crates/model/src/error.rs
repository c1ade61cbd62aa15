/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("non-finite training loss ({value}) at epoch {epoch}, batch {batch}; lower the learning rate or check the inputs")]
    NonFinite {
        epoch: usize,
        batch: usize,
        value: f64,
    },
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    #[error("{0}")]
    Metrics(#[from] headsweep_metrics::InvalidPredictions),
    #[error("cannot save weights to {path}: {message}")]
    Save {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("training was stopped before it finished")]
    Cancelled,
}
