//! Running sweeps: registering a sweep's runs in the store, planning
//! workers over devices, launching worker processes and Slurm arrays, and
//! the provenance stored with each run.
//!
//! Nothing here links libtorch: `headsweep` plans and launches, and the
//! workers it starts (`headsweep-train`, the worker crate) train.

mod error;
mod fuse;
mod gpus;
mod host;
mod invocation;
mod known;
mod launch;
mod memory;
mod plan;
mod provenance;
mod register;
mod runs;
mod search;
mod seeds;
mod slurm;
mod states;

pub use error::RunnerError;
pub use fuse::{group_size, BadFuse, Fuse, AUTO_MAX_CPU, AUTO_MAX_GPU};
pub use gpus::{gpu_memory, Gpu};
pub use host::{hostname, pid_alive};
pub use invocation::{shell_quote, DbVia, WorkerCommand, WorkerSlot, DB_ENV};
pub use known::{known, Known};
pub use launch::{launch, Launch, LaunchOutcome, WORKER_EXIT_MACHINE};
pub use memory::check_memory;
pub use plan::{busy_gpus, plan_workers, Slot, BUSY_SHARE};
pub use provenance::{git_state, provenance, TorchInfo};
pub use register::{register, runs_of, Registered};
pub use runs::PlannedRun;
pub use search::{plan as plan_search, Chosen, DesignSearch, SearchPlan};
pub use seeds::{plan as plan_seeds, DesignSeeds, SeedPlan};
pub use slurm::{sbatch_script, submit, wait_for_job, SlurmJob};
pub use states::TrainingStates;

/// Version recorded with sweeps and runs.
pub const CODE_VERSION: &str = concat!("headsweep ", env!("CARGO_PKG_VERSION"));
