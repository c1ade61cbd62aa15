//! Running sweeps: registering a sweep's runs in the store, planning
//! workers over devices, and the worker loop that claims a run, trains it,
//! and stores its results.
//!
//! Workers are separate processes (`headsweep worker`), so that a crash in
//! one run — even inside libtorch — takes only that run with it, and so that
//! each process owns its libtorch thread settings. This crate converts
//! training output into store rows; it computes no metric itself.

mod convert;
mod error;
mod fuse;
mod host;
mod invocation;
mod launch;
mod memory;
mod plan;
mod provenance;
mod register;
mod slurm;
mod worker;

pub use convert::results_of;
pub use error::RunnerError;
pub use fuse::{group_size, BadFuse, Fuse, AUTO_MAX_CPU, AUTO_MAX_GPU};
pub use host::{hostname, pid_alive};
pub use invocation::{shell_quote, DbVia, WorkerCommand, WorkerSlot, DB_ENV};
pub use launch::{launch, Launch, LaunchOutcome, WORKER_EXIT_MACHINE};
pub use memory::check_memory;
pub use plan::{plan_workers, Slot};
pub use provenance::{git_state, provenance};
pub use register::{register, runs_of, PlannedRun};
pub use slurm::{sbatch_script, submit, SlurmJob};
pub use worker::{work, Libtorch, Trainer, WorkerOptions, WorkerReport};

/// Version recorded with sweeps and runs.
pub const CODE_VERSION: &str = concat!("headsweep ", env!("CARGO_PKG_VERSION"));
