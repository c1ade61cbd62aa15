//! Reading a sweep's rows from the store for the report crate, and writing
//! outputs.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use headsweep_metrics::Metric;
use headsweep_report::{RunData, SweepData, Table, Value};
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
        // Every head has exact match or accuracy, so every head is seen.
        metrics.push("exact_match".into());
        metrics.push("accuracy".into());
        if let Some((split, _, m)) = &opts.select_by {
            splits.push(split.clone());
            metrics.push(m.name().to_string());
        }
        // Selection on validation by the first column (report's best row).
        splits.push("val".into());
        splits.sort();
        splits.dedup();
        metrics.sort();
        metrics.dedup();
        Needed { splits, metrics }
    }
}

/// [`sweep_data`] reading only the metrics `only` names (all when `None`).
pub async fn sweep_data_for(
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
            .map(|r| {
                r.into_iter()
                    .map(|c| match c {
                        Cell::Null => Value::Null,
                        Cell::Int(i) => Value::Int(i),
                        Cell::Real(x) => Value::Real(x),
                        Cell::Text(s) => Value::Text(s),
                    })
                    .collect()
            })
            .collect(),
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
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
