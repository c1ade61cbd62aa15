//! Per-head classification metrics.
//!
//! Every number here has one definition, written in `docs/metrics.md` and
//! checked by the tests beside the code against hand-computed values. The
//! definitions follow scikit-learn's where it has one, so numbers can be
//! cross-checked outside the tool. This crate knows nothing about torch: it
//! takes class probabilities as plain `f64`s.

mod auroc;
mod calibration;
mod classes;
mod decode;
mod head;
mod names;
mod sequential;
mod stats;

pub use auroc::macro_auroc_ovr;
pub use calibration::{expected_calibration_error, reliability, ReliabilityBin, ECE_BINS};
pub use classes::{ClassCounts, Confusion};
pub use decode::{
    bin_of_value, coral_exceedance, corn_exceedance, from_exceedance, from_value, Decoded,
};
pub use head::{exact_match, HeadMetrics, HeadPredictions, InvalidPredictions};
pub use names::{nearest, suggestion, Direction, Metric, UnknownMetric};
pub use sequential::{
    confidence_sequence, fewest_to_settle, mixture_t_evalue, Interval, PRIOR_PRECISION,
};
pub use stats::{
    equivalence, holm, paired_differences, paired_t, summarize, wilcoxon, wilcoxon_min_p,
    Equivalence, Scale, Summary, Wilcoxon, CONTINUOUS_TOLERANCE, COUNT_TOLERANCE,
    WILCOXON_EXACT_MAX,
};

/// The name under which metrics over all heads together are reported.
pub const JOINT: &str = "joint";
