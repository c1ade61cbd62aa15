//! The worker loop that claims a run, trains it, and stores its results,
//! and the conversion of training output into store rows.
//!
//! Workers are separate processes (`headsweep worker`, carried out by the
//! `headsweep-train` executable), so that a crash in one run — even inside
//! libtorch — takes only that run with it, and so that each process owns
//! its libtorch thread settings. This crate and the model crate are all
//! that `headsweep-train` adds to `headsweep`: nothing else in the
//! workspace links libtorch. It computes no metric itself.

mod convert;
mod error;
mod work;

pub use convert::results_of;
pub use error::WorkError;
pub use work::{work, Libtorch, Trainer, WorkerOptions, WorkerReport};

/// libtorch's version and how many CUDA devices it sees, for the
/// provenance stored with each run.
pub fn torch_info() -> headsweep_runner::TorchInfo {
    headsweep_runner::TorchInfo {
        version: headsweep_model::torch_version(),
        cuda_devices: headsweep_model::cuda_device_count(),
    }
}
