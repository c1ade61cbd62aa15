//! The comparison table: a row per setting of the chosen axes, seeds
//! aggregated; per head and metric the mean ± std, n, a 95% t interval, the
//! best row marked, and paired tests against a baseline row.

use std::collections::BTreeMap;

use headsweep_metrics::{
    holm, paired_t, summarize, wilcoxon, Direction, Metric, Summary, Wilcoxon, JOINT,
};
use headsweep_spec::RunStatus;
use serde::Serialize;

use crate::data::{RunData, SweepData};
use crate::ReportError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Adjust {
    #[default]
    None,
    Holm,
}

#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// Axes that make the rows; default every axis that varies.
    pub rows: Option<Vec<String>>,
    /// `(head, metric)` columns; default per head accuracy, balanced
    /// accuracy, macro F1, ECE and mass, then joint exact match.
    pub metrics: Option<Vec<(String, Metric)>>,
    pub split: String,
    /// `(axis, value)` pairs naming the baseline row.
    pub baseline: Option<Vec<(String, String)>>,
    /// `(split, head, metric)`: per row, first pick the best setting of the
    /// axes not shown by this quantity.
    pub select_by: Option<(String, String, Metric)>,
    pub adjust: Adjust,
}

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub head: String,
    pub metric: Metric,
    pub direction: Direction,
}

/// A row against the baseline, paired by seed.
#[derive(Debug, Clone, Serialize)]
pub struct Paired {
    /// Seeds present in both rows.
    pub n: usize,
    /// Mean of row − baseline over those seeds.
    pub mean_diff: Option<f64>,
    pub wilcoxon: Option<Wilcoxon>,
    pub t_p: Option<f64>,
    /// Holm-adjusted within the column, with `--adjust holm`.
    pub wilcoxon_p_adjusted: Option<f64>,
    pub t_p_adjusted: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub summary: Summary,
    pub best: bool,
    pub paired: Option<Paired>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Values of the row axes.
    pub values: Vec<String>,
    /// Runs in the row (after selection), and how many are done / failed.
    pub runs: usize,
    pub done: usize,
    pub failed: usize,
    /// With `select_by`: the hidden axes' setting chosen, `axis=value …`.
    pub selected: Option<String>,
    pub baseline: bool,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub sweep: String,
    pub split: String,
    pub row_axes: Vec<String>,
    /// Varying axes not shown: pooled over, or chosen per row by `select_by`.
    pub hidden_axes: Vec<String>,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    pub baseline: Option<String>,
    pub select_by: Option<String>,
    pub adjust: Adjust,
    pub notes: Vec<String>,
}

fn default_metrics(data: &SweepData) -> Vec<(String, Metric)> {
    let mut out = Vec::new();
    for h in data.heads() {
        if h == JOINT {
            out.push((h, Metric::ExactMatch));
        } else {
            for m in [
                Metric::Accuracy,
                Metric::BalancedAccuracy,
                Metric::MacroF1,
                Metric::Ece,
                Metric::Mass,
            ] {
                out.push((h.clone(), m));
            }
        }
    }
    out
}

/// Groups `runs` by their values of `axes`, in first-seen order.
fn group<'a>(runs: &[&'a RunData], axes: &[String]) -> Vec<(Vec<String>, Vec<&'a RunData>)> {
    let mut groups: Vec<(Vec<String>, Vec<&RunData>)> = Vec::new();
    for r in runs {
        let key: Vec<String> = axes
            .iter()
            .map(|a| r.axis(a).unwrap_or("").to_string())
            .collect();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    groups
}

/// A replicate: a seed and the values of the pooled axes.
type Replicate = (i64, Vec<String>);

/// One value per replicate — a run's seed together with its values of the
/// `pooled` axes — over the done runs that have the metric. Rows that pool
/// axes thus count each run as its own observation, and pair with the
/// baseline run of the same seed and pooled setting.
fn replicates(
    runs: &[&RunData],
    pooled: &[String],
    split: &str,
    head: &str,
    metric: Metric,
) -> BTreeMap<Replicate, f64> {
    let mut acc: BTreeMap<Replicate, (f64, usize)> = BTreeMap::new();
    for r in runs.iter().filter(|r| r.status == RunStatus::Done) {
        if let Some(v) = r.metric(split, head, metric.name()) {
            let key = (
                r.seed,
                pooled
                    .iter()
                    .map(|a| r.axis(a).unwrap_or("").to_string())
                    .collect(),
            );
            let e = acc.entry(key).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
    }
    acc.into_iter()
        .map(|(k, (sum, n))| (k, sum / n as f64))
        .collect()
}

pub fn compare(data: &SweepData, opts: &CompareOptions) -> Result<Comparison, ReportError> {
    if !["train", "val", "test"].contains(&opts.split.as_str()) {
        return Err(ReportError::UnknownSplit(opts.split.clone()));
    }
    let varying = data.varying_axes();
    let row_axes = opts.rows.clone().unwrap_or_else(|| varying.clone());
    for a in &row_axes {
        if !data.axes.contains(a) {
            return Err(ReportError::UnknownAxis {
                axis: a.clone(),
                sweep: data.name.clone(),
                axes: data.axes.clone(),
            });
        }
    }
    let hidden: Vec<String> = varying
        .iter()
        .filter(|a| !row_axes.contains(a))
        .cloned()
        .collect();
    let metrics = opts
        .metrics
        .clone()
        .unwrap_or_else(|| default_metrics(data));
    let heads = data.heads();
    for (h, _) in &metrics {
        if !heads.contains(h) {
            return Err(ReportError::UnknownHead {
                flag: "--metrics",
                head: h.clone(),
                heads: heads.clone(),
            });
        }
    }
    let columns: Vec<Column> = metrics
        .iter()
        .map(|(h, m)| Column {
            head: h.clone(),
            metric: *m,
            direction: m.direction(),
        })
        .collect();
    let runs: Vec<&RunData> = data.runs.iter().collect();
    // Hidden axes not resolved by selection are pooled: part of a replicate.
    let pooled: Vec<String> = if opts.select_by.is_some() {
        Vec::new()
    } else {
        hidden.clone()
    };

    let mut rows = Vec::new();
    let mut members: Vec<Vec<&RunData>> = Vec::new();
    for (values, group_runs) in group(&runs, &row_axes) {
        let (chosen, selected) = match &opts.select_by {
            Some((split, head, metric)) if !hidden.is_empty() => {
                let score = |v: f64| metric.direction().score(v).unwrap_or(v);
                let mut best: Option<(f64, Vec<String>, Vec<&RunData>)> = None;
                for (sub_key, sub) in group(&group_runs, &hidden) {
                    let vals: Vec<f64> = replicates(&sub, &[], split, head, *metric)
                        .into_values()
                        .collect();
                    let Some(mean) = summarize(&vals).mean else {
                        continue;
                    };
                    if best
                        .as_ref()
                        .is_none_or(|(b, _, _)| score(mean) > score(*b))
                    {
                        best = Some((mean, sub_key, sub));
                    }
                }
                match best {
                    Some((_, key, sub)) => {
                        let label = hidden
                            .iter()
                            .zip(&key)
                            .map(|(a, v)| format!("{a}={v}"))
                            .collect::<Vec<_>>()
                            .join(" ");
                        (sub, Some(label))
                    }
                    None => (group_runs, None),
                }
            }
            _ => (group_runs, None),
        };
        let cells = columns
            .iter()
            .map(|c| {
                let vals: Vec<f64> = replicates(&chosen, &pooled, &opts.split, &c.head, c.metric)
                    .into_values()
                    .collect();
                Cell {
                    summary: summarize(&vals),
                    best: false,
                    paired: None,
                }
            })
            .collect();
        rows.push(Row {
            values,
            runs: chosen.len(),
            done: chosen
                .iter()
                .filter(|r| r.status == RunStatus::Done)
                .count(),
            failed: chosen
                .iter()
                .filter(|r| r.status == RunStatus::Failed)
                .count(),
            selected,
            baseline: false,
            cells,
        });
        members.push(chosen);
    }
    if rows.is_empty() {
        return Err(ReportError::NoRuns(data.name.clone()));
    }

    // Best per column; ties all marked; none for a count.
    for (j, c) in columns.iter().enumerate() {
        let best = rows
            .iter()
            .filter_map(|r| r.cells[j].summary.mean)
            .filter_map(|m| c.direction.score(m))
            .fold(f64::NEG_INFINITY, f64::max);
        for r in &mut rows {
            r.cells[j].best = r.cells[j]
                .summary
                .mean
                .and_then(|m| c.direction.score(m))
                .is_some_and(|s| s == best);
        }
    }

    let mut notes = Vec::new();
    let mut baseline_label = None;
    if let Some(base) = &opts.baseline {
        for (a, _) in base {
            if !row_axes.contains(a) {
                return Err(ReportError::NotARowAxis {
                    axis: a.clone(),
                    rows: row_axes.clone(),
                });
            }
        }
        let matching: Vec<usize> = (0..rows.len())
            .filter(|&i| {
                base.iter().all(|(a, v)| {
                    row_axes
                        .iter()
                        .position(|x| x == a)
                        .is_some_and(|j| &rows[i].values[j] == v)
                })
            })
            .collect();
        let bi = match matching.as_slice() {
            [] => return Err(ReportError::NoBaseline(base.clone())),
            [one] => *one,
            many => {
                return Err(ReportError::AmbiguousBaseline {
                    given: base.clone(),
                    matches: many
                        .iter()
                        .map(|&i| {
                            row_axes
                                .iter()
                                .zip(&rows[i].values)
                                .map(|(a, v)| format!("{a}={v}"))
                                .collect::<Vec<_>>()
                                .join(",")
                        })
                        .collect(),
                })
            }
        };
        rows[bi].baseline = true;
        baseline_label = Some(
            base.iter()
                .map(|(a, v)| format!("{a}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
        );
        let mut ns = Vec::new();
        for (j, c) in columns.iter().enumerate() {
            let base_vals = replicates(&members[bi], &pooled, &opts.split, &c.head, c.metric);
            for (i, r) in rows.iter_mut().enumerate() {
                if i == bi {
                    continue;
                }
                let mine = replicates(&members[i], &pooled, &opts.split, &c.head, c.metric);
                let diffs: Vec<f64> = mine
                    .iter()
                    .filter_map(|(s, v)| base_vals.get(s).map(|b| v - b))
                    .collect();
                ns.push(diffs.len());
                r.cells[j].paired = Some(Paired {
                    n: diffs.len(),
                    mean_diff: summarize(&diffs).mean,
                    wilcoxon: wilcoxon(&diffs),
                    t_p: paired_t(&diffs),
                    wilcoxon_p_adjusted: None,
                    t_p_adjusted: None,
                });
            }
            if opts.adjust == Adjust::Holm {
                let w: Vec<Option<f64>> = rows
                    .iter()
                    .map(|r| {
                        r.cells[j]
                            .paired
                            .as_ref()
                            .and_then(|p| p.wilcoxon.map(|w| w.p))
                    })
                    .collect();
                let t: Vec<Option<f64>> = rows
                    .iter()
                    .map(|r| r.cells[j].paired.as_ref().and_then(|p| p.t_p))
                    .collect();
                for ((r, wa), ta) in rows.iter_mut().zip(holm(&w)).zip(holm(&t)) {
                    if let Some(p) = r.cells[j].paired.as_mut() {
                        p.wilcoxon_p_adjusted = wa;
                        p.t_p_adjusted = ta;
                    }
                }
            }
        }
        ns.sort_unstable();
        ns.dedup();
        for n in ns.into_iter().filter(|&n| n > 0) {
            notes.push(format!(
                "With {n} pairs the exact two-sided Wilcoxon test cannot give p below 2/2^{n} = {:.3e}.",
                headsweep_metrics::wilcoxon_min_p(n)
            ));
        }
        let pairing = if pooled.is_empty() {
            "seed".to_string()
        } else {
            format!("seed and {}", pooled.join(", "))
        };
        notes.push(format!("Paired by {pairing}: Δ = row − baseline; p_W two-sided Wilcoxon signed-rank (zero differences dropped; exact for n ≤ 25 without ties, else normal approximation with tie correction), p_t two-sided paired t."));
        if opts.adjust == Adjust::Holm {
            notes.push("p-values Holm-adjusted within each column.".into());
        }
    }
    if !hidden.is_empty() {
        notes.push(match &opts.select_by {
            Some((s, h, m)) => format!(
                "Per row, the setting of {} with the best mean {s}.{h}.{m} was selected first.",
                hidden.join(", ")
            ),
            None => format!(
                "Rows pool the runs of every setting of {}: each run is one observation, paired with the baseline by seed and that setting.",
                hidden.join(", ")
            ),
        });
    }
    if rows.iter().any(|r| r.failed > 0 || r.done < r.runs) {
        notes.push(
            "Some rows have runs that failed or are unfinished: n counts the seeds with a value."
                .into(),
        );
    }
    notes.push("— : undefined (n < 2, zero variance, or all differences zero).".into());
    Ok(Comparison {
        sweep: data.name.clone(),
        split: opts.split.clone(),
        row_axes,
        hidden_axes: hidden,
        columns,
        rows,
        baseline: baseline_label,
        select_by: opts
            .select_by
            .as_ref()
            .map(|(s, h, m)| format!("{s}.{h}.{m}")),
        adjust: opts.adjust,
        notes,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::data::RunData;

    /// Two architectures × two depths × 3 seeds, fixed numbers; one run failed.
    pub fn fixture() -> SweepData {
        let mut runs = Vec::new();
        let acc = |arch: &str, depth: &str, seed: i64| -> f64 {
            let base = if arch == "multi_head" { 0.70 } else { 0.60 };
            base + if depth == "1" { 0.05 } else { 0.0 }
                + 0.01 * seed as f64
                + if arch == "multi_head" && seed == 1 {
                    0.005
                } else {
                    0.0
                }
        };
        for arch in ["multi_label", "multi_head"] {
            for depth in ["0", "1"] {
                for seed in 0..3 {
                    let mut r = RunData {
                        id: format!("{arch}-{depth}-{seed}"),
                        seed,
                        status: RunStatus::Done,
                        axes: vec![
                            ("model.architecture".into(), arch.into()),
                            ("model.head_depth".into(), depth.into()),
                        ],
                        ..Default::default()
                    };
                    if arch == "multi_label" && depth == "1" && seed == 2 {
                        r.status = RunStatus::Failed;
                    } else {
                        let a = acc(arch, depth, seed);
                        for (split, shift) in [
                            ("test", 0.0),
                            ("val", if depth == "1" { -0.1 } else { 0.0 }),
                        ] {
                            r.metrics
                                .insert((split.into(), "age".into(), "accuracy".into()), a + shift);
                            r.metrics
                                .insert((split.into(), "age".into(), "ece".into()), 0.1 - a / 10.0);
                            r.metrics.insert(
                                (split.into(), "age".into(), "mass".into()),
                                if arch == "multi_label" { 0.9 } else { 1.0 },
                            );
                            r.metrics.insert(
                                (split.into(), "joint".into(), "exact_match".into()),
                                a - 0.1,
                            );
                        }
                    }
                    runs.push(r);
                }
            }
        }
        SweepData {
            name: "fx".into(),
            axes: vec!["model.architecture".into(), "model.head_depth".into()],
            runs,
        }
    }

    fn opts() -> CompareOptions {
        CompareOptions {
            split: "test".into(),
            ..Default::default()
        }
    }

    #[test]
    fn rows_cells_and_best() {
        let c = compare(&fixture(), &opts()).unwrap();
        assert_eq!(c.row_axes, ["model.architecture", "model.head_depth"]);
        assert_eq!(c.rows.len(), 4);
        let ml1 = &c.rows[1];
        assert_eq!((ml1.runs, ml1.done, ml1.failed), (3, 2, 1));
        assert_eq!(ml1.cells[0].summary.n, 2);
        // multi_head depth 1: 0.75, 0.765, 0.77 → mean 0.761666…
        let mh1 = &c.rows[3];
        assert!((mh1.cells[0].summary.mean.unwrap() - (0.75 + 0.765 + 0.77) / 3.0).abs() < 1e-12);
        assert!(mh1.cells[0].best && !c.rows[0].cells[0].best);
        // ECE: lower is better → also multi_head depth 1. Mass: closest to 1 → both multi_head rows.
        let col = |m: &str| c.columns.iter().position(|x| x.metric.name() == m).unwrap();
        assert!(mh1.cells[col("ece")].best);
        assert!(
            c.rows[2].cells[col("mass")].best
                && mh1.cells[col("mass")].best
                && !ml1.cells[col("mass")].best
        );
    }

    #[test]
    fn baseline_pairs_by_seed() {
        let mut o = opts();
        o.rows = Some(vec!["model.architecture".into()]);
        o.select_by = Some(("val".into(), "age".into(), Metric::Accuracy));
        o.baseline = Some(vec![("model.architecture".into(), "multi_label".into())]);
        let c = compare(&fixture(), &o).unwrap();
        // Validation prefers depth 0 (depth 1 is shifted down by 0.1 there).
        assert_eq!(c.rows[0].selected.as_deref(), Some("model.head_depth=0"));
        assert!(c.rows[0].baseline);
        let p = c.rows[1].cells[0].paired.as_ref().unwrap();
        assert_eq!(p.n, 3);
        // multi_head − multi_label at depth 0: 0.10, 0.105, 0.10.
        assert!((p.mean_diff.unwrap() - 0.305 / 3.0).abs() < 1e-12);
        assert_eq!(p.wilcoxon.unwrap().n, 3);
        assert!(p.t_p.is_some());
        assert!(c.notes.iter().any(|n| n.contains("2/2^3")));
    }

    #[test]
    fn bad_names_are_refused() {
        let mut o = opts();
        o.rows = Some(vec!["model.width".into()]);
        assert!(compare(&fixture(), &o)
            .unwrap_err()
            .to_string()
            .contains("not an axis"));
        let mut o = opts();
        o.baseline = Some(vec![("model.architecture".into(), "separate".into())]);
        assert!(compare(&fixture(), &o)
            .unwrap_err()
            .to_string()
            .contains("matches no row"));
        let mut o = opts();
        o.metrics = Some(vec![("sex".into(), Metric::Accuracy)]);
        assert!(compare(&fixture(), &o)
            .unwrap_err()
            .to_string()
            .contains("no head \"sex\""));
    }
}

#[cfg(test)]
mod pooled_tests {
    use super::tests::fixture;
    use super::*;

    /// Pooling head depth: each run is its own observation, so a row has
    /// as many values as runs with the metric, and the baseline pairs by
    /// seed and depth.
    #[test]
    fn pooled_axes_count_every_run() {
        let o = CompareOptions {
            split: "test".into(),
            rows: Some(vec!["model.architecture".into()]),
            metrics: Some(vec![("age".into(), Metric::Accuracy)]),
            baseline: Some(vec![("model.architecture".into(), "multi_label".into())]),
            ..Default::default()
        };
        let c = compare(&fixture(), &o).unwrap();
        assert_eq!(
            c.rows[0].cells[0].summary.n, 5,
            "multi_label: 6 runs, 1 failed"
        );
        assert_eq!(c.rows[1].cells[0].summary.n, 6);
        assert_eq!(
            c.rows[1].cells[0].paired.as_ref().unwrap().n,
            5,
            "pairs only where both have the run"
        );
        assert!(c
            .notes
            .iter()
            .any(|n| n.contains("each run is one observation")));
    }
}
