//! Reading rows as tables: read-only SQL for `headsweep query`, and the
//! fixed queries behind `export`, plots and comparisons.

use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyRow};
use sqlx::{Column, ConnectOptions, Connection, Row};

use crate::insert::numbered;
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

/// One stored test prediction of one head.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPrediction {
    pub true_class: Option<i64>,
    pub predicted_class: i64,
    /// Class probabilities as a JSON array.
    pub probabilities: String,
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

/// Hands each row of `rows` to `row` as it arrives, with the column
/// names; returns them (none without rows) and the count. `failed` says
/// what a failed read is.
async fn each_row<E: From<StoreError>>(
    mut rows: futures_util::stream::BoxStream<'_, Result<AnyRow, sqlx::Error>>,
    failed: impl Fn(sqlx::Error) -> StoreError,
    mut row: impl FnMut(&[String], Vec<Cell>) -> Result<(), E>,
) -> Result<(Vec<String>, usize), E> {
    use futures_util::TryStreamExt;
    let (mut columns, mut n) = (Vec::new(), 0);
    while let Some(r) = rows.try_next().await.map_err(&failed)? {
        if n == 0 {
            columns = r.columns().iter().map(|c| c.name().to_string()).collect();
        }
        row(
            &columns,
            (0..r.columns().len()).map(|i| cell(&r, i)).collect(),
        )?;
        n += 1;
    }
    Ok((columns, n))
}

/// A row handler for [`each_row`] that keeps every row in `rows`.
fn keep(
    rows: &mut Vec<Vec<Cell>>,
) -> impl FnMut(&[String], Vec<Cell>) -> Result<(), StoreError> + '_ {
    |_, cells| {
        rows.push(cells);
        Ok(())
    }
}

/// How long one `query` may run on PostgreSQL.
pub const QUERY_TIMEOUT_MS: u64 = 60_000;

/// Pragmas that only read (with no `=`).
const READ_PRAGMAS: [&str; 10] = [
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "database_list",
    "collation_list",
    "function_list",
];

/// The statements of `sql`, split at semicolons outside quotes and
/// comments, comments removed, empty ones dropped.
fn statements(sql: &str) -> Vec<String> {
    let (mut out, mut cur) = (Vec::new(), String::new());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' | '[' => {
                let close = if c == '[' { ']' } else { c };
                cur.push(c);
                for d in chars.by_ref() {
                    cur.push(d);
                    if d == close {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
                cur.push(' ');
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for d in chars.by_ref() {
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
                cur.push(' ');
            }
            ';' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Refuses SQL that could write a file or change state: one statement,
/// beginning with `SELECT`, `WITH`, `VALUES` or `EXPLAIN`, or a pragma that
/// only reads (e.g. `PRAGMA table_info(runs)`). `VACUUM INTO`, `ATTACH`,
/// `COPY`, data changes and setting pragmas are all refused here, before
/// the database sees them; the connection is read-only besides.
pub fn check_read_only(sql: &str) -> Result<(), StoreError> {
    let refuse = |why: String| Err(StoreError::NotReadOnly(why));
    let parts = statements(sql);
    let [one] = parts.as_slice() else {
        return refuse(if parts.is_empty() {
            "no statement".into()
        } else {
            format!("{} statements; give one", parts.len())
        });
    };
    let words: Vec<String> = one
        .split(|c: char| c.is_whitespace() || c == '(')
        .filter(|w| !w.is_empty())
        .take(2)
        .map(str::to_ascii_lowercase)
        .collect();
    match words.first().map(String::as_str) {
        Some("select" | "with" | "values" | "explain") => {
            // A data change behind a WITH clause fails on the read-only
            // connection; a WITH … can only read or change data, never files.
            Ok(())
        }
        Some("pragma") => {
            let name = words.get(1).map(|w| {
                w.rsplit('.')
                    .next()
                    .unwrap_or(w)
                    .trim_matches(|c| c == '"' || c == '`')
                    .to_string()
            });
            match name {
                Some(n) if READ_PRAGMAS.contains(&n.as_str()) && !one.contains('=') => Ok(()),
                _ => refuse(format!(
                    "only these pragmas, read without '=': {}",
                    READ_PRAGMAS.join(", ")
                )),
            }
        }
        Some(w) => refuse(format!(
            "a statement beginning {:?}",
            w.to_ascii_uppercase()
        )),
        None => refuse("no statement".into()),
    }
}

impl Store {
    /// Runs `sql` after [`check_read_only`], on a connection that cannot
    /// write: SQLite read-only (and `query_only`), PostgreSQL a `READ ONLY`
    /// transaction with a statement timeout, rolled back.
    pub async fn query_read_only(&self, sql: &str) -> Result<Rows, StoreError> {
        let mut rows = Vec::new();
        let (columns, _) = self.query_read_only_each(sql, keep(&mut rows)).await?;
        Ok(Rows { columns, rows })
    }

    /// [`Store::query_read_only`] a row at a time, without holding the
    /// result: `row` gets the column names and each row's cells. Returns
    /// the column names (none when there are no rows) and how many rows
    /// there were.
    pub async fn query_read_only_each<E: From<StoreError>>(
        &self,
        sql: &str,
        row: impl FnMut(&[String], Vec<Cell>) -> Result<(), E>,
    ) -> Result<(Vec<String>, usize), E> {
        check_read_only(sql)?;
        let refused = |source| StoreError::Query { source };
        if self.is_sqlite() {
            let file = self.sqlite_file();
            let url = if self.access() == crate::Access::Read {
                // Opened read-only: the file may be on read-only media.
                format!("sqlite://{}?mode=ro&immutable=1", file.display())
            } else {
                format!("sqlite://{}?mode=ro", file.display())
            };
            let mut conn = AnyConnectOptions::from_str(&url)
                .map_err(StoreError::from)?
                .disable_statement_logging()
                .connect()
                .await
                .map_err(StoreError::from)?;
            sqlx::query("PRAGMA query_only = ON")
                .execute(&mut conn)
                .await
                .map_err(StoreError::from)?;
            let out = each_row(sqlx::query(sql).fetch(&mut conn), refused, row).await?;
            conn.close().await.map_err(StoreError::from)?;
            Ok(out)
        } else {
            let mut tx = self
                .pool
                .begin_with("BEGIN READ ONLY")
                .await
                .map_err(StoreError::from)?;
            sqlx::query(&format!("SET LOCAL statement_timeout = {QUERY_TIMEOUT_MS}"))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
            let out = each_row(sqlx::query(sql).fetch(&mut *tx), refused, row).await?;
            tx.rollback().await.map_err(StoreError::from)?;
            Ok(out)
        }
    }

    /// Everything needed to recompute any metric outside the tool, for one
    /// sweep: one of its tables (docs/store.md).
    pub async fn export(&self, sweep: &str, what: Export) -> Result<Rows, StoreError> {
        let mut rows = Vec::new();
        let (columns, _) = self.export_each(sweep, what, keep(&mut rows)).await?;
        Ok(Rows { columns, rows })
    }

    /// [`Store::export`] a row at a time, in the same order, without
    /// holding the table: `row` gets the column names and each row's
    /// cells. Returns the column names (none when there are no rows) and
    /// how many rows there were.
    pub async fn export_each<E: From<StoreError>>(
        &self,
        sweep: &str,
        what: Export,
        row: impl FnMut(&[String], Vec<Cell>) -> Result<(), E>,
    ) -> Result<(Vec<String>, usize), E> {
        let sql = self.export_sql(sweep, what).await?;
        let rows = sqlx::query(&sql).bind(sweep.to_string()).fetch(&self.pool);
        each_row(rows, StoreError::from, row).await
    }

    /// The query behind [`Store::export`]; `$1` is the sweep.
    async fn export_sql(&self, sweep: &str, what: Export) -> Result<String, StoreError> {
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
                            r.epochs_run, r.duration_s, r.error, r.code_version, r.provenance, r.config
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
        Ok(sql)
    }

    /// Every metric of every run of `sweep`.
    pub async fn all_metrics(&self, sweep: &str) -> Result<Vec<RunMetric>, StoreError> {
        self.some_metrics(sweep, &[], &[]).await
    }

    /// The (head, metric) names a sweep's runs have on `split`.
    pub async fn metric_names(
        &self,
        sweep: &str,
        split: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT t.head, t.metric FROM metrics t JOIN sweep_runs s ON s.run = t.run
             WHERE s.sweep = $1 AND t.split = $2 ORDER BY t.head, t.metric",
        )
        .bind(sweep)
        .bind(split)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// The metrics of a sweep's runs on `splits` named `metrics` (each
    /// unrestricted when empty): what a comparison reads, without the rest
    /// of a large sweep's rows.
    pub async fn some_metrics(
        &self,
        sweep: &str,
        splits: &[String],
        metrics: &[String],
    ) -> Result<Vec<RunMetric>, StoreError> {
        let mut sql = String::from("SELECT t.run, t.split, t.head, t.metric, t.value FROM metrics t JOIN sweep_runs s ON s.run = t.run WHERE s.sweep = $1");
        let mut n = 1;
        for (column, values) in [("split", splits), ("metric", metrics)] {
            if !values.is_empty() {
                sql += &format!(" AND t.{column} IN ({})", numbered(n + 1, values.len()));
                n += values.len();
            }
        }
        let mut q = sqlx::query(&sql).bind(sweep);
        for v in splits.iter().chain(metrics) {
            q = q.bind(v);
        }
        let rows = q.fetch_all(&self.pool).await?;
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
        let rows = sqlx::query("SELECT true_class, predicted_class, count FROM confusion_cells WHERE run = $1 AND split = $2 AND head = $3")
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

    /// A run's test predictions for one head, in sample order: the true
    /// class (NULL when unlabelled), the predicted class and the class
    /// probabilities (a JSON array).
    pub async fn predictions_of(
        &self,
        run: &str,
        head: &str,
    ) -> Result<Vec<StoredPrediction>, StoreError> {
        let rows = sqlx::query(
            "SELECT true_class, predicted_class, probabilities FROM predictions
             WHERE run = $1 AND head = $2 ORDER BY sample",
        )
        .bind(run)
        .bind(head)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| StoredPrediction {
                true_class: r.get(0),
                predicted_class: r.get(1),
                probabilities: r.get(2),
            })
            .collect())
    }

    /// The provenance records of a sweep's done runs (JSON, or NULL for
    /// runs stored before provenance was kept), each with how many runs
    /// share it, most common first.
    pub async fn provenance_counts(
        &self,
        sweep: &str,
    ) -> Result<Vec<(Option<String>, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.provenance, COUNT(*) FROM runs r JOIN sweep_runs s ON s.run = r.id
             WHERE s.sweep = $1 AND r.status = 'done'
             GROUP BY r.provenance ORDER BY COUNT(*) DESC, r.provenance",
        )
        .bind(sweep)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// A run's error (if it failed) and provenance (if it finished).
    pub async fn run_outcome(
        &self,
        run: &str,
    ) -> Result<(Option<String>, Option<String>), StoreError> {
        Ok(
            match sqlx::query("SELECT error, provenance FROM runs WHERE id = $1")
                .bind(run)
                .fetch_optional(&self.pool)
                .await?
            {
                Some(r) => (r.get(0), r.get(1)),
                None => (None, None),
            },
        )
    }

    /// Every stored metric of one run, by split, head and metric.
    pub async fn run_metrics(&self, run: &str) -> Result<Vec<RunMetric>, StoreError> {
        let rows = sqlx::query(
            "SELECT run, split, head, metric, value FROM metrics WHERE run = $1
             ORDER BY split, head, metric",
        )
        .bind(run)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(run_metric).collect())
    }

    /// The sweep file a sweep was registered from, as it was then.
    pub async fn sweep_file(&self, sweep: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query("SELECT file_text FROM sweeps WHERE name = $1")
            .bind(sweep)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get(0)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pass_and_anything_that_writes_is_refused() {
        for ok in [
            "SELECT * FROM runs",
            "  select 1 -- a comment; VACUUM INTO 'x'",
            "WITH a AS (SELECT 1) SELECT * FROM a;",
            "SELECT ';' AS semicolon, \"a;b\" FROM runs",
            "EXPLAIN QUERY PLAN SELECT 1",
            "VALUES (1)",
            "PRAGMA table_info(runs)",
            "/* lead */ SELECT 2",
        ] {
            assert!(check_read_only(ok).is_ok(), "{ok}");
        }
        for bad in [
            "VACUUM INTO '/tmp/copy.db'",
            "vacuum",
            "ATTACH DATABASE '/tmp/x.db' AS x",
            "SELECT 1; VACUUM INTO '/tmp/y.db'",
            "SELECT 1; /* hidden */ DELETE FROM runs",
            "PRAGMA journal_mode = DELETE",
            "PRAGMA user_version=3",
            "PRAGMA wal_checkpoint(TRUNCATE)",
            "COPY runs TO '/tmp/runs.csv'",
            "DELETE FROM runs",
            "CREATE TABLE t (x)",
            "",
            "  ;  ",
        ] {
            assert!(check_read_only(bad).is_err(), "{bad}");
        }
    }
}
