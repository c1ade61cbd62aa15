#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    Store(#[from] headsweep_store::StoreError),
    #[error(transparent)]
    Data(#[from] headsweep_data::DataError),
    #[error(transparent)]
    Train(#[from] headsweep_model::TrainError),
    #[error("{0}")]
    Invalid(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}
