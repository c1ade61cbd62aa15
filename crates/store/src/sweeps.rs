//! Registering sweeps and their runs.

use headsweep_spec::Role;
use sqlx::Row;

use crate::{now_ms, Store, StoreError};

/// A sweep as registered.
#[derive(Debug, Clone)]
pub struct NewSweep {
    pub name: String,
    pub file_path: String,
    pub file_text: String,
    pub axes: Vec<String>,
    pub code_version: String,
    pub host: String,
}

/// A run of a sweep: its identity, configuration and this sweep's axis
/// values for it.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub id: String,
    pub config: String,
    pub seed: i64,
    /// Index of its grid point in the sweep.
    pub point: i64,
    /// `(axis, value as text, value as number when numeric)`.
    pub axes: Vec<(String, String, Option<f64>)>,
    /// Runs with equal keys may train fused; `None` never fuses.
    pub fuse_key: Option<String>,
    /// What the run is in this sweep.
    pub role: Role,
    /// A trial's index within its design (`point`).
    pub trial: Option<i64>,
}

/// The PostgreSQL advisory lock a registration holds for its transaction
/// (an arbitrary number, the same in every headsweep).
const REGISTER_LOCK: i64 = 0x6865_6164_7377;

impl Store {
    /// Registers `sweep` with `runs`, in one transaction. Runs already in the
    /// store (by identity) keep their status and results; new ones are
    /// pending. The sweep's set of runs and axis values is replaced.
    /// Returns how many runs were new.
    pub async fn register(&self, sweep: &NewSweep, runs: &[NewRun]) -> Result<usize, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        if !self.sqlite {
            // A new run's key is one more than the largest: registrations
            // take turns (SQLite's write lock already makes them).
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(REGISTER_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO sweeps (name, file_path, file_text, axes, created_ms, updated_ms, code_version, host)
             VALUES ($1, $2, $3, $4, $5, $5, $6, $7)
             ON CONFLICT (name) DO UPDATE SET file_path = excluded.file_path, file_text = excluded.file_text,
                 axes = excluded.axes, updated_ms = excluded.updated_ms, code_version = excluded.code_version, host = excluded.host",
        )
        .bind(&sweep.name)
        .bind(&sweep.file_path)
        .bind(&sweep.file_text)
        .bind(serde_json::to_string(&sweep.axes).expect("strings serialise"))
        .bind(now)
        .bind(&sweep.code_version)
        .bind(&sweep.host)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM run_axes WHERE sweep = $1")
            .bind(&sweep.name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sweep_runs WHERE sweep = $1")
            .bind(&sweep.name)
            .execute(&mut *tx)
            .await?;
        // Kept prepared on SQLite (compiling them again for each run was
        // most of registering's time), not on PostgreSQL (below).
        let sqlite = self.sqlite;
        let mut new = 0;
        for (position, run) in runs.iter().enumerate() {
            let inserted = sqlx::query(
                "INSERT INTO runs (id, config, seed, status, created_ms, fuse_key, key)
                 VALUES ($1, $2, $3, 'pending', $4, $5, (SELECT COALESCE(MAX(key), 0) + 1 FROM runs))
                 ON CONFLICT (id) DO NOTHING",
            )
            .persistent(sqlite)
            .bind(&run.id)
            .bind(&run.config)
            .bind(run.seed)
            .bind(now)
            .bind(&run.fuse_key)
            .execute(&mut *tx)
            .await?;
            new += inserted.rows_affected() as usize;
            if inserted.rows_affected() == 0 {
                // A run registered before fusion existed gets its key.
                sqlx::query("UPDATE runs SET fuse_key = $1 WHERE id = $2 AND fuse_key IS NULL")
                    .persistent(sqlite)
                    .bind(&run.fuse_key)
                    .bind(&run.id)
                    .execute(&mut *tx)
                    .await?;
            }
            // Statements binding a value that may be NULL are kept prepared
            // on SQLite only: through the Any driver a NULL is declared with
            // a type of its own, and PostgreSQL then refuses a number in
            // that position ("incorrect binary data format").
            sqlx::query("INSERT INTO sweep_runs (sweep, run, position, point, role, trial) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sweep, run) DO NOTHING")
                .persistent(sqlite)
                .bind(&sweep.name)
                .bind(&run.id)
                .bind(position as i64)
                .bind(run.point)
                .bind(run.role.as_str())
                .bind(run.trial)
                .execute(&mut *tx)
                .await?;
            for (axis, value, num) in &run.axes {
                sqlx::query(
                    "INSERT INTO run_axes (sweep, run, axis, value, value_num) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (sweep, run, axis) DO NOTHING",
                )
                .persistent(sqlite)
                .bind(&sweep.name)
                .bind(&run.id)
                .bind(axis)
                .bind(value)
                .bind(*num)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(new)
    }

    /// Names of every registered sweep, oldest first.
    pub async fn sweeps(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT name FROM sweeps ORDER BY created_ms, name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
    }

    pub async fn has_sweep(&self, name: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query("SELECT 1 FROM sweeps WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }
}
