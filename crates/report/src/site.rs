//! The pages of `headsweep serve`, as pure functions of what the server
//! read from the store: the list of sweeps, a sweep (progress, comparison
//! with its pickers, a chart, its runs a page at a time) and a run. Every
//! value from the store is escaped; links carry only checked names.

use std::fmt::Write;

use crate::compare::Comparison;
use crate::format::{render_comparison, ComparisonFormat};
use crate::html::{escape, html_document, table_html, table_html_linked};
use crate::table::Table;

/// Runs of a sweep by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub pending: usize,
    pub running: usize,
    pub done: usize,
    pub failed: usize,
}

impl Progress {
    pub fn total(&self) -> usize {
        self.pending + self.running + self.done + self.failed
    }

    /// Whether the page should refresh itself: work is left or under way.
    pub fn active(&self) -> bool {
        self.pending + self.running > 0
    }

    fn html(&self) -> String {
        format!(
            "<span class=\"progress\"><b class=\"done\">{} done</b> · <b class=\"running\">{} running</b> · <b class=\"failed\">{} failed</b> · <b class=\"pending\">{} pending</b> of {}</span>",
            self.done,
            self.running,
            self.failed,
            self.pending,
            self.total()
        )
    }
}

/// Seconds between refreshes of a page whose sweep is still running.
pub const REFRESH_SECONDS: u32 = 5;

fn page(title: &str, body: &str, refresh: bool) -> String {
    let doc = html_document(
        title,
        &format!("<p class=\"note\"><a href=\"/\">all sweeps</a></p>\n{body}"),
    );
    if refresh {
        doc.replacen(
            "<meta charset=\"utf-8\">",
            &format!("<meta charset=\"utf-8\">\n<meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">"),
            1,
        )
    } else {
        doc
    }
}

/// `/`: every sweep with its progress.
pub fn sweeps_page(store: &str, sweeps: &[(String, Progress)]) -> String {
    let mut b = format!("<p>Store <code>{}</code>, read only.</p>\n", escape(store));
    if sweeps.is_empty() {
        b.push_str(
            "<p>No sweep is registered yet: <code>headsweep run FILE</code> registers one.</p>\n",
        );
    } else {
        b.push_str("<table>\n<thead><tr><th>sweep</th><th>progress</th></tr></thead>\n<tbody>\n");
        for (name, p) in sweeps {
            let _ = writeln!(
                b,
                "<tr><td><a href=\"/sweep/{n}\">{n}</a></td><td>{}</td></tr>",
                p.html(),
                n = escape(name)
            );
        }
        b.push_str("</tbody>\n</table>\n");
    }
    page("headsweep", &b, sweeps.iter().any(|(_, p)| p.active()))
}

/// What the sweep page shows.
#[derive(Debug, Clone)]
pub struct SweepView {
    pub name: String,
    pub progress: Progress,
    /// Runs per host and status.
    pub hosts: Table,
    /// The pickers' current values, as typed.
    pub rows: String,
    pub metrics: String,
    pub baseline: String,
    pub select_by: String,
    /// Metric names the picker offers (`HEAD.METRIC`).
    pub metric_choices: Vec<String>,
    /// The comparison, or why it could not be made.
    pub comparison: Result<Comparison, String>,
    pub chart: Option<String>,
    /// This page of runs: id, seed, status, axes…
    pub runs: Table,
    pub page: usize,
    pub pages: usize,
}

fn input(name: &str, label: &str, value: &str, hint: &str) -> String {
    format!(
        "<label>{label} <input name=\"{name}\" value=\"{}\" placeholder=\"{}\" size=\"38\"></label>",
        escape(value),
        escape(hint)
    )
}

/// `/sweep/NAME`.
pub fn sweep_page(v: &SweepView) -> String {
    let mut b = format!("<p>{}</p>\n", v.progress.html());
    if v.progress.active() {
        let _ = writeln!(
            b,
            "<p class=\"note\">The sweep is running: this page refreshes every {REFRESH_SECONDS} s.</p>"
        );
    }
    if !v.hosts.rows.is_empty() {
        b.push_str("<h2>By host and device</h2>\n");
        b.push_str(&table_html(&v.hosts));
    }
    b.push_str("<h2>Comparison</h2>\n<form method=\"get\">\n");
    b.push_str(&input(
        "rows",
        "rows",
        &v.rows,
        "AXIS,… (default: every axis that varies)",
    ));
    b.push_str(&input("metrics", "metrics", &v.metrics, "HEAD.METRIC,…"));
    b.push_str("<label>add <select name=\"metric\"><option value=\"\"></option>");
    for m in &v.metric_choices {
        let _ = write!(b, "<option>{}</option>", escape(m));
    }
    b.push_str("</select></label>\n");
    b.push_str(&input("baseline", "baseline", &v.baseline, "AXIS=VALUE,…"));
    b.push_str(&input(
        "select_by",
        "select by",
        &v.select_by,
        "val.HEAD.METRIC",
    ));
    b.push_str("<button type=\"submit\">show</button>\n</form>\n");
    match &v.comparison {
        Ok(c) => {
            b.push_str("<div class=\"wide\">\n");
            b.push_str(&render_comparison(c, ComparisonFormat::HtmlFragment));
            b.push_str("</div>\n");
        }
        Err(e) => {
            let _ = writeln!(b, "<p class=\"error\">{}</p>", escape(e));
        }
    }
    if let Some(svg) = &v.chart {
        let _ = writeln!(b, "<div class=\"charts\">{svg}</div>");
    }
    let _ = writeln!(
        b,
        "<h2>Runs</h2>\n<p class=\"note\">page {} of {}</p>",
        v.page + 1,
        v.pages.max(1)
    );
    b.push_str(&table_html_linked(&v.runs, 0, "/run/"));
    // Paging keeps the comparison as it is.
    let mut keep = String::new();
    for (k, val) in [
        ("rows", &v.rows),
        ("metrics", &v.metrics),
        ("baseline", &v.baseline),
        ("select_by", &v.select_by),
    ] {
        if !val.is_empty() {
            let _ = write!(keep, "&amp;{k}={}", percent(val));
        }
    }
    b.push_str("<p>");
    if v.page > 0 {
        let _ = write!(b, "<a href=\"?page={}{keep}\">previous</a> ", v.page - 1);
    }
    if v.page + 1 < v.pages {
        let _ = write!(b, "<a href=\"?page={}{keep}\">next</a>", v.page + 1);
    }
    b.push_str("</p>\n");
    page(&format!("Sweep {}", v.name), &b, v.progress.active())
}

/// `s` percent-encoded for a URL's query (RFC 3986 unreserved kept).
fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// What the run page shows.
#[derive(Debug, Clone)]
pub struct RunView {
    pub id: String,
    pub status: String,
    pub error: Option<String>,
    pub config: String,
    pub provenance: Option<String>,
    pub metrics: Table,
    pub curves: Option<String>,
    pub confusion: Vec<String>,
    pub log_tail: Option<String>,
}

/// `/run/ID`.
pub fn run_page(v: &RunView) -> String {
    let mut b = format!("<p>status: <b>{}</b></p>\n", escape(&v.status));
    if let Some(e) = &v.error {
        let _ = writeln!(b, "<p class=\"error\">{}</p>", escape(e));
    }
    if !v.metrics.rows.is_empty() {
        b.push_str("<h2>Metrics</h2>\n");
        b.push_str(&table_html(&v.metrics));
    }
    if let Some(svg) = &v.curves {
        let _ = writeln!(
            b,
            "<h2>Learning curves</h2>\n<div class=\"charts\">{svg}</div>"
        );
    }
    if !v.confusion.is_empty() {
        b.push_str("<h2>Confusion, test split</h2>\n<div class=\"charts\">");
        for svg in &v.confusion {
            b.push_str(svg);
        }
        b.push_str("</div>\n");
    }
    let _ = writeln!(
        b,
        "<h2>Configuration</h2>\n<pre>{}</pre>",
        escape(&v.config)
    );
    if let Some(p) = &v.provenance {
        let _ = writeln!(b, "<h2>Provenance</h2>\n<pre>{}</pre>", escape(p));
    }
    if let Some(log) = &v.log_tail {
        let _ = writeln!(
            b,
            "<h2>Training log (last lines)</h2>\n<pre>{}</pre>",
            escape(log)
        );
    }
    page(
        &format!("Run {}", v.id),
        &b,
        v.status == "running" || v.status == "pending",
    )
}

/// A page for a request that cannot be answered.
pub fn error_page(status: u16, message: &str) -> String {
    page(
        &format!("{status}"),
        &format!("<p class=\"error\">{}</p>", escape(message)),
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{compare, tests::fixture, CompareOptions};
    use crate::table::Value;

    fn view(progress: Progress) -> SweepView {
        SweepView {
            name: "fx".into(),
            progress,
            hosts: Table::default(),
            rows: String::new(),
            metrics: "age.accuracy".into(),
            baseline: "x=\"><script>".into(),
            select_by: String::new(),
            metric_choices: vec!["age.accuracy".into()],
            comparison: compare(
                &fixture(),
                &CompareOptions {
                    split: "test".into(),
                    ..Default::default()
                },
            )
            .map_err(|e| e.to_string()),
            chart: None,
            runs: Table {
                columns: vec!["run".into(), "status".into()],
                rows: vec![vec![Value::Text("ab12".into()), Value::Text("done".into())]],
            },
            page: 0,
            pages: 3,
        }
    }

    #[test]
    fn a_running_sweep_refreshes_and_a_finished_one_does_not() {
        let running = sweep_page(&view(Progress {
            pending: 2,
            running: 1,
            done: 3,
            failed: 0,
        }));
        assert!(running.contains("http-equiv=\"refresh\""));
        assert!(running.contains("3 done") && running.contains("1 running"));
        let done = sweep_page(&view(Progress {
            done: 6,
            ..Default::default()
        }));
        assert!(!done.contains("http-equiv"));
        assert!(done.contains("<a href=\"/run/ab12\">ab12</a>"));
        assert!(done.contains(
            "?page=1&amp;metrics=age.accuracy&amp;baseline=x%3D%22%3E%3Cscript%3E\">next"
        ));
        assert!(!done.contains("<script>\""), "typed values are escaped");
    }

    #[test]
    fn errors_and_runs_render() {
        let mut v = view(Progress::default());
        v.comparison = Err("no head \"sx\"".into());
        assert!(sweep_page(&v).contains("no head &quot;sx&quot;"));
        let r = run_page(&RunView {
            id: "ab12".into(),
            status: "failed".into(),
            error: Some("non-finite loss <inf>".into()),
            config: "{}".into(),
            provenance: None,
            metrics: Table::default(),
            curves: None,
            confusion: Vec::new(),
            log_tail: Some("epoch 1".into()),
        });
        assert!(r.contains("non-finite loss &lt;inf&gt;") && r.contains("epoch 1"));
        assert!(error_page(404, "no sweep").contains("no sweep"));
    }
}
