/// Why a report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("--rows: {axis:?} is not an axis of sweep {sweep}{}; its axes are {}", headsweep_metrics::suggestion(axis, axes.iter().map(String::as_str)), axes.join(", "))]
    UnknownAxis {
        axis: String,
        sweep: String,
        axes: Vec<String>,
    },
    #[error("{flag}: no head {head:?}{}; the heads are {}", headsweep_metrics::suggestion(head, heads.iter().map(String::as_str)), heads.join(", "))]
    UnknownHead {
        flag: &'static str,
        head: String,
        heads: Vec<String>,
    },
    #[error("{flag}: {axis:?} is not an axis of sweep {sweep}{}; its axes are {}", headsweep_metrics::suggestion(axis, axes.iter().map(String::as_str)), axes.join(", "))]
    NotAnAxis {
        flag: &'static str,
        axis: String,
        sweep: String,
        axes: Vec<String>,
    },
    #[error("sweep {0} has no runs")]
    NoRuns(String),
    #[error("--baseline: {axis:?} is not a row axis{}; the rows are {}", headsweep_metrics::suggestion(axis, rows.iter().map(String::as_str)), rows.join(", "))]
    NotARowAxis { axis: String, rows: Vec<String> },
    #[error("--baseline {} matches no row", .0.iter().map(|(a, v)| format!("{a}={v}")).collect::<Vec<_>>().join(","))]
    NoBaseline(Vec<(String, String)>),
    #[error("--baseline {} matches {} rows ({}); name a value for more row axes", .given.iter().map(|(a, v)| format!("{a}={v}")).collect::<Vec<_>>().join(","), .matches.len(), .matches.join("; "))]
    AmbiguousBaseline {
        given: Vec<(String, String)>,
        matches: Vec<String>,
    },
    #[error("--margin {0}: expected a positive number in the metric's units, e.g. 0.01")]
    BadMargin(f64),
    #[error("stored predictions: {0}")]
    Predictions(String),
    #[error("--split {0:?}: expected train, val or test")]
    UnknownSplit(String),
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
