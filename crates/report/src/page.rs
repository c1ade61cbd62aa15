//! Whole pages: a styled, self-contained HTML document around any body,
//! and the sweep report (`headsweep report`) as HTML or Markdown. Pure
//! functions of what the caller read from the store: no file, no network —
//! styles and the table-sorting script are inline, charts are inline SVG.

use std::fmt::Write;

use crate::compare::Comparison;
use crate::format::{render_comparison, ComparisonFormat};
use crate::table::{Table, TableFormat};

const STYLE: &str = "
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 80rem; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; } h3 { font-size: 1.05rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.85rem; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: 0.3rem 0; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 0.25rem 0.55rem; text-align: right; white-space: nowrap; }
th { background: #f4f4f4; cursor: pointer; position: sticky; top: 0; }
td:first-child, th:first-child { text-align: left; }
tbody tr:hover { background: #f7faff; }
strong { color: #0b5394; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
.charts svg { max-width: 100%; height: auto; border: 1px solid #eee; }
.note { color: #555; font-size: 0.85rem; }
.wide { overflow-x: auto; }
.error { color: #b00020; font-weight: bold; }
.done { color: #1b7f3b; } .running { color: #0b5394; } .failed { color: #b00020; } .pending { color: #777; }
form label { display: inline-block; margin: 0.2rem 0.8rem 0.2rem 0; }
small { color: #555; }
";

/// Clicking a header sorts its table by that column (numbers by value).
const SORT: &str = "
document.querySelectorAll('table').forEach(function (t) {
  t.querySelectorAll('th').forEach(function (th, i) {
    th.addEventListener('click', function () {
      var body = t.tBodies[0]; if (!body) return;
      var rows = Array.prototype.slice.call(body.rows);
      var asc = th.dataset.asc !== '1'; th.dataset.asc = asc ? '1' : '0';
      var key = function (r) { var s = (r.cells[i] || {}).textContent || ''; var v = parseFloat(s.replace('−', '-')); return isNaN(v) ? s : v; };
      rows.sort(function (a, b) { var x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1); });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
";

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A complete HTML5 document: `body` (HTML) under an `<h1>` of `title`.
pub fn html_document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n{body}\n<script>{SORT}</script>\n</body>\n</html>\n",
        t = escape(title)
    )
}

/// A chart in the report: a file name (for Markdown) and its SVG.
#[derive(Debug, Clone)]
pub struct Chart {
    pub name: String,
    pub caption: String,
    pub svg: String,
}

/// A row of the report singled out (the baseline, the best on validation):
/// its per-head class counts and confusion charts, and learning curves.
#[derive(Debug, Clone)]
pub struct Highlight {
    pub title: String,
    pub why: String,
    /// Per head: the per-class table and its confusion chart.
    pub heads: Vec<(String, Table, Chart)>,
    pub curves: Option<Chart>,
    /// Rankings `explain` stored for the row's representative run: a
    /// title and the top features.
    pub attributions: Vec<(String, Table)>,
}

/// Everything `headsweep report` shows, read from the store by the caller.
#[derive(Debug, Clone)]
pub struct Report {
    pub sweep: String,
    /// The methods paragraph, written from the data.
    pub methods: String,
    pub comparison: Comparison,
    /// Per compared metric, its chart across the row axes.
    pub metric_charts: Vec<Chart>,
    pub highlights: Vec<Highlight>,
    /// Reliability diagrams, per head.
    pub calibration: Vec<Chart>,
    /// Builds and machines of the runs, with counts.
    pub provenance: Table,
    pub sweep_file: Option<String>,
    pub notes: Vec<String>,
}

fn charts_html(out: &mut String, charts: &[Chart]) {
    out.push_str("<div class=\"charts\">\n");
    for c in charts {
        let _ = writeln!(
            out,
            "<figure>{}<figcaption class=\"note\">{}</figcaption></figure>",
            c.svg,
            escape(&c.caption)
        );
    }
    out.push_str("</div>\n");
}

pub(crate) fn table_html(t: &Table) -> String {
    table_html_linked(t, usize::MAX, "")
}

/// A table whose column `link` holds names that `prefix` + name links to.
pub(crate) fn table_html_linked(t: &Table, link: usize, prefix: &str) -> String {
    let mut out = String::from("<table>\n<thead><tr>");
    for c in &t.columns {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in &t.rows {
        out.push_str("<tr>");
        for (i, v) in r.iter().enumerate() {
            let text = match v {
                crate::table::Value::Real(x) => format!("{x:.4}"),
                other => other.text(),
            };
            if i == link {
                let _ = write!(
                    out,
                    "<td><a href=\"{prefix}{t}\">{t}</a></td>",
                    t = escape(&text)
                );
            } else {
                let _ = write!(out, "<td>{}</td>", escape(&text));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

impl Report {
    fn title(&self) -> String {
        format!("Sweep {}: report", self.sweep)
    }

    /// The report as one self-contained HTML file.
    pub fn html(&self) -> String {
        let mut b = String::new();
        let _ = writeln!(b, "<h2>Methods</h2>\n<p>{}</p>", escape(&self.methods));
        b.push_str("<h2>Comparison</h2>\n<div class=\"wide\">\n");
        b.push_str(&render_comparison(
            &self.comparison,
            ComparisonFormat::HtmlFragment,
        ));
        b.push_str("</div>\n");
        if !self.metric_charts.is_empty() {
            b.push_str("<h2>Metrics across the compared settings</h2>\n");
            charts_html(&mut b, &self.metric_charts);
        }
        for h in &self.highlights {
            let _ = writeln!(
                b,
                "<h2>{}</h2>\n<p class=\"note\">{}</p>",
                escape(&h.title),
                escape(&h.why)
            );
            for (head, table, chart) in &h.heads {
                let _ = writeln!(b, "<h3>{} head: per class, test split</h3>", escape(head));
                b.push_str(&table_html(table));
                charts_html(&mut b, std::slice::from_ref(chart));
            }
            if let Some(c) = &h.curves {
                b.push_str("<h3>Learning curves</h3>\n");
                charts_html(&mut b, std::slice::from_ref(c));
            }
            for (title, table) in &h.attributions {
                let _ = writeln!(b, "<h3>{}</h3>", escape(title));
                b.push_str(&table_html(table));
            }
        }
        if !self.calibration.is_empty() {
            b.push_str("<h2>Calibration</h2>\n");
            charts_html(&mut b, &self.calibration);
        }
        b.push_str("<h2>Provenance</h2>\n");
        b.push_str(&table_html(&self.provenance));
        if let Some(f) = &self.sweep_file {
            let _ = writeln!(b, "<h2>Sweep file</h2>\n<pre>{}</pre>", escape(f));
        }
        for n in &self.notes {
            let _ = writeln!(b, "<p class=\"note\">{}</p>", escape(n));
        }
        html_document(&self.title(), &b)
    }

    /// The report as Markdown, and the charts it links (`dir/NAME.svg`,
    /// relative to the Markdown file) to write beside it.
    pub fn markdown(&self, dir: &str) -> (String, Vec<(String, String)>) {
        let mut files = Vec::new();
        let mut link = |out: &mut String, c: &Chart| {
            let path = format!("{dir}/{}.svg", c.name);
            let _ = writeln!(out, "![{}]({path})\n", c.caption);
            files.push((path, c.svg.clone()));
        };
        let mut m = format!(
            "# {}\n\n## Methods\n\n{}\n\n## Comparison\n\n",
            self.title(),
            self.methods
        );
        m.push_str(&render_comparison(
            &self.comparison,
            ComparisonFormat::Markdown,
        ));
        if !self.metric_charts.is_empty() {
            m.push_str("\n## Metrics across the compared settings\n\n");
            for c in &self.metric_charts {
                link(&mut m, c);
            }
        }
        for h in &self.highlights {
            let _ = write!(m, "\n## {}\n\n{}\n\n", h.title, h.why);
            for (head, table, chart) in &h.heads {
                let _ = write!(
                    m,
                    "### {head} head: per class, test split\n\n```text\n{}```\n\n",
                    table.render(TableFormat::Text)
                );
                link(&mut m, chart);
            }
            if let Some(c) = &h.curves {
                m.push_str("### Learning curves\n\n");
                link(&mut m, c);
            }
            for (title, table) in &h.attributions {
                let _ = write!(
                    m,
                    "### {title}\n\n```text\n{}```\n\n",
                    table.render(TableFormat::Text)
                );
            }
        }
        if !self.calibration.is_empty() {
            m.push_str("\n## Calibration\n\n");
            for c in &self.calibration {
                link(&mut m, c);
            }
        }
        let _ = write!(
            m,
            "\n## Provenance\n\n```text\n{}```\n",
            self.provenance.render(TableFormat::Text)
        );
        if let Some(f) = &self.sweep_file {
            let _ = write!(m, "\n## Sweep file\n\n```toml\n{}\n```\n", f.trim_end());
        }
        for n in &self.notes {
            let _ = write!(m, "\n{n}\n");
        }
        (m, files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{compare, tests::fixture, CompareOptions};
    use crate::table::Value;

    fn report() -> Report {
        let comparison = compare(
            &fixture(),
            &CompareOptions {
                split: "test".into(),
                ..Default::default()
            },
        )
        .unwrap();
        let chart = |name: &str| Chart {
            name: name.into(),
            caption: format!("{name} <chart>"),
            svg: format!("<svg xmlns=\"http://www.w3.org/2000/svg\"><title>{name}</title></svg>"),
        };
        let table = Table {
            columns: vec!["class".into(), "tp".into()],
            rows: vec![vec![Value::Text("F".into()), Value::Int(9)]],
        };
        Report {
            sweep: "fx".into(),
            methods: "Runs <of> fx.".into(),
            comparison,
            metric_charts: vec![chart("age-accuracy")],
            highlights: vec![Highlight {
                title: "Best on validation".into(),
                why: "chosen by val.age.accuracy".into(),
                heads: vec![("age".into(), table.clone(), chart("best-age-confusion"))],
                curves: Some(chart("best-curves")),
                attributions: vec![("age head: top features".into(), table.clone())],
            }],
            calibration: vec![chart("age-calibration")],
            provenance: table,
            sweep_file: Some("[sweep]\nname = \"fx\"".into()),
            notes: vec!["No attributions are stored.".into()],
        }
    }

    #[test]
    fn html_is_one_self_contained_page() {
        let html = report().html();
        assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
        for part in [
            "Methods",
            "Comparison",
            "Best on validation",
            "Calibration",
            "Provenance",
            "Sweep file",
        ] {
            assert!(html.contains(&format!(">{part}")), "{part}");
        }
        assert_eq!(html.matches("<svg").count(), 4, "charts inline");
        assert!(html.contains("Runs &lt;of&gt; fx."), "text escaped");
        // No resource is fetched: the only URL is SVG's namespace.
        let urls = html.matches("http").count();
        assert_eq!(urls, html.matches("http://www.w3.org/2000/svg").count());
        assert!(!html.contains("<link") && !html.contains("src="));
    }

    #[test]
    fn markdown_links_charts_written_beside_it() {
        let (md, files) = report().markdown("report_files");
        assert_eq!(files.len(), 4);
        for (path, svg) in &files {
            assert!(md.contains(&format!("]({path})")), "{path}");
            assert!(svg.starts_with("<svg"));
        }
        assert!(md.contains("```toml\n[sweep]"));
    }
}
