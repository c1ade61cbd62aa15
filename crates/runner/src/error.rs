#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    Store(#[from] headsweep_store::StoreError),
    #[error(transparent)]
    Data(#[from] headsweep_data::DataError),
    #[error("{what} {value:?} cannot go into an #SBATCH line: no whitespace, quotes, '#', '\\\\', '`' or '$'")]
    Directive { what: &'static str, value: String },
    #[error("--array must be at least 1")]
    EmptyArray,
    #[error("sbatch failed ({status}): {stderr}")]
    Sbatch { status: String, stderr: String },
    #[error("sbatch printed no job id: {0:?}")]
    NoJobId(String),
    #[error("unknown device {0:?} in --devices; expected auto, cpu, or cuda:N[,cuda:M…]")]
    UnknownDevice(String),
    #[error("--devices names {device}, but {available} CUDA device(s) are available")]
    Unavailable { device: String, available: usize },
    #[error("--jobs must be at least 1")]
    NoJobs,
    #[error("{setting}: {what}; this machine has {available} available")]
    Memory {
        setting: String,
        what: String,
        available: String,
    },
    #[error("--fuse {size}: the run with seed {seed}{at} cannot be fused: {why}; use --fuse auto to train such runs unfused")]
    NotFusable {
        size: usize,
        seed: u64,
        at: String,
        why: String,
    },
    /// A proposed trial whose settings together make no valid run.
    #[error("search trial {values} of design {design}: {why}")]
    Trial {
        design: String,
        values: String,
        why: String,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl RunnerError {
    /// Whether the machine, not the work, is at fault: files or the store
    /// could not be written (a full disk, an I/O error, a read-only
    /// folder). Runs are then never marked failed; they go back to pending
    /// or their claims lapse, and the next `run` trains them.
    pub fn is_environment(&self) -> bool {
        match self {
            RunnerError::Io { .. } => true,
            RunnerError::Store(e) => e.is_environment(),
            _ => false,
        }
    }
}
