//! Writing a matrix and its labels as AnnData `.h5ad` (anndata's 0.2.0
//! dataframe encoding, dense float32 X), so that `data synth` can hand a
//! user, a test or a benchmark the format most single-cell and many
//! methylation pipelines keep.

use std::path::Path;

use hdf5_writer::{AttributeBuilder, DatasetBuilder, Hdf5Builder, Hdf5Writer, WriteOptions};

use crate::error::DataError;
use crate::matrix::Matrix;
use crate::sheet::Sheet;

fn encoding(kind: &str, version: &str) -> [AttributeBuilder; 2] {
    [
        AttributeBuilder::fixed_string("encoding-type", kind),
        AttributeBuilder::fixed_string("encoding-version", version),
    ]
}

fn strings(path: &str, values: &[&str]) -> Result<DatasetBuilder, hdf5_writer::Error> {
    let [a, b] = encoding("string-array", "0.2.0");
    Ok(
        DatasetBuilder::vlen_string_data(path, vec![values.len() as u64], values)?
            .attribute(a)
            .attribute(b),
    )
}

/// Adds a data frame at `at` with the index `index` and, per column, a
/// float64 array when every present value is a number (missing is NaN),
/// else a categorical of its distinct values (missing is code -1).
fn frame(
    mut b: Hdf5Builder,
    at: &str,
    index: &[String],
    columns: &[String],
    cell: impl Fn(usize, usize) -> Option<String>,
) -> Result<Hdf5Builder, hdf5_writer::Error> {
    for a in encoding("dataframe", "0.2.0") {
        b = b.group_attribute(at, a);
    }
    b = b
        .group_attribute(at, AttributeBuilder::fixed_string("_index", "_index"))
        .group_attribute(at, AttributeBuilder::vlen_strings("column-order", columns)?);
    let ids: Vec<&str> = index.iter().map(String::as_str).collect();
    b = b.dataset(strings(&format!("{at}/_index"), &ids)?);
    for (j, name) in columns.iter().enumerate() {
        let values: Vec<Option<String>> = (0..index.len()).map(|i| cell(i, j)).collect();
        let numbers: Option<Vec<f64>> = values
            .iter()
            .map(|v| match v {
                None => Some(f64::NAN),
                Some(t) => t.parse::<f64>().ok(),
            })
            .collect();
        let path = format!("{at}/{name}");
        if let Some(numbers) = numbers {
            let [e, v] = encoding("array", "0.2.0");
            b = b.dataset(
                DatasetBuilder::typed_data(path, vec![numbers.len() as u64], &numbers)?
                    .attribute(e)
                    .attribute(v),
            );
            continue;
        }
        let mut categories: Vec<&str> = values.iter().flatten().map(String::as_str).collect();
        categories.sort_unstable();
        categories.dedup();
        let codes: Vec<i32> = values
            .iter()
            .map(|v| match v {
                None => -1,
                Some(t) => categories.binary_search(&t.as_str()).unwrap_or(0) as i32,
            })
            .collect();
        for a in encoding("categorical", "0.2.0") {
            b = b.group_attribute(&path, a);
        }
        b = b
            .group_attribute(&path, AttributeBuilder::scalar("ordered", 0u8)?)
            .dataset(strings(&format!("{path}/categories"), &categories)?);
        let [e, v] = encoding("array", "0.2.0");
        b = b.dataset(
            DatasetBuilder::typed_data(format!("{path}/codes"), vec![codes.len() as u64], &codes)?
                .attribute(e)
                .attribute(v),
        );
    }
    Ok(b)
}

/// Writes `matrix` as X and `sheet`'s columns as `obs` (rows matched by
/// id; a sample the sheet lacks gets missing labels) to `path`, through a
/// temporary file renamed into place.
pub fn write(path: &Path, matrix: &Matrix, sheet: &Sheet) -> Result<(), DataError> {
    let row_of: std::collections::HashMap<&str, usize> = sheet
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let encoded = (|| -> Result<Vec<u8>, hdf5_writer::Error> {
        let mut b = Hdf5Builder::new();
        for a in encoding("anndata", "0.1.0") {
            b = b.attribute(a);
        }
        let [e, v] = encoding("array", "0.2.0");
        b = b.dataset(
            DatasetBuilder::typed_data(
                "X",
                vec![matrix.rows() as u64, matrix.cols() as u64],
                &matrix.values,
            )?
            .attribute(e)
            .attribute(v),
        );
        b = frame(b, "obs", &matrix.ids, &sheet.columns, |i, j| {
            row_of
                .get(matrix.ids[i].as_str())
                .and_then(|&r| sheet.cells[r][j].clone())
        })?;
        b = frame(b, "var", &matrix.features, &[], |_, _| None)?;
        let sink = Hdf5Writer::new(std::io::Cursor::new(Vec::new()), WriteOptions::default())
            .finish(b.into_plan()?)?;
        Ok(sink.into_inner())
    })()
    .map_err(|e| DataError::file(path, format!("cannot encode as HDF5: {e}")))?;
    crate::atomic::write_file(path, false, |w| w.write_all(&encoded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back() {
        let d = tempfile::tempdir().unwrap();
        let m = Matrix {
            ids: vec!["a".into(), "b".into(), "c".into()],
            features: vec!["cg1".into(), "cg2".into()],
            values: vec![0.5, f32::NAN, 1.0, 2.0, -3.25, 4.0],
            source: "m".into(),
        };
        let s = Sheet {
            ids: vec!["c".into(), "a".into()],
            columns: vec!["age".into(), "sex".into()],
            cells: vec![
                vec![Some("61.5".into()), Some("M".into())],
                vec![None, Some("F".into())],
            ],
            lines: vec![2, 3],
            source: "s".into(),
        };
        let p = d.path().join("x.h5ad");
        write(&p, &m, &s).unwrap();
        let (back, obs) = crate::h5ad::read(&p, None).unwrap();
        assert_eq!(back.ids, m.ids);
        assert_eq!(back.features, m.features);
        assert_eq!(back.values[0], 0.5);
        assert!(back.values[1].is_nan());
        assert_eq!(back.values[2..], m.values[2..]);
        assert_eq!(obs.columns, ["age", "sex"]);
        let cells: Vec<Vec<Option<&str>>> = obs
            .cells
            .iter()
            .map(|r| r.iter().map(|c| c.as_deref()).collect())
            .collect();
        assert_eq!(
            cells,
            [
                vec![None, Some("F")],
                vec![None, None],
                vec![Some("61.5"), Some("M")]
            ]
        );
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
