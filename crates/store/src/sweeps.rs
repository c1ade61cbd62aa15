//! Registering sweeps and their runs.

use std::collections::BTreeMap;

use headsweep_spec::Role;
use sqlx::Row;

use crate::insert::{insert_rows, push_placeholder, Bind};
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

/// Run identities per UPDATE that gives older runs their fusion key.
const FUSE_KEY_IDS_PER_UPDATE: usize = 500;

impl Store {
    /// Registers `sweep` with `runs`, in one transaction. Runs already in the
    /// store (by identity) keep their status and results; new ones are
    /// pending. The sweep's set of runs and axis values is replaced.
    /// Returns how many runs were new.
    pub async fn register(&self, sweep: &NewSweep, runs: &[NewRun]) -> Result<usize, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        if !self.sqlite {
            // New runs' keys come after the largest: registrations take
            // turns (SQLite's write lock already makes them).
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
        // A new run's key: larger than every key before it (a run already
        // registered keeps its own, and its would-be key is left unused).
        let keys_from: i64 = sqlx::query("SELECT COALESCE(MAX(key), 0) + 1 FROM runs")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let text = |v: &str| Bind::Text(v.to_string());
        let new = insert_rows(
            &mut tx,
            self.sqlite,
            "ON CONFLICT (id) DO NOTHING",
            "runs (id, config, seed, status, created_ms, fuse_key, key)",
            runs.iter()
                .enumerate()
                .map(|(i, run)| {
                    vec![
                        text(&run.id),
                        text(&run.config),
                        Bind::Int(Some(run.seed)),
                        text("pending"),
                        Bind::Int(Some(now)),
                        Bind::MaybeText(run.fuse_key.clone()),
                        Bind::Int(Some(keys_from + i as i64)),
                    ]
                })
                .collect(),
        )
        .await? as usize;
        // A run registered before fusion existed gets its fusion key: one
        // statement per key (a sweep has few), naming its runs.
        let mut by_fuse_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for run in runs {
            if let Some(k) = &run.fuse_key {
                by_fuse_key.entry(k).or_default().push(&run.id);
            }
        }
        for (k, ids) in by_fuse_key {
            for chunk in ids.chunks(FUSE_KEY_IDS_PER_UPDATE) {
                let mut sql = "UPDATE runs SET fuse_key = ".to_string();
                push_placeholder(&mut sql, self.sqlite, 1);
                sql.push_str(" WHERE fuse_key IS NULL AND id IN (");
                for i in 0..chunk.len() {
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    push_placeholder(&mut sql, self.sqlite, i + 2);
                }
                sql.push(')');
                let mut q = sqlx::query(&sql).bind(k);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut *tx).await?;
            }
        }
        insert_rows(
            &mut tx,
            self.sqlite,
            "ON CONFLICT (sweep, run) DO NOTHING",
            "sweep_runs (sweep, run, position, point, role, trial)",
            runs.iter()
                .enumerate()
                .map(|(position, run)| {
                    vec![
                        text(&sweep.name),
                        text(&run.id),
                        Bind::Int(Some(position as i64)),
                        Bind::Int(Some(run.point)),
                        text(run.role.as_str()),
                        Bind::Int(run.trial),
                    ]
                })
                .collect(),
        )
        .await?;
        insert_rows(
            &mut tx,
            self.sqlite,
            "ON CONFLICT (sweep, run, axis) DO NOTHING",
            "run_axes (sweep, run, axis, value, value_num)",
            runs.iter()
                .flat_map(|run| {
                    run.axes.iter().map(|(axis, value, num)| {
                        vec![
                            text(&sweep.name),
                            text(&run.id),
                            text(axis),
                            text(value),
                            Bind::Real(*num),
                        ]
                    })
                })
                .collect(),
        )
        .await?;
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
