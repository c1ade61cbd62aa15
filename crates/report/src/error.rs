/// Why a report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("--rows: {axis:?} is not an axis of sweep {sweep}; its axes are {}", axes.join(", "))]
    UnknownAxis {
        axis: String,
        sweep: String,
        axes: Vec<String>,
    },
    #[error("--metrics: no head {head:?}; the heads are {}", heads.join(", "))]
    UnknownHead { head: String, heads: Vec<String> },
    #[error("sweep {0} has no runs")]
    NoRuns(String),
    #[error("--baseline: {axis:?} is not a row axis; the rows are {}", rows.join(", "))]
    NotARowAxis { axis: String, rows: Vec<String> },
    #[error("--baseline {} matches no row", .0.iter().map(|(a, v)| format!("{a}={v}")).collect::<Vec<_>>().join(","))]
    NoBaseline(Vec<(String, String)>),
    #[error("PNG output needs a font installed (for example Debian's fonts-dejavu-core); write FILE.svg instead")]
    NoFont,
    #[error("rendering the chart as PNG: {0}")]
    Png(String),
    /// A malformed filter, with the column (1-based) of the problem.
    #[error("filter: {message} at column {column}\n  {text}\n  {caret}")]
    Filter {
        message: String,
        column: usize,
        text: String,
        caret: String,
    },
}
