//! Assembling a model-ready data set from a matrix and a sheet.

use std::collections::HashMap;

use headsweep_spec::{DataConfig, Missing, TaskConfig, Unmatched};
use tracing::info;

use crate::error::DataError;
use crate::labels::{encode, TaskLabels};
use crate::matrix::Matrix;
use crate::sheet::Sheet;
use crate::split::{cover, k_fold, stratified, Part};

/// Per-feature centring and scaling, fitted on the training split.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaler {
    /// Training mean; also the value a missing cell is imputed with.
    pub mean: Vec<f64>,
    /// Training standard deviation (population, ddof 0), or 1 where the
    /// feature does not vary in training (left unscaled).
    pub scale: Vec<f64>,
}

impl Scaler {
    /// Maps a raw value of feature `j` to model input space.
    pub fn transform(&self, j: usize, raw: f64) -> f64 {
        let v = if raw.is_nan() { self.mean[j] } else { raw };
        (v - self.mean[j]) / self.scale[j]
    }
}

/// Samples with at least one label, their standardised features, labels and
/// split.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub ids: Vec<String>,
    pub feature_names: Vec<String>,
    /// Row-major `n × p`, imputed and standardised.
    pub x: crate::values::Values,
    pub tasks: Vec<TaskLabels>,
    pub parts: Vec<Part>,
    pub scaler: Scaler,
    /// Matrix rows dropped because they had no label for any task.
    pub dropped: usize,
    /// Sheet ids the matrix lacks, left out (`data.unmatched = "drop"`).
    pub unmatched: usize,
    /// Features dropped for missing too often in training (`data.missing`).
    pub dropped_features: usize,
    /// With `data.select`, how many features there were to select from.
    pub selected_from: Option<usize>,
    /// For generated data, what each feature carries: "age", "sex" or
    /// "none" (the generator's ground truth).
    pub truth: Option<Vec<String>>,
}

impl Dataset {
    pub fn n_samples(&self) -> usize {
        self.ids.len()
    }

    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    /// What the data set holds, in a few lines: samples and features, what
    /// was dropped, the split, and each task's classes with their training
    /// counts (and its unlabelled samples).
    pub fn summary(&self) -> String {
        let count = |part: Part| self.parts.iter().filter(|p| **p == part).count();
        let mut extra = if self.unmatched > 0 {
            format!("; {} sheet ids not in the matrix left out", self.unmatched)
        } else {
            String::new()
        };
        if self.dropped_features > 0 {
            extra += &format!(
                "; {} features dropped for missing values",
                self.dropped_features
            );
        }
        if let Some(from) = self.selected_from {
            extra += &format!(
                "; {} of {from} features selected on the training samples",
                self.n_features()
            );
        }
        let mut out = format!(
            "{} samples × {} features ({} dropped: no label for any task{extra}); train {}, val {}, test {}\n",
            self.n_samples(),
            self.n_features(),
            self.dropped,
            count(Part::Train),
            count(Part::Val),
            count(Part::Test)
        );
        for t in &self.tasks {
            let mut train = vec![0usize; t.classes.len()];
            let mut unlabelled = 0;
            for (l, p) in t.labels.iter().zip(&self.parts) {
                match l {
                    Some(c) if *p == Part::Train => train[*c] += 1,
                    None => unlabelled += 1,
                    _ => {}
                }
            }
            let classes: Vec<String> = t
                .classes
                .iter()
                .zip(&train)
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            out += &format!(
                "  {}: {} classes, training counts {}; {} samples unlabelled\n",
                t.name,
                t.classes.len(),
                classes.join(", "),
                unlabelled
            );
        }
        out
    }

    /// Sample indices of one part, in data order.
    pub fn indices(&self, part: Part) -> Vec<usize> {
        (0..self.n_samples())
            .filter(|&i| self.parts[i] == part)
            .collect()
    }
}

/// Which matrix rows become samples: joined with the sheet, labelled and
/// split — all decided from ids and labels, before any feature is read.
pub(crate) struct Rows {
    /// (matrix row, sheet row) of each sample, in matrix order.
    pub(crate) keep: Vec<(usize, usize)>,
    pub(crate) tasks: Vec<TaskLabels>,
    pub(crate) parts: Vec<Part>,
    pub(crate) dropped: usize,
    pub(crate) unmatched: usize,
}

impl Rows {
    /// Matrix rows of the training samples.
    pub(crate) fn train(&self) -> Vec<usize> {
        self.keep
            .iter()
            .zip(&self.parts)
            .filter(|(_, &pt)| pt == Part::Train)
            .map(|(&(r, _), _)| r)
            .collect()
    }

    /// Matrix rows of every sample.
    pub(crate) fn kept(&self) -> Vec<usize> {
        self.keep.iter().map(|&(r, _)| r).collect()
    }

    /// The same samples for a matrix of theirs alone, in their order.
    pub(crate) fn renumbered(mut self) -> Rows {
        for (i, k) in self.keep.iter_mut().enumerate() {
            k.0 = i;
        }
        self
    }
}

pub(crate) fn assemble(
    matrix: Matrix,
    sheet: &Sheet,
    config: &DataConfig,
    tasks: &[TaskConfig],
) -> Result<Dataset, DataError> {
    let rows = plan_rows(
        &matrix.ids,
        &matrix.features,
        &matrix.source,
        sheet,
        config,
        tasks,
    )?;
    let (train_rows, kept_rows) = (rows.train(), rows.kept());
    let (matrix, dropped_features) =
        apply_missing(matrix, config.missing, &kept_rows, &train_rows)?;
    let selected_from = config.select.as_ref().map(|_| matrix.cols());
    let matrix = match &config.select {
        None => matrix,
        Some(select) => {
            let keep = crate::select::columns(&matrix, select, &train_rows)?;
            matrix.with_columns(&keep)
        }
    };
    finish(matrix, rows, dropped_features, selected_from)
}

/// [`Rows`] for a matrix with row ids `ids` and columns `features` read
/// from `source`.
pub(crate) fn plan_rows(
    ids: &[String],
    features: &[String],
    source: &std::path::Path,
    sheet: &Sheet,
    config: &DataConfig,
    tasks: &[TaskConfig],
) -> Result<Rows, DataError> {
    let row_of: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let missing: Vec<(&String, u64)> = sheet
        .ids
        .iter()
        .zip(&sheet.lines)
        .filter(|(id, _)| !row_of.contains_key(id.as_str()))
        .map(|(id, &l)| (id, l))
        .collect();
    match (missing.first(), config.unmatched) {
        (Some(&(id, line)), Unmatched::Error) => {
            let columns: std::collections::HashSet<&str> =
                features.iter().map(String::as_str).collect();
            let as_columns = missing
                .iter()
                .filter(|(id, _)| columns.contains(id.as_str()))
                .count();
            let hint = if as_columns * 2 > missing.len() {
                format!("; {as_columns} of them are column names of the matrix, so it looks like features × samples: set data.orientation = \"features_by_samples\"")
            } else {
                "; data.unmatched = \"drop\" leaves them out".to_string()
            };
            return Err(DataError::at(
                &sheet.source,
                line,
                format!(
                    "sample {id:?} is not in the feature matrix {} ({} of {} sheet ids are missing from it){hint}",
                    source.display(),
                    missing.len(),
                    sheet.ids.len()
                ),
            ));
        }
        (Some(_), Unmatched::Drop) => {
            info!(
                unmatched = missing.len(),
                "sheet ids not in the matrix left out"
            );
        }
        (None, _) => {}
    }
    let unmatched = missing.len();
    let encoded: Vec<TaskLabels> = tasks
        .iter()
        .map(|t| encode(t, sheet))
        .collect::<Result<_, _>>()?;

    // Matrix order; a sample is kept when any task labels it.
    let sheet_row: HashMap<&str, usize> = sheet
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut keep = Vec::new();
    for (r, id) in ids.iter().enumerate() {
        if let Some(&s) = sheet_row.get(id.as_str()) {
            if encoded.iter().any(|t| t.labels[s].is_some()) {
                keep.push((r, s));
            }
        }
    }
    let dropped = ids.len() - keep.len();
    if dropped > 0 {
        info!(dropped, "samples without any label dropped");
    }
    if keep.is_empty() {
        return Err(DataError::NoLabelledSample);
    }
    let tasks: Vec<TaskLabels> = encoded
        .into_iter()
        .map(|t| TaskLabels {
            labels: keep.iter().map(|&(_, s)| t.labels[s]).collect(),
            values: keep.iter().map(|&(_, s)| t.values[s]).collect(),
            ..t
        })
        .collect();

    let joint: Vec<Vec<Option<usize>>> = (0..keep.len())
        .map(|i| tasks.iter().map(|t| t.labels[i]).collect())
        .collect();
    let parts = match (config.folds, config.fold) {
        (Some(k), fold) => k_fold(&joint, k, fold.unwrap_or(0), config.seed),
        _ => {
            let mut parts = stratified(&joint, config.split, config.seed);
            let labels: Vec<Vec<Option<usize>>> = tasks.iter().map(|t| t.labels.clone()).collect();
            cover(&mut parts, &labels, config.seed);
            parts
        }
    };
    for t in &tasks {
        let mut in_train = vec![false; t.classes.len()];
        for (l, p) in t.labels.iter().zip(&parts) {
            if let (Some(c), Part::Train) = (l, p) {
                in_train[*c] = true;
            }
        }
        if let Some(c) = in_train.iter().position(|&b| !b) {
            let total = t.labels.iter().filter(|l| **l == Some(c)).count();
            return Err(DataError::ClassNotInTraining {
                task: t.name.clone(),
                class: t.classes[c].clone(),
                total,
            });
        }
    }

    Ok(Rows {
        keep,
        tasks,
        parts,
        dropped,
        unmatched,
    })
}

/// The data set from `matrix`, its columns already chosen (by
/// `data.missing` and `data.select`): imputed and standardised with the
/// training statistics.
pub(crate) fn finish(
    matrix: Matrix,
    rows: Rows,
    dropped_features: usize,
    selected_from: Option<usize>,
) -> Result<Dataset, DataError> {
    let train_rows = rows.train();
    let Rows {
        keep,
        tasks,
        parts,
        dropped,
        unmatched,
    } = rows;
    let p = matrix.cols();
    let (scaler, missing, constant) = fit_scaler(&matrix, &train_rows);
    if missing + constant == p {
        return Err(DataError::NoInformativeFeature {
            path: matrix.source.clone(),
            total: p,
            missing,
            constant,
            train: train_rows.len(),
        });
    }
    if missing > 0 {
        info!(
            missing,
            "features missing in every training sample (imputed as 0 after scaling)"
        );
    }
    let mut x = Vec::with_capacity(keep.len() * p);
    for &(r, _) in &keep {
        x.extend(
            matrix
                .row(r)
                .iter()
                .enumerate()
                .map(|(j, &v)| scaler.transform(j, v as f64) as f32),
        );
    }
    Ok(Dataset {
        ids: keep.iter().map(|&(r, _)| matrix.ids[r].clone()).collect(),
        feature_names: matrix.features,
        x: x.into(),
        tasks,
        parts,
        scaler,
        dropped,
        unmatched,
        dropped_features,
        selected_from,
        truth: None,
    })
}

/// `data.missing`: refuse any missing cell of the kept samples, or drop the
/// features missing in more than a fraction of the training samples (how
/// many, returned); imputation itself happens when scaling.
fn apply_missing(
    matrix: Matrix,
    policy: Missing,
    kept: &[usize],
    train: &[usize],
) -> Result<(Matrix, usize), DataError> {
    let p = matrix.cols();
    match policy {
        Missing::Impute => Ok((matrix, 0)),
        Missing::Error => {
            let cells = kept
                .iter()
                .flat_map(|&r| {
                    matrix
                        .row(r)
                        .iter()
                        .enumerate()
                        .map(move |(j, v)| (r, j, *v))
                })
                .filter(|(_, _, v)| v.is_nan());
            let mut count = 0;
            let mut first = None;
            for (r, j, _) in cells {
                count += 1;
                first.get_or_insert((r, j));
            }
            match first {
                None => Ok((matrix, 0)),
                Some((r, j)) => Err(missing_cell_error(
                    &matrix.source,
                    &matrix.ids[r],
                    &matrix.features[j],
                    count,
                )),
            }
        }
        Missing::Drop { max_fraction } => {
            let n = train.len().max(1) as f64;
            let keep: Vec<usize> = (0..p)
                .filter(|&j| {
                    let missing = train.iter().filter(|&&r| matrix.row(r)[j].is_nan()).count();
                    missing as f64 / n <= max_fraction
                })
                .collect();
            if keep.is_empty() {
                return Err(all_missing_error(&matrix.source, p, max_fraction));
            }
            let dropped = p - keep.len();
            if dropped == 0 {
                return Ok((matrix, 0));
            }
            Ok((matrix.with_columns(&keep), dropped))
        }
    }
}

/// `data.missing = "error"` met a missing cell: the first, and how many.
pub(crate) fn missing_cell_error(
    source: &std::path::Path,
    id: &str,
    feature: &str,
    count: usize,
) -> DataError {
    DataError::file(
        source,
        format!(
            "sample {id:?}, feature {feature:?} is missing ({count} missing cells in all) and data.missing = \"error\"; \"impute\" fills them with the training mean, {{ max_fraction = F }} drops the features missing most"
        ),
    )
}

/// `data.missing = { max_fraction }` left no feature.
pub(crate) fn all_missing_error(
    source: &std::path::Path,
    p: usize,
    max_fraction: f64,
) -> DataError {
    DataError::file(
        source,
        format!("every one of the {p} features is missing in more than {max_fraction} of the training samples (data.missing)"),
    )
}

/// Means and population standard deviations over the training rows,
/// ignoring missing cells. A feature missing in every training row gets mean
/// 0; one that does not vary gets scale 1. Also how many features are
/// missing in every training row, and how many others are constant there.
fn fit_scaler(m: &Matrix, rows: &[usize]) -> (Scaler, usize, usize) {
    let p = m.cols();
    let mut sum = vec![0.0f64; p];
    let mut count = vec![0usize; p];
    for &r in rows {
        for (j, &v) in m.row(r).iter().enumerate() {
            if !v.is_nan() {
                sum[j] += v as f64;
                count[j] += 1;
            }
        }
    }
    let mean: Vec<f64> = sum
        .iter()
        .zip(&count)
        .map(|(s, &c)| if c > 0 { s / c as f64 } else { 0.0 })
        .collect();
    let mut sq = vec![0.0f64; p];
    for &r in rows {
        for (j, &v) in m.row(r).iter().enumerate() {
            // Imputed cells sit at the mean and add nothing.
            if !v.is_nan() {
                sq[j] += (v as f64 - mean[j]).powi(2);
            }
        }
    }
    let n = rows.len().max(1) as f64;
    let missing = count.iter().filter(|&&c| c == 0).count();
    let constant = sq
        .iter()
        .zip(&count)
        .filter(|&(s, &c)| c > 0 && *s == 0.0)
        .count();
    let scale = sq
        .iter()
        .map(|s| (s / n).sqrt())
        .map(|sd| if sd > 0.0 { sd } else { 1.0 })
        .collect();
    (Scaler { mean, scale }, missing, constant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use headsweep_spec::Split;

    fn config() -> DataConfig {
        DataConfig {
            synthetic: None,
            features: None,
            ids: None,
            labels: None,
            id_column: None,
            seed: 0,
            split: Split {
                train: 0.5,
                val: 0.25,
                test: 0.25,
            },
            folds: None,
            fold: None,
            ..Default::default()
        }
    }

    fn task(name: &str) -> TaskConfig {
        TaskConfig::named(name)
    }

    fn matrix(ids: &[&str], values: Vec<f32>) -> Matrix {
        let p = values.len() / ids.len();
        Matrix {
            ids: ids.iter().map(|s| s.to_string()).collect(),
            features: (0..p).map(|j| format!("f{j}")).collect(),
            values,
            source: "m.csv".into(),
        }
    }

    fn sheet(rows: &[(&str, Option<&str>, Option<&str>)]) -> Sheet {
        Sheet {
            ids: rows.iter().map(|r| r.0.to_string()).collect(),
            columns: vec!["a".into(), "b".into()],
            cells: rows
                .iter()
                .map(|r| vec![r.1.map(str::to_string), r.2.map(str::to_string)])
                .collect(),
            lines: (2..2 + rows.len() as u64).collect(),
            source: "s.csv".into(),
        }
    }

    #[test]
    fn unlabelled_samples_are_dropped_and_partial_ones_kept() {
        let m = matrix(
            &["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"],
            (0..9).map(|v| v as f32).collect(),
        );
        let s = sheet(&[
            ("s1", Some("x"), Some("p")),
            ("s2", Some("y"), Some("q")),
            ("s3", Some("x"), None),
            ("s4", None, None),
            ("s5", Some("y"), Some("p")),
            ("s6", Some("x"), Some("q")),
            ("s7", Some("y"), Some("q")),
            ("s8", Some("x"), Some("p")),
        ]);
        let d = assemble(m, &s, &config(), &[task("a"), task("b")]).unwrap();
        // s4 has no label, s9 is not in the sheet.
        assert_eq!(d.dropped, 2);
        let text = d.summary();
        assert!(
            text.starts_with("7 samples × 1 features (2 dropped: no label for any task)"),
            "{text}"
        );
        assert!(
            text.contains("  b: 2 classes, training counts p "),
            "{text}"
        );
        assert!(text.contains("; 1 samples unlabelled"), "{text}");
        assert_eq!(d.n_samples(), 7);
        assert_eq!(d.tasks[1].labels[2], None);
        assert_eq!(d.tasks[0].labels[2], Some(0));
    }

    #[test]
    fn imputation_and_scaling_use_training_rows_only() {
        // Two features; the second never varies, so it is centred only.
        let ids = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let first = [1.0, 3.0, f32::NAN, 7.0, 100.0, 40.0, 2.0, 8.0];
        let values: Vec<f32> = first.iter().flat_map(|&v| [v, 5.0]).collect();
        let rows: Vec<(&str, Option<&str>, Option<&str>)> =
            ids.iter().map(|&i| (i, Some("x"), Some("p"))).collect();
        let m = matrix(&ids, values);
        let d = assemble(m.clone(), &sheet(&rows), &config(), &[task("a")]).unwrap();
        let train = d.indices(Part::Train);
        assert_eq!(train.len(), 4);
        let raw: Vec<f64> = train
            .iter()
            .map(|&i| m.row(i)[0] as f64)
            .filter(|v| !v.is_nan())
            .collect();
        let mean = raw.iter().sum::<f64>() / raw.len() as f64;
        assert!((d.scaler.mean[0] - mean).abs() < 1e-12);
        let sd = (raw.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / train.len() as f64).sqrt();
        assert!((d.scaler.scale[0] - sd).abs() < 1e-12);
        assert_eq!((d.scaler.mean[1], d.scaler.scale[1]), (5.0, 1.0));
        assert!((0..d.n_samples()).all(|i| d.x[i * 2 + 1] == 0.0));
        // The missing cell (row c) is imputed with the training mean → 0.
        let c = d.ids.iter().position(|id| id == "c").unwrap();
        assert_eq!(d.x[c * 2], 0.0);
    }

    /// All-missing or constant features teach nothing: a matrix with no
    /// other is refused, naming the counts; one varying feature suffices.
    #[test]
    fn a_matrix_with_no_varying_training_feature_is_refused() {
        let ids = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let rows: Vec<(&str, Option<&str>, Option<&str>)> =
            ids.iter().map(|&i| (i, Some("x"), Some("p"))).collect();
        let nan_and_constant: Vec<f32> = ids.iter().flat_map(|_| [f32::NAN, 3.0]).collect();
        let e = assemble(
            matrix(&ids, nan_and_constant),
            &sheet(&rows),
            &config(),
            &[task("a")],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("m.csv: no feature varies in the 4 training samples (1 of 2 features are missing in all of them, 1 are constant)"),
            "{e}"
        );
        let one_varies: Vec<f32> = (0..8).flat_map(|i| [f32::NAN, i as f32]).collect();
        assert!(assemble(
            matrix(&ids, one_varies),
            &sheet(&rows),
            &config(),
            &[task("a")]
        )
        .is_ok());
    }

    #[test]
    fn sheet_ids_missing_from_the_matrix_are_refused() {
        let m = matrix(&["s1"], vec![0.0]);
        let s = sheet(&[("s1", Some("x"), None), ("zz", Some("y"), None)]);
        let e = assemble(m, &s, &config(), &[task("a")])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("s.csv:3: sample \"zz\" is not in the feature matrix m.csv"),
            "{e}"
        );
    }

    /// Sheet ids the matrix lacks: dropped and counted when asked; a hint
    /// to transpose when they are the matrix's column names.
    #[test]
    fn unmatched_sheet_ids_are_dropped_or_explained() {
        let ids = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let mut rows: Vec<(&str, Option<&str>, Option<&str>)> =
            ids.iter().map(|&i| (i, Some("x"), Some("p"))).collect();
        rows.push(("zz", Some("x"), None));
        let m = matrix(&ids, (0..8).map(|v| v as f32).collect());
        let e = assemble(m.clone(), &sheet(&rows), &config(), &[task("a")])
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("; data.unmatched = \"drop\" leaves them out"),
            "{e}"
        );
        let mut cfg = config();
        cfg.unmatched = Unmatched::Drop;
        let d = assemble(m, &sheet(&rows), &cfg, &[task("a")]).unwrap();
        assert_eq!((d.unmatched, d.n_samples()), (1, 8));
        assert!(d
            .summary()
            .contains("1 sheet ids not in the matrix left out"));
        // Features × samples: the sheet's ids are the matrix's columns.
        let t = Matrix {
            ids: vec!["cg1".into(), "cg2".into()],
            features: ids.iter().map(|s| s.to_string()).collect(),
            values: (0..16).map(|v| v as f32).collect(),
            source: "t.tsv".into(),
        };
        let rows: Vec<(&str, Option<&str>, Option<&str>)> =
            ids.iter().map(|&i| (i, Some("x"), None)).collect();
        let e = assemble(t, &sheet(&rows), &config(), &[task("a")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("8 of them are column names of the matrix, so it looks like features × samples: set data.orientation = \"features_by_samples\""),
            "{e}"
        );
    }

    /// data.missing: an error names a missing cell; max_fraction drops the
    /// features missing in more of the training samples, and says so.
    #[test]
    fn missing_cells_by_policy() {
        let ids = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let rows: Vec<(&str, Option<&str>, Option<&str>)> =
            ids.iter().map(|&i| (i, Some("x"), Some("p"))).collect();
        // f0 complete, f1 missing in every other sample, f2 in one.
        let values: Vec<f32> = (0..8)
            .flat_map(|i| {
                let f1 = if i % 2 == 0 { f32::NAN } else { 1.0 + i as f32 };
                let f2 = if i == 7 { f32::NAN } else { i as f32 * 0.5 };
                [i as f32, f1, f2]
            })
            .collect();
        let m = matrix(&ids, values);
        let mut cfg = config();
        cfg.missing = Missing::Error;
        let e = assemble(m.clone(), &sheet(&rows), &cfg, &[task("a")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("m.csv: sample \"a\", feature \"f1\" is missing (5 missing cells in all)"),
            "{e}"
        );
        cfg.missing = Missing::Drop { max_fraction: 0.3 };
        let d = assemble(m.clone(), &sheet(&rows), &cfg, &[task("a")]).unwrap();
        assert_eq!(
            d.feature_names,
            ["f0", "f2"],
            "f1 is missing in half the training samples"
        );
        assert_eq!(d.dropped_features, 1);
        assert!(d
            .summary()
            .contains("1 features dropped for missing values"));
        cfg.missing = Missing::Drop { max_fraction: 0.0 };
        let kept = assemble(m, &sheet(&rows), &cfg, &[task("a")]).unwrap();
        assert!(
            kept.feature_names.contains(&"f0".to_string())
                && !kept.feature_names.contains(&"f1".to_string())
        );
    }

    #[test]
    fn a_class_without_training_samples_is_refused() {
        let ids = ["a", "b", "c", "d", "e", "f"];
        let m = matrix(&ids, (0..6).map(|v| v as f32).collect());
        let rows: Vec<(&str, Option<&str>, Option<&str>)> = ids
            .iter()
            .map(|&i| (i, Some(if i == "f" { "rare" } else { "x" }), None))
            .collect();
        let mut cfg = config();
        cfg.folds = Some(3);
        cfg.fold = Some(0);
        // With k-fold the lone "rare" sample lands in some fold; the folds
        // that put it in test or validation leave training without it.
        let errors: Vec<String> = (0..3)
            .filter_map(|f| {
                cfg.fold = Some(f);
                assemble(m.clone(), &sheet(&rows), &cfg, &[task("a")])
                    .err()
                    .map(|e| e.to_string())
            })
            .collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0]
                .contains("task \"a\" class rare has no training sample (1 in the whole data set)"),
            "{}",
            errors[0]
        );
    }
}
