//! `headsweep report`: reads what the page shows from the store and hands
//! it to the report crate, which renders it.

use std::path::{Path, PathBuf};

use headsweep_metrics::JOINT;
use headsweep_report::{
    calibration_svg, class_table, compare, confusion_svg, curve_panels, curves_svg, metric_points,
    metric_svg, Chart, CompareOptions, Comparison, ErrorBar, Highlight, Report, Row, SweepData,
    Table, Value,
};
use headsweep_spec::{RunConfig, RunStatus};
use headsweep_store::{Access, Store};

use super::report::{
    curve_points, emit, emit_bytes, reliability_series, runs_by_axis, summed_confusion,
    sweep_data_for, Needed,
};
use crate::args::{ReportArgs, ReportFormat};

pub fn run(a: ReportArgs) -> anyhow::Result<()> {
    let opts = super::compare::options(&a.table)?;
    let ext = match a.format {
        ReportFormat::Html => "html",
        ReportFormat::Md => "md",
    };
    let out = a.out.clone().unwrap_or_else(|| {
        super::results_dir(&a.store.db, None).join(format!("{}-report.{ext}", a.sweep))
    });
    let report = super::runtime()?.block_on(gather(&a, &opts))?;
    match a.format {
        ReportFormat::Html => emit(Some(&out), &report.html()),
        ReportFormat::Md => write_markdown(&out, &report),
    }
}

/// FILE.md, and its charts in FILE_files/ beside it.
fn write_markdown(out: &Path, report: &Report) -> anyhow::Result<()> {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "report".into());
    let dir_name = format!("{stem}_files");
    let base = out.parent().map_or_else(PathBuf::new, Path::to_path_buf);
    let (text, files) = report.markdown(&dir_name);
    for (rel, svg) in files {
        emit_bytes(&base.join(rel), svg.as_bytes())?;
    }
    emit(Some(out), &text)
}

async fn gather(a: &ReportArgs, opts: &CompareOptions) -> anyhow::Result<Report> {
    let store = Store::open_with(&a.store.db, Access::Read).await?;
    let data = sweep_data_for(&store, &a.sweep, Some(&Needed::of(opts))).await?;
    let rounds = super::seeds::for_compare(&store, &a.sweep).await?;
    let opts = &CompareOptions {
        rounds,
        ..opts.clone()
    };
    let comparison = compare(&data, opts)?;
    let config = first_config(&store, &data).await?;
    let heads: Vec<String> = data.heads().into_iter().filter(|h| h != JOINT).collect();

    let mut highlights = Vec::new();
    let mut notes = Vec::new();
    let base = comparison.rows.iter().position(|r| r.baseline);
    let best = best_on_validation(&data, opts, &comparison)?;
    if let Some(i) = base {
        let row = &comparison.rows[i];
        let mut why = format!("The baseline row ({}).", row_label(&comparison, row));
        let mut title = "Baseline";
        if let Some((b, key)) = &best {
            if *b == i {
                why += &format!(" It also has the best mean {key} on the validation split.");
                title = "Baseline, also best on validation";
            }
        }
        highlights.push(highlight(&store, &data, row, title, why, &heads).await?);
    }
    match &best {
        Some((i, _)) if Some(*i) == base => {}
        Some((i, key)) => {
            let row = &comparison.rows[*i];
            let why = format!(
                "The row with the best mean {key} on the validation split ({}): chosen without the test split.",
                row_label(&comparison, row)
            );
            highlights
                .push(highlight(&store, &data, row, "Best on validation", why, &heads).await?);
        }
        None => notes.push(
            "No row has the selection metric on the validation split, so no best row is shown."
                .into(),
        ),
    }

    let mut calibration = Vec::new();
    let groups = calibration_groups(&data, &comparison);
    for head in &heads {
        let series = reliability_series(&store, &groups, head).await?;
        if !series.is_empty() {
            calibration.push(Chart {
                name: format!("{head}-calibration"),
                caption: format!("{head} head: reliability of test predictions, pooled over the runs of each line"),
                svg: calibration_svg(&format!("{head} head, test split"), &series),
            });
        }
    }
    if highlights.iter().all(|h| h.attributions.is_empty()) {
        notes.push(
            "No feature ranking is stored for the runs shown: `headsweep explain RUN --head HEAD` computes one from a run's saved weights and keeps it for this report."
                .into(),
        );
    }
    Ok(Report {
        sweep: a.sweep.clone(),
        methods: methods(&data, &comparison, config.as_ref()),
        metric_charts: metric_charts(&data, &comparison),
        comparison,
        highlights,
        calibration,
        provenance: provenance(&store, &a.sweep).await?,
        sweep_file: store.sweep_file(&a.sweep).await?,
        notes,
    })
}

/// The configuration of the sweep's first done run (for the methods);
/// `None` when it cannot be read as one (the methods then leave out the
/// data and training paragraph).
async fn first_config(store: &Store, data: &SweepData) -> anyhow::Result<Option<RunConfig>> {
    let Some(run) = data.runs.iter().find(|r| r.status == RunStatus::Done) else {
        return Ok(None);
    };
    Ok(store
        .run_config(&run.id)
        .await?
        .and_then(|s| serde_json::from_str(&s.config).ok()))
}

fn row_label(c: &Comparison, r: &Row) -> String {
    let mut s = c
        .row_axes
        .iter()
        .zip(&r.values)
        .map(|(a, v)| format!("{a}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(sel) = &r.selected {
        s += &format!("; selected {sel}");
    }
    s
}

/// The row whose mean of the selection quantity (`--select-by`, else the
/// table's first column) is best on the validation split.
fn best_on_validation(
    data: &SweepData,
    opts: &CompareOptions,
    test: &Comparison,
) -> anyhow::Result<Option<(usize, String)>> {
    let (head, metric) = match (&opts.select_by, test.columns.first()) {
        (Some((_, h, m)), _) => (h.clone(), *m),
        (None, Some(c)) => (c.head.clone(), c.metric),
        (None, None) => return Ok(None),
    };
    let val = compare(
        data,
        &CompareOptions {
            split: "val".into(),
            metrics: Some(vec![(head.clone(), metric)]),
            baseline: None,
            margin: None,
            ..opts.clone()
        },
    )?;
    let best = val
        .rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let m = r.cells.first()?.summary.mean?;
            Some((i, metric.direction().score(m)?))
        })
        .fold(None, |acc: Option<(usize, f64)>, (i, s)| match acc {
            Some((_, b)) if b >= s => acc,
            _ => Some((i, s)),
        });
    Ok(best.map(|(i, _)| (i, format!("val.{head}.{metric}"))))
}

async fn highlight(
    store: &Store,
    data: &SweepData,
    row: &Row,
    title: &str,
    why: String,
    heads: &[String],
) -> anyhow::Result<Highlight> {
    let done: Vec<&headsweep_report::RunData> = data
        .runs
        .iter()
        .filter(|r| r.status == RunStatus::Done && row.run_ids.contains(&r.id))
        .collect();
    let mut per_head = Vec::new();
    let ids: Vec<&str> = done.iter().map(|r| r.id.as_str()).collect();
    for head in heads {
        let Some((classes, total, summed)) = summed_confusion(store, &ids, "test", head).await?
        else {
            continue;
        };
        let chart = Chart {
            name: format!("{}-{head}-confusion", slug(title)),
            caption: format!("{title}: {head} head, test counts summed over {summed} runs"),
            svg: confusion_svg(&format!("{title}: {head} head"), &classes, &total.cells),
        };
        per_head.push((head.clone(), class_table(&classes, &total), chart));
    }
    // The row's run with the lowest seed stands for it.
    let representative = done.iter().min_by_key(|r| (r.seed, r.id.clone()));
    let mut attributions = Vec::new();
    if let Some(r) = representative {
        for head in heads {
            for (method, list) in store.attributions(&r.id, head).await? {
                let table = Table {
                    columns: ["rank", "feature", "mean_abs", "mean", "truth"]
                        .map(String::from)
                        .to_vec(),
                    rows: list
                        .into_iter()
                        .map(|a| {
                            vec![
                                Value::Int(a.rank),
                                Value::Text(a.feature),
                                Value::Real(a.mean_abs),
                                Value::Real(a.mean),
                                a.truth.map_or(Value::Null, Value::Text),
                            ]
                        })
                        .collect(),
                };
                attributions.push((
                    format!(
                        "{head} head: top features of run {} ({method})",
                        headsweep_spec::short_id(&r.id)
                    ),
                    table,
                ));
            }
        }
    }
    let curves = match representative {
        None => None,
        Some(r) => {
            let rows = curve_points(store, &r.id).await?;
            (!rows.is_empty()).then(|| Chart {
                name: format!("{}-curves", slug(title)),
                caption: format!(
                    "{title}: learning curves of run {} (seed {})",
                    headsweep_spec::short_id(&r.id),
                    r.seed
                ),
                svg: curves_svg(
                    &format!("{title}: run {}", headsweep_spec::short_id(&r.id)),
                    &curve_panels(&rows),
                ),
            })
        }
    };
    Ok(Highlight {
        title: title.to_string(),
        why,
        heads: per_head,
        curves,
        attributions,
    })
}

fn slug(s: &str) -> String {
    s.to_lowercase().replace(' ', "-")
}

/// Lines of the reliability diagrams: one per loss when the loss varies
/// (sigmoid against softmax heads), else one per row of the table.
fn calibration_groups(data: &SweepData, c: &Comparison) -> Vec<(String, Vec<String>)> {
    if data.varying_axes().iter().any(|a| a == "train.loss") {
        runs_by_axis(data, Some("train.loss"), |_| true)
    } else {
        c.rows
            .iter()
            .map(|r| (r.values.join(", "), r.run_ids.clone()))
            .take(8)
            .collect()
    }
}

/// Per compared quality metric, its means over seeds with 95% intervals
/// along the first row axis, coloured by the second — over the runs the
/// table's rows hold (after any selection on validation).
fn metric_charts(data: &SweepData, c: &Comparison) -> Vec<Chart> {
    let Some(x) = c.row_axes.first() else {
        return Vec::new();
    };
    let data = &c.shown(data);
    let hue = c.row_axes.get(1).map(String::as_str);
    c.columns
        .iter()
        .filter(|col| col.direction != headsweep_report::Direction::None)
        .filter_map(|col| {
            let metric = col.metric.name();
            let points = metric_points(data, (&c.split, &col.head, metric), x, hue, ErrorBar::Ci);
            (!points.is_empty()).then(|| Chart {
                name: format!("{}-{metric}", col.head),
                caption: format!(
                    "{}.{metric} ({} split): mean and 95% CI over seeds of the runs in the table's rows; axes not shown averaged per seed",
                    col.head, c.split
                ),
                svg: metric_svg(
                    &format!("{}.{metric}, {} split", col.head, c.split),
                    x,
                    &format!("{}.{metric}", col.head),
                    hue,
                    &points,
                ),
            })
        })
        .collect()
}

/// The methods paragraph, written from the sweep's runs and configuration.
fn methods(data: &SweepData, c: &Comparison, config: Option<&RunConfig>) -> String {
    let count = |s: RunStatus| data.runs.iter().filter(|r| r.status == s).count();
    let mut seeds: Vec<i64> = data.runs.iter().map(|r| r.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let mut m = format!(
        "Sweep {} holds {} runs ({} done, {} failed) over {} training seeds",
        data.name,
        data.runs.len(),
        count(RunStatus::Done),
        count(RunStatus::Failed),
        seeds.len()
    );
    let varying = data.varying_axes();
    if varying.is_empty() {
        m += ". ";
    } else {
        m += &format!("; the axes that vary are {}. ", varying.join(", "));
    }
    if let Some(cfg) = config {
        let d = &cfg.data;
        m += &match &d.synthetic {
            Some(s) => format!(
                "Data: synthetic {:?} data, {} samples × {} features (data.seed {}). ",
                s.preset, s.samples, s.features, d.seed
            )
            .to_lowercase()
            .replacen("data: ", "Data: ", 1),
            None => format!(
                "Data: {} with sample sheet {}. ",
                d.features
                    .as_ref()
                    .map_or_else(String::new, |p| p.display().to_string()),
                d.labels
                    .as_ref()
                    .map_or_else(String::new, |p| p.display().to_string())
            ),
        };
        m += &match d.folds {
            Some(k) => format!("Split: {k}-fold cross-validation (test = fold k, validation = fold k + 1, train = the rest). "),
            None => format!(
                "Split: train {}, validation {}, test {}, stratified by the joint label. ",
                d.split.train, d.split.val, d.split.test
            ),
        };
        let t = &cfg.train;
        m += &format!(
            "Training: {} optimiser, learning rate {}, batch size {}, at most {} epochs, {}. ",
            name(&t.optimizer),
            t.lr,
            t.batch_size,
            t.epochs,
            if t.patience == 0 {
                "no early stopping".to_string()
            } else {
                format!(
                    "early stopping on {} with patience {}",
                    name(&t.monitor),
                    t.patience
                )
            }
        );
    }
    m += &format!(
        "Each cell of the comparison is the mean ± sample standard deviation over n {} with a 95% Student-t interval, on the {} split",
        c.n_counts, c.split
    );
    if let Some(s) = &c.select_by {
        m += &format!(
            "; per row, the setting of {} was first chosen by the best mean {s}",
            c.hidden_axes.join(", ")
        );
    }
    m += ".";
    if let Some(b) = &c.baseline {
        m += &format!(
            " Rows are compared with {b} by paired two-sided Wilcoxon signed-rank and t tests over seeds{}.",
            match c.adjust {
                headsweep_report::Adjust::None => ", without adjustment for multiple tests",
                headsweep_report::Adjust::Holm => ", Holm-adjusted within each column",
                headsweep_report::Adjust::HolmAll => ", Holm-adjusted over every test of the table",
            }
        );
    }
    m
}

/// A setting's name as the sweep file spells it.
fn name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Builds and machines of the sweep's done runs, with counts.
async fn provenance(store: &Store, sweep: &str) -> anyhow::Result<Table> {
    let keys = [
        "git_commit",
        "git_dirty",
        "headsweep",
        "libtorch",
        "device",
        "threads_per_run",
        "cpu",
    ];
    let mut columns: Vec<String> = keys.iter().map(|k| (*k).to_string()).collect();
    columns.push("os".into());
    columns.push("runs".into());
    let mut rows = Vec::new();
    for (json, n) in store.provenance_counts(sweep).await? {
        let v: serde_json::Value = json
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or(serde_json::Value::Null);
        let text = |x: &serde_json::Value| match x {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::String(s) => Value::Text(s.clone()),
            other => Value::Text(other.to_string()),
        };
        let mut row: Vec<Value> = keys.iter().map(|k| text(&v[*k])).collect();
        row.push(text(&v["os"]["name"]));
        row.push(Value::Int(n));
        rows.push(row);
    }
    Ok(Table { columns, rows })
}
