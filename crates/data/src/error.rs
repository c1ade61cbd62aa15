use std::path::PathBuf;

/// Data that cannot be used, with the file and line where that is known.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    At {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{0} is not set")]
    NotSet(&'static str),
    #[error("{path}: no feature varies in the {train} training samples ({missing} of {total} features are missing in all of them, {constant} are constant); nothing can be learned")]
    NoInformativeFeature {
        path: PathBuf,
        total: usize,
        missing: usize,
        constant: usize,
        train: usize,
    },
    #[error("no sample of the feature matrix has a label for any task")]
    NoLabelledSample,
    #[error("task {task:?} class {class} has no training sample ({total} in the whole data set); merge or widen its bins, or add samples")]
    ClassNotInTraining {
        task: String,
        class: String,
        total: usize,
    },
}

impl DataError {
    pub(crate) fn at(path: &std::path::Path, line: u64, message: impl Into<String>) -> Self {
        DataError::At {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    pub(crate) fn file(path: &std::path::Path, message: impl Into<String>) -> Self {
        DataError::File {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}
