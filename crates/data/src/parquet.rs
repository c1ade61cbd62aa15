//! Parquet feature tables: a row per sample, an id column and numeric
//! feature columns. The id column is the one pandas recorded as the
//! frame's index (`df.to_parquet()` writes it last, as the index's name or
//! `__index_level_0__`), else the first column.

use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use crate::error::DataError;
use crate::matrix::Matrix;

/// The index column pandas wrote, from the file's `pandas` metadata.
fn pandas_index(reader: &SerializedFileReader<std::fs::File>) -> Option<String> {
    let kv = reader.metadata().file_metadata().key_value_metadata()?;
    let pandas = kv.iter().find(|k| k.key == "pandas")?.value.as_deref()?;
    // {"index_columns": ["id"], ...}; a RangeIndex is an object, not stored.
    let at = pandas.find("\"index_columns\"")?;
    let rest = &pandas[at..];
    let open = rest.find('[')?;
    let inner = rest[open + 1..].trim_start();
    let inner = inner.strip_prefix('"')?;
    Some(inner[..inner.find('"')?].to_string())
}

/// Reads a Parquet table as samples × features. The decoder can panic on
/// a damaged file (a bit flipped in an encoded page); that is this file's
/// error, not the process's end.
pub fn read(path: &Path) -> Result<Matrix, DataError> {
    std::panic::catch_unwind(|| read_table(path)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("no reason given");
        Err(DataError::file(
            path,
            format!(
                "not a readable Parquet file: its decoder failed ({why}); is the file damaged?"
            ),
        ))
    })
}

fn read_table(path: &Path) -> Result<Matrix, DataError> {
    let bad = |e: parquet::errors::ParquetError| {
        DataError::file(path, format!("not a readable Parquet file: {e}"))
    };
    let file = std::fs::File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = SerializedFileReader::new(file).map_err(bad)?;
    let schema = reader.metadata().file_metadata().schema_descr();
    let names: Vec<String> = schema
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    if names.len() < 2 {
        return Err(DataError::file(
            path,
            "a Parquet feature table needs an id column and at least one feature column",
        ));
    }
    let id_at = pandas_index(&reader)
        .and_then(|n| names.iter().position(|c| *c == n))
        .unwrap_or(0);
    let features: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != id_at)
        .map(|(_, n)| n.clone())
        .collect();
    let rows = reader.metadata().file_metadata().num_rows().max(0) as usize;
    let mut ids = Vec::with_capacity(rows);
    let mut values = Vec::with_capacity(rows * features.len());
    for (i, row) in reader.get_row_iter(None).map_err(bad)?.enumerate() {
        let row = row.map_err(bad)?;
        if row.len() != names.len() {
            return Err(DataError::file(
                path,
                format!("row {}: nested columns are not a feature table", i + 1),
            ));
        }
        for (j, (name, field)) in row.get_column_iter().enumerate() {
            if j == id_at {
                ids.push(match field {
                    Field::Str(s) => s.clone(),
                    Field::Null => {
                        return Err(DataError::file(
                            path,
                            format!("row {}: the id column {name:?} is empty", i + 1),
                        ))
                    }
                    other => other.to_string(),
                });
                continue;
            }
            values.push(number(field).ok_or_else(|| {
                DataError::file(
                    path,
                    format!(
                        "row {}, column {name:?}: {field} is not a number; after its id column a feature table holds numbers only (labels go in data.labels)",
                        i + 1
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
    m.check_unique_ids(|i| i as u64 + 1)?;
    m.check_finite()?;
    Ok(m)
}

/// A cell as a number; null is missing (NaN).
fn number(field: &Field) -> Option<f32> {
    Some(match *field {
        Field::Null => f32::NAN,
        Field::Bool(b) => f32::from(u8::from(b)),
        Field::Byte(v) => f32::from(v),
        Field::Short(v) => f32::from(v),
        Field::Int(v) => v as f32,
        Field::Long(v) => v as f32,
        Field::UByte(v) => f32::from(v),
        Field::UShort(v) => f32::from(v),
        Field::UInt(v) => v as f32,
        Field::ULong(v) => v as f32,
        Field::Float(v) => v,
        Field::Double(v) => v as f32,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    #[test]
    fn pandas_tables_with_their_index_as_ids() {
        // Written by pandas/pyarrow (make_parquet.py): X[i, j] = i + j/10,
        // cg1 missing in s2; ids in the index (written last) or first.
        for f in ["pandas_index.parquet", "id_first.parquet"] {
            let m = read(&fixture(f)).unwrap();
            assert_eq!(m.ids, ["s0", "s1", "s2", "s3"], "{f}");
            assert_eq!(m.features, ["cg0", "cg1", "cg2"], "{f}");
            assert_eq!(m.row(3), [3.0, 3.1, 3.2], "{f}");
            assert!(m.row(2)[1].is_nan(), "{f}");
        }
        let e = read(&fixture("text_column.parquet"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("row 1, column \"sex\": \"F\" is not a number"),
            "{e}"
        );
    }

    /// Damaged files give an error or a table, never a panic out of
    /// `read`: bits flipped all over each fixture, from a fixed sequence.
    #[test]
    fn damaged_files_never_panic() {
        let d = tempfile::tempdir().unwrap();
        for f in ["pandas_index.parquet", "id_first.parquet"] {
            let clean = std::fs::read(fixture(f)).unwrap();
            for (_, bytes) in crate::damage::damaged_copies(&clean, 150, 0x2545_f491_4f6c_dd1d) {
                let p = d.path().join("damaged.parquet");
                std::fs::write(&p, &bytes).unwrap();
                // An error or a table, whatever the damage.
                let _ = read(&p);
            }
        }
    }

    #[test]
    fn a_cut_file_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let bytes = std::fs::read(fixture("id_first.parquet")).unwrap();
        let p = d.path().join("cut.parquet");
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(
            e.contains("cut.parquet: not a readable Parquet file"),
            "{e}"
        );
    }
}
