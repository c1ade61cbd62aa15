//! The result store: **the only crate that speaks SQL.**
//!
//! SQLite by default (one file, WAL, a busy timeout), through sqlx's `Any`
//! driver with runtime queries, so that the same statements and numbered
//! migrations serve PostgreSQL too. Every table and column is documented in
//! docs/store.md.
//!
//! Runs move `pending → running → done | failed`. A worker claims a run in
//! one `UPDATE … RETURNING` under the write lock, holds it with a lease it
//! renews, and writes the run's results in the same transaction that marks
//! it done — only if it still holds the claim.

mod attributions;
mod claims;
mod error;
mod files;
mod insert;
mod open;
mod query;
mod records;
mod status;
mod sweeps;

pub use attributions::Attribution;
pub use claims::{Claimed, Worker};
pub use error::StoreError;
pub use files::StoreFiles;
pub use headsweep_spec::RunStatus;
pub use open::{now_ms, redact, sqlite_path, Access, Store, CONNECT_TIMEOUT};
pub use query::{check_read_only, Cell, ConfusionMatrix, Export, Rows, StoredPrediction};
pub use records::{ClassRow, ConfusionRow, CurveRow, MetricRow, PredictionRow, RunResults};
pub use status::{
    FailedRun, HostRuns, RunMetric, RunRow, RunState, RunningRun, StatusCounts, StoredRun,
};
pub use sweeps::{NewRun, NewSweep};
