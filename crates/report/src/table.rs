//! Generic result tables (query results, exports, run listings) and their
//! formats.

use serde::Serialize;

use crate::format::csv_field;

/// One cell: SQL's NULL, integer, real or text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl Value {
    /// Text for a cell: reals at full precision (shortest round-trip), NULL
    /// empty.
    pub fn text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Int(i) => i.to_string(),
            Value::Real(r) => r.to_string(),
            Value::Text(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// Aligned plain text.
    Text,
    Csv,
    /// An array of objects, one per row, keyed by column.
    Json,
}

impl Table {
    pub fn render(&self, format: TableFormat) -> String {
        match format {
            TableFormat::Text => self.text(),
            TableFormat::Csv => {
                let mut out = self
                    .columns
                    .iter()
                    .map(|c| csv_field(c))
                    .collect::<Vec<_>>()
                    .join(",")
                    + "\n";
                for r in &self.rows {
                    out += &(r
                        .iter()
                        .map(|v| csv_field(&v.text()))
                        .collect::<Vec<_>>()
                        .join(",")
                        + "\n");
                }
                out
            }
            TableFormat::Json => {
                let rows: Vec<serde_json::Map<String, serde_json::Value>> = self
                    .rows
                    .iter()
                    .map(|r| {
                        self.columns
                            .iter()
                            .zip(r)
                            .map(|(c, v)| {
                                (c.clone(), serde_json::to_value(v).expect("plain values"))
                            })
                            .collect()
                    })
                    .collect();
                serde_json::to_string_pretty(&rows).expect("plain values") + "\n"
            }
        }
    }

    fn text(&self) -> String {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| match v {
                        Value::Null => "NULL".to_string(),
                        Value::Real(x) => format!("{x:.4}"),
                        v => v.text(),
                    })
                    .collect()
            })
            .collect();
        let mut width: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for r in &cells {
            for (j, c) in r.iter().enumerate() {
                width[j] = width[j].max(c.chars().count());
            }
        }
        let numeric: Vec<bool> = (0..self.columns.len())
            .map(|j| {
                self.rows
                    .iter()
                    .all(|r| matches!(r[j], Value::Int(_) | Value::Real(_) | Value::Null))
                    && !self.rows.is_empty()
            })
            .collect();
        let line = |row: &[String]| {
            row.iter()
                .enumerate()
                .map(|(j, c)| {
                    if numeric[j] {
                        format!("{c:>w$}", w = width[j])
                    } else {
                        format!("{c:<w$}", w = width[j])
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        };
        let mut out = line(&self.columns) + "\n";
        out += &(width
            .iter()
            .map(|&w| "-".repeat(w))
            .collect::<Vec<_>>()
            .join("  ")
            + "\n");
        for r in &cells {
            out += &(line(r) + "\n");
        }
        out += &format!(
            "({} row{})\n",
            self.rows.len(),
            if self.rows.len() == 1 { "" } else { "s" }
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Table {
        Table {
            columns: vec!["run".into(), "value".into(), "note".into()],
            rows: vec![
                vec![Value::Text("a".into()), Value::Real(0.1 + 0.2), Value::Null],
                vec![
                    Value::Text("b,c".into()),
                    Value::Int(3),
                    Value::Text("say \"hi\"".into()),
                ],
            ],
        }
    }

    #[test]
    fn formats() {
        insta::assert_snapshot!(t().render(TableFormat::Text));
        // Full precision in CSV and JSON: 0.1 + 0.2 is not 0.3.
        insta::assert_snapshot!(t().render(TableFormat::Csv));
        insta::assert_snapshot!(t().render(TableFormat::Json));
    }
}
