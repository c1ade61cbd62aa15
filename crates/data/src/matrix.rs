//! Feature matrices: samples × features, first column the sample id.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::error::DataError;
use crate::text::{checked_line, delimiter, is_missing, open};

/// A dense matrix of feature values; `NaN` marks a missing value.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub ids: Vec<String>,
    pub features: Vec<String>,
    /// Row-major, `ids.len() × features.len()`.
    pub values: Vec<f32>,
    /// Where the matrix came from, for error messages.
    pub source: PathBuf,
}

/// A 2-D, C-ordered float32 or float64 `.npy` array, from its header.
pub(crate) struct NpyLayout {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    /// float64, read as f32.
    pub(crate) wide: bool,
    /// Where the values start.
    pub(crate) offset: u64,
}

impl NpyLayout {
    /// The layout of the `.npy` whose first bytes (the header at least) are
    /// `head`; checks that the file holds every value.
    pub(crate) fn read(path: &Path, head: &[u8]) -> Result<Self, DataError> {
        let npy = npyz::NpyFile::new(head).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let shape = npy.shape().to_vec();
        if shape.len() != 2 {
            return Err(DataError::file(
                path,
                format!("expected a 2-D array, found shape {shape:?}"),
            ));
        }
        if npy.order() != npyz::Order::C {
            return Err(DataError::file(
                path,
                "expected a C-ordered (row-major) array",
            ));
        }
        let wide = match npy.dtype().descr().trim_matches('\'') {
            "<f4" => false,
            "<f8" => true,
            other => {
                return Err(DataError::file(
                    path,
                    format!("expected float32 or float64 values, found dtype {other}"),
                ))
            }
        };
        // Magic (6), version (2), header length (2 in version 1, else 4).
        let offset = if head[6] == 1 {
            10 + u64::from(u16::from_le_bytes([head[8], head[9]]))
        } else {
            12 + u64::from(u32::from_le_bytes([head[8], head[9], head[10], head[11]]))
        };
        let (rows, cols) = (shape[0] as usize, shape[1] as usize);
        let len = std::fs::metadata(path)
            .map_err(|source| DataError::Io {
                path: path.to_path_buf(),
                source,
            })?
            .len();
        let need = offset + (rows * cols * if wide { 8 } else { 4 }) as u64;
        if len < need {
            return Err(DataError::file(
                path,
                format!("truncated: {len} bytes where a {rows} × {cols} array needs {need}"),
            ));
        }
        Ok(NpyLayout {
            rows,
            cols,
            wide,
            offset,
        })
    }

    /// A matrix with the ids (one per line of `ids_path`) and feature names
    /// (of `names_path`, else `f0…`) of this array, and no values yet.
    pub(crate) fn axes(
        &self,
        path: &Path,
        ids_path: &Path,
        names_path: Option<&Path>,
    ) -> Result<Matrix, DataError> {
        let ids = read_lines(ids_path)?;
        if ids.len() != self.rows {
            return Err(DataError::file(
                ids_path,
                format!(
                    "{} ids for {} matrix rows in {}",
                    ids.len(),
                    self.rows,
                    path.display()
                ),
            ));
        }
        let features = match names_path {
            None => (0..self.cols).map(|j| format!("f{j}")).collect(),
            Some(names_path) => {
                let names = read_lines(names_path)?;
                if names.len() != self.cols {
                    return Err(DataError::file(
                        names_path,
                        format!(
                            "{} feature names for {} matrix columns in {}",
                            names.len(),
                            self.cols,
                            path.display()
                        ),
                    ));
                }
                names
            }
        };
        let m = Matrix {
            ids,
            features,
            values: Vec::new(),
            source: path.to_path_buf(),
        };
        let ids_source = ids_path.to_path_buf();
        m.check_unique_ids(|i| i as u64 + 1).map_err(|e| match e {
            DataError::At { line, message, .. } => DataError::At {
                path: ids_source,
                line,
                message,
            },
            e => e,
        })?;
        Ok(m)
    }
}

/// A file's non-empty lines, trimmed: ids or names, one per line.
pub(crate) fn read_lines(path: &Path) -> Result<Vec<String>, DataError> {
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = BufReader::new(File::open(path).map_err(io)?);
    Ok(text
        .lines()
        .collect::<Result<Vec<_>, _>>()
        .map_err(io)?
        .into_iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

impl Matrix {
    /// Reads a CSV/TSV (optionally .gz) matrix.
    pub(crate) fn read_delimited(path: &Path) -> Result<Matrix, DataError> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter(path))
            .has_headers(true)
            .flexible(true)
            .from_reader(open(path)?);
        let csv_err = |e: csv::Error| {
            let line = e.position().map_or(0, |p| p.line());
            DataError::at(path, line, e.to_string())
        };
        let header = reader.headers().map_err(csv_err)?.clone();
        if header.len() < 2 {
            return Err(DataError::at(
                path,
                1,
                "the header needs an id column and at least one feature column",
            ));
        }
        let features: Vec<String> = header.iter().skip(1).map(str::to_string).collect();
        let mut ids = Vec::new();
        let mut values = Vec::new();
        let mut record = csv::StringRecord::new();
        while reader.read_record(&mut record).map_err(csv_err)? {
            let line = checked_line(path, &record, &header)?;
            ids.push(record[0].to_string());
            for (j, cell) in record.iter().enumerate().skip(1) {
                values.push(parse_cell(cell).ok_or_else(|| {
                    DataError::at(
                        path,
                        line,
                        format!(
                            "column {} ({}): {cell:?} is not a number",
                            j + 1,
                            &header[j]
                        ),
                    )
                })?);
            }
        }
        let m = Matrix {
            ids,
            features,
            values,
            source: path.to_path_buf(),
        };
        m.check_unique_ids(|i| i as u64 + 2)?;
        Ok(m)
    }

    pub(crate) fn read_npy(
        path: &Path,
        ids_path: &Path,
        names_path: Option<&Path>,
    ) -> Result<Matrix, DataError> {
        let bytes = std::fs::read(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let layout = NpyLayout::read(path, &bytes)?;
        let data = &bytes[layout.offset as usize..];
        let values: Vec<f32> = if layout.wide {
            data.chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
                .collect()
        } else {
            data.chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                .collect()
        };
        let mut m = layout.axes(path, ids_path, names_path)?;
        m.values = values;
        m.check_finite()?;
        Ok(m)
    }

    /// Refuses an infinite value, naming its sample and feature.
    pub(crate) fn check_finite(&self) -> Result<(), DataError> {
        match self.values.iter().position(|v| v.is_infinite()) {
            None => Ok(()),
            Some(k) => Err(self.infinite_at(k / self.cols(), k % self.cols())),
        }
    }

    pub(crate) fn infinite_at(&self, row: usize, col: usize) -> DataError {
        DataError::file(
            &self.source,
            format!(
                "sample {:?}, feature {:?}: infinite value",
                self.ids[row], self.features[col]
            ),
        )
    }

    /// The matrix with rows and columns swapped: a file written a column
    /// per sample, read as a row per sample (its header names the samples,
    /// its first column the features).
    pub(crate) fn transposed(self) -> Result<Matrix, DataError> {
        let (n, p) = (self.rows(), self.cols());
        let mut values = vec![0f32; n * p];
        for i in 0..n {
            for j in 0..p {
                values[j * n + i] = self.values[i * p + j];
            }
        }
        let m = Matrix {
            ids: self.features,
            features: self.ids,
            values,
            source: self.source,
        };
        // Sample ids now come from the header, line 1.
        m.check_unique_ids(|_| 1)?;
        Ok(m)
    }

    pub(crate) fn check_unique_ids(&self, line_of: impl Fn(usize) -> u64) -> Result<(), DataError> {
        let mut seen = HashMap::with_capacity(self.ids.len());
        for (i, id) in self.ids.iter().enumerate() {
            if let Some(first) = seen.insert(id.as_str(), i) {
                return Err(DataError::at(
                    &self.source,
                    line_of(i),
                    format!(
                        "duplicate sample id {id:?} (first on line {})",
                        line_of(first)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The matrix with only the columns `keep` (indices, in the order given).
    pub(crate) fn with_columns(self, keep: &[usize]) -> Matrix {
        let p = self.cols();
        if keep.len() == p && keep.iter().enumerate().all(|(i, &j)| i == j) {
            return self;
        }
        let values = (0..self.rows())
            .flat_map(|r| keep.iter().map(move |&j| r * p + j))
            .map(|k| self.values[k])
            .collect();
        Matrix {
            features: keep.iter().map(|&j| self.features[j].clone()).collect(),
            values,
            ids: self.ids,
            source: self.source,
        }
    }

    pub fn rows(&self) -> usize {
        self.ids.len()
    }

    pub fn cols(&self) -> usize {
        self.features.len()
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.cols()..(i + 1) * self.cols()]
    }
}

pub(crate) fn parse_cell(cell: &str) -> Option<f32> {
    if is_missing(cell) {
        return Some(f32::NAN);
    }
    cell.trim().parse::<f32>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use npyz::WriterBuilder;
    use std::io::Write;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_tsv_with_missing_cells() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "m.tsv",
            "id\ta\tb\ns1\t0.5\tNA\ns2\t\t1e-3\ns3\tNaN\t2\n",
        );
        let m = Matrix::read_delimited(&p).unwrap();
        assert_eq!(m.ids, ["s1", "s2", "s3"]);
        assert_eq!(m.features, ["a", "b"]);
        assert_eq!(m.row(0)[0], 0.5);
        assert!(m.row(0)[1].is_nan() && m.row(1)[0].is_nan() && m.row(2)[0].is_nan());
        assert_eq!(m.row(1)[1], 1e-3);
    }

    #[test]
    fn reads_gzipped_csv() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("m.csv.gz");
        let mut gz =
            flate2::write::GzEncoder::new(File::create(&p).unwrap(), flate2::Compression::fast());
        gz.write_all(b"id,a\nx,1\ny,2\n").unwrap();
        gz.finish().unwrap();
        let m = Matrix::read_delimited(&p).unwrap();
        assert_eq!(m.values, [1.0, 2.0]);
    }

    #[test]
    fn ragged_and_non_numeric_rows_name_file_and_line() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "m.csv", "id,a,b\ns1,1,2\ns2,3\n");
        let e = Matrix::read_delimited(&p).unwrap_err().to_string();
        assert!(
            e.ends_with("m.csv:3: ragged row: 2 fields, the header has 3"),
            "{e}"
        );
        let p = write(d.path(), "n.csv", "id,a,b\ns1,1,2\ns2,3,high\n");
        let e = Matrix::read_delimited(&p).unwrap_err().to_string();
        assert!(
            e.ends_with("n.csv:3: column 3 (b): \"high\" is not a number"),
            "{e}"
        );
        let p = write(d.path(), "i.csv", "id,a\ns1,inf\n");
        assert!(Matrix::read_delimited(&p)
            .unwrap_err()
            .to_string()
            .contains("i.csv:2:"));
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "m.csv", "id,a\ns1,1\ns2,2\ns1,3\n");
        let e = Matrix::read_delimited(&p).unwrap_err().to_string();
        assert!(
            e.ends_with("m.csv:4: duplicate sample id \"s1\" (first on line 2)"),
            "{e}"
        );
    }

    #[test]
    fn reads_npy_with_an_ids_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("m.npy");
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[2, 3])
            .writer(File::create(&p).unwrap())
            .begin_nd()
            .unwrap();
        w.extend([1.0f64, 2.0, f64::NAN, 4.0, 5.0, 6.0]).unwrap();
        w.finish().unwrap();
        let ids = write(d.path(), "ids.txt", "a\nb\n");
        let m = Matrix::read_npy(&p, &ids, None).unwrap();
        assert_eq!(m.ids, ["a", "b"]);
        assert_eq!(m.features, ["f0", "f1", "f2"]);
        assert_eq!(m.row(1), [4.0, 5.0, 6.0]);
        assert!(m.row(0)[2].is_nan());
        let short = write(d.path(), "short.txt", "a\n");
        assert!(Matrix::read_npy(&p, &short, None)
            .unwrap_err()
            .to_string()
            .contains("1 ids for 2 matrix rows"));
        let names = write(d.path(), "names.txt", "cg1\ncg2\ncg3\n");
        let m = Matrix::read_npy(&p, &ids, Some(&names)).unwrap();
        assert_eq!(m.features, ["cg1", "cg2", "cg3"]);
        let e = Matrix::read_npy(&p, &ids, Some(&short))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("short.txt: 1 feature names for 3 matrix columns"),
            "{e}"
        );
    }
}
