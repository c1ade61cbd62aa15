//! Reading rows as tables: read-only SQL for `headsweep query`, and the
//! fixed queries behind `export`, plots and comparisons.

use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyRow};
use sqlx::{Column, ConnectOptions, Connection, Row};

use crate::status::{run_metric, RunMetric};
use crate::{CurveRow, Store, StoreError};

/// What `export` writes: one row per run (with each axis as a column), or
/// every row of one of the per-run tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Runs,
    Metrics,
    Classes,
    Confusion,
    Curves,
    Predictions,
}

/// A head's confusion matrix: `counts[true][predicted]`, classes in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    pub classes: Vec<String>,
    pub counts: Vec<Vec<u64>>,
}

/// One cell as read from the database.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// Column names and rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

fn cell(row: &AnyRow, i: usize) -> Cell {
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return v.map_or(Cell::Null, Cell::Int);
    }
    if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
        return v.map_or(Cell::Null, Cell::Real);
    }
    if let Ok(v) = row.try_get::<Option<String>, _>(i) {
        return v.map_or(Cell::Null, Cell::Text);
    }
    if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
        return v.map_or(Cell::Null, |b| Cell::Int(i64::from(b)));
    }
    Cell::Text("<binary>".into())
}

fn to_rows(rows: &[AnyRow]) -> Rows {
    let columns = rows
        .first()
        .map(|r| r.columns().iter().map(|c| c.name().to_string()).collect())
        .unwrap_or_default();
    Rows {
        columns,
        rows: rows
            .iter()
            .map(|r| (0..r.columns().len()).map(|i| cell(r, i)).collect())
            .collect(),
    }
}

impl Store {
    /// Runs `sql` on a read-only connection: any statement that writes fails
    /// and changes nothing.
    pub async fn query_read_only(&self, sql: &str) -> Result<Rows, StoreError> {
        let err = |source: sqlx::Error| StoreError::Query { source };
        if self.is_sqlite() {
            let url = format!("sqlite://{}?mode=ro", self.sqlite_file().display());
            let mut conn = AnyConnectOptions::from_str(&url)?
                .disable_statement_logging()
                .connect()
                .await?;
            let rows = sqlx::query(sql).fetch_all(&mut conn).await.map_err(err)?;
            conn.close().await?;
            Ok(to_rows(&rows))
        } else {
            let mut tx = self.pool.begin_with("BEGIN READ ONLY").await?;
            let rows = sqlx::query(sql).fetch_all(&mut *tx).await.map_err(err)?;
            tx.rollback().await?;
            Ok(to_rows(&rows))
        }
    }

    async fn rows(&self, sql: &str, binds: &[&str]) -> Result<Rows, StoreError> {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(b.to_string());
        }
        Ok(to_rows(&q.fetch_all(&self.pool).await?))
    }

    /// Everything needed to recompute any metric outside the tool, for one
    /// sweep: one of its tables (docs/store.md).
    pub async fn export(&self, sweep: &str, what: Export) -> Result<Rows, StoreError> {
        let join = "JOIN sweep_runs s ON s.run = t.run WHERE s.sweep = $1";
        let sql = match what {
            Export::Runs => {
                let axes = self.axes(sweep).await?;
                let axis_columns: String = axes
                    .iter()
                    .map(|a| {
                        format!(
                            ", (SELECT a.value FROM run_axes a WHERE a.sweep = $1 AND a.run = r.id AND a.axis = '{}') AS \"{}\"",
                            a.replace('\'', "''"),
                            a.replace('"', "\"\"")
                        )
                    })
                    .collect();
                format!(
                    "SELECT r.id AS run, r.seed{axis_columns}, r.status, r.device, r.host, r.threads, r.parameters, r.best_epoch,
                            r.epochs_run, r.duration_s, r.error, r.config
                     FROM runs r JOIN sweep_runs s ON s.run = r.id WHERE s.sweep = $1 ORDER BY s.position"
                )
            }
            Export::Metrics => format!("SELECT t.run, t.split, t.head, t.metric, t.value FROM metrics t {join} ORDER BY s.position, t.split, t.head, t.metric"),
            Export::Classes => format!(
                "SELECT t.run, t.split, t.head, t.class_index, t.class, t.tp, t.fp, t.fn, t.tn, t.support, t.precision, t.recall, t.f1
                 FROM class_metrics t {join} ORDER BY s.position, t.split, t.head, t.class_index"
            ),
            Export::Confusion => format!(
                "SELECT t.run, t.split, t.head, t.true_class, t.predicted_class, t.count FROM confusion t {join}
                 ORDER BY s.position, t.split, t.head, t.true_class, t.predicted_class"
            ),
            Export::Curves => format!("SELECT t.run, t.epoch, t.split, t.head, t.metric, t.value FROM curves t {join} ORDER BY s.position, t.epoch, t.split, t.head, t.metric"),
            Export::Predictions => format!(
                "SELECT t.run, t.head, t.sample, t.true_class, t.predicted_class, t.probabilities, t.raw FROM predictions t {join}
                 ORDER BY s.position, t.head, t.sample"
            ),
        };
        self.rows(&sql, &[sweep]).await
    }

    /// Every metric of every run of `sweep`.
    pub async fn all_metrics(&self, sweep: &str) -> Result<Vec<RunMetric>, StoreError> {
        let rows = sqlx::query("SELECT t.run, t.split, t.head, t.metric, t.value FROM metrics t JOIN sweep_runs s ON s.run = t.run WHERE s.sweep = $1")
            .bind(sweep)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(run_metric).collect())
    }

    /// A run's learning curves, by epoch.
    pub async fn curves(&self, run: &str) -> Result<Vec<CurveRow>, StoreError> {
        let rows = sqlx::query("SELECT epoch, split, head, metric, value FROM curves WHERE run = $1 ORDER BY epoch, split, head, metric")
            .bind(run)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| CurveRow {
                epoch: r.get(0),
                split: r.get(1),
                head: r.get(2),
                metric: r.get(3),
                value: r.get(4),
            })
            .collect())
    }

    /// A head's class names and confusion matrix on a split.
    pub async fn confusion(
        &self,
        run: &str,
        split: &str,
        head: &str,
    ) -> Result<ConfusionMatrix, StoreError> {
        let classes: Vec<String> = sqlx::query("SELECT class FROM class_metrics WHERE run = $1 AND split = $2 AND head = $3 ORDER BY class_index")
            .bind(run)
            .bind(split)
            .bind(head)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let k = classes.len();
        let mut m = vec![vec![0u64; k]; k];
        let rows = sqlx::query("SELECT true_class, predicted_class, count FROM confusion WHERE run = $1 AND split = $2 AND head = $3")
            .bind(run)
            .bind(split)
            .bind(head)
            .fetch_all(&self.pool)
            .await?;
        for r in rows {
            let (t, p, n): (i64, i64, i64) = (r.get(0), r.get(1), r.get(2));
            if (t as usize) < k && (p as usize) < k {
                m[t as usize][p as usize] = n as u64;
            }
        }
        Ok(ConfusionMatrix { classes, counts: m })
    }

    /// Heads with class counts for a run, in stored order.
    pub async fn heads_of(&self, run: &str) -> Result<Vec<String>, StoreError> {
        let rows =
            sqlx::query("SELECT DISTINCT head FROM class_metrics WHERE run = $1 ORDER BY head")
                .bind(run)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// The sweep's axes, in file order.
    pub async fn axes(&self, sweep: &str) -> Result<Vec<String>, StoreError> {
        Ok(
            match sqlx::query("SELECT axes FROM sweeps WHERE name = $1")
                .bind(sweep)
                .fetch_optional(&self.pool)
                .await?
            {
                Some(r) => serde_json::from_str(&r.get::<String, _>(0)).unwrap_or_default(),
                None => Vec::new(),
            },
        )
    }
}
