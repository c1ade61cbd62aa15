use std::path::PathBuf;
use std::sync::Arc;

/// Why a run failed, or why a network could not be built, loaded or
/// explained.
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
    #[error(transparent)]
    Loss(#[from] LossError),
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(transparent)]
    Explain(#[from] ExplainError),
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The weights could not be written: a problem of the machine (a full
    /// disk, an I/O error, a read-only folder), not of the run.
    #[error("cannot save weights to {path}: {source}")]
    Save {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("a group needs at least one run")]
    EmptyGroup,
    #[error("runs with seeds {} and {} differ in more than seed, learning rate, weight decay, momentum, loss, dropout or early stopping, so they cannot train as one model", seeds.0, seeds.1)]
    NotFusable { seeds: (u64, u64) },
    #[error("{layer}: its per-run slices are not 16-byte aligned, so fused runs would round differently from runs alone; train these runs unfused")]
    Misaligned { layer: String },
    #[error("parameters of type {0:?} are not supported")]
    UnsupportedKind(tch::Kind),
    /// Every member of a fused group fails with its group's error.
    #[error("{0}")]
    Group(Arc<TrainError>),
    #[error("training was stopped before it finished")]
    Cancelled,
    #[error("model.params = {target}: {reason} (nearest {nearest}, more than 2% away)")]
    Capacity {
        target: usize,
        nearest: usize,
        reason: String,
    },
}

/// A run's loss that does not fit its data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LossError {
    #[error("task {task:?}: loss {loss:?} needs ordered classes, and the task's are not")]
    Unordered { task: String, loss: String },
    #[error("task {task:?}: class_weights has {given} values, but the task has {classes} classes ({names})", names = names.join(", "))]
    ClassWeights {
        task: String,
        given: usize,
        classes: usize,
        names: Vec<String>,
    },
}

/// Saved weights that do not fit the network.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("no tensor {0}")]
    Missing(String),
    #[error("{name} has shape {found:?}, the network needs {expected:?}")]
    Shape {
        name: String,
        found: Vec<i64>,
        expected: Vec<i64>,
    },
    #[error("cannot load weights {path}: {source}")]
    Load {
        path: PathBuf,
        source: Box<TrainError>,
    },
}

/// An attribution request that does not fit the run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExplainError {
    #[error("no head {head:?}{}; the heads are {}", headsweep_metrics::suggestion(head, heads.iter().map(String::as_str)), heads.join(", "))]
    NoHead { head: String, heads: Vec<String> },
    #[error("head {head:?} has no class {class:?}{}; its classes are {}", headsweep_metrics::suggestion(class, classes.iter().map(String::as_str)), classes.join(", "))]
    NoClass {
        head: String,
        class: String,
        classes: Vec<String>,
    },
    #[error("head {head:?} is trained with loss {loss:?}, which has no logit per class: explain attributes its {what}, so a class ({class:?}) does not apply")]
    NoClassLogit {
        head: String,
        loss: String,
        what: &'static str,
        class: String,
    },
    #[error("no test sample has a {0:?} label")]
    NoLabelledSample(String),
    #[error("libtorch returned no gradient for the inputs")]
    NoGradient,
}

/// A device name that cannot be used here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("unknown device {0:?}; expected cpu, cuda, cuda:N or auto")]
    Unknown(String),
    #[error("device cuda:{index} requested, but {available} CUDA device(s) are available")]
    Unavailable { index: usize, available: usize },
}
