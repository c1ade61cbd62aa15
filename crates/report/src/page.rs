//! The sweep report (`headsweep report`) as one HTML page or Markdown: a
//! pure function of what the caller read from the store — no file, no
//! network; charts are inline SVG in HTML and files beside the Markdown.

use std::fmt::Write;

use crate::compare::Comparison;
use crate::format::{render_comparison, ComparisonFormat};
use crate::html::{escape, html_document, table_html};
use crate::table::{Table, TableFormat};

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
