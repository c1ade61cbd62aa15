#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Invalid(String),
    /// A malformed filter, with the column (1-based) of the problem.
    #[error("filter: {message} at column {column}\n  {text}\n  {caret}")]
    Filter {
        message: String,
        column: usize,
        text: String,
        caret: String,
    },
}
