//! Sample sheets: one row per sample, an id column and label columns.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::DataError;
use crate::text::{checked_line, delimiter, is_missing, open};

/// A sample sheet read as text; `None` marks a missing cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub ids: Vec<String>,
    pub columns: Vec<String>,
    /// `cells[row][column]`, columns excluding the id column.
    pub cells: Vec<Vec<Option<String>>>,
    /// File line of each row, for error messages.
    pub lines: Vec<u64>,
    pub source: PathBuf,
}

impl Sheet {
    /// Reads a CSV/TSV (optionally .gz) sheet. The id column is `id_column`,
    /// or the first column.
    pub fn read(path: &Path, id_column: Option<&str>) -> Result<Sheet, DataError> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter(path))
            .flexible(true)
            .from_reader(open(path)?);
        let csv_err = |e: csv::Error| {
            DataError::at(path, e.position().map_or(0, |p| p.line()), e.to_string())
        };
        let header = reader.headers().map_err(csv_err)?.clone();
        let id_at = match id_column {
            None => 0,
            Some(name) => header.iter().position(|h| h == name).ok_or_else(|| {
                DataError::at(
                    path,
                    1,
                    format!(
                        "no id column {name:?}; the columns are {}",
                        list(header.iter())
                    ),
                )
            })?,
        };
        let columns = header
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != id_at)
            .map(|(_, h)| h.to_string())
            .collect();
        let mut sheet = Sheet {
            ids: Vec::new(),
            columns,
            cells: Vec::new(),
            lines: Vec::new(),
            source: path.to_path_buf(),
        };
        let mut seen: HashMap<String, u64> = HashMap::new();
        for record in reader.records() {
            let record = record.map_err(csv_err)?;
            let line = checked_line(path, &record, &header)?;
            let id = record[id_at].trim().to_string();
            if id.is_empty() {
                return Err(DataError::at(path, line, "empty sample id"));
            }
            if let Some(first) = seen.insert(id.clone(), line) {
                return Err(DataError::at(
                    path,
                    line,
                    format!("duplicate sample id {id:?} (first on line {first})"),
                ));
            }
            sheet.ids.push(id);
            sheet.cells.push(
                record
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != id_at)
                    .map(|(_, c)| (!is_missing(c)).then(|| c.trim().to_string()))
                    .collect(),
            );
            sheet.lines.push(line);
        }
        Ok(sheet)
    }

    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

pub(crate) fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ids_and_missing_labels() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.csv");
        std::fs::write(&p, "age,sample,sex\n31,a,F\nNA,b,M\n,c,\n").unwrap();
        let s = Sheet::read(&p, Some("sample")).unwrap();
        assert_eq!(s.ids, ["a", "b", "c"]);
        assert_eq!(s.columns, ["age", "sex"]);
        assert_eq!(s.cells[1], [None, Some("M".to_string())]);
        assert_eq!(s.cells[2], [None, None]);
        assert_eq!(s.lines, [2, 3, 4]);
    }

    #[test]
    fn duplicate_ids_and_a_missing_id_column_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.tsv");
        std::fs::write(&p, "id\tsex\na\tF\na\tM\n").unwrap();
        let e = Sheet::read(&p, None).unwrap_err().to_string();
        assert!(
            e.ends_with("s.tsv:3: duplicate sample id \"a\" (first on line 2)"),
            "{e}"
        );
        let e = Sheet::read(&p, Some("sample")).unwrap_err().to_string();
        assert!(
            e.contains("no id column \"sample\"; the columns are \"id\", \"sex\""),
            "{e}"
        );
    }
}
