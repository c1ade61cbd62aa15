//! Plain-text tables with aligned columns.

/// Renders `rows` under `header`, the first column left-aligned and the rest
/// right-aligned, columns two spaces apart.
pub fn render(header: &[String], rows: &[Vec<String>]) -> String {
    let cols = header.len();
    let mut width = vec![0usize; cols];
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        for (j, cell) in row.iter().enumerate() {
            width[j] = width[j].max(cell.chars().count());
        }
    }
    let line = |row: &[String]| {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(j, c)| {
                if j == 0 {
                    format!("{c:<w$}", w = width[j])
                } else {
                    format!("{c:>w$}", w = width[j])
                }
            })
            .collect();
        cells.join("  ").trim_end().to_string()
    };
    let mut out = line(header);
    out.push('\n');
    out.push_str(
        &width
            .iter()
            .map(|&w| "-".repeat(w))
            .collect::<Vec<_>>()
            .join("  "),
    );
    out.push('\n');
    for row in rows {
        out.push_str(&line(row));
        out.push('\n');
    }
    out
}

/// A metric value to 4 decimals, or "—" where it is undefined.
pub fn value(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| format!("{v:.4}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let t = render(
            &["head".into(), "acc".into()],
            &[
                vec!["age".into(), "0.5".into()],
                vec!["joint".into(), "—".into()],
            ],
        );
        assert_eq!(t, "head   acc\n-----  ---\nage    0.5\njoint    —\n");
    }
}
