//! Many rows per INSERT statement: one round trip to the database (on
//! SQLite, to its thread) per chunk of rows instead of per row.

use crate::StoreError;

/// One value to bind.
pub(crate) enum Bind {
    Text(String),
    /// Text or NULL.
    MaybeText(Option<String>),
    Int(Option<i64>),
    Real(Option<f64>),
}

/// Bound values per INSERT statement: one round trip to the database per
/// chunk of rows instead of per row. SQLite's limit is 32,766.
const VALUES_PER_INSERT: usize = 1200;

/// Inserts `rows` into `target` (`table (columns…)`), many rows per
/// statement, each statement ending with `on_conflict` (e.g. `ON CONFLICT
/// (id) DO NOTHING`, or empty). Returns how many rows were inserted.
pub(crate) async fn insert_rows(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    sqlite: bool,
    on_conflict: &str,
    target: &str,
    rows: Vec<Vec<Bind>>,
) -> Result<u64, StoreError> {
    Inserts::new(sqlite, on_conflict, target, rows)
        .execute(tx)
        .await
}

/// The statements that insert a table's rows, written before they run: a
/// caller can make them before taking a lock and run them under it.
///
/// On SQLite the placeholders are anonymous (`?`): the driver looks a
/// numbered one up by name, at a cost quadratic in their number (it was 8%
/// of a worker's time on tiny runs).
pub(crate) struct Inserts {
    sqlite: bool,
    /// Each statement's text and the rows it binds.
    statements: Vec<(String, Vec<Vec<Bind>>)>,
}

impl Inserts {
    pub(crate) fn new(sqlite: bool, on_conflict: &str, target: &str, rows: Vec<Vec<Bind>>) -> Self {
        let width = rows.first().map_or(1, Vec::len).max(1);
        let per = (VALUES_PER_INSERT / width).max(1);
        let mut statements = Vec::with_capacity(rows.len().div_ceil(per));
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<Vec<Bind>> = rows.by_ref().take(per).collect();
            let mut sql = format!("INSERT INTO {target} VALUES ");
            let mut n = 0;
            for (i, row) in chunk.iter().enumerate() {
                sql.push_str(if i == 0 { "(" } else { ", (" });
                for j in 0..row.len() {
                    n += 1;
                    if j > 0 {
                        sql.push_str(", ");
                    }
                    push_placeholder(&mut sql, sqlite, n);
                }
                sql.push(')');
            }
            if !on_conflict.is_empty() {
                sql.push(' ');
                sql.push_str(on_conflict);
            }
            statements.push((sql, chunk));
        }
        Inserts { sqlite, statements }
    }

    /// The statements with their values bound, ready to run.
    pub(crate) fn queries(
        &self,
    ) -> Vec<sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>>> {
        self.statements
            .iter()
            .map(|(sql, chunk)| {
                // Cached as a prepared statement on SQLite only (compiling a
                // statement of a thousand values is a tenth of its writer's
                // time; the same few statements recur run after run). On
                // PostgreSQL, through the Any driver, a NULL is declared
                // with a type of its own, and a statement prepared with a
                // NULL in some position would refuse a number there later
                // ("incorrect binary data format").
                let mut q = sqlx::query(sql).persistent(self.sqlite);
                for row in chunk {
                    for v in row {
                        q = match v {
                            Bind::Text(t) => q.bind(t.as_str()),
                            Bind::MaybeText(t) => q.bind(t.as_deref()),
                            Bind::Int(i) => q.bind(*i),
                            Bind::Real(r) => q.bind(*r),
                        };
                    }
                }
                q
            })
            .collect()
    }

    /// Runs the statements in `tx`; how many rows they inserted.
    pub(crate) async fn execute(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ) -> Result<u64, StoreError> {
        run_all(tx, self.queries()).await
    }
}

/// Runs bound statements in order in `tx`; how many rows they changed.
pub(crate) async fn run_all<'q>(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    queries: Vec<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>>,
) -> Result<u64, StoreError> {
    let mut changed = 0;
    for q in queries {
        changed += q.execute(&mut **tx).await?.rows_affected();
    }
    Ok(changed)
}

/// `count` numbered placeholders from `$first`, comma-separated: `$1, $2,
/// $3` — for the short lists of an `IN (…)`, which a statement may repeat.
pub(crate) fn numbered(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Appends the `n`th (1-based) placeholder: anonymous on SQLite (`?`, see
/// [`insert_rows`]), numbered on PostgreSQL (`$n`).
pub(crate) fn push_placeholder(sql: &mut String, sqlite: bool, n: usize) {
    if sqlite {
        sql.push('?');
    } else {
        sql.push('$');
        sql.push_str(&n.to_string());
    }
}
