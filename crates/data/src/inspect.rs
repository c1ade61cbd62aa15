//! `headsweep data inspect`: what a feature file (and a sample sheet)
//! hold, before a sweep file is written — the format, samples × features,
//! whether the file may be transposed, missing values, uninformative
//! features, how the sheet's ids meet the matrix's, and the classes of
//! every label column.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;
use std::path::Path;

use crate::error::DataError;
use crate::formats::{detect, Format};
use crate::matrix::Matrix;
use crate::sheet::Sheet;

/// One label column: its distinct values with counts (most common first),
/// the missing count, and its numeric range when every value is a number.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelColumn {
    pub name: String,
    pub counts: Vec<(String, usize)>,
    pub missing: usize,
    pub numeric: Option<(f64, f64)>,
}

/// What `inspect` found.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub format: Format,
    pub samples: usize,
    pub features: usize,
    pub missing_cells: usize,
    /// Features missing in every sample, and the others that never vary.
    pub all_missing: usize,
    pub constant: usize,
    /// Where the labels come from (the sheet, or the file itself).
    pub labels_from: Option<String>,
    /// Sheet ids found as matrix rows, found among the feature names
    /// instead, and found nowhere; matrix samples without a sheet row.
    pub matched: Option<(usize, usize, usize, usize)>,
    pub columns: Vec<LabelColumn>,
    /// Why the file may be features × samples, when it looks so.
    pub orientation_hint: Option<String>,
}

fn label_columns(sheet: &Sheet) -> Vec<LabelColumn> {
    (0..sheet.columns.len())
        .map(|j| {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            let mut missing = 0;
            for row in &sheet.cells {
                match &row[j] {
                    Some(v) => *counts.entry(v.as_str()).or_default() += 1,
                    None => missing += 1,
                }
            }
            let numbers: Option<Vec<f64>> = counts.keys().map(|v| v.parse::<f64>().ok()).collect();
            let numeric = numbers.filter(|n| !n.is_empty()).map(|n| {
                (
                    n.iter().copied().fold(f64::INFINITY, f64::min),
                    n.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                )
            });
            let mut counts: Vec<(String, usize)> = counts
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            LabelColumn {
                name: sheet.columns[j].clone(),
                counts,
                missing,
                numeric,
            }
        })
        .collect()
}

/// Inspects `features` (read as `options` say) and, if given, the sheet
/// `labels` (its id column `id_column`).
pub fn inspect(
    features: &Path,
    options: &crate::source::ReadOptions,
    labels: Option<&Path>,
    id_column: Option<&str>,
) -> Result<Inspection, DataError> {
    let format = detect(features)?;
    let (m, carried): (Matrix, Option<Sheet>) = crate::source::read_features(features, options)?;
    let (n, p) = (m.rows(), m.cols());
    let mut all_missing = 0;
    let mut constant = 0;
    for j in 0..p {
        let mut first: Option<f32> = None;
        let mut varies = false;
        for i in 0..n {
            let v = m.values[i * p + j];
            if v.is_nan() {
                continue;
            }
            match first {
                None => first = Some(v),
                Some(f) if f != v => {
                    varies = true;
                    break;
                }
                Some(_) => {}
            }
        }
        match (first, varies) {
            (None, _) => all_missing += 1,
            (Some(_), false) => constant += 1,
            _ => {}
        }
    }
    let missing_cells = m.values.iter().filter(|v| v.is_nan()).count();
    let (sheet, labels_from) = match (labels, carried) {
        (Some(l), _) => (
            Some(Sheet::read(l, id_column)?),
            Some(l.display().to_string()),
        ),
        (None, Some(s)) => (Some(s), Some(format!("{} itself", features.display()))),
        (None, None) => (None, None),
    };
    let matched = sheet.as_ref().filter(|_| labels.is_some()).map(|s| {
        let rows: HashSet<&str> = m.ids.iter().map(String::as_str).collect();
        let cols: HashSet<&str> = m.features.iter().map(String::as_str).collect();
        let in_rows = s.ids.iter().filter(|i| rows.contains(i.as_str())).count();
        let in_cols = s
            .ids
            .iter()
            .filter(|i| !rows.contains(i.as_str()) && cols.contains(i.as_str()))
            .count();
        let sheet_ids: HashSet<&str> = s.ids.iter().map(String::as_str).collect();
        let unlabelled = m
            .ids
            .iter()
            .filter(|i| !sheet_ids.contains(i.as_str()))
            .count();
        (
            in_rows,
            in_cols,
            s.ids.len() - in_rows - in_cols,
            unlabelled,
        )
    });
    let orientation_hint = match matched {
        Some((rows, cols, _, _)) if cols > rows => Some(format!(
            "{cols} sheet ids are feature names (columns) of the matrix and {rows} are row ids: the file looks like features × samples; transpose it so that each row is a sample"
        )),
        _ if format == Format::Delimited && n > 20 * p.max(1) => Some(format!(
            "{n} rows × {p} columns: genomic matrices usually have far more features than samples, so this may be features × samples; each row must be a sample"
        )),
        _ => None,
    };
    Ok(Inspection {
        format,
        samples: n,
        features: p,
        missing_cells,
        all_missing,
        constant,
        labels_from,
        matched,
        columns: sheet.as_ref().map(label_columns).unwrap_or_default(),
        orientation_hint,
    })
}

impl std::fmt::Display for Inspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let format = match self.format {
            Format::Delimited => "CSV/TSV matrix",
            Format::Npy => "NumPy .npy matrix",
            Format::GeoSeriesMatrix => "GEO series matrix",
            Format::PlinkBed => "PLINK .bed genotypes",
            Format::AnnData => "AnnData .h5ad",
            Format::Parquet => "Parquet table",
        };
        let cells = (self.samples * self.features).max(1);
        writeln!(
            f,
            "{format}: {} samples × {} features",
            self.samples, self.features
        )?;
        writeln!(
            f,
            "missing: {} of {} cells ({:.2}%); features missing in every sample: {}; constant: {}",
            self.missing_cells,
            self.samples * self.features,
            100.0 * self.missing_cells as f64 / cells as f64,
            self.all_missing,
            self.constant
        )?;
        if let Some(h) = &self.orientation_hint {
            writeln!(f, "orientation: {h}")?;
        }
        if let Some((rows, cols, nowhere, unlabelled)) = self.matched {
            writeln!(
                f,
                "sheet ids: {rows} are matrix rows, {cols} are feature names, {nowhere} are in neither; {unlabelled} matrix samples have no sheet row"
            )?;
        }
        match &self.labels_from {
            None => writeln!(f, "labels: none (give a sample sheet with --labels)")?,
            Some(from) => {
                writeln!(f, "labels from {from}:")?;
                for c in &self.columns {
                    let mut line = format!("  {}: ", c.name);
                    if let Some((lo, hi)) = c.numeric {
                        let _ = write!(
                            line,
                            "numbers from {lo} to {hi}, {} distinct",
                            c.counts.len()
                        );
                    } else {
                        let shown: Vec<String> = c
                            .counts
                            .iter()
                            .take(12)
                            .map(|(v, k)| format!("{v} {k}"))
                            .collect();
                        let _ = write!(line, "{} classes: {}", c.counts.len(), shown.join(", "));
                        if c.counts.len() > 12 {
                            let _ = write!(line, ", …");
                        }
                    }
                    let _ = write!(line, "; {} missing", c.missing);
                    writeln!(f, "{line}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_missing_constant_classes_and_matches() {
        let d = tempfile::tempdir().unwrap();
        let x = d.path().join("x.tsv");
        std::fs::write(
            &x,
            "id\ta\tb\tc\ns1\t1\tNA\t5\ns2\t2\tNA\t5\ns3\tNA\tNA\t5\n",
        )
        .unwrap();
        let y = d.path().join("y.csv");
        std::fs::write(&y, "id,age,sex\ns1,30,F\ns2,40,M\ns9,50,F\nb,60,\n").unwrap();
        let r = inspect(&x, &Default::default(), Some(&y), None).unwrap();
        assert_eq!((r.samples, r.features, r.missing_cells), (3, 3, 4));
        assert_eq!((r.all_missing, r.constant), (1, 1));
        // s1, s2 are rows; "b" is a feature name; s9 nowhere; s3 unlabelled.
        assert_eq!(r.matched, Some((2, 1, 1, 1)));
        assert_eq!(r.columns[0].numeric, Some((30.0, 60.0)));
        assert_eq!(
            r.columns[1].counts,
            [("F".to_string(), 2), ("M".to_string(), 1)]
        );
        assert_eq!(r.columns[1].missing, 1);
        let text = r.to_string();
        assert!(
            text.contains("CSV/TSV matrix: 3 samples × 3 features"),
            "{text}"
        );
        assert!(
            text.contains("sex: 2 classes: F 2, M 1; 1 missing"),
            "{text}"
        );
    }

    /// A features × samples file: the sheet's ids are its column names.
    #[test]
    fn a_transposed_matrix_gets_a_hint() {
        let d = tempfile::tempdir().unwrap();
        let x = d.path().join("t.tsv");
        std::fs::write(
            &x,
            "probe\tS1\tS2\tS3\ncg1\t0.1\t0.2\t0.3\ncg2\t0.4\t0.5\t0.6\n",
        )
        .unwrap();
        let y = d.path().join("s.csv");
        std::fs::write(&y, "id,sex\nS1,F\nS2,M\nS3,F\n").unwrap();
        let r = inspect(&x, &Default::default(), Some(&y), None).unwrap();
        let hint = r.orientation_hint.unwrap();
        assert!(hint.contains("3 sheet ids are feature names"), "{hint}");
        assert!(hint.contains("features × samples"), "{hint}");
    }
}
