//! `data.select`: which features the model sees, fitted on the training
//! samples alone. Selecting on all samples would let validation and test
//! labels' structure leak into the inputs (the selection is part of the
//! model), so the variance is computed over the training rows only, per
//! split and per fold.

use std::path::Path;

use headsweep_spec::Select;
use rayon::prelude::*;

use crate::error::DataError;
use crate::matrix::Matrix;

/// Column indices to keep, ascending (the file's order).
pub(crate) fn columns(
    m: &Matrix,
    select: &Select,
    train: &[usize],
) -> Result<Vec<usize>, DataError> {
    let all: Vec<usize> = (0..m.cols()).collect();
    match select {
        Select::TopVariance(k) => {
            let mut stats = ColumnStats::new(m.cols());
            for &r in train {
                stats.push(m.row(r));
            }
            Ok(top_variance(&stats, &all, *k))
        }
        Select::Features(path) => listed(&m.features, &m.source, &all, path),
    }
}

/// Running count, sum and sum of squares of each column over the rows
/// pushed, each value first shifted by the column's first value (which
/// keeps the sums small, so the variance is accurate: the "shifted data"
/// algorithm), in f64, missing cells skipped. A matrix read a row at a time
/// never needs to be held whole, and a matrix held whole gets bit-identical
/// numbers by pushing the same rows.
#[derive(Debug, Clone)]
pub(crate) struct ColumnStats {
    acc: Vec<Acc>,
}

#[derive(Debug, Clone, Copy)]
struct Acc {
    n: u32,
    shift: f32,
    sum: f64,
    sumsq: f64,
}

impl ColumnStats {
    pub(crate) fn new(p: usize) -> Self {
        ColumnStats {
            acc: vec![
                Acc {
                    n: 0,
                    shift: f32::NAN,
                    sum: 0.0,
                    sumsq: 0.0
                };
                p
            ],
        }
    }

    /// Adds one row's values.
    pub(crate) fn push(&mut self, row: &[f32]) {
        const CHUNK: usize = 16_384;
        let update = |acc: &mut [Acc], row: &[f32]| {
            for (a, &v) in acc.iter_mut().zip(row) {
                if !v.is_nan() {
                    if a.n == 0 {
                        a.shift = v;
                    }
                    let d = f64::from(v) - f64::from(a.shift);
                    a.n += 1;
                    a.sum += d;
                    a.sumsq += d * d;
                }
            }
        };
        if row.len() < 4 * CHUNK {
            update(&mut self.acc, row);
        } else {
            self.acc
                .par_chunks_mut(CHUNK)
                .zip(row.par_chunks(CHUNK))
                .for_each(|(a, r)| update(a, r));
        }
    }

    /// Values seen in column `j`.
    pub(crate) fn count(&self, j: usize) -> usize {
        self.acc[j].n as usize
    }

    /// Population variance of column `j`; NaN when it had no value.
    pub(crate) fn variance(&self, j: usize) -> f64 {
        let a = self.acc[j];
        if a.n == 0 {
            return f64::NAN;
        }
        let n = f64::from(a.n);
        ((a.sumsq - a.sum * a.sum / n) / n).max(0.0)
    }
}

/// Of the columns `among`, the `k` of largest variance; ties go to the
/// earlier column, and a column with no value ranks last. Ascending.
pub(crate) fn top_variance(stats: &ColumnStats, among: &[usize], k: usize) -> Vec<usize> {
    let key = |j: usize| {
        let v = stats.variance(j);
        if v.is_nan() {
            f64::NEG_INFINITY
        } else {
            v
        }
    };
    let mut order = among.to_vec();
    order.par_sort_unstable_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
    order.truncate(k.min(order.len()));
    order.sort_unstable();
    order
}

/// Of the columns `among` (of `features`, read from `source`), those named
/// in `path`, one per line.
pub(crate) fn listed(
    features: &[String],
    source: &Path,
    among: &[usize],
    path: &Path,
) -> Result<Vec<usize>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let index: std::collections::HashMap<&str, usize> =
        among.iter().map(|&j| (features[j].as_str(), j)).collect();
    let mut keep = Vec::new();
    let mut absent: Vec<(usize, &str)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let name = line.split('#').next().unwrap_or("").trim();
        if name.is_empty() {
            continue;
        }
        match index.get(name) {
            Some(&j) => keep.push(j),
            None => absent.push((i + 1, name)),
        }
    }
    if let Some(&(line, name)) = absent.first() {
        return Err(DataError::at(
            path,
            line as u64,
            format!(
                "feature {name:?} is not in {} ({} of the {} listed features are absent from its {} features)",
                source.display(),
                absent.len(),
                keep.len() + absent.len(),
                among.len()
            ),
        ));
    }
    if keep.is_empty() {
        return Err(DataError::file(
            path,
            "lists no feature (data.select.features)",
        ));
    }
    keep.sort_unstable();
    keep.dedup();
    Ok(keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix() -> Matrix {
        // Rows 0–2 train. In training: f0 varies by 1, f1 by 10, f2 not at
        // all (but wildly in row 3, which is not training), f3 = f1's
        // spread (a tie, lost to f1), f4 missing in training.
        let rows = [
            [0.0, 0.0, 5.0, 0.0, f32::NAN],
            [1.0, 10.0, 5.0, 10.0, f32::NAN],
            [2.0, 20.0, 5.0, 20.0, f32::NAN],
            [9.0, 0.0, 1000.0, 0.0, 1.0],
        ];
        Matrix {
            ids: (0..4).map(|i| format!("s{i}")).collect(),
            features: (0..5).map(|j| format!("f{j}")).collect(),
            values: rows.concat(),
            source: "m.tsv".into(),
        }
    }

    #[test]
    fn variance_is_fitted_on_training_rows_only() {
        let m = matrix();
        let stats = |rows: &[usize]| {
            let mut s = ColumnStats::new(m.cols());
            for &r in rows {
                s.push(m.row(r));
            }
            s
        };
        let s = stats(&[0, 1, 2]);
        assert!((s.variance(0) - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.variance(1) - 200.0 / 3.0).abs() < 1e-9);
        assert_eq!(s.variance(2), 0.0);
        assert!(s.variance(4).is_nan());
        assert_eq!(s.count(4), 0);
        let all = [0, 1, 2, 3, 4];
        assert_eq!(top_variance(&s, &all, 2), [1, 3]);
        assert_eq!(top_variance(&s, &all, 3), [0, 1, 3]);
        assert_eq!(top_variance(&s, &[0, 2, 3, 4], 1), [3]);
        // With row 3 in training, f2 would lead: the test set never may.
        assert_eq!(top_variance(&stats(&[0, 1, 2, 3]), &all, 1), [2]);
        assert_eq!(top_variance(&s, &all, 99), all);
        // Wide rows are updated in parallel, to the same numbers.
        let p = 100_000;
        let wide: Vec<Vec<f32>> = (0..3)
            .map(|i| {
                (0..p)
                    .map(|j| ((i * 7 + j * 13) % 17) as f32 * 0.1)
                    .collect()
            })
            .collect();
        let mut par = ColumnStats::new(p);
        for r in &wide {
            par.push(r);
        }
        for j in [0, 1, 16_383, 16_384, 99_999] {
            let mut one = ColumnStats::new(1);
            for r in &wide {
                one.push(&r[j..=j]);
            }
            assert_eq!(par.variance(j).to_bits(), one.variance(0).to_bits());
        }
    }

    #[test]
    fn a_list_names_features_or_says_which_are_absent() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("keep.txt");
        std::fs::write(&p, "# markers\nf3\nf0  # the first\n\nf3\n").unwrap();
        let m = matrix();
        let all: Vec<usize> = (0..5).collect();
        assert_eq!(listed(&m.features, &m.source, &all, &p).unwrap(), [0, 3]);
        std::fs::write(&p, "f1\ncg99\nf2\nrs1\n").unwrap();
        let e = listed(&m.features, &m.source, &all, &p)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("keep.txt:2: feature \"cg99\" is not in m.tsv (2 of the 4 listed features are absent from its 5 features)"),
            "{e}"
        );
    }
}
