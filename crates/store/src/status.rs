//! Reading the state of sweeps and runs, and forgetting or resetting runs.

use headsweep_spec::{Role, RunStatus};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::insert::numbered;
use crate::{Store, StoreError};

/// A status column read back, refused if this version does not know it.
pub(crate) fn status_of(row: &AnyRow, i: usize) -> Result<RunStatus, StoreError> {
    Ok(row.get::<String, _>(i).parse::<RunStatus>()?)
}

/// Runs of a sweep by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub pending: usize,
    pub running: usize,
    pub done: usize,
    pub failed: usize,
}

impl StatusCounts {
    pub fn total(&self) -> usize {
        self.pending + self.running + self.done + self.failed
    }

    /// The runs with `status`.
    pub fn of(&self, status: RunStatus) -> usize {
        match status {
            RunStatus::Pending => self.pending,
            RunStatus::Running => self.running,
            RunStatus::Done => self.done,
            RunStatus::Failed => self.failed,
        }
    }

    /// Counts one more run with `status`.
    pub fn add(&mut self, status: RunStatus) {
        *self.slot(status) += 1;
    }

    fn slot(&mut self, status: RunStatus) -> &mut usize {
        match status {
            RunStatus::Pending => &mut self.pending,
            RunStatus::Running => &mut self.running,
            RunStatus::Done => &mut self.done,
            RunStatus::Failed => &mut self.failed,
        }
    }
}

/// One stored metric value of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMetric {
    pub run: String,
    pub split: String,
    pub head: String,
    pub metric: String,
    pub value: Option<f64>,
}

/// How many of a sweep's runs one host holds or held, by status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRuns {
    pub host: String,
    pub status: RunStatus,
    pub runs: usize,
}

/// A run's resolved configuration (JSON) and its status.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    pub config: String,
    pub status: RunStatus,
}

#[derive(Debug, Clone)]
pub struct RunningRun {
    pub id: String,
    pub host: String,
    pub device: String,
    pub worker: String,
    pub started_ms: i64,
    pub lease_expires_ms: i64,
}

#[derive(Debug, Clone)]
pub struct FailedRun {
    pub id: String,
    pub error: String,
}

/// One run of a sweep with its axis values and test-split metrics.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: String,
    pub seed: i64,
    pub status: RunStatus,
    pub point: i64,
    pub role: Role,
    /// A search trial's index within its design.
    pub trial: Option<i64>,
    pub axes: Vec<(String, String)>,
    pub duration_s: Option<f64>,
    pub error: Option<String>,
    pub host: Option<String>,
    pub device: Option<String>,
    pub threads: Option<i64>,
    pub worker: Option<String>,
    pub attempts: i64,
}

const SWEEP_RUNS: &str =
    "SELECT r.id FROM runs r JOIN sweep_runs s ON s.run = r.id WHERE s.sweep = $1";

impl Store {
    pub async fn counts(&self, sweep: &str) -> Result<StatusCounts, StoreError> {
        let rows = sqlx::query(
            "SELECT r.status, COUNT(*) FROM runs r JOIN sweep_runs s ON s.run = r.id WHERE s.sweep = $1 GROUP BY r.status",
        )
        .bind(sweep)
        .fetch_all(&self.pool)
        .await?;
        let mut c = StatusCounts::default();
        for row in rows {
            *c.slot(status_of(&row, 0)?) = row.get::<i64, _>(1) as usize;
        }
        Ok(c)
    }

    pub async fn running(&self, sweep: &str) -> Result<Vec<RunningRun>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, COALESCE(r.host, ''), COALESCE(r.device, ''), COALESCE(r.worker, ''), COALESCE(r.started_ms, 0),
                    COALESCE(r.lease_expires_ms, 0)
             FROM runs r JOIN sweep_runs s ON s.run = r.id WHERE s.sweep = $1 AND r.status = 'running' ORDER BY r.host, s.position",
        )
        .bind(sweep)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| RunningRun {
                id: r.get(0),
                host: r.get(1),
                device: r.get(2),
                worker: r.get(3),
                started_ms: r.get(4),
                lease_expires_ms: r.get(5),
            })
            .collect())
    }

    pub async fn failed(&self, sweep: &str) -> Result<Vec<FailedRun>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, COALESCE(r.error, '') FROM runs r JOIN sweep_runs s ON s.run = r.id
             WHERE s.sweep = $1 AND r.status = 'failed' ORDER BY s.position",
        )
        .bind(sweep)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| FailedRun {
                id: r.get(0),
                error: r.get(1),
            })
            .collect())
    }

    /// Every run of `sweep` in sweep order, with its axis values.
    pub async fn runs(&self, sweep: &str) -> Result<Vec<RunRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.seed, r.status, s.point, r.duration_s, r.error, r.host, r.device, r.threads, r.worker, r.attempts, s.role, s.trial
             FROM runs r JOIN sweep_runs s ON s.run = r.id WHERE s.sweep = $1 ORDER BY s.position",
        )
        .bind(sweep)
        .fetch_all(&self.pool)
        .await?;
        let axes = sqlx::query("SELECT run, axis, value FROM run_axes WHERE sweep = $1")
            .bind(sweep)
            .fetch_all(&self.pool)
            .await?;
        let axis_order = self.axes(sweep).await?;
        // Grouped once by run: a lookup per run, not a scan of every row.
        let mut by_run: std::collections::HashMap<String, Vec<(String, String)>> =
            std::collections::HashMap::new();
        for a in &axes {
            by_run
                .entry(a.get::<String, _>(0))
                .or_default()
                .push((a.get::<String, _>(1), a.get::<String, _>(2)));
        }
        rows.iter()
            .map(|r| {
                let id: String = r.get(0);
                let mut values: Vec<(String, String)> = by_run.remove(&id).unwrap_or_default();
                values.sort_by_key(|(k, _)| {
                    axis_order.iter().position(|a| a == k).unwrap_or(usize::MAX)
                });
                Ok(RunRow {
                    id,
                    seed: r.get(1),
                    status: status_of(r, 2)?,
                    point: r.get(3),
                    role: r.get::<String, _>(11).parse::<Role>()?,
                    trial: r.get(12),
                    axes: values,
                    duration_s: r.get(4),
                    error: r.get(5),
                    host: r.get(6),
                    device: r.get(7),
                    threads: r.get(8),
                    worker: r.get(9),
                    attempts: r.get(10),
                })
            })
            .collect()
    }

    /// Every metric of one split for every run of `sweep`.
    pub async fn split_metrics(
        &self,
        sweep: &str,
        split: &str,
    ) -> Result<Vec<RunMetric>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT m.run, m.split, m.head, m.metric, m.value FROM metrics m WHERE m.split = $2 AND m.run IN ({})",
            SWEEP_RUNS
        ))
        .bind(sweep)
        .bind(split)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(run_metric).collect())
    }

    /// Full identities of the runs whose identity starts with `prefix`.
    pub async fn resolve_run(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        if prefix.len() < 8 || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(StoreError::RunPrefix(prefix.to_string()));
        }
        let rows = sqlx::query("SELECT id FROM runs WHERE id LIKE $1 ORDER BY id")
            .bind(format!("{}%", prefix.to_ascii_lowercase()))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Runs of a sweep, optionally only the failed ones.
    pub async fn sweep_run_ids(
        &self,
        sweep: &str,
        failed_only: bool,
    ) -> Result<Vec<String>, StoreError> {
        let q = if failed_only {
            format!("{SWEEP_RUNS} AND r.status = 'failed'")
        } else {
            SWEEP_RUNS.to_string()
        };
        let rows = sqlx::query(&q).bind(sweep).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Marks runs to train again: pending, results deleted. Running runs are
    /// left alone. Returns how many were reset.
    pub async fn rerun(&self, ids: &[String]) -> Result<usize, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut n = 0;
        for id in ids {
            let done = sqlx::query(
                "UPDATE runs SET status = 'pending', error = NULL, worker = NULL, pid = NULL, started_ms = NULL,
                     finished_ms = NULL, duration_s = NULL, lease_expires_ms = NULL
                 WHERE id = $1 AND status <> 'running'",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                n += 1;
                crate::claims::delete_results(&mut tx, id).await?;
            }
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Forgets runs entirely (every sweep's reference and all results).
    pub async fn forget_runs(&self, ids: &[String]) -> Result<usize, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut n = 0;
        for id in ids {
            n += sqlx::query("DELETE FROM runs WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected() as usize;
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Forgets a sweep; its runs stay while another sweep still uses them
    /// and are forgotten otherwise. Returns how many runs were forgotten.
    pub async fn forget_sweep(&self, sweep: &str) -> Result<usize, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM sweeps WHERE name = $1")
            .bind(sweep)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM runs WHERE id NOT IN (SELECT run FROM sweep_runs)")
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n as usize)
    }
}

impl Store {
    /// A run's resolved configuration and status.
    pub async fn run_config(&self, id: &str) -> Result<Option<StoredRun>, StoreError> {
        let row = sqlx::query("SELECT config, status FROM runs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(StoredRun {
                config: r.get(0),
                status: status_of(&r, 1)?,
            })
        })
        .transpose()
    }
}

impl Store {
    /// Runs of `sweep` a worker could claim now: pending, or running with
    /// an expired lease.
    pub async fn claimable(&self, sweep: &str) -> Result<usize, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM runs r JOIN sweep_runs s ON s.run = r.id
             WHERE s.sweep = $1 AND (r.status = 'pending' OR (r.status = 'running' AND r.lease_expires_ms < $2))",
        )
        .bind(sweep)
        .bind(crate::now_ms())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.get::<i64, _>(0) as usize)
    }
}

impl Store {
    /// The runs of `sweep` that some host has claimed, by host and status.
    pub async fn by_host(&self, sweep: &str) -> Result<Vec<HostRuns>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.host, r.status, COUNT(*) FROM runs r JOIN sweep_runs s ON s.run = r.id
             WHERE s.sweep = $1 AND r.host IS NOT NULL GROUP BY r.host, r.status ORDER BY r.host, r.status",
        )
        .bind(sweep)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HostRuns {
                    host: r.get(0),
                    status: status_of(r, 1)?,
                    runs: r.get::<i64, _>(2) as usize,
                })
            })
            .collect()
    }
}

/// What the store knows of one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunState {
    pub status: RunStatus,
    /// Training time of a done run.
    pub duration_s: Option<f64>,
}

impl Store {
    /// The state of each of `ids` the store holds; runs it does not hold
    /// are absent from the map.
    pub async fn run_states(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, RunState>, StoreError> {
        let mut out = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT id, status, duration_s FROM runs WHERE id IN ({})",
                numbered(1, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(&self.pool).await? {
                out.insert(
                    r.get::<String, _>(0),
                    RunState {
                        status: status_of(&r, 1)?,
                        duration_s: r.get(2),
                    },
                );
            }
        }
        Ok(out)
    }
}

impl Store {
    /// The value of one metric for each of `ids` that has it (runs without
    /// it, or with it undefined, are absent): what a search ranks trials by.
    pub async fn run_values(
        &self,
        ids: &[String],
        split: &str,
        head: &str,
        metric: &str,
    ) -> Result<std::collections::HashMap<String, f64>, StoreError> {
        let mut out = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT run, value FROM metrics WHERE split = $1 AND head = $2 AND metric = $3 AND value IS NOT NULL AND run IN ({})",
                numbered(4, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(split).bind(head).bind(metric);
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(&self.pool).await? {
                out.insert(r.get::<String, _>(0), r.get::<f64, _>(1));
            }
        }
        Ok(out)
    }
}

pub(crate) fn run_metric(r: &AnyRow) -> RunMetric {
    RunMetric {
        run: r.get(0),
        split: r.get(1),
        head: r.get(2),
        metric: r.get(3),
        value: r.get(4),
    }
}
