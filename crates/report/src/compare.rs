//! The comparison table: a row per setting of the chosen axes, seeds
//! aggregated; per head and metric the mean ± std, n, a 95% t interval, the
//! best row marked, and paired tests against a baseline row.

use std::collections::BTreeMap;

use headsweep_metrics::{
    confidence_sequence, equivalence, holm, paired_differences, paired_t, summarize, wilcoxon,
    Direction, Equivalence, Interval, Metric, Scale, Summary, Wilcoxon, JOINT,
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
    /// Holm within each column, over the rows compared with the baseline.
    Holm,
    /// Holm over every paired test of the table: one family of claims.
    HolmAll,
}

/// What one observation of a row is when axes not shown vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pool {
    /// The seed: per seed, the metric is averaged over the pooled settings.
    #[default]
    Seed,
    /// Each run: a seed and a setting of the pooled axes (pseudo-replication
    /// when settings share a seed's data; stated in the notes).
    Run,
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
    pub pool: Pool,
    /// With a baseline: test equivalence within ±margin (metric units).
    pub margin: Option<f64>,
    /// When the sweep's seeds were spent in rounds: what each design got.
    pub rounds: Option<SeedRounds>,
}

/// How a sweep with seeds in rounds spent them, as its rule decided from
/// the validation results.
#[derive(Debug, Clone, Default)]
pub struct SeedRounds {
    /// Per grid point: the seeds it was given, and why it got no more.
    pub designs: std::collections::HashMap<i64, (usize, String)>,
    /// Seeds a design can get at most.
    pub total: usize,
    /// The chance that any of the rule's intervals misses, and of each
    /// one (the first over the designs but one).
    pub level: f64,
    pub pair_level: f64,
    /// The rule, in words, for the notes.
    pub rule: String,
}

/// A row's seeds, when they were spent in rounds.
#[derive(Debug, Clone, Serialize)]
pub struct RowSeeds {
    pub given: usize,
    pub of: usize,
    pub stopped: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub head: String,
    pub metric: Metric,
    pub direction: Direction,
    /// How differences are compared (counts exactly, else within 1e-6).
    pub scale: Scale,
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
    /// Holm-adjusted (within the column, or over the table).
    pub wilcoxon_p_adjusted: Option<f64>,
    pub t_p_adjusted: Option<f64>,
    /// With a margin: the TOST equivalence test.
    pub equivalence: Option<Equivalence>,
    /// When seeds were spent in rounds: the anytime-valid confidence
    /// sequence of Δ, in place of the fixed-n tests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anytime: Option<Interval>,
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
    /// When seeds were spent in rounds: how many this row's design got.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seeds: Option<RowSeeds>,
    pub cells: Vec<Cell>,
    /// The row's runs (after selection), for callers that show more of
    /// them; not part of the exported table.
    #[serde(skip)]
    pub run_ids: Vec<String>,
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
    pub pool: Pool,
    /// What `n` counts, in words.
    pub n_counts: String,
    pub margin: Option<f64>,
    /// Seeds were spent in rounds: the rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounds: Option<String>,
    pub notes: Vec<String>,
}

/// The columns of a comparison that names none, per head (joint: exact
/// match only).
pub const DEFAULT_METRICS: [Metric; 6] = [
    Metric::Accuracy,
    Metric::BalancedAccuracy,
    Metric::MacroF1,
    Metric::Ece,
    Metric::Mass,
    Metric::ExactMatch,
];

fn default_metrics(data: &SweepData) -> Vec<(String, Metric)> {
    let mut out = Vec::new();
    for h in data.heads() {
        if h == JOINT {
            out.push((h, Metric::ExactMatch));
        } else {
            for m in DEFAULT_METRICS.iter().filter(|m| **m != Metric::ExactMatch) {
                out.push((h.clone(), *m));
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

/// A replicate: a seed and, pooling by run, the values of the pooled axes
/// (pooling by seed, those of [`DATA_REPLICATE`] only).
type Replicate = (i64, Vec<String>);

/// The axis that draws a new data set and split: runs that differ in it
/// are independent replicates, not settings to average, so pooling by seed
/// keeps it in the replicate.
pub const DATA_REPLICATE: &str = "data.seed";

/// One value per replicate over the done runs that have the metric. By
/// seed, the values of a seed's runs across the `pooled` settings are
/// averaged; by run, each run is its own replicate, keyed by its seed and
/// pooled setting so it pairs with the baseline run of the same setting.
fn replicates(
    runs: &[&RunData],
    pooled: &[String],
    pool: Pool,
    key: (&str, &str, Metric),
) -> BTreeMap<Replicate, f64> {
    let (split, head, metric) = key;
    let mut acc: BTreeMap<Replicate, (f64, usize)> = BTreeMap::new();
    for r in runs.iter().filter(|r| r.status == RunStatus::Done) {
        if let Some(v) = r.metric(split, head, metric.name()) {
            let setting = match pool {
                Pool::Seed => pooled
                    .iter()
                    .filter(|a| *a == DATA_REPLICATE)
                    .map(|a| r.axis(a).unwrap_or("").to_string())
                    .collect(),
                Pool::Run => pooled
                    .iter()
                    .map(|a| r.axis(a).unwrap_or("").to_string())
                    .collect(),
            };
            let e = acc.entry((r.seed, setting)).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
    }
    acc.into_iter()
        .map(|(k, (sum, n))| (k, sum / n as f64))
        .collect()
}

/// Per row, the runs of the hidden axes' setting with the best mean of
/// the `select_by` quantity (and that setting, `axis=value …`).
fn select<'a>(
    group_runs: Vec<&'a RunData>,
    hidden: &[String],
    replicate: &[String],
    select_by: (&str, &str, Metric),
) -> (Vec<&'a RunData>, Option<String>) {
    let metric = select_by.2;
    let score = |v: f64| metric.direction().score(v).unwrap_or(v);
    let mut best: Option<(f64, Vec<String>, Vec<&RunData>)> = None;
    for (sub_key, sub) in group(&group_runs, hidden) {
        let vals: Vec<f64> = replicates(&sub, replicate, Pool::Seed, select_by)
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

/// The index of the one row `base` names.
fn baseline_row(
    rows: &[Row],
    row_axes: &[String],
    base: &[(String, String)],
) -> Result<usize, ReportError> {
    for (a, _) in base {
        if !row_axes.contains(a) {
            return Err(ReportError::NotARowAxis {
                axis: a.clone(),
                rows: row_axes.to_vec(),
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
    match matching.as_slice() {
        [] => Err(ReportError::NoBaseline(base.to_vec())),
        [one] => Ok(*one),
        many => Err(ReportError::AmbiguousBaseline {
            given: base.to_vec(),
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
        }),
    }
}

/// A row's replicates against the baseline's, paired by replicate key.
fn pair(
    mine: &BTreeMap<Replicate, f64>,
    base: &BTreeMap<Replicate, f64>,
    scale: Scale,
    margin: Option<f64>,
    anytime: Option<f64>,
) -> Paired {
    let pairs: Vec<(f64, f64)> = mine
        .iter()
        .filter_map(|(k, v)| base.get(k).map(|b| (*v, *b)))
        .collect();
    let diffs = paired_differences(&pairs, scale);
    let fixed_n = anytime.is_none();
    Paired {
        n: diffs.len(),
        mean_diff: summarize(&diffs).mean,
        wilcoxon: wilcoxon(&diffs).filter(|_| fixed_n),
        t_p: paired_t(&diffs).filter(|_| fixed_n),
        wilcoxon_p_adjusted: None,
        t_p_adjusted: None,
        equivalence: margin
            .and_then(|m| equivalence(&diffs, m))
            .filter(|_| fixed_n),
        anytime: anytime.and_then(|level| confidence_sequence(&diffs, level)),
    }
}

/// Holm over the groups of paired cells `families` names (each a list of
/// (row, column)), Wilcoxon and t p-values separately.
fn adjust(rows: &mut [Row], families: &[Vec<(usize, usize)>]) {
    for family in families {
        let get = |rows: &[Row], f: &dyn Fn(&Paired) -> Option<f64>| -> Vec<Option<f64>> {
            family
                .iter()
                .map(|&(i, j)| rows[i].cells[j].paired.as_ref().and_then(f))
                .collect()
        };
        let w = holm(&get(rows, &|p| p.wilcoxon.map(|w| w.p)));
        let t = holm(&get(rows, &|p| p.t_p));
        for (k, &(i, j)) in family.iter().enumerate() {
            if let Some(p) = rows[i].cells[j].paired.as_mut() {
                p.wilcoxon_p_adjusted = w[k];
                p.t_p_adjusted = t[k];
            }
        }
    }
}

fn check_options(data: &SweepData, opts: &CompareOptions) -> Result<(), ReportError> {
    if !["train", "val", "test"].contains(&opts.split.as_str()) {
        return Err(ReportError::UnknownSplit(opts.split.clone()));
    }
    if let Some(m) = opts.margin {
        if !(m.is_finite() && m > 0.0) {
            return Err(ReportError::BadMargin(m));
        }
    }
    for a in opts.rows.iter().flatten() {
        if !data.axes.contains(a) {
            return Err(ReportError::UnknownAxis {
                axis: a.clone(),
                sweep: data.name.clone(),
                axes: data.axes.clone(),
            });
        }
    }
    let heads = data.heads();
    for (h, _) in opts.metrics.iter().flatten() {
        if !heads.contains(h) {
            return Err(ReportError::UnknownHead {
                flag: "--metrics",
                head: h.clone(),
                heads: heads.clone(),
            });
        }
    }
    Ok(())
}

impl Comparison {
    /// `data` restricted to the runs the rows hold (after any selection on
    /// validation): what charts beside the table should show.
    pub fn shown(&self, data: &SweepData) -> SweepData {
        let ids: std::collections::HashSet<&str> = self
            .rows
            .iter()
            .flat_map(|r| r.run_ids.iter().map(String::as_str))
            .collect();
        SweepData {
            runs: data
                .runs
                .iter()
                .filter(|r| ids.contains(r.id.as_str()))
                .cloned()
                .collect(),
            ..data.clone()
        }
    }
}

pub fn compare(data: &SweepData, opts: &CompareOptions) -> Result<Comparison, ReportError> {
    check_options(data, opts)?;
    let varying = data.varying_axes();
    let row_axes = opts.rows.clone().unwrap_or_else(|| varying.clone());
    let hidden: Vec<String> = varying
        .iter()
        .filter(|a| !row_axes.contains(a))
        .cloned()
        .collect();
    let columns: Vec<Column> = opts
        .metrics
        .clone()
        .unwrap_or_else(|| default_metrics(data))
        .into_iter()
        .map(|(head, metric)| Column {
            head,
            metric,
            direction: metric.direction(),
            scale: metric.scale(),
        })
        .collect();
    let runs: Vec<&RunData> = data.runs.iter().collect();
    // Hidden axes not resolved by selection are pooled. A new data set
    // and split (data.seed) is a replicate, never a setting to choose.
    let replicate: Vec<String> = hidden
        .iter()
        .filter(|a| *a == DATA_REPLICATE)
        .cloned()
        .collect();
    let choosable: Vec<String> = hidden
        .iter()
        .filter(|a| *a != DATA_REPLICATE)
        .cloned()
        .collect();
    let pooled: Vec<String> = if opts.select_by.is_some() {
        replicate.clone()
    } else {
        hidden.clone()
    };
    let values_of = |members: &[&RunData], c: &Column| {
        replicates(
            members,
            &pooled,
            opts.pool,
            (&opts.split, &c.head, c.metric),
        )
    };

    let mut rows = Vec::new();
    let mut members: Vec<Vec<&RunData>> = Vec::new();
    for (values, group_runs) in group(&runs, &row_axes) {
        let (chosen, selected) = match &opts.select_by {
            Some((split, head, metric)) if !choosable.is_empty() => {
                select(group_runs, &choosable, &replicate, (split, head, *metric))
            }
            _ => (group_runs, None),
        };
        let cells = columns
            .iter()
            .map(|c| Cell {
                summary: summarize(&values_of(&chosen, c).into_values().collect::<Vec<_>>()),
                best: false,
                paired: None,
            })
            .collect();
        let count = |s: RunStatus| chosen.iter().filter(|r| r.status == s).count();
        // A row is one design when its runs share a grid point.
        let seeds = opts.rounds.as_ref().and_then(|q| {
            let point = chosen.first()?.point;
            if chosen.iter().any(|r| r.point != point) {
                return None;
            }
            let (given, why) = q.designs.get(&point)?;
            Some(RowSeeds {
                given: *given,
                of: q.total,
                stopped: why.clone(),
            })
        });
        rows.push(Row {
            values,
            runs: chosen.len(),
            done: count(RunStatus::Done),
            failed: count(RunStatus::Failed),
            selected,
            baseline: false,
            seeds,
            cells,
            run_ids: chosen.iter().map(|r| r.id.clone()).collect(),
        });
        members.push(chosen);
    }
    if rows.is_empty() {
        return Err(ReportError::NoRuns(data.name.clone()));
    }
    mark_best(&mut rows, &columns);

    let mut notes = Vec::new();
    let mut baseline_label = None;
    if let Some(base) = &opts.baseline {
        let bi = baseline_row(&rows, &row_axes, base)?;
        rows[bi].baseline = true;
        baseline_label = Some(
            base.iter()
                .map(|(a, v)| format!("{a}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
        );
        let mut ns = Vec::new();
        for (j, c) in columns.iter().enumerate() {
            let base_vals = values_of(&members[bi], c);
            for (i, r) in rows.iter_mut().enumerate() {
                if i != bi {
                    let anytime = opts.rounds.as_ref().map(|q| q.pair_level);
                    let p = pair(
                        &values_of(&members[i], c),
                        &base_vals,
                        c.scale,
                        opts.margin,
                        anytime,
                    );
                    ns.push(p.n);
                    r.cells[j].paired = Some(p);
                }
            }
        }
        let cells = |j: usize| {
            (0..rows.len())
                .filter(move |&i| i != bi)
                .map(move |i| (i, j))
        };
        let families: Vec<Vec<(usize, usize)>> = match opts.adjust {
            Adjust::None => Vec::new(),
            Adjust::Holm => (0..columns.len()).map(|j| cells(j).collect()).collect(),
            Adjust::HolmAll => vec![(0..columns.len()).flat_map(cells).collect()],
        };
        match &opts.rounds {
            None => {
                adjust(&mut rows, &families);
                notes.extend(test_notes(ns, &pooled, opts));
            }
            Some(q) => notes.push(format!(
                "{}Δ = row − baseline, paired by seed, with its anytime-valid {} confidence sequence (Lai's mixture t, each at level {}: the rule's {} split over the designs but one), in place of Wilcoxon and t p-values and equivalence tests, which hold only when n was fixed in advance.",
                if opts.adjust == Adjust::None { "" } else { "No Holm adjustment: " },
                percent(1.0 - q.pair_level),
                level_text(q.pair_level),
                level_text(q.level),
            )),
        }
    }
    if let Some(q) = &opts.rounds {
        notes.insert(0, format!("{} The seeds column says how many seeds each row got and why it got no more; n counts those seeds.", q.rule));
    }
    notes.extend(pool_notes(&hidden, &pooled, opts));
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
        n_counts: n_counts(&pooled, opts.pool),
        hidden_axes: hidden,
        columns,
        rows,
        baseline: baseline_label,
        select_by: opts
            .select_by
            .as_ref()
            .map(|(s, h, m)| format!("{s}.{h}.{m}")),
        adjust: opts.adjust,
        pool: opts.pool,
        margin: opts.margin,
        rounds: opts.rounds.as_ref().map(|q| q.rule.clone()),
        notes,
    })
}

fn percent(x: f64) -> String {
    format!("{}%", without_trailing_zeros(&format!("{:.3}", 100.0 * x)))
}

/// A significance level as written: up to 5 decimals, no trailing zeros
/// (0.05, 0.00625).
pub fn level_text(x: f64) -> String {
    without_trailing_zeros(&format!("{x:.5}")).to_string()
}

fn without_trailing_zeros(s: &str) -> &str {
    s.trim_end_matches('0').trim_end_matches('.')
}

/// Best per column; ties all marked; none for a count.
fn mark_best(rows: &mut [Row], columns: &[Column]) {
    for (j, c) in columns.iter().enumerate() {
        let best = rows
            .iter()
            .filter_map(|r| r.cells[j].summary.mean)
            .filter_map(|m| c.direction.score(m))
            .fold(f64::NEG_INFINITY, f64::max);
        for r in rows.iter_mut() {
            r.cells[j].best = r.cells[j]
                .summary
                .mean
                .and_then(|m| c.direction.score(m))
                .is_some_and(|s| s == best);
        }
    }
}

fn n_counts(pooled: &[String], pool: Pool) -> String {
    let data = pooled.iter().any(|a| a == DATA_REPLICATE);
    let averaged: Vec<&str> = pooled
        .iter()
        .map(String::as_str)
        .filter(|a| *a != DATA_REPLICATE)
        .collect();
    let unit = if data { "seeds × data sets" } else { "seeds" };
    match (pool, averaged.is_empty()) {
        (Pool::Seed, true) => unit.into(),
        (Pool::Seed, false) => format!("{unit} (each the mean over {})", averaged.join(", ")),
        (Pool::Run, _) if pooled.is_empty() => "seeds".into(),
        (Pool::Run, _) => format!("runs (seeds × settings of {})", pooled.join(", ")),
    }
}

fn test_notes(mut ns: Vec<usize>, pooled: &[String], opts: &CompareOptions) -> Vec<String> {
    let mut notes = Vec::new();
    ns.sort_unstable();
    ns.dedup();
    for n in ns.into_iter().filter(|&n| n > 0) {
        notes.push(format!(
            "With {n} pairs the exact two-sided Wilcoxon test cannot give p below 2/2^{n} = {:.3e}.",
            headsweep_metrics::wilcoxon_min_p(n)
        ));
    }
    let pairing = match opts.pool {
        _ if pooled.is_empty() => "seed".to_string(),
        Pool::Seed if pooled.iter().any(|a| a == DATA_REPLICATE) => {
            format!("seed and {DATA_REPLICATE}")
        }
        Pool::Seed => "seed".to_string(),
        Pool::Run => format!("seed and {}", pooled.join(", ")),
    };
    notes.push(format!("Paired by {pairing}: Δ = row − baseline; p_W two-sided Wilcoxon signed-rank (zero differences dropped; exact for n ≤ 25 without ties, else normal approximation with tie correction), p_t two-sided paired t."));
    notes.push(format!(
        "Differences of count metrics (accuracy, exact_match, off_by_one, mae) are compared as counts; of other metrics, equal within {:e} of the largest value compared.",
        headsweep_metrics::CONTINUOUS_TOLERANCE
    ));
    match opts.adjust {
        Adjust::None => {}
        Adjust::Holm => notes.push("p-values Holm-adjusted within each column.".into()),
        Adjust::HolmAll => notes.push(
            "p-values Holm-adjusted over every test in the table: one family of claims.".into(),
        ),
    }
    if let Some(m) = opts.margin {
        notes.push(format!("Equivalence within ±{m}: two one-sided t-tests (TOST); 90% CI of Δ; p_eq < 0.05 (the interval inside ±{m}) supports \"no difference larger than {m}\"."));
    }
    notes
}

fn pool_notes(hidden: &[String], pooled: &[String], opts: &CompareOptions) -> Vec<String> {
    if hidden.is_empty() {
        return Vec::new();
    }
    vec![match (&opts.select_by, opts.pool) {
        (Some((s, h, m)), _) => {
            let chosen: Vec<&str> = hidden
                .iter()
                .map(String::as_str)
                .filter(|a| *a != DATA_REPLICATE)
                .collect();
            let mut note = format!(
                "Per row, the setting of {} with the best mean {s}.{h}.{m} was selected first",
                chosen.join(", ")
            );
            if pooled.iter().any(|a| a == DATA_REPLICATE) {
                note += " (its mean over every data set: data.seed is a replicate, not a setting); n counts seeds × data sets";
            }
            note + "."
        }
        (None, Pool::Seed) => {
            let averaged: Vec<&str> = pooled
                .iter()
                .map(String::as_str)
                .filter(|a| *a != DATA_REPLICATE)
                .collect();
            let mut note = String::new();
            if !averaged.is_empty() {
                note += &format!(
                    "Rows pool {}: per seed, the metric is averaged over their settings, so n counts seeds",
                    averaged.join(", ")
                );
            }
            if pooled.iter().any(|a| a == DATA_REPLICATE) {
                note += if note.is_empty() { "Each" } else { "; each" };
                note += " data set (data.seed: its own data and split) is an independent replicate, so n counts seeds × data sets";
            }
            note + "."
        }
        (None, Pool::Run) => format!(
            "Rows pool {} by run: each run is one observation, paired with the baseline by seed and setting; runs sharing a seed are not independent.",
            pooled.join(", ")
        ),
    }]
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

    /// With seeds in rounds, paired cells carry the anytime interval of
    /// the differences and no fixed-n test, and each row its seeds.
    #[test]
    fn seeds_in_rounds_replace_p_values_with_anytime_intervals() {
        let mut data = fixture();
        for r in &mut data.runs {
            r.point = match (r.axis("model.architecture"), r.axis("model.head_depth")) {
                (Some("multi_label"), Some("0")) => 0,
                (Some("multi_label"), _) => 1,
                (_, Some("0")) => 2,
                _ => 3,
            };
        }
        let designs = (0..4).map(|p| (p, (3, format!("why {p}")))).collect();
        let o = CompareOptions {
            split: "test".into(),
            metrics: Some(vec![("age".into(), Metric::Accuracy)]),
            baseline: Some(vec![
                ("model.architecture".into(), "multi_label".into()),
                ("model.head_depth".into(), "0".into()),
            ]),
            adjust: Adjust::Holm,
            rounds: Some(SeedRounds {
                designs,
                total: 5,
                level: 0.15,
                pair_level: 0.05,
                rule: "The rule.".into(),
            }),
            ..Default::default()
        };
        let c = compare(&data, &o).unwrap();
        assert_eq!(c.rounds.as_deref(), Some("The rule."));
        assert!(c.notes[0].starts_with("The rule."), "{:?}", c.notes);
        let mh1 = &c.rows[3];
        let s = mh1.seeds.as_ref().unwrap();
        assert_eq!((s.given, s.of, s.stopped.as_str()), (3, 5, "why 3"));
        // multi_head depth 1 against multi_label depth 0, seeds 0, 1, 2:
        // 0.75 − 0.60, 0.765 − 0.61, 0.77 − 0.62.
        let p = mh1.cells[0].paired.as_ref().unwrap();
        assert!(p.wilcoxon.is_none() && p.t_p.is_none() && p.t_p_adjusted.is_none());
        let want = confidence_sequence(&[0.15, 0.155, 0.15], 0.05).unwrap();
        let got = p.anytime.unwrap();
        assert_eq!(got.n, 3);
        assert!(
            (got.low - want.low).abs() < 1e-9 && (got.high - want.high).abs() < 1e-9,
            "{got:?} {want:?} {:?}",
            p.mean_diff
        );
        assert!(got.low > 0.0, "{got:?}");
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

    fn opts(pool: Pool) -> CompareOptions {
        CompareOptions {
            split: "test".into(),
            rows: Some(vec!["model.architecture".into()]),
            metrics: Some(vec![("age".into(), Metric::Accuracy)]),
            baseline: Some(vec![("model.architecture".into(), "multi_label".into())]),
            pool,
            ..Default::default()
        }
    }

    /// Pooling head depth by seed (the default): a seed's runs are
    /// averaged, so n counts seeds and pairs are seeds.
    #[test]
    fn pooled_axes_are_averaged_per_seed() {
        let c = compare(&fixture(), &opts(Pool::Seed)).unwrap();
        assert_eq!(c.rows[0].cells[0].summary.n, 3, "3 seeds (one run failed)");
        assert_eq!(c.rows[1].cells[0].summary.n, 3);
        // multi_label seed 2 has only depth 0 (0.62): the seed's value is
        // that run's; seeds 0 and 1 average depths 0 and 1.
        let want = ((0.60 + 0.65) / 2.0 + (0.61 + 0.66) / 2.0 + 0.62) / 3.0;
        assert!((c.rows[0].cells[0].summary.mean.unwrap() - want).abs() < 1e-12);
        let p = c.rows[1].cells[0].paired.as_ref().unwrap();
        assert_eq!(p.n, 3);
        assert!(c.n_counts.starts_with("seeds"));
        assert!(c.notes.iter().any(|n| n.contains("n counts seeds")));
    }

    /// By run, each run is its own observation, paired by seed and depth.
    #[test]
    fn pooling_by_run_counts_every_run() {
        let c = compare(&fixture(), &opts(Pool::Run)).unwrap();
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
        assert!(c.n_counts.starts_with("runs"));
        assert!(c.notes.iter().any(|n| n.contains("not independent")));
    }

    /// Holm over the whole table adjusts every test as one family: with
    /// m tests the smallest p is multiplied by m.
    #[test]
    fn holm_over_the_table_is_one_family() {
        let mut o = opts(Pool::Seed);
        o.rows = None;
        o.baseline = Some(vec![
            ("model.architecture".into(), "multi_label".into()),
            ("model.head_depth".into(), "0".into()),
        ]);
        o.metrics = Some(vec![
            ("age".into(), Metric::Accuracy),
            ("age".into(), Metric::Ece),
        ]);
        let raw = compare(&fixture(), &o).unwrap();
        o.adjust = Adjust::HolmAll;
        let all = compare(&fixture(), &o).unwrap();
        let ps = |c: &Comparison, f: &dyn Fn(&Paired) -> Option<f64>| -> Vec<Option<f64>> {
            c.rows
                .iter()
                .flat_map(|r| r.cells.iter().map(|c| c.paired.as_ref().and_then(f)))
                .collect()
        };
        let want = holm(&ps(&raw, &|p| p.t_p));
        assert_eq!(ps(&all, &|p| p.t_p_adjusted), want);
        assert!(want.iter().flatten().count() >= 4);
        o.adjust = Adjust::Holm;
        let per_column = compare(&fixture(), &o).unwrap();
        assert_ne!(ps(&per_column, &|p| p.t_p_adjusted), want);
    }

    #[test]
    fn margins_test_equivalence() {
        let mut o = opts(Pool::Seed);
        o.margin = Some(0.2);
        let c = compare(&fixture(), &o).unwrap();
        let e = c.rows[1].cells[0]
            .paired
            .as_ref()
            .unwrap()
            .equivalence
            .unwrap();
        assert!(e.ci90.0 > 0.05 && e.ci90.1 < 0.2 && e.equivalent);
        o.margin = Some(0.05);
        let c = compare(&fixture(), &o).unwrap();
        let e = c.rows[1].cells[0]
            .paired
            .as_ref()
            .unwrap()
            .equivalence
            .unwrap();
        assert!(!e.equivalent, "Δ ≈ 0.1 is not within ±0.05");
        o.margin = Some(-1.0);
        assert!(compare(&fixture(), &o).is_err());
    }

    /// A hidden data.seed is a replicate, not a setting to average: with
    /// one training seed and three data seeds, n is 3.
    #[test]
    fn data_seeds_are_replicates() {
        let mut data = fixture();
        data.axes.push(DATA_REPLICATE.into());
        for r in &mut data.runs {
            let ds = r.seed.to_string();
            r.axes.push((DATA_REPLICATE.into(), ds));
            r.seed = 0;
        }
        let c = compare(&data, &opts(Pool::Seed)).unwrap();
        assert_eq!(c.rows[1].cells[0].summary.n, 3, "{:?}", c.n_counts);
        assert_eq!(
            c.n_counts,
            "seeds × data sets (each the mean over model.head_depth)"
        );
        assert_eq!(c.rows[1].cells[0].paired.as_ref().unwrap().n, 3);
        assert!(c.notes.iter().any(|n| n.contains("independent replicate")));
        // Selecting a setting never selects a data set: the depth is
        // chosen on its mean over every data seed, and all three stay.
        let mut o = opts(Pool::Seed);
        o.select_by = Some(("val".into(), "age".into(), Metric::Accuracy));
        let c = compare(&data, &o).unwrap();
        for row in &c.rows {
            let selected = row.selected.as_deref().unwrap();
            assert!(selected.starts_with("model.head_depth="), "{selected}");
            assert!(!selected.contains("data.seed"), "{selected}");
            assert_eq!(row.cells[0].summary.n, 3);
        }
        assert_eq!(c.n_counts, "seeds × data sets");
        assert!(c
            .notes
            .iter()
            .any(|n| n.contains("data.seed is a replicate, not a setting")));
    }
}
