//! Rows of a finished run's results, as the store keeps them.

/// One scalar metric of one head on one split. `value` is NULL where the
/// metric is undefined (docs/metrics.md).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    pub split: String,
    pub head: String,
    pub metric: String,
    pub value: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClassRow {
    pub split: String,
    pub head: String,
    pub class_index: i64,
    pub class: String,
    pub tp: i64,
    pub fp: i64,
    pub fn_: i64,
    pub tn: i64,
    pub support: i64,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConfusionRow {
    pub split: String,
    pub head: String,
    pub true_class: i64,
    pub predicted_class: i64,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CurveRow {
    pub epoch: i64,
    pub split: String,
    pub head: String,
    pub metric: String,
    pub value: Option<f64>,
}

/// One test-set prediction: probabilities and raw outputs as JSON arrays at
/// full precision.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionRow {
    pub sample: String,
    pub head: String,
    pub true_class: Option<i64>,
    pub predicted_class: i64,
    pub probabilities: String,
    pub raw: String,
}

/// Everything a finished run stores.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunResults {
    pub parameters: i64,
    pub best_epoch: i64,
    pub epochs_run: i64,
    pub duration_s: f64,
    /// Training FLOPs of the run.
    pub flops: f64,
    /// Wall time of the training call, shared by a fused group.
    pub train_seconds: f64,
    /// Runs that training call trained together (1 unfused).
    pub fused: i64,
    /// Where and how it was trained, a JSON object (docs/store.md).
    pub provenance: Option<String>,
    pub metrics: Vec<MetricRow>,
    pub classes: Vec<ClassRow>,
    pub confusion: Vec<ConfusionRow>,
    pub curves: Vec<CurveRow>,
    pub predictions: Vec<PredictionRow>,
}
