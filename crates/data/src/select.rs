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
    match select {
        Select::TopVariance(k) => Ok(top_variance(m, train, *k)),
        Select::Features(path) => listed(m, path),
    }
}

/// Population variance of each column over `rows`, missing cells ignored;
/// NaN where a column has no value in them. Two passes (mean, then squared
/// deviations) in f64; columns are split across threads.
pub(crate) fn variances(m: &Matrix, rows: &[usize]) -> Vec<f64> {
    let p = m.cols();
    const CHUNK: usize = 4096;
    let mut out = vec![0f64; p];
    out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, out)| {
        let start = c * CHUNK;
        let width = out.len();
        let mut sum = vec![0f64; width];
        let mut count = vec![0u32; width];
        for &r in rows {
            let row = &m.row(r)[start..start + width];
            for (j, &v) in row.iter().enumerate() {
                if !v.is_nan() {
                    sum[j] += f64::from(v);
                    count[j] += 1;
                }
            }
        }
        let mean: Vec<f64> = sum
            .iter()
            .zip(&count)
            .map(|(s, &n)| if n > 0 { s / f64::from(n) } else { f64::NAN })
            .collect();
        let mut sq = vec![0f64; width];
        for &r in rows {
            let row = &m.row(r)[start..start + width];
            for (j, &v) in row.iter().enumerate() {
                if !v.is_nan() {
                    let d = f64::from(v) - mean[j];
                    sq[j] += d * d;
                }
            }
        }
        for j in 0..width {
            out[j] = if count[j] > 0 {
                sq[j] / f64::from(count[j])
            } else {
                f64::NAN
            };
        }
    });
    out
}

/// The `k` columns of largest training variance; ties go to the earlier
/// column, and a column with no training value ranks last.
fn top_variance(m: &Matrix, train: &[usize], k: usize) -> Vec<usize> {
    let var = variances(m, train);
    let mut order: Vec<usize> = (0..m.cols()).collect();
    let key = |j: usize| {
        if var[j].is_nan() {
            f64::NEG_INFINITY
        } else {
            var[j]
        }
    };
    order.par_sort_unstable_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
    order.truncate(k.min(order.len()));
    order.sort_unstable();
    order
}

/// The columns named in `path`, one per line.
fn listed(m: &Matrix, path: &Path) -> Result<Vec<usize>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let index: std::collections::HashMap<&str, usize> = m
        .features
        .iter()
        .enumerate()
        .map(|(j, f)| (f.as_str(), j))
        .collect();
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
                m.source.display(),
                absent.len(),
                keep.len() + absent.len(),
                m.cols()
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
        let v = variances(&m, &[0, 1, 2]);
        assert!((v[0] - 2.0 / 3.0).abs() < 1e-12);
        assert!((v[1] - 200.0 / 3.0).abs() < 1e-9);
        assert_eq!(v[2], 0.0);
        assert!(v[4].is_nan());
        assert_eq!(top_variance(&m, &[0, 1, 2], 2), [1, 3]);
        assert_eq!(top_variance(&m, &[0, 1, 2], 3), [0, 1, 3]);
        // With row 3 in training, f2 would lead: the test set never may.
        assert_eq!(top_variance(&m, &[0, 1, 2, 3], 1), [2]);
        assert_eq!(top_variance(&m, &[0, 1, 2], 99), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_list_names_features_or_says_which_are_absent() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("keep.txt");
        std::fs::write(&p, "# markers\nf3\nf0  # the first\n\nf3\n").unwrap();
        assert_eq!(listed(&matrix(), &p).unwrap(), [0, 3]);
        std::fs::write(&p, "f1\ncg99\nf2\nrs1\n").unwrap();
        let e = listed(&matrix(), &p).unwrap_err().to_string();
        assert!(
            e.contains("keep.txt:2: feature \"cg99\" is not in m.tsv (2 of the 4 listed features are absent from its 5 features)"),
            "{e}"
        );
    }
}
