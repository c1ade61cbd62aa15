use std::path::{Path, PathBuf};

use anyhow::bail;
use headsweep_report::{
    calibration_svg, confusion_svg, curve_panels, curves_svg, metric_points, metric_svg, ErrorBar,
    Filter,
};
use headsweep_store::{Access, Store};

use super::report::{
    curve_points, emit, emit_bytes, metric_key, one_run, reliability_series, runs_by_axis,
    sweep_data, sweep_data_for, Needed,
};
use crate::args::{ErrorBarArg, PlotCalibrationArgs, PlotCommand};

fn out_path(out: Option<PathBuf>, db: &str, default: String) -> anyhow::Result<PathBuf> {
    let path = out.unwrap_or_else(|| super::results_dir(db, None).join("plots").join(default));
    match path.extension().and_then(|e| e.to_str()) {
        Some("svg" | "png") => Ok(path),
        _ => bail!(
            "{}: plots are written as SVG or PNG; name the file FILE.svg or FILE.png",
            path.display()
        ),
    }
}

/// Writes the chart as SVG, or rendered to PNG (at twice its size) when the
/// file name says so. The name is checked before anything is drawn, and
/// the file is renamed into place, so nothing half-written remains.
fn write(path: &Path, svg: &str) -> anyhow::Result<()> {
    if path.extension().is_some_and(|e| e == "png") {
        let png = headsweep_report::svg_to_png(svg, 2.0)?;
        emit_bytes(path, &png)
    } else {
        emit(Some(path), svg)
    }
}

pub fn run(cmd: PlotCommand) -> anyhow::Result<()> {
    let rt = super::runtime()?;
    match cmd {
        PlotCommand::Metric(a) => {
            let (split, head, metric) = metric_key(&a.metric, "test")?;
            let metric = metric.name();
            let out = out_path(a.out, &a.store.db, format!("{}-{}.svg", a.sweep, a.metric))?;
            let needed = Needed::new(vec![split.clone()], vec![metric.into()]);
            let data = rt.block_on(async {
                sweep_data_for(
                    &Store::open_with(&a.store.db, Access::Read).await?,
                    &a.sweep,
                    Some(&needed),
                )
                .await
            })?;
            let varying = data.varying_axes();
            let x =
                a.x.or_else(|| varying.first().cloned())
                    .unwrap_or_else(|| data.axes.first().cloned().unwrap_or_default());
            let hue = a.hue.or_else(|| varying.iter().find(|v| **v != x).cloned());
            data.check_head("--metric", &head)?;
            data.check_axis("--x", &x)?;
            if let Some(h) = &hue {
                data.check_axis("--hue", h)?;
            }
            let bar = match a.error {
                ErrorBarArg::Std => ErrorBar::Std,
                ErrorBarArg::Ci => ErrorBar::Ci,
            };
            let points = metric_points(&data, (&split, &head, metric), &x, hue.as_deref(), bar);
            if points.is_empty() {
                bail!(
                    "no done run of sweep {} has {split}.{head}.{metric}",
                    a.sweep
                );
            }
            let bar_name = if bar == ErrorBar::Std {
                "mean ± 1 sd"
            } else {
                "mean and 95% CI"
            };
            let (lo, hi) = points
                .iter()
                .fold((usize::MAX, 0), |(lo, hi), p| (lo.min(p.n), hi.max(p.n)));
            let unit = if data.varying_axes().iter().any(|a| a == "data.seed") {
                "seeds × data sets"
            } else {
                "seeds"
            };
            let n = if lo == hi {
                format!("n = {lo} {unit}")
            } else {
                format!("n = {lo}–{hi} {unit}")
            };
            let title = format!(
                "{}: {split} {head}.{metric}, {bar_name} ({n}; other axes averaged per seed)",
                a.sweep
            );
            write(
                &out,
                &metric_svg(
                    &title,
                    &x,
                    &format!("{head}.{metric} ({split})"),
                    hue.as_deref(),
                    &points,
                ),
            )
        }
        PlotCommand::Curves(a) => {
            let (run, points) = rt.block_on(async {
                let store = Store::open_with(&a.store.db, Access::Read).await?;
                let run = one_run(&store, &a.run).await?;
                let points = curve_points(&store, &run).await?;
                anyhow::Ok((run, points))
            })?;
            if points.is_empty() {
                bail!(
                    "run {} has no learning curves (it has not finished)",
                    headsweep_spec::short_id(&run)
                );
            }
            let out = out_path(
                a.out,
                &a.store.db,
                format!("{}-curves.svg", headsweep_spec::short_id(&run)),
            )?;
            write(
                &out,
                &curves_svg(
                    &format!("Learning curves of run {}", headsweep_spec::short_id(&run)),
                    &curve_panels(&points),
                ),
            )
        }
        PlotCommand::Confusion(a) => {
            let (run, classes, counts, heads) = rt.block_on(async {
                let store = Store::open_with(&a.store.db, Access::Read).await?;
                let run = one_run(&store, &a.run).await?;
                let m = store.confusion(&run, &a.split, &a.head).await?;
                let heads = store.heads_of(&run).await?;
                anyhow::Ok((run, m.classes, m.counts, heads))
            })?;
            if classes.is_empty() {
                bail!(
                    "run {} has no confusion matrix for head {:?} on {}{} (its heads: {})",
                    headsweep_spec::short_id(&run),
                    a.head,
                    a.split,
                    headsweep_metrics::suggestion(&a.head, heads.iter().map(String::as_str)),
                    heads.join(", ")
                );
            }
            let out = out_path(
                a.out,
                &a.store.db,
                format!(
                    "{}-{}-confusion.svg",
                    headsweep_spec::short_id(&run),
                    a.head
                ),
            )?;
            let title = format!(
                "{} head, {} split, run {}",
                a.head,
                a.split,
                headsweep_spec::short_id(&run)
            );
            write(&out, &confusion_svg(&title, &classes, &counts))
        }
        PlotCommand::Calibration(a) => calibration(&rt, a),
    }
}

/// Reliability diagram of a run, or of a sweep's runs pooled per hue value.
fn calibration(rt: &tokio::runtime::Runtime, a: PlotCalibrationArgs) -> anyhow::Result<()> {
    let filter = a.filter.as_deref().map(Filter::parse).transpose()?;
    let (name, series) = rt.block_on(async {
        let store = Store::open_with(&a.store.db, Access::Read).await?;
        // (label, runs) per series.
        let (name, groups): (String, Vec<(String, Vec<String>)>) =
            if store.has_sweep(&a.target).await? {
                let data = sweep_data(&store, &a.target).await?;
                data.check_head("--head", &a.head)?;
                if let Some(f) = &filter {
                    f.check(&data.axes, &data.heads())?;
                }
                let varying = data.varying_axes();
                let hue = a.hue.clone().or_else(|| {
                    varying
                        .iter()
                        .find(|v| *v == "train.loss")
                        .or(varying.first())
                        .cloned()
                });
                if let Some(h) = &hue {
                    data.check_axis("--hue", h)?;
                }
                let groups = runs_by_axis(&data, hue.as_deref(), |r| {
                    filter.as_ref().is_none_or(|f| f.matches(r))
                });
                (a.target.clone(), groups)
            } else {
                if a.hue.is_some() || a.filter.is_some() {
                    bail!(
                        "--hue and --where apply to a sweep; {:?} is not one",
                        a.target
                    );
                }
                let run = one_run(&store, &a.target).await?;
                let short = headsweep_spec::short_id(&run).to_string();
                (short.clone(), vec![(format!("run {short}"), vec![run])])
            };
        let series = reliability_series(&store, &groups, &a.head).await?;
        anyhow::Ok((name, series))
    })?;
    if series.is_empty() {
        bail!(
            "no stored test predictions of head {:?} in {}",
            a.head,
            a.target
        );
    }
    let out = out_path(
        a.out,
        &a.store.db,
        format!("{name}-{}-calibration.svg", a.head),
    )?;
    let title = format!("{name}: {} head, test split, reliability", a.head);
    write(&out, &calibration_svg(&title, &series))
}
