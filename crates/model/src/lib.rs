//! Networks, losses and training, on libtorch through tch.
//!
//! **This is the only crate that links libtorch.** It knows nothing about SQL
//! or the command line: it takes a resolved run configuration and a data
//! set, and returns predictions and per-head metrics.
//!
//! Every random number a run uses — initial weights, batch order, dropout
//! masks — comes from a ChaCha8 generator of the run's own, seeded in Rust,
//! never from libtorch's process-wide generator. A run's result therefore
//! does not depend on what else runs in the process.

#![warn(clippy::too_many_lines)]

mod attribution;
mod batch;
mod capacity;
mod checkpoint;
mod cosine;
mod device;
mod epoch;
mod error;
mod eval;
mod explain;
mod init;
mod job;
mod kernels;
mod loss;
mod net;
mod optim;
mod train;
mod weighting;

pub use attribution::{attribute, Attributions, Method, Target};
pub use capacity::{parameter_count, resolve as resolve_capacity};
pub use device::{cuda_device_count, parse_device};
pub use error::{DeviceError, ExplainError, LossError, TrainError, WeightsError};
pub use eval::{HeadOutput, SplitOutput};
pub use explain::{
    explain, load_net, ClassChoice, ExplainOptions, Explanation, FeatureScore, Reference,
};
pub use job::{
    Checkpoints, EpochFn, EpochRecord, GroupOptions, Member, RunOutput, StopFn, TrainOptions,
};
pub use net::{Head, Net};
pub use tch::Device;
pub use train::{train, train_group};

/// libtorch's version as compiled against, for records.
pub fn torch_version() -> &'static str {
    "2.11.0"
}
