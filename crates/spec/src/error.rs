use std::path::PathBuf;

/// A sweep file that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Syntax errors, wrong types, unknown keys or names, out-of-range values.
    #[error("{path}:{line}:{column}: {message}")]
    At {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// An error with no single position in the file (a missing section).
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}
