//! Reading a sweep's rows from the store for the report crate, and writing
//! outputs.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use headsweep_metrics::Metric;
use headsweep_report::{RowWriter, RunData, SweepData, Table, TableFormat, Value};
use headsweep_spec::{Role, SweepFile};
use headsweep_store::{Cell, Rows, Store};

/// A registered sweep's runs with their axis values and metrics.
pub async fn sweep_data(store: &Store, sweep: &str) -> anyhow::Result<SweepData> {
    sweep_data_for(store, sweep, None).await
}

/// The splits and metric names a comparison reads.
pub struct Needed {
    pub splits: Vec<String>,
    pub metrics: Vec<String>,
}

impl Needed {
    /// `metrics` on `splits`, and on them too the metrics that name every
    /// head: every head has exact match or accuracy, so every head is seen.
    pub fn new(mut splits: Vec<String>, mut metrics: Vec<String>) -> Needed {
        metrics.push("exact_match".into());
        metrics.push("accuracy".into());
        splits.sort();
        splits.dedup();
        metrics.sort();
        metrics.dedup();
        Needed { splits, metrics }
    }

    /// What `compare` with `opts` reads (its default columns included).
    pub fn of(opts: &headsweep_report::CompareOptions) -> Needed {
        let mut splits = vec![opts.split.clone()];
        let mut metrics: Vec<String> = match &opts.metrics {
            Some(m) => m.iter().map(|(_, m)| m.name().to_string()).collect(),
            None => headsweep_report::DEFAULT_METRICS
                .iter()
                .map(|m| m.name().to_string())
                .collect(),
        };
        if let Some((split, _, m)) = &opts.select_by {
            splits.push(split.clone());
            metrics.push(m.name().to_string());
        }
        // Selection on validation by the first column (report's best row).
        splits.push("val".into());
        Needed::new(splits, metrics)
    }
}

/// [`sweep_data`] reading only the metrics `only` names (all when `None`).
/// A search's trials are left out: they chose each design's setting, and
/// what is reported is that setting's evaluation on fresh seeds.
pub async fn sweep_data_for(
    store: &Store,
    sweep: &str,
    only: Option<&Needed>,
) -> anyhow::Result<SweepData> {
    let mut data = sweep_data_with_trials(store, sweep, only).await?;
    data.runs.retain(|r| r.role != Role::Trial);
    Ok(data)
}

/// The sweep file `sweep` was registered with, parsed: `None` where the
/// store has none, or it no longer parses (an older version's file), so
/// that what is recomputed from it is left out rather than refused.
pub async fn stored_sweep_file(store: &Store, sweep: &str) -> anyhow::Result<Option<SweepFile>> {
    let Some(text) = store.sweep_file(sweep).await? else {
        return Ok(None);
    };
    Ok(SweepFile::parse(std::path::Path::new(sweep), &text).ok())
}

/// [`sweep_data_for`] with a search's trials kept.
pub async fn sweep_data_with_trials(
    store: &Store,
    sweep: &str,
    only: Option<&Needed>,
) -> anyhow::Result<SweepData> {
    if !store.has_sweep(sweep).await? {
        let known = store.sweeps().await?;
        bail!(
            "no sweep named {sweep:?} in {}; the sweeps are: {}",
            store.url(),
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        );
    }
    let mut metrics: HashMap<String, HashMap<(String, String, String), f64>> = HashMap::new();
    let rows = match only {
        Some(n) => store.some_metrics(sweep, &n.splits, &n.metrics).await?,
        None => store.all_metrics(sweep).await?,
    };
    for m in rows {
        if let Some(v) = m.value {
            metrics
                .entry(m.run)
                .or_default()
                .insert((m.split, m.head, m.metric), v);
        }
    }
    let runs = store
        .runs(sweep)
        .await?
        .into_iter()
        .map(|r| RunData {
            metrics: metrics.remove(&r.id).unwrap_or_default(),
            id: r.id,
            seed: r.seed,
            point: r.point,
            status: r.status,
            role: r.role,
            pruned: false,
            axes: r.axes,
        })
        .collect();
    Ok(SweepData {
        name: sweep.to_string(),
        axes: store.axes(sweep).await?,
        runs,
    })
}

pub fn to_table(rows: Rows) -> Table {
    Table {
        columns: rows.columns,
        rows: rows
            .rows
            .into_iter()
            .map(|r| r.into_iter().map(to_value).collect())
            .collect(),
    }
}

/// [`emit_with`] of a CSV or JSON table whose rows `read` hands over one
/// at a time, so that no more than a row is held. `read` returns the
/// column names (which head an empty CSV).
pub fn emit_rows(
    out: Option<&Path>,
    format: TableFormat,
    read: impl FnOnce(
        &mut dyn FnMut(&[String], Vec<Cell>) -> anyhow::Result<()>,
    ) -> anyhow::Result<Vec<String>>,
) -> anyhow::Result<()> {
    emit_with(out, |out| {
        let mut w = RowWriter::new(format, std::io::BufWriter::new(out))
            .context("only CSV and JSON are written a row at a time")?;
        let columns = read(&mut |columns, cells| {
            w.row(
                columns,
                &cells.into_iter().map(to_value).collect::<Vec<_>>(),
            )
            .context("writing the table")
        })?;
        w.finish(&columns).context("writing the table")?;
        Ok(())
    })
}

/// A cell read from the store as the report crate takes it.
pub fn to_value(c: Cell) -> Value {
    match c {
        Cell::Null => Value::Null,
        Cell::Int(i) => Value::Int(i),
        Cell::Real(x) => Value::Real(x),
        Cell::Text(s) => Value::Text(s),
    }
}

/// `[SPLIT.]HEAD.METRIC` → `(split, head, metric)`, the split `default`
/// when not given; the metric must be one the store holds.
pub fn metric_key(s: &str, default: &str) -> anyhow::Result<(String, String, Metric)> {
    let parts: Vec<&str> = s.split('.').collect();
    let (split, head, metric) = match parts.as_slice() {
        [h, m] if !h.is_empty() && !m.is_empty() => (default, *h, *m),
        [sp, h, m] if ["train", "val", "test"].contains(sp) => (*sp, *h, *m),
        _ => bail!("{s:?} is not HEAD.METRIC or SPLIT.HEAD.METRIC (SPLIT: train, val or test)"),
    };
    let metric = metric
        .parse::<Metric>()
        .with_context(|| format!("in {s:?}"))?;
    Ok((split.to_string(), head.to_string(), metric))
}

/// The one run a prefix names.
pub async fn one_run(store: &Store, prefix: &str) -> anyhow::Result<String> {
    match store.resolve_run(prefix).await?.as_slice() {
        [] => bail!("no run {prefix:?} in {}", store.url()),
        [one] => Ok(one.clone()),
        many => bail!(
            "{prefix:?} matches {} runs; give more of the identity",
            many.len()
        ),
    }
}

/// Writes `text` to `out`, or to standard output.
pub fn emit(out: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match out {
        None => Ok(std::io::stdout().write_all(text.as_bytes())?),
        Some(path) => emit_bytes(path, text.as_bytes()),
    }
}

/// Writes through a temporary file renamed into place, so that a failure
/// never leaves a half-written file under the final name.
pub fn emit_bytes(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    emit_with(Some(path), |out| {
        out.write_all(bytes)
            .with_context(|| format!("writing {}", path.with_extension("partial").display()))
    })
}

/// [`emit`] of what `write` writes as it goes: to standard output, or to
/// `out` through a temporary file renamed into place once `write`
/// succeeds (and removed when it fails).
pub fn emit_with(
    out: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let Some(path) = out else {
        return write(&mut std::io::stdout().lock());
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("partial");
    let written = std::fs::File::create(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))
        .and_then(|mut f| {
            write(&mut f)?;
            f.flush()
                .with_context(|| format!("writing {}", tmp.display()))
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// A run's learning curves as the report crate takes them.
pub async fn curve_points(
    store: &Store,
    run: &str,
) -> anyhow::Result<Vec<headsweep_report::CurvePoint>> {
    Ok(store
        .curves(run)
        .await?
        .into_iter()
        .map(|c| headsweep_report::CurvePoint {
            epoch: c.epoch,
            split: c.split,
            head: c.head,
            metric: c.metric,
            value: c.value,
        })
        .collect())
}

/// A head's confusion matrices on `split`, summed over `runs`: the classes,
/// the sum, and how many runs had one (runs without stored class counts
/// are left out). `None` when no run has one; an error when two runs have
/// different classes, i.e. do not share a data set.
pub async fn summed_confusion(
    store: &Store,
    runs: &[&str],
    split: &str,
    head: &str,
) -> anyhow::Result<Option<(Vec<String>, headsweep_metrics::Confusion, usize)>> {
    let mut first: Option<(&str, Vec<String>)> = None;
    let mut total = headsweep_metrics::Confusion { cells: Vec::new() };
    let mut summed = 0;
    for &run in runs {
        let m = store.confusion(run, split, head).await?;
        if m.classes.is_empty() {
            continue;
        }
        let (first_run, classes) = first.get_or_insert_with(|| {
            total.cells = vec![vec![0; m.classes.len()]; m.classes.len()];
            (run, m.classes.clone())
        });
        if m.classes != *classes || !headsweep_report::add_confusion(&mut total, &m.counts) {
            bail!(
                "run {} has other classes for head {head} than run {}: the runs do not share a data set (with `classes`, narrow --where)",
                headsweep_spec::short_id(run),
                headsweep_spec::short_id(first_run)
            );
        }
        summed += 1;
    }
    Ok(first.map(|(_, classes)| (classes, total, summed)))
}

/// Reliability bins of `head`'s stored test predictions, one series per
/// `(label, runs)` group, each pooling its runs; groups without
/// predictions are left out.
pub async fn reliability_series(
    store: &Store,
    groups: &[(String, Vec<String>)],
    head: &str,
) -> anyhow::Result<Vec<(String, Vec<headsweep_metrics::ReliabilityBin>)>> {
    let mut series = Vec::new();
    for (label, runs) in groups {
        let mut rows = Vec::new();
        for run in runs {
            rows.extend(store.predictions_of(run, head).await?);
        }
        let bins = headsweep_report::reliability_of(rows.iter().map(|p| {
            headsweep_report::PredictionRef {
                true_class: p.true_class,
                predicted_class: p.predicted_class,
                probabilities: &p.probabilities,
            }
        }))?;
        if bins.iter().any(|b| b.count > 0) {
            series.push((format!("{label} ({} runs)", runs.len()), bins));
        }
    }
    Ok(series)
}

/// The done runs `keep` accepts, grouped by their value of `axis`
/// (labelled `axis=value`, in first-seen order), or all in one group.
pub fn runs_by_axis(
    data: &SweepData,
    axis: Option<&str>,
    keep: impl Fn(&RunData) -> bool,
) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for r in data
        .runs
        .iter()
        .filter(|r| r.status == headsweep_spec::RunStatus::Done && keep(r))
    {
        let label = axis.map_or_else(
            || "all runs".to_string(),
            |a| format!("{a}={}", r.axis(a).unwrap_or("")),
        );
        match groups.iter_mut().find(|(l, _)| *l == label) {
            Some((_, ids)) => ids.push(r.id.clone()),
            None => groups.push((label, vec![r.id.clone()])),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::emit_with;

    #[test]
    fn a_failed_write_leaves_no_file_and_a_good_one_lands_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/table.csv");
        let failed = emit_with(Some(&path), |w| {
            w.write_all(b"run,value\nhalf")?;
            anyhow::bail!("the store went away")
        });
        assert!(failed.is_err());
        assert!(!path.exists());
        assert!(!path.with_extension("partial").exists());
        emit_with(Some(&path), |w| Ok(w.write_all(b"run,value\n")?)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "run,value\n");
        assert!(!path.with_extension("partial").exists());
    }
}
