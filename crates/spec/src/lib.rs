//! The sweep file: its schema, validation that points at the offending line
//! and key, and expansion of its grid into runs.
//!
//! This crate reads the sweep file and nothing else: whether data files exist
//! and parse is the data crate's business.

mod config;
mod display;
mod error;
mod fusion;
mod grid;
mod identity;
mod locate;
mod names;
mod objective;
mod search;
mod seeds;
mod status;
mod validate;

pub use config::{
    Activation, Architecture, ClassWeighting, ClassWeights, DataConfig, Dtype, Loss, Missing,
    ModelConfig, Monitor, Optimizer, Orientation, Output, Preset, RunConfig, Select, Split,
    SweepSection, SyntheticConfig, TaskConfig, TaskWeighting, TrainConfig, Unmatched,
    DEFAULT_AGE_SHAPE, DEFAULT_SEX_EFFECT, RESERVED_NAMES,
};
pub use display::display_value;
pub use error::SpecError;
pub use fusion::{fusion_blockers, fusion_key};
pub use grid::{GridPoint, SweepFile};
pub use identity::{IDENTITY_LEN, IDENTITY_SCHEMA};
pub use names::{check_run_id, check_sweep_name, short_id, NameError, MAX_SWEEP_NAME};
pub use objective::{Objective, DEFAULT_OBJECTIVE};
pub use search::{
    Distribution, Method, Param, Prune, Search, DEFAULT_CANDIDATES, DEFAULT_ETA, DEFAULT_ROUND,
    DEFAULT_STARTUP,
};
pub use seeds::{SeedRounds, Seeds, Sequential, Stop, DEFAULT_LEVEL};
pub use status::{Role, RunStatus, UnknownRole, UnknownStatus};
