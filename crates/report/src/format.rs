//! Comparison tables as Markdown, CSV, JSON, LaTeX and HTML. Each is a pure
//! function of the [`Comparison`]; files are the caller's business.

use crate::compare::{Cell, Comparison};
use crate::table::csv_text;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComparisonFormat {
    Markdown,
    Csv,
    Json,
    /// booktabs, one column of mean ± std and one p per metric: fits a page
    /// for three metrics.
    Latex,
    /// booktabs with every column (n, interval, Δ, both p).
    LatexFull,
    /// A complete, styled HTML document.
    Html,
    /// The table alone, to paste into a page of one's own.
    HtmlFragment,
}

pub fn render_comparison(c: &Comparison, format: ComparisonFormat) -> String {
    match format {
        ComparisonFormat::Markdown => markup(c, &Markdown),
        ComparisonFormat::Latex => compact_latex(c),
        ComparisonFormat::LatexFull => markup(c, &Latex),
        ComparisonFormat::Html => crate::html::html_document(&title(c), &markup(c, &Html)),
        ComparisonFormat::HtmlFragment => markup(c, &Html),
        ComparisonFormat::Csv => csv(c),
        ComparisonFormat::Json => serde_json::to_string_pretty(c).expect("serialisable") + "\n",
    }
}

const DASH: &str = "—";

fn pval(p: Option<f64>) -> String {
    match p {
        None => DASH.to_string(),
        Some(p) if p < 1e-4 => format!("{p:.1e}"),
        Some(p) => format!("{p:.4}"),
    }
}

fn mean_std(cell: &Cell) -> String {
    match (cell.summary.mean, cell.summary.std) {
        (None, _) => DASH.to_string(),
        (Some(m), None) => format!("{m:.4}"),
        (Some(m), Some(s)) => format!("{m:.4} ± {s:.4}"),
    }
}

fn ci(cell: &Cell) -> String {
    cell.summary.ci95.map_or_else(
        || DASH.to_string(),
        |(lo, hi)| format!("[{lo:.4}, {hi:.4}]"),
    )
}

fn seeds(r: &crate::compare::Row) -> String {
    r.seeds.as_ref().map_or_else(
        || DASH.to_string(),
        |s| format!("{}/{}: {}", s.given, s.of, s.stopped),
    )
}

fn anytime(i: Option<headsweep_metrics::Interval>) -> String {
    match i {
        None => DASH.to_string(),
        Some(i) if !i.low.is_finite() => "(−∞, ∞)".to_string(),
        Some(i) => format!("[{:+.4}, {:+.4}]", i.low, i.high),
    }
}

/// The header and body cells shared by the markup formats, before escaping.
struct Grid {
    header: Vec<String>,
    rows: Vec<Vec<(String, bool)>>,
}

fn grid(c: &Comparison) -> Grid {
    let mut header: Vec<String> = c.row_axes.clone();
    if c.select_by.is_some() {
        header.push("selected".into());
    }
    header.push("runs".into());
    let rounds = c.rounds.is_some();
    if rounds {
        header.push("seeds".into());
    }
    for col in &c.columns {
        header.push(format!("{}.{}", col.head, col.metric));
        header.push("n".into());
        header.push("95% CI".into());
        if c.baseline.is_some() && rounds {
            header.push("Δ".into());
            header.push("anytime CI Δ".into());
        } else if c.baseline.is_some() {
            header.push("Δ".into());
            header.push("p_W".into());
            header.push("p_t".into());
            if c.margin.is_some() {
                header.push("90% CI Δ".into());
                header.push("p_eq".into());
            }
        }
    }
    let rows = c
        .rows
        .iter()
        .map(|r| {
            let mut cells: Vec<(String, bool)> =
                r.values.iter().map(|v| (v.clone(), false)).collect();
            if c.select_by.is_some() {
                cells.push((r.selected.clone().unwrap_or_else(|| DASH.into()), false));
            }
            let mut runs = format!("{}/{}", r.done, r.runs);
            if r.failed > 0 {
                runs += &format!(" ({} failed)", r.failed);
            }
            if r.baseline {
                runs += " (baseline)";
            }
            cells.push((runs, false));
            if rounds {
                cells.push((seeds(r), false));
            }
            for cell in &r.cells {
                cells.push((mean_std(cell), cell.best));
                cells.push((cell.summary.n.to_string(), false));
                cells.push((ci(cell), false));
                if c.baseline.is_some() && rounds {
                    let p = cell.paired.as_ref();
                    let diff = p
                        .and_then(|p| p.mean_diff)
                        .map_or_else(|| DASH.to_string(), |d| format!("{d:+.4}"));
                    cells.push((diff, false));
                    cells.push((anytime(p.and_then(|p| p.anytime)), false));
                } else if c.baseline.is_some() {
                    match &cell.paired {
                        None => {
                            let k = if c.margin.is_some() { 5 } else { 3 };
                            cells.extend((0..k).map(|_| (DASH.to_string(), false)));
                        }
                        Some(p) => {
                            let diff = p
                                .mean_diff
                                .map_or_else(|| DASH.to_string(), |d| format!("{d:+.4}"));
                            let w = p.wilcoxon_p_adjusted.or(p.wilcoxon.map(|w| w.p));
                            let t = p.t_p_adjusted.or(p.t_p);
                            cells.push((diff, false));
                            cells.push((pval(w), false));
                            cells.push((pval(t), false));
                            if c.margin.is_some() {
                                let e = p.equivalence;
                                cells.push((
                                    e.map_or_else(
                                        || DASH.to_string(),
                                        |e| format!("[{:+.4}, {:+.4}]", e.ci90.0, e.ci90.1),
                                    ),
                                    false,
                                ));
                                cells.push((pval(e.map(|e| e.p)), false));
                            }
                        }
                    }
                }
            }
            cells
        })
        .collect();
    Grid { header, rows }
}

/// The compact LaTeX table: per metric the mean ± std (best in bold) and,
/// against a baseline, the Wilcoxon p (Holm-adjusted when asked). n goes
/// into the caption when every cell has the same, else beside each mean.
fn compact_latex(c: &Comparison) -> String {
    let m = Latex;
    let ns: Vec<usize> = c
        .rows
        .iter()
        .flat_map(|r| r.cells.iter().map(|x| x.summary.n))
        .collect();
    let uniform = ns.windows(2).all(|w| w[0] == w[1]);
    let mut header: Vec<String> = c.row_axes.iter().map(|a| m.escape(a)).collect();
    if c.select_by.is_some() {
        header.push("selected".into());
    }
    for col in &c.columns {
        header.push(m.escape(&format!("{}.{}", col.head, col.metric)));
        if c.baseline.is_some() && c.rounds.is_some() {
            header.push("anytime CI $\\Delta$".into());
        } else if c.baseline.is_some() {
            header.push("$p_W$".into());
        }
    }
    let rows: Vec<Vec<(String, bool)>> = c
        .rows
        .iter()
        .map(|r| {
            let mut cells: Vec<(String, bool)> =
                r.values.iter().map(|v| (m.escape(v), false)).collect();
            if let Some(first) = cells.first_mut() {
                if r.baseline {
                    first.0 += " (baseline)";
                }
            }
            if c.select_by.is_some() {
                cells.push((m.escape(r.selected.as_deref().unwrap_or(DASH)), false));
            }
            for cell in &r.cells {
                let mut text = m.escape(&mean_std(cell));
                if !uniform {
                    text += &format!(" ({})", cell.summary.n);
                }
                cells.push((if cell.best { m.bold(&text) } else { text }, false));
                if c.baseline.is_some() && c.rounds.is_some() {
                    let a = cell.paired.as_ref().and_then(|p| p.anytime);
                    cells.push((m.escape(&anytime(a)), false));
                } else if c.baseline.is_some() {
                    let p = cell
                        .paired
                        .as_ref()
                        .and_then(|p| p.wilcoxon_p_adjusted.or(p.wilcoxon.map(|w| w.p)));
                    cells.push((m.escape(&pval(p)), false));
                }
            }
            cells
        })
        .collect();
    let mut caption = title(c);
    if uniform {
        if let Some(n) = ns.first() {
            caption += &format!("; n = {n} per row");
        }
    }
    let mut notes = vec![m.escape("Best value per column in bold.")];
    if let Some(rule) = &c.rounds {
        notes.push(m.escape(rule));
        if c.baseline.is_some() {
            notes.push(m.escape("Anytime CI Δ: the anytime-valid confidence sequence of row − baseline, paired by seed (Lai's mixture t), valid at the n the rule stopped at."));
        }
    } else if c.baseline.is_some() {
        notes.push(m.escape(match c.adjust {
            crate::compare::Adjust::None => "p_W: two-sided Wilcoxon signed-rank against the baseline, paired by seed.",
            crate::compare::Adjust::Holm => "p_W: two-sided Wilcoxon signed-rank against the baseline, paired by seed, Holm-adjusted within each column.",
            crate::compare::Adjust::HolmAll => "p_W: two-sided Wilcoxon signed-rank against the baseline, paired by seed, Holm-adjusted over the table.",
        }));
    }
    m.table(&m.escape(&caption), &Grid { header, rows }, &notes)
}

fn title(c: &Comparison) -> String {
    let mut t = format!(
        "Sweep {}, {} split: mean ± sample std; n counts {}",
        c.sweep, c.split, c.n_counts
    );
    if let Some(b) = &c.baseline {
        t += &format!("; paired tests against {b}");
    }
    t
}

trait Markup {
    fn escape(&self, s: &str) -> String;
    fn bold(&self, s: &str) -> String;
    fn table(&self, title: &str, g: &Grid, notes: &[String]) -> String;
}

fn markup(c: &Comparison, m: &dyn Markup) -> String {
    let g = grid(c);
    let header: Vec<String> = g.header.iter().map(|h| m.escape(h)).collect();
    let rows: Vec<Vec<(String, bool)>> = g
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|(s, b)| {
                    (
                        if *b {
                            m.bold(&m.escape(s))
                        } else {
                            m.escape(s)
                        },
                        false,
                    )
                })
                .collect()
        })
        .collect();
    let notes: Vec<String> = c.notes.iter().map(|n| m.escape(n)).collect();
    let mut all_notes = vec![m.escape("Best value per column in bold (higher is better, lower for losses, ECE and Brier, closest to 1 for mass).")];
    all_notes.extend(notes);
    m.table(&m.escape(&title(c)), &Grid { header, rows }, &all_notes)
}

struct Markdown;

impl Markup for Markdown {
    fn escape(&self, s: &str) -> String {
        s.replace('|', "\\|")
    }
    fn bold(&self, s: &str) -> String {
        format!("**{s}**")
    }
    fn table(&self, title: &str, g: &Grid, notes: &[String]) -> String {
        let mut out = format!("{title}\n\n| {} |\n|", g.header.join(" | "));
        for _ in &g.header {
            out += " --- |";
        }
        out.push('\n');
        for r in &g.rows {
            out += &format!(
                "| {} |\n",
                r.iter()
                    .map(|(s, _)| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        out.push('\n');
        for n in notes {
            out += &format!("- {n}\n");
        }
        out
    }
}

struct Latex;

impl Markup for Latex {
    fn escape(&self, s: &str) -> String {
        let mut out = String::new();
        for ch in s.chars() {
            match ch {
                '_' | '%' | '&' | '#' | '$' | '{' | '}' => {
                    out.push('\\');
                    out.push(ch);
                }
                '±' => out.push_str("$\\pm$"),
                'Δ' => out.push_str("$\\Delta$"),
                '—' => out.push_str("---"),
                '≤' => out.push_str("$\\le$"),
                '−' => out.push_str("$-$"),
                '<' => out.push_str("$<$"),
                '>' => out.push_str("$>$"),
                '^' => out.push_str("\\^{}"),
                '~' => out.push_str("\\~{}"),
                '\\' => out.push_str("\\textbackslash{}"),
                c => out.push(c),
            }
        }
        out
    }
    fn bold(&self, s: &str) -> String {
        format!("\\textbf{{{s}}}")
    }
    fn table(&self, title: &str, g: &Grid, notes: &[String]) -> String {
        let mut out =
            String::from("% Requires \\usepackage{booktabs}.\n\\begin{table}\n\\centering\n");
        out += &format!(
            "\\caption{{{title}}}\n\\begin{{tabular}}{{{}}}\n\\toprule\n",
            "l".repeat(g.header.len())
        );
        out += &format!("{} \\\\\n\\midrule\n", g.header.join(" & "));
        for r in &g.rows {
            out += &format!(
                "{} \\\\\n",
                r.iter()
                    .map(|(s, _)| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" & ")
            );
        }
        out += "\\bottomrule\n\\end{tabular}\n";
        for n in notes {
            out += &format!("\\par\\footnotesize {n}\n");
        }
        out += "\\end{table}\n";
        out
    }
}

struct Html;

impl Markup for Html {
    fn escape(&self, s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }
    fn bold(&self, s: &str) -> String {
        format!("<strong>{s}</strong>")
    }
    fn table(&self, title: &str, g: &Grid, notes: &[String]) -> String {
        let mut out = format!("<table>\n<caption>{title}</caption>\n<thead>\n<tr>");
        for h in &g.header {
            out += &format!("<th>{h}</th>");
        }
        out += "</tr>\n</thead>\n<tbody>\n";
        for r in &g.rows {
            out += "<tr>";
            for (s, _) in r {
                out += &format!("<td>{s}</td>");
            }
            out += "</tr>\n";
        }
        out += "</tbody>\n</table>\n";
        for n in notes {
            out += &format!("<p><small>{n}</small></p>\n");
        }
        out
    }
}

/// One line per row; per metric every number in its own column, at full
/// precision.
fn csv(c: &Comparison) -> String {
    let mut header: Vec<String> = c.row_axes.clone();
    header.extend(["selected", "runs", "done", "failed", "baseline", "n_counts"].map(String::from));
    for col in &c.columns {
        let p = format!("{}.{}", col.head, col.metric);
        for suffix in ["mean", "std", "n", "ci_low", "ci_high", "best"] {
            header.push(format!("{p}.{suffix}"));
        }
        if c.baseline.is_some() {
            for suffix in [
                "pairs",
                "diff",
                "wilcoxon_p",
                "wilcoxon_exact",
                "t_p",
                "wilcoxon_p_adjusted",
                "t_p_adjusted",
            ] {
                header.push(format!("{p}.{suffix}"));
            }
            if c.margin.is_some() {
                for suffix in ["equiv_ci90_low", "equiv_ci90_high", "equiv_p"] {
                    header.push(format!("{p}.{suffix}"));
                }
            }
            if c.rounds.is_some() {
                for suffix in ["anytime_low", "anytime_high"] {
                    header.push(format!("{p}.{suffix}"));
                }
            }
        }
    }
    if c.rounds.is_some() {
        header.extend(["seeds", "seeds_of", "stopped"].map(String::from));
    }
    let f = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
    let mut lines = vec![header];
    for r in &c.rows {
        let mut cells: Vec<String> = r.values.clone();
        cells.push(r.selected.clone().unwrap_or_default());
        cells.extend([
            r.runs.to_string(),
            r.done.to_string(),
            r.failed.to_string(),
            r.baseline.to_string(),
            c.n_counts.clone(),
        ]);
        for cell in &r.cells {
            let s = &cell.summary;
            cells.extend([
                f(s.mean),
                f(s.std),
                s.n.to_string(),
                f(s.ci95.map(|c| c.0)),
                f(s.ci95.map(|c| c.1)),
                cell.best.to_string(),
            ]);
            if c.baseline.is_some() {
                match &cell.paired {
                    None => cells.extend(std::iter::repeat_n(String::new(), 7)),
                    Some(p) => cells.extend([
                        p.n.to_string(),
                        f(p.mean_diff),
                        f(p.wilcoxon.map(|w| w.p)),
                        p.wilcoxon.map_or_else(String::new, |w| w.exact.to_string()),
                        f(p.t_p),
                        f(p.wilcoxon_p_adjusted),
                        f(p.t_p_adjusted),
                    ]),
                }
                if c.margin.is_some() {
                    let e = cell.paired.as_ref().and_then(|p| p.equivalence);
                    cells.extend([
                        f(e.map(|e| e.ci90.0)),
                        f(e.map(|e| e.ci90.1)),
                        f(e.map(|e| e.p)),
                    ]);
                }
                if c.rounds.is_some() {
                    let a = cell.paired.as_ref().and_then(|p| p.anytime);
                    cells.extend([f(a.map(|a| a.low)), f(a.map(|a| a.high))]);
                }
            }
        }
        if c.rounds.is_some() {
            let s = r.seeds.as_ref();
            cells.extend([
                s.map_or_else(String::new, |s| s.given.to_string()),
                s.map_or_else(String::new, |s| s.of.to_string()),
                s.map_or_else(String::new, |s| s.stopped.clone()),
            ]);
        }
        lines.push(cells);
    }
    csv_text(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{compare, tests::fixture, Adjust, CompareOptions};
    use headsweep_metrics::Metric;

    fn comparison() -> Comparison {
        let o = CompareOptions {
            split: "test".into(),
            baseline: Some(vec![
                ("model.architecture".into(), "multi_label".into()),
                ("model.head_depth".into(), "0".into()),
            ]),
            adjust: Adjust::Holm,
            metrics: Some(vec![
                ("age".into(), Metric::Accuracy),
                ("age".into(), Metric::Mass),
                ("joint".into(), Metric::ExactMatch),
            ]),
            ..Default::default()
        };
        compare(&fixture(), &o).unwrap()
    }

    #[test]
    fn markdown() {
        insta::assert_snapshot!(render_comparison(&comparison(), ComparisonFormat::Markdown));
    }

    #[test]
    fn csv_format() {
        insta::assert_snapshot!(render_comparison(&comparison(), ComparisonFormat::Csv));
    }

    #[test]
    fn json() {
        insta::assert_snapshot!(render_comparison(&comparison(), ComparisonFormat::Json));
    }

    #[test]
    fn latex() {
        insta::assert_snapshot!(render_comparison(
            &comparison(),
            ComparisonFormat::LatexFull
        ));
    }

    /// The compact table: axes, then per metric mean ± std and p_W — 2 + 3·2
    /// columns for three metrics.
    #[test]
    fn latex_compact() {
        let t = render_comparison(&comparison(), ComparisonFormat::Latex);
        assert!(t.contains("\\begin{tabular}{llllllll}"), "{t}");
        assert!(t.contains("\\usepackage{booktabs}") && t.contains("\\toprule"));
        assert!(t.contains("multi\\_label (baseline)"));
        // The fixture's cells do not all have n = 3 (one run failed), so n
        // sits beside the means.
        assert!(t.contains("(2)") && t.contains("(3)"));
    }

    /// HTML is a complete page unless a fragment is asked for.
    #[test]
    fn html_document_and_fragment() {
        let doc = render_comparison(&comparison(), ComparisonFormat::Html);
        assert!(
            doc.starts_with("<!DOCTYPE html>")
                && doc.contains("<style>")
                && doc.trim_end().ends_with("</html>")
        );
        assert!(
            !doc.contains("http://") && !doc.contains("https://"),
            "nothing fetched from a network"
        );
        let frag = render_comparison(&comparison(), ComparisonFormat::HtmlFragment);
        assert!(frag.starts_with("<table>"));
        assert!(doc.contains(&frag));
    }

    #[test]
    fn html() {
        insta::assert_snapshot!(render_comparison(
            &comparison(),
            ComparisonFormat::HtmlFragment
        ));
    }

    /// A margin adds the equivalence interval and p to every paired cell,
    /// in the table and the CSV alike.
    #[test]
    fn margin_columns() {
        let mut o = CompareOptions {
            split: "test".into(),
            baseline: Some(vec![
                ("model.architecture".into(), "multi_label".into()),
                ("model.head_depth".into(), "0".into()),
            ]),
            metrics: Some(vec![("age".into(), Metric::Accuracy)]),
            ..Default::default()
        };
        o.margin = Some(0.2);
        let c = compare(&fixture(), &o).unwrap();
        let md = render_comparison(&c, ComparisonFormat::Markdown);
        let header = md.lines().find(|l| l.starts_with("| model")).unwrap();
        assert!(header.ends_with("| 90% CI Δ | p_eq |"), "{header}");
        let body: Vec<&str> = md.lines().filter(|l| l.starts_with("| multi")).collect();
        let cols = header.matches(" | ").count();
        assert!(
            body.iter().all(|l| l.matches(" | ").count() == cols),
            "{md}"
        );
        assert!(md.contains("±0.2"));
        let csv = render_comparison(&c, ComparisonFormat::Csv);
        let mut lines = csv.lines();
        let n = lines.next().unwrap().split(',').count();
        assert!(csv
            .lines()
            .next()
            .unwrap()
            .ends_with("age.accuracy.equiv_p"));
        assert!(lines.all(|l| l.split(',').count() == n));
    }
}
