//! What a caller asks training for and gets back: options, the members of
//! a fused group, each epoch's record and each run's output.

use std::path::PathBuf;
use std::sync::Arc;

use headsweep_data::Part;
use headsweep_spec::RunConfig;
use tch::Device;

use crate::eval::SplitOutput;

/// Asked between batches; true stops training with [`TrainError::Cancelled`].
pub type StopFn = Arc<dyn Fn() -> bool + Send + Sync>;
/// Called after every epoch, e.g. to write a log line.
pub type EpochFn = Arc<dyn Fn(&EpochRecord) + Send + Sync>;

/// How to run training, as opposed to what to train.
#[derive(Clone)]
pub struct TrainOptions {
    pub device: Device,
    /// libtorch intra-op threads for this run.
    pub threads: usize,
    /// Where to save the best epoch's weights (safetensors), if anywhere.
    pub weights: Option<PathBuf>,
    pub stop: Option<StopFn>,
    pub on_epoch: Option<EpochFn>,
}

impl std::fmt::Debug for TrainOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainOptions")
            .field("device", &self.device)
            .field("threads", &self.threads)
            .field("weights", &self.weights)
            .finish()
    }
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            device: Device::Cpu,
            threads: 1,
            weights: None,
            stop: None,
            on_epoch: None,
        }
    }
}

/// One epoch's learning-curve values.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (weighted by batch size,
    /// with dropout on), as the optimiser saw it.
    pub train_loss: f64,
    pub val_loss: f64,
    pub val_head_losses: Vec<f64>,
    pub val_balanced_accuracy: Vec<Option<f64>>,
    pub val_exact_match: Option<f64>,
    /// The monitored quantity.
    pub monitor: f64,
    /// Each task's weight in this epoch's training objective (docs/losses.md).
    pub task_weights: Vec<f64>,
    /// Cosine between two tasks' loss gradients on the last shared layer
    /// (weights and bias), per pair of tasks `(i, j)`, `i < j`, in order;
    /// measured on up to [`crate::cosine::COSINE_ROWS`] validation samples after the
    /// epoch. Empty when nothing is shared or there is one task.
    pub grad_cosine: Vec<f64>,
}

/// Everything a run produces.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub parameters: usize,
    /// 1-based epoch whose weights were kept.
    pub best_epoch: usize,
    pub epochs_run: usize,
    pub stopped_early: bool,
    pub curves: Vec<EpochRecord>,
    /// Train, validation and test, at the best epoch.
    pub splits: Vec<SplitOutput>,
    /// Wall time of the training call (shared by every run of a fused
    /// group).
    pub seconds: f64,
    /// Training FLOPs: forward and backward passes over the training
    /// batches ([`Net::train_flops_per_sample`] per sample seen) of the
    /// epochs trained here, not those a saved state already held.
    pub flops: f64,
    /// Epochs a saved state already held (0: trained from the first).
    pub resumed_epochs: usize,
    /// How many runs the training call trained together (1 unfused).
    pub fused: usize,
}

impl RunOutput {
    pub fn split(&self, part: Part) -> &SplitOutput {
        self.splits
            .iter()
            .find(|s| s.part == part)
            .expect("every part is evaluated")
    }
}

/// One run of a fused group, with what belongs to it alone.
#[derive(Clone)]
pub struct Member {
    pub config: RunConfig,
    /// Where to save the best epoch's weights (safetensors), if anywhere.
    pub weights: Option<PathBuf>,
    /// Asked between batches; true drops this run alone with
    /// [`TrainError::Cancelled`] while the others go on.
    pub stop: Option<StopFn>,
    pub on_epoch: Option<EpochFn>,
    /// Where states of this run's trajectory are kept, if anywhere.
    pub checkpoints: Option<Checkpoints>,
}

/// A folder of saved training states of one trajectory
/// ([`RunConfig::trajectory`] on one data set): a run continues from the
/// newest state saved with fewer epochs than its own, and with `save`
/// leaves its own state there when it ends (see `checkpoint.rs`). Nothing
/// else of the run changes: its result is the one it gets from scratch.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    pub dir: PathBuf,
    pub save: bool,
}

/// How to run a group's training.
#[derive(Clone)]
pub struct GroupOptions {
    pub device: Device,
    /// libtorch intra-op threads.
    pub threads: usize,
    /// Asked between batches; true stops every run with
    /// [`TrainError::Cancelled`].
    pub stop: Option<StopFn>,
}
