//! Per-class counts of a design: the confusion matrices of its runs summed,
//! then seen one class against the rest — what a reader needs to see which
//! classes a head never predicts, or predicts too often.

use headsweep_metrics::Confusion;

use crate::table::{Table, Value};

/// One class over the summed runs. Counts are totals over the runs;
/// precision, recall and F1 come from those totals (pooled over runs, as
/// scikit-learn would on the concatenated predictions).
pub fn class_table(classes: &[String], total: &Confusion) -> Table {
    let columns = [
        "class",
        "support",
        "predicted",
        "tp",
        "fp",
        "fn",
        "tn",
        "precision",
        "recall",
        "f1",
        "predicted/support",
    ]
    .map(String::from)
    .to_vec();
    let real = |v: Option<f64>| v.map_or(Value::Null, Value::Real);
    let int = |v: u64| Value::Int(i64::try_from(v).unwrap_or(i64::MAX));
    let rows = total
        .class_counts()
        .into_iter()
        .map(|c| {
            let predicted = c.tp + c.fp;
            vec![
                Value::Text(classes.get(c.class).cloned().unwrap_or_default()),
                int(c.support),
                int(predicted),
                int(c.tp),
                int(c.fp),
                int(c.fn_),
                int(c.tn),
                real(c.precision),
                real(c.recall),
                real(c.f1),
                real((c.support > 0).then(|| predicted as f64 / c.support as f64)),
            ]
        })
        .collect();
    Table { columns, rows }
}

/// Adds `counts[true][predicted]` into `total`, refusing a different size.
pub fn add_confusion(total: &mut Confusion, counts: &[Vec<u64>]) -> bool {
    if total.cells.len() != counts.len() {
        return false;
    }
    for (row, add) in total.cells.iter_mut().zip(counts) {
        if row.len() != add.len() {
            return false;
        }
        for (c, a) in row.iter_mut().zip(add) {
            *c += a;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two runs' 3-class matrices, summed, checked by hand.
    #[test]
    fn summed_counts_by_hand() {
        let mut total = Confusion {
            cells: vec![vec![0; 3]; 3],
        };
        assert!(add_confusion(
            &mut total,
            &[vec![5, 1, 0], vec![2, 3, 0], vec![1, 1, 0]]
        ));
        assert!(add_confusion(
            &mut total,
            &[vec![4, 0, 1], vec![1, 4, 0], vec![2, 0, 0]]
        ));
        assert!(!add_confusion(&mut total, &[vec![1, 2], vec![3, 4]]));
        // Summed: [[9,1,1],[3,7,0],[3,1,0]], 25 samples.
        let t = class_table(&["a".into(), "b".into(), "c".into()], &total);
        let row = |i: usize| t.rows[i].iter().map(Value::text).collect::<Vec<_>>();
        // Class a: support 11, predicted 15, tp 9, fp 6, fn 2, tn 8.
        assert_eq!(row(0)[..7], ["a", "11", "15", "9", "6", "2", "8"]);
        assert_eq!(row(0)[7], (9.0f64 / 15.0).to_string());
        assert_eq!(row(0)[8], (9.0f64 / 11.0).to_string());
        assert_eq!(row(0)[10], (15.0f64 / 11.0).to_string());
        // Class c is predicted once, wrongly: precision and recall 0.
        assert_eq!(row(2)[..7], ["c", "4", "1", "0", "1", "4", "20"]);
        assert_eq!((row(2)[7].as_str(), row(2)[8].as_str()), ("0", "0"));
        // A class never predicted has no precision.
        let never = Confusion {
            cells: vec![vec![3, 0], vec![2, 0]],
        };
        let t = class_table(&["x".into(), "y".into()], &never);
        assert_eq!(t.rows[1][7], Value::Null);
        assert_eq!(t.rows[1][10], Value::Real(0.0));
    }
}
