//! Generic result tables (query results, exports, run listings) and their
//! formats.

use serde::Serialize;

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
            TableFormat::Csv => csv_text(
                std::iter::once(self.columns.clone()).chain(
                    self.rows
                        .iter()
                        .map(|r| r.iter().map(Value::text).collect()),
                ),
            ),
            TableFormat::Json => {
                let rows: Vec<serde_json::Map<String, serde_json::Value>> = self
                    .rows
                    .iter()
                    .map(|r| json_object(&self.columns, r))
                    .collect();
                serde_json::to_string_pretty(&rows).expect("plain values") + "\n"
            }
        }
    }

    /// Aligned text: numeric columns to the right, NULL spelled out, reals
    /// to 4 decimals, and the row count under the table.
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
        let align: Vec<Align> = (0..self.columns.len())
            .map(|j| {
                let numeric = !self.rows.is_empty()
                    && self
                        .rows
                        .iter()
                        .all(|r| matches!(r[j], Value::Int(_) | Value::Real(_) | Value::Null));
                if numeric {
                    Align::Right
                } else {
                    Align::Left
                }
            })
            .collect();
        let mut out = text_table(&self.columns, &cells, &align);
        out += &format!(
            "({} row{})\n",
            self.rows.len(),
            if self.rows.len() == 1 { "" } else { "s" }
        );
        out
    }
}

/// A table written a row at a time as CSV or JSON, byte for byte what
/// [`Table::render`] writes, without holding the rows: an export of a large
/// sweep's predictions or confusion cells is millions of rows.
pub struct RowWriter<W: std::io::Write> {
    out: Out<W>,
    rows: usize,
}

enum Out<W: std::io::Write> {
    Csv(Box<csv::Writer<W>>),
    Json(W),
}

impl<W: std::io::Write> RowWriter<W> {
    /// `None` for [`TableFormat::Text`], whose column widths need every row.
    pub fn new(format: TableFormat, out: W) -> Option<Self> {
        let out = match format {
            TableFormat::Text => return None,
            TableFormat::Csv => Out::Csv(Box::new(csv_writer(out))),
            TableFormat::Json => Out::Json(out),
        };
        Some(Self { out, rows: 0 })
    }

    /// Writes one row; `columns` are the table's (the CSV header comes
    /// before the first row).
    pub fn row(&mut self, columns: &[String], values: &[Value]) -> std::io::Result<()> {
        match &mut self.out {
            Out::Csv(w) => {
                if self.rows == 0 {
                    w.write_record(columns).map_err(io_error)?;
                }
                w.write_record(values.iter().map(Value::text))
                    .map_err(io_error)?;
            }
            Out::Json(w) => {
                let object = json_object(columns, values);
                let text = serde_json::to_string_pretty(&object).map_err(std::io::Error::other)?;
                w.write_all(if self.rows == 0 { b"[\n" } else { b",\n" })?;
                // One level deeper: inside the array.
                w.write_all(b"  ")?;
                w.write_all(text.replace('\n', "\n  ").as_bytes())?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Ends the table (`columns` head an empty CSV) and hands back the
    /// writer, flushed.
    pub fn finish(self, columns: &[String]) -> std::io::Result<W> {
        match self.out {
            Out::Csv(mut w) => {
                if self.rows == 0 {
                    w.write_record(columns).map_err(io_error)?;
                }
                w.into_inner().map_err(|e| e.into_error())
            }
            Out::Json(mut w) => {
                w.write_all(if self.rows == 0 { b"[]\n" } else { b"\n]\n" })?;
                w.flush()?;
                Ok(w)
            }
        }
    }
}

/// The I/O error inside a CSV writer's error (a closed pipe stays one).
fn io_error(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

/// A row as a JSON object keyed by column.
fn json_object(columns: &[String], values: &[Value]) -> serde_json::Map<String, serde_json::Value> {
    columns
        .iter()
        .zip(values)
        .map(|(c, v)| (c.clone(), serde_json::to_value(v).expect("plain values")))
        .collect()
}

/// How a column lines up in plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// The one plain-text table layout: columns two spaces apart, each as wide
/// as its widest cell, a dashed rule under the header, no trailing spaces.
pub fn text_table(header: &[String], rows: &[Vec<String>], align: &[Align]) -> String {
    let mut width: Vec<usize> = header.iter().map(|c| c.chars().count()).collect();
    for r in rows {
        for (j, c) in r.iter().enumerate() {
            width[j] = width[j].max(c.chars().count());
        }
    }
    let line = |row: &[String]| {
        row.iter()
            .enumerate()
            .map(|(j, c)| match align[j] {
                Align::Right => format!("{c:>w$}", w = width[j]),
                Align::Left => format!("{c:<w$}", w = width[j]),
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(header) + "\n";
    out += &(width
        .iter()
        .map(|&w| "-".repeat(w))
        .collect::<Vec<_>>()
        .join("  ")
        + "\n");
    for r in rows {
        out += &(line(r) + "\n");
    }
    out
}

/// [`text_table`] with the first column to the left and the others to the
/// right: a label, then numbers.
pub fn aligned(header: &[String], rows: &[Vec<String>]) -> String {
    let align: Vec<Align> = (0..header.len())
        .map(|j| if j == 0 { Align::Left } else { Align::Right })
        .collect();
    text_table(header, rows, &align)
}

/// A metric value to 4 decimals, or "—" where it is undefined.
pub fn fixed4(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| format!("{v:.4}"))
}

/// Records as CSV (RFC 4180: fields quoted where they hold a comma, quote
/// or line break), one line each.
pub(crate) fn csv_text(records: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut w = csv_writer(Vec::new());
    for r in records {
        w.write_record(&r).expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 in, UTF-8 out")
}

/// The one CSV dialect: RFC 4180 quoting, `\n` line ends, rows of any
/// length.
fn csv_writer<W: std::io::Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out)
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
    fn aligns_a_label_then_numbers() {
        let t = aligned(
            &["head".into(), "acc".into()],
            &[
                vec!["age".into(), "0.5".into()],
                vec!["joint".into(), "—".into()],
            ],
        );
        assert_eq!(t, "head   acc\n-----  ---\nage    0.5\njoint    —\n");
    }

    #[test]
    fn csv_quotes_only_what_needs_it() {
        let out = csv_text([vec![
            "a".into(),
            "b,c".into(),
            "say \"hi\"".into(),
            String::new(),
        ]]);
        assert_eq!(out, "a,\"b,c\",\"say \"\"hi\"\"\",\n");
    }

    /// What [`RowWriter`] writes for `t`, a row at a time.
    fn streamed(t: &Table, format: TableFormat) -> String {
        let mut w = RowWriter::new(format, Vec::new()).expect("not text");
        for r in &t.rows {
            w.row(&t.columns, r).unwrap();
        }
        String::from_utf8(w.finish(&t.columns).unwrap()).unwrap()
    }

    #[test]
    fn rows_written_one_at_a_time_are_the_rendered_table() {
        let one = Table {
            columns: vec!["x".into()],
            rows: vec![vec![Value::Real(2.5)]],
        };
        let no_rows = Table {
            columns: vec!["x".into(), "y".into()],
            rows: vec![],
        };
        // A row wider than the header, and a column named twice.
        let ragged = Table {
            columns: vec!["a".into(), "a".into()],
            rows: vec![vec![Value::Int(1), Value::Int(2), Value::Null], vec![]],
        };
        for table in [t(), one, no_rows, Table::default(), ragged] {
            for format in [TableFormat::Csv, TableFormat::Json] {
                assert_eq!(
                    streamed(&table, format),
                    table.render(format),
                    "{table:?} as {format:?}"
                );
            }
        }
        assert!(RowWriter::new(TableFormat::Text, Vec::new()).is_none());
    }

    #[test]
    fn formats() {
        insta::assert_snapshot!(t().render(TableFormat::Text));
        // Full precision in CSV and JSON: 0.1 + 0.2 is not 0.3.
        insta::assert_snapshot!(t().render(TableFormat::Csv));
        insta::assert_snapshot!(t().render(TableFormat::Json));
    }
}
