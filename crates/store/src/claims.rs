//! Claiming runs, holding them, and finishing them.

use sqlx::Row;

use crate::insert::{numbered, run_all, Bind, Inserts};
use crate::{now_ms, RunResults, Store, StoreError};

/// Who is claiming: a worker on a host.
#[derive(Debug, Clone)]
pub struct Worker {
    /// Unique among live workers, e.g. `host:pid:slot`.
    pub name: String,
    pub host: String,
    pub pid: i64,
    pub device: String,
    pub threads: i64,
}

/// A run this worker now holds.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub config: String,
    pub seed: i64,
    pub fuse_key: Option<String>,
}

impl Store {
    /// Claims the first pending run of `sweep` (or one whose lease expired),
    /// atomically: each run is claimed by exactly one worker.
    pub async fn claim(
        &self,
        sweep: &str,
        worker: &Worker,
        lease_ms: i64,
    ) -> Result<Option<Claimed>, StoreError> {
        Ok(self.claim_group(sweep, worker, lease_ms, 1).await?.pop())
    }

    /// Claims the first claimable run of `sweep` and up to `max − 1` more
    /// with the same fusion key, in sweep order and in one transaction, to
    /// train as one fused model: two workers claiming at once never split
    /// a group between them. Runs without a key are claimed alone.
    pub async fn claim_group(
        &self,
        sweep: &str,
        worker: &Worker,
        lease_ms: i64,
        max: usize,
    ) -> Result<Vec<Claimed>, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        // On PostgreSQL, concurrent claimers skip rows another has locked;
        // SQLite's write lock serialises them.
        let lock = if self.is_sqlite() {
            ""
        } else {
            " FOR UPDATE OF r SKIP LOCKED"
        };
        let claimable = "s.sweep = $1 AND (r.status = 'pending' OR (r.status = 'running' AND r.lease_expires_ms < $2))";
        let first = sqlx::query(&format!(
            "SELECT r.id, r.fuse_key FROM runs r JOIN sweep_runs s ON s.run = r.id
             WHERE {claimable} ORDER BY s.position LIMIT 1{lock}"
        ))
        .bind(sweep)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(first) = first else {
            tx.commit().await?;
            return Ok(Vec::new());
        };
        let (first_id, key): (String, Option<String>) = (first.get(0), first.get(1));
        let mut ids = vec![first_id.clone()];
        if let (Some(key), true) = (&key, max > 1) {
            let more = sqlx::query(&format!(
                "SELECT r.id FROM runs r JOIN sweep_runs s ON s.run = r.id
                 WHERE {claimable} AND r.fuse_key = $3 AND r.id <> $4
                 ORDER BY s.position LIMIT $5{lock}"
            ))
            .bind(sweep)
            .bind(now)
            .bind(key)
            .bind(&first_id)
            .bind((max - 1) as i64)
            .fetch_all(&mut *tx)
            .await?;
            ids.extend(more.iter().map(|r| r.get::<String, _>(0)));
        }
        let mut claimed = Vec::with_capacity(ids.len());
        for id in &ids {
            let row = sqlx::query(
                "UPDATE runs SET status = 'running', worker = $1, host = $2, pid = $3, device = $4, threads = $5,
                     lease_expires_ms = $6, started_ms = $7, finished_ms = NULL, duration_s = NULL, error = NULL,
                     attempts = attempts + 1
                 WHERE id = $8
                 RETURNING id, config, seed, fuse_key",
            )
            .bind(&worker.name)
            .bind(&worker.host)
            .bind(worker.pid)
            .bind(&worker.device)
            .bind(worker.threads)
            .bind(now + lease_ms)
            .bind(now)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            claimed.push(Claimed {
                id: row.get(0),
                config: row.get(1),
                seed: row.get(2),
                fuse_key: row.get(3),
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Extends the lease on `run`. False when the worker no longer holds it.
    pub async fn heartbeat(
        &self,
        run: &str,
        worker: &str,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE runs SET lease_expires_ms = $1 WHERE id = $2 AND worker = $3 AND status = 'running'")
            .bind(now_ms() + lease_ms)
            .bind(run)
            .bind(worker)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Puts a held run back to pending (an interrupted worker).
    pub async fn release(&self, run: &str, worker: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE runs SET status = 'pending', worker = NULL, pid = NULL, lease_expires_ms = NULL, started_ms = NULL
             WHERE id = $1 AND worker = $2 AND status = 'running'",
        )
        .bind(run)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks a held run failed with its reason.
    pub async fn fail(&self, run: &str, worker: &str, error: &str) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query(
            "UPDATE runs SET status = 'failed', error = $1, finished_ms = $2, lease_expires_ms = NULL,
                 duration_s = ($2 - started_ms) / 1000.0
             WHERE id = $3 AND worker = $4 AND status = 'running'",
        )
        .bind(error)
        .bind(now)
        .bind(run)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Writes a run's results and marks it done, in one transaction, if
    /// `worker` still holds it. Returns false (writing nothing) otherwise.
    pub async fn complete(
        &self,
        run: &str,
        worker: &str,
        code_version: &str,
        r: &RunResults,
    ) -> Result<bool, StoreError> {
        Ok(self
            .complete_group(worker, code_version, &[(run, r)])
            .await?[0])
    }

    /// [`Store::complete`] for the runs of a fused group, in one
    /// transaction (one commit, and on SQLite one wait for the write lock,
    /// instead of one per run): each run `worker` still holds is marked
    /// done with its results; each it lost is left as it is (false).
    ///
    /// The result rows are bound into their statements before the write
    /// lock is taken, each table's rows of every run together, so that the
    /// lock is held for the database's own work: on SQLite every other
    /// worker waits for it (tiny runs on two workers: a claim waited a
    /// median 11 ms, about as long as a tiny group trains).
    pub async fn complete_group(
        &self,
        worker: &str,
        code_version: &str,
        runs: &[(&str, &RunResults)],
    ) -> Result<Vec<bool>, StoreError> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        // A run's key is assigned when it is registered and never changes.
        let ids: Vec<&str> = runs.iter().map(|(run, _)| *run).collect();
        let keys = self.keys_of(&ids).await?;
        let ready: Option<Vec<Inserts>> =
            keys.iter()
                .copied()
                .collect::<Option<Vec<i64>>>()
                .map(|keys| {
                    let keyed: Vec<(i64, &RunResults)> =
                        keys.into_iter().zip(runs.iter().map(|(_, r)| *r)).collect();
                    result_inserts(self.sqlite, &keyed)
                });
        let queries = ready
            .as_ref()
            .map(|ready| ready.iter().flat_map(Inserts::queries).collect::<Vec<_>>());
        let mut tx = self.begin_write().await?;
        let mut held = Vec::with_capacity(runs.len());
        for (run, r) in runs {
            held.push(mark_done(&mut tx, run, worker, code_version, r).await?);
        }
        let kept: Vec<(&str, i64, &RunResults)> = runs
            .iter()
            .zip(&held)
            .filter_map(|((run, r), key)| key.map(|k| (*run, k, *r)))
            .collect();
        // Leftovers of an earlier attempt that crashed mid-write cannot
        // exist (writes are transactional), and marking a run to train
        // again deletes its results; a store written otherwise is still
        // replaced, not refused. One probe for the group instead of a
        // delete per table and run.
        let kept_ids: Vec<&str> = kept.iter().map(|(run, _, _)| *run).collect();
        if has_results(&mut tx, &kept_ids).await? {
            for run in &kept_ids {
                if has_results(&mut tx, std::slice::from_ref(run)).await? {
                    delete_results(&mut tx, run).await?;
                }
            }
        }
        match queries {
            // Every run still held, with the key read before: the
            // statements made before the lock.
            Some(queries) if held == keys => {
                run_all(&mut tx, queries).await?;
            }
            _ => {
                let keyed: Vec<(i64, &RunResults)> =
                    kept.iter().map(|(_, key, r)| (*key, *r)).collect();
                for inserts in result_inserts(self.sqlite, &keyed) {
                    inserts.execute(&mut tx).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(held.iter().map(Option::is_some).collect())
    }

    /// The keys of `runs`, in order (`None`: no such run, or no key).
    async fn keys_of(&self, runs: &[&str]) -> Result<Vec<Option<i64>>, StoreError> {
        let sql = format!(
            "SELECT id, key FROM runs WHERE id IN ({})",
            numbered(1, runs.len())
        );
        let mut q = sqlx::query(&sql);
        for run in runs {
            q = q.bind(*run);
        }
        let found: std::collections::HashMap<String, Option<i64>> = q
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(runs
            .iter()
            .map(|run| found.get(*run).copied().flatten())
            .collect())
    }

    /// Puts back to pending the running runs of `sweep` on `host` whose
    /// worker process is gone (`alive(pid)` false). Returns how many.
    pub async fn reclaim_dead(
        &self,
        sweep: &str,
        host: &str,
        alive: impl Fn(i64) -> bool,
    ) -> Result<usize, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.worker, r.pid FROM runs r JOIN sweep_runs s ON s.run = r.id
             WHERE s.sweep = $1 AND r.status = 'running' AND r.host = $2",
        )
        .bind(sweep)
        .bind(host)
        .fetch_all(&self.pool)
        .await?;
        let mut n = 0;
        for row in rows {
            let (id, worker, pid): (String, Option<String>, Option<i64>) =
                (row.get(0), row.get(1), row.get(2));
            if !pid.is_some_and(&alive) {
                let done = sqlx::query(
                    "UPDATE runs SET status = 'pending', worker = NULL, pid = NULL, lease_expires_ms = NULL, started_ms = NULL
                     WHERE id = $1 AND status = 'running' AND COALESCE(worker, '') = $2",
                )
                .bind(&id)
                .bind(worker.unwrap_or_default())
                .execute(&self.pool)
                .await?;
                n += done.rows_affected() as usize;
            }
        }
        Ok(n)
    }

    /// Sets the failed runs of `sweep` back to pending. Returns how many.
    pub async fn retry_failed(&self, sweep: &str) -> Result<usize, StoreError> {
        let done = sqlx::query(
            "UPDATE runs SET status = 'pending', error = NULL, worker = NULL, pid = NULL
             WHERE status = 'failed' AND id IN (SELECT run FROM sweep_runs WHERE sweep = $1)",
        )
        .bind(sweep)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() as usize)
    }
}

impl Store {
    /// Puts back to pending the running runs of `sweep` held by process
    /// `pid` on `host` (a worker that stopped because the machine could not
    /// keep its files). Returns how many.
    pub async fn release_runs_of(
        &self,
        sweep: &str,
        host: &str,
        pid: i64,
    ) -> Result<usize, StoreError> {
        self.end_runs_of(sweep, host, pid, None).await
    }

    /// Fails the runs of `sweep` held by the process `pid` on `host` (a
    /// worker that died). Returns how many.
    pub async fn fail_runs_of(
        &self,
        sweep: &str,
        host: &str,
        pid: i64,
        reason: &str,
    ) -> Result<usize, StoreError> {
        self.end_runs_of(sweep, host, pid, Some(reason)).await
    }

    /// The running runs of `sweep` held by process `pid` on `host`: failed
    /// with `reason`, or back to pending without one.
    async fn end_runs_of(
        &self,
        sweep: &str,
        host: &str,
        pid: i64,
        reason: Option<&str>,
    ) -> Result<usize, StoreError> {
        let set = match reason {
            Some(_) => "status = 'failed', error = $4, finished_ms = $5, lease_expires_ms = NULL",
            None => "status = 'pending', worker = NULL, pid = NULL, lease_expires_ms = NULL, started_ms = NULL",
        };
        let sql = format!(
            "UPDATE runs SET {set}
             WHERE status = 'running' AND host = $1 AND pid = $2 AND id IN (SELECT run FROM sweep_runs WHERE sweep = $3)"
        );
        let mut q = sqlx::query(&sql).bind(host).bind(pid).bind(sweep);
        if let Some(reason) = reason {
            q = q.bind(reason).bind(now_ms());
        }
        Ok(q.execute(&self.pool).await?.rows_affected() as usize)
    }
}

/// Marks `run` done with the summary of `r` if `worker` still holds it;
/// its key (`None`: not held).
async fn mark_done(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    run: &str,
    worker: &str,
    code_version: &str,
    r: &RunResults,
) -> Result<Option<i64>, StoreError> {
    let held = sqlx::query(
            "UPDATE runs SET status = 'done', finished_ms = $1, duration_s = $2, parameters = $3, best_epoch = $4,
                 epochs_run = $5, lease_expires_ms = NULL, error = NULL, code_version = $6,
                 flops = $9, train_seconds = $10, fused = $11, provenance = $12
             WHERE id = $7 AND worker = $8 AND status = 'running'
             RETURNING key",
        )
        .bind(now_ms())
        .bind(r.duration_s)
        .bind(r.parameters)
        .bind(r.best_epoch)
        .bind(r.epochs_run)
        .bind(code_version)
        .bind(run)
        .bind(worker)
        .bind(r.flops)
        .bind(r.train_seconds)
        .bind(r.fused)
        .bind(r.provenance.as_deref())
        .fetch_optional(&mut **tx)
        .await?;
    let Some(held) = held else {
        return Ok(None);
    };
    let key: Option<i64> = held.try_get(0)?;
    Ok(Some(key.ok_or_else(|| StoreError::NoKey(run.to_string()))?))
}

/// The statements that insert the result rows of `runs` (each with its
/// key), a table at a time, each table's rows in the order of `runs`.
fn result_inserts(sqlite: bool, runs: &[(i64, &RunResults)]) -> Vec<Inserts> {
    let mut out = Vec::with_capacity(5);
    let text = |v: &str| Bind::Text(v.to_string());
    let mut table =
        |target: &str, rows: Vec<Vec<Bind>>| out.push(Inserts::new(sqlite, "", target, rows));
    table(
        "result_metrics (run_key, split, head, metric, value)",
        runs.iter()
            .flat_map(|&(key, r)| {
                r.metrics.iter().map(move |m| {
                    vec![
                        Bind::Int(Some(key)),
                        text(&m.split),
                        text(&m.head),
                        text(&m.metric),
                        Bind::Real(m.value),
                    ]
                })
            })
            .collect(),
    );
    table(
        "result_class_metrics (run_key, split, head, class_index, class, tp, fp, fn, tn, support, precision, recall, f1)",
        runs.iter()
            .flat_map(|&(key, r)| {
                r.classes.iter().map(move |c| {
                    vec![
                        Bind::Int(Some(key)),
                        text(&c.split),
                        text(&c.head),
                        Bind::Int(Some(c.class_index)),
                        text(&c.class),
                        Bind::Int(Some(c.tp)),
                        Bind::Int(Some(c.fp)),
                        Bind::Int(Some(c.fn_)),
                        Bind::Int(Some(c.tn)),
                        Bind::Int(Some(c.support)),
                        Bind::Real(c.precision),
                        Bind::Real(c.recall),
                        Bind::Real(c.f1),
                    ]
                })
            })
            .collect(),
    );
    table(
        "result_confusion_cells (run_key, split, head, true_class, predicted_class, count)",
        // Zeros are what the `confusion` view fills in.
        runs.iter()
            .flat_map(|&(key, r)| {
                r.confusion.iter().filter(|c| c.count != 0).map(move |c| {
                    vec![
                        Bind::Int(Some(key)),
                        text(&c.split),
                        text(&c.head),
                        Bind::Int(Some(c.true_class)),
                        Bind::Int(Some(c.predicted_class)),
                        Bind::Int(Some(c.count)),
                    ]
                })
            })
            .collect(),
    );
    table(
        "result_curves (run_key, epoch, split, head, metric, value)",
        runs.iter()
            .flat_map(|&(key, r)| {
                r.curves.iter().map(move |c| {
                    vec![
                        Bind::Int(Some(key)),
                        Bind::Int(Some(c.epoch)),
                        text(&c.split),
                        text(&c.head),
                        text(&c.metric),
                        Bind::Real(c.value),
                    ]
                })
            })
            .collect(),
    );
    table(
        "result_predictions (run_key, sample, head, true_class, predicted_class, probabilities, raw)",
        runs.iter()
            .flat_map(|&(key, r)| {
                r.predictions.iter().map(move |p| {
                    vec![
                        Bind::Int(Some(key)),
                        text(&p.sample),
                        text(&p.head),
                        Bind::Int(p.true_class),
                        Bind::Int(Some(p.predicted_class)),
                        text(&p.probabilities),
                        text(&p.raw),
                    ]
                })
            })
            .collect(),
    );
    out
}

/// Tables holding a run's results, and how each names the runs of a list
/// of identities (`RUNS`, see [`of_runs`]): by identity, or by the run's
/// key (migration 0010).
const RESULT_TABLES: [(&str, &str); 6] = [
    ("attributions", "run IN (RUNS)"),
    ("result_metrics", KEY_OF_RUNS),
    ("result_class_metrics", KEY_OF_RUNS),
    ("result_confusion_cells", KEY_OF_RUNS),
    ("result_curves", KEY_OF_RUNS),
    ("result_predictions", KEY_OF_RUNS),
];

/// The rows of the runs `RUNS` in a table keyed by `run_key`.
const KEY_OF_RUNS: &str = "run_key IN (SELECT key FROM runs WHERE id IN (RUNS))";

/// A [`RESULT_TABLES`] condition for `count` runs bound as `$1, $2, …`.
fn of_runs(condition: &str, count: usize) -> String {
    condition.replace("RUNS", &numbered(1, count))
}

/// Deletes every result row of `run` inside `tx`.
pub(crate) async fn delete_results(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    run: &str,
) -> Result<(), StoreError> {
    for (table, condition) in RESULT_TABLES {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE {}",
            of_runs(condition, 1)
        ))
        .bind(run)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Whether any result table holds a row of any of `runs`.
async fn has_results(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    runs: &[&str],
) -> Result<bool, StoreError> {
    if runs.is_empty() {
        return Ok(false);
    }
    let sql = RESULT_TABLES
        .iter()
        .map(|(table, condition)| {
            format!(
                "SELECT 1 FROM {table} WHERE {}",
                of_runs(condition, runs.len())
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
        + " LIMIT 1";
    let mut q = sqlx::query(&sql);
    for run in runs {
        q = q.bind(*run);
    }
    Ok(q.fetch_optional(&mut **tx).await?.is_some())
}
