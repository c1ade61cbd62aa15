//! Feature rankings from `explain`, stored so that reports read them
//! without loading libtorch.

use sqlx::Row;

use crate::{Store, StoreError};

/// One ranked feature of one head of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    pub rank: i64,
    pub feature: String,
    /// Mean |attribution| over the test samples.
    pub mean_abs: f64,
    pub mean: f64,
    /// The generator's truth for the feature, when known.
    pub truth: Option<String>,
}

impl Store {
    /// Replaces the ranking of `run`'s `head` by `method` with `rows`, in
    /// one transaction.
    pub async fn save_attributions(
        &self,
        run: &str,
        head: &str,
        method: &str,
        rows: &[Attribution],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM attributions WHERE run = $1 AND head = $2 AND method = $3")
            .bind(run)
            .bind(head)
            .bind(method)
            .execute(&mut *tx)
            .await?;
        for a in rows {
            sqlx::query(
                "INSERT INTO attributions (run, head, method, rank, feature, mean_abs, mean, truth)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(run)
            .bind(head)
            .bind(method)
            .bind(a.rank)
            .bind(&a.feature)
            .bind(a.mean_abs)
            .bind(a.mean)
            .bind(a.truth.as_deref())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The stored rankings of `run`'s `head`: per method, its features by
    /// rank. Empty when `explain` has not stored one (or the store predates
    /// the table).
    pub async fn attributions(
        &self,
        run: &str,
        head: &str,
    ) -> Result<Vec<(String, Vec<Attribution>)>, StoreError> {
        let rows = match sqlx::query(
            "SELECT method, rank, feature, mean_abs, mean, truth FROM attributions
             WHERE run = $1 AND head = $2 ORDER BY method, rank",
        )
        .bind(run)
        .bind(head)
        .fetch_all(&self.pool)
        .await
        {
            Ok(rows) => rows,
            // A store opened read-only without migrations may lack the table.
            Err(_) if self.access() == crate::Access::Read => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out: Vec<(String, Vec<Attribution>)> = Vec::new();
        for r in rows {
            let method: String = r.get(0);
            let a = Attribution {
                rank: r.get(1),
                feature: r.get(2),
                mean_abs: r.get(3),
                mean: r.get(4),
                truth: r.get(5),
            };
            match out.last_mut() {
                Some((m, list)) if *m == method => list.push(a),
                _ => out.push((method, vec![a])),
            }
        }
        Ok(out)
    }
}
