//! GEO series matrices (`GSExxx_series_matrix.txt.gz`), read as GEO writes
//! them: `!Series_…` and `!Sample_…` metadata lines, then the values
//! between `!series_matrix_table_begin` and `!series_matrix_table_end`, one
//! row per feature (probe or CpG) and one column per sample. The matrix is
//! turned to samples × features; each `!Sample_characteristics_ch1` entry
//! `key: value` becomes a label column `key`, so a methylation series needs
//! no sample sheet.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::error::DataError;
use crate::matrix::Matrix;
use crate::sheet::Sheet;
use crate::text::{is_missing, open};

const BEGIN: &str = "!series_matrix_table_begin";
const END: &str = "!series_matrix_table_end";

/// Fields of a tab-separated GEO line, quotes removed.
fn fields(line: &str) -> Vec<String> {
    line.trim_end_matches(['\n', '\r'])
        .split('\t')
        .map(|f| f.trim().trim_matches('"').to_string())
        .collect()
}

/// The label columns from the metadata lines: `(column, per-sample value)`
/// in the order first seen; `n` samples.
fn characteristics(
    lines: &[(u64, Vec<String>)],
    n: usize,
) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let mut columns: Vec<String> = Vec::new();
    let mut cells: Vec<Vec<Option<String>>> = vec![Vec::new(); n];
    let mut index: HashMap<String, usize> = HashMap::new();
    for (_, f) in lines {
        for (i, entry) in f.iter().skip(1).take(n).enumerate() {
            let Some((key, value)) = entry.split_once(':') else {
                continue;
            };
            let key = key.trim().to_string();
            let j = *index.entry(key.clone()).or_insert_with(|| {
                columns.push(key);
                columns.len() - 1
            });
            for row in &mut cells {
                row.resize(columns.len(), None);
            }
            let value = value.trim();
            cells[i][j] = (!is_missing(value) && value != "null").then(|| value.to_string());
        }
    }
    for row in &mut cells {
        row.resize(columns.len(), None);
    }
    (columns, cells)
}

/// Reads a series matrix: samples × features, and the samples'
/// characteristics as a sheet keyed by GSM accession.
pub fn read(path: &Path) -> Result<(Matrix, Sheet), DataError> {
    let reader = BufReader::with_capacity(1 << 20, open(path)?);
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut chars: Vec<(u64, Vec<String>)> = Vec::new();
    let mut in_table = false;
    let mut ended = false;
    let mut samples: Vec<String> = Vec::new();
    let mut header_line = 0;
    let mut features: Vec<String> = Vec::new();
    // Feature-major while reading.
    let mut by_feature: Vec<f32> = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(io)?;
        let no = i as u64 + 1;
        if !in_table {
            if line.starts_with("!Sample_characteristics_ch") {
                chars.push((no, fields(&line)));
            } else if line.trim_end() == BEGIN {
                in_table = true;
            }
            continue;
        }
        if line.trim_end() == END {
            ended = true;
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let f = fields(&line);
        if samples.is_empty() {
            if f.len() < 2 {
                return Err(DataError::at(
                    path,
                    no,
                    "the table's header needs ID_REF and at least one sample column",
                ));
            }
            samples = f[1..].to_vec();
            header_line = no;
            continue;
        }
        if f.len() != samples.len() + 1 {
            return Err(DataError::at(
                path,
                no,
                format!(
                    "ragged row: {} fields, the table's header (line {header_line}) has {}",
                    f.len(),
                    samples.len() + 1
                ),
            ));
        }
        features.push(f[0].clone());
        for (j, cell) in f.iter().enumerate().skip(1) {
            let v = if is_missing(cell) || cell == "null" {
                f32::NAN
            } else {
                match cell.parse::<f32>() {
                    Ok(v) if v.is_finite() => v,
                    _ => {
                        return Err(DataError::at(
                            path,
                            no,
                            format!(
                                "sample {} ({}): {cell:?} is not a number",
                                j,
                                samples[j - 1]
                            ),
                        ))
                    }
                }
            };
            by_feature.push(v);
        }
    }
    if !in_table {
        return Err(DataError::file(
            path,
            format!("a GEO series matrix needs its table between the lines {BEGIN} and {END}; this file has none (was it cut short, or is it a SOFT file?)"),
        ));
    }
    if !ended {
        return Err(DataError::file(
            path,
            format!("the table has no {END} line: the file is cut short"),
        ));
    }
    if features.is_empty() {
        return Err(DataError::file(
            path,
            "the series matrix table has no feature rows",
        ));
    }
    let (n, p) = (samples.len(), features.len());
    let mut values = vec![0f32; n * p];
    for f in 0..p {
        for s in 0..n {
            values[s * p + f] = by_feature[f * n + s];
        }
    }
    let matrix = Matrix {
        ids: samples.clone(),
        features,
        values,
        source: path.to_path_buf(),
    };
    matrix.check_unique_ids(|i| i as u64 + header_line)?;
    let (columns, cells) = characteristics(&chars, n);
    let sheet = Sheet {
        ids: samples,
        columns,
        cells,
        lines: vec![header_line; n],
        source: path.to_path_buf(),
    };
    Ok((matrix, sheet))
}

/// The characteristics' keys (the label columns) of a series matrix,
/// reading only its metadata.
pub fn label_columns(path: &Path) -> Result<Vec<String>, DataError> {
    let reader = BufReader::new(open(path)?);
    let mut chars = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if line.starts_with("!Sample_characteristics_ch") {
            chars.push((i as u64 + 1, fields(&line)));
        } else if line.trim_end() == BEGIN {
            let n = chars
                .iter()
                .map(|(_, f)| f.len().saturating_sub(1))
                .max()
                .unwrap_or(0);
            return Ok(characteristics(&chars, n).0);
        }
    }
    Err(DataError::file(
        path,
        format!("a GEO series matrix needs its table between the lines {BEGIN} and {END}; this file has none"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERIES: &str = "!Series_title\t\"Methylation of blood\"\n\
!Sample_title\t\"donor 1\"\t\"donor 2\"\t\"donor 3\"\n\
!Sample_geo_accession\t\"GSM1\"\t\"GSM2\"\t\"GSM3\"\n\
!Sample_characteristics_ch1\t\"age: 45\"\t\"age: 61\"\t\"age: NA\"\n\
!Sample_characteristics_ch1\t\"gender: F\"\t\"gender: M\"\t\"gender: F\"\n\
!series_matrix_table_begin\n\
\"ID_REF\"\t\"GSM1\"\t\"GSM2\"\t\"GSM3\"\n\
\"cg001\"\t0.1\t0.2\t0.3\n\
\"cg002\"\t0.9\tnull\t0.7\n\
!series_matrix_table_end\n";

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("GSE1_series_matrix.txt");
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    #[test]
    fn reads_the_table_transposed_and_the_characteristics_as_labels() {
        let (_d, p) = write(SERIES);
        let (m, s) = read(&p).unwrap();
        assert_eq!(m.ids, ["GSM1", "GSM2", "GSM3"]);
        assert_eq!(m.features, ["cg001", "cg002"]);
        assert_eq!(m.row(0), [0.1, 0.9]);
        assert!(m.row(1)[1].is_nan(), "null is missing");
        assert_eq!(s.columns, ["age", "gender"]);
        assert_eq!(s.cells[0], [Some("45".to_string()), Some("F".to_string())]);
        assert_eq!(s.cells[2][0], None);
        assert_eq!(label_columns(&p).unwrap(), ["age", "gender"]);
    }

    #[test]
    fn malformed_series_are_refused_with_the_line() {
        let (_d, p) = write("!Series_title\t\"x\"\n!Sample_geo_accession\t\"GSM1\"\n");
        let e = read(&p).unwrap_err().to_string();
        assert!(
            e.contains("needs its table between the lines !series_matrix_table_begin"),
            "{e}"
        );
        let (_d, p) = write(&SERIES.replace("!series_matrix_table_end\n", ""));
        assert!(read(&p).unwrap_err().to_string().contains("cut short"));
        let (_d, p) = write(&SERIES.replace("\t0.7\n", "\n"));
        let e = read(&p).unwrap_err().to_string();
        assert!(
            e.contains(":9: ragged row: 3 fields, the table's header (line 7) has 4"),
            "{e}"
        );
        let (_d, p) = write(&SERIES.replace("0.2", "high"));
        let e = read(&p).unwrap_err().to_string();
        assert!(
            e.contains(":8: sample 2 (GSM2): \"high\" is not a number"),
            "{e}"
        );
    }
}
