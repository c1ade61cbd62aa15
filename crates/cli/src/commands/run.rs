use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use headsweep_runner::{group_size, hostname, launch, pid_alive, register, Launch, LaunchOutcome};
use headsweep_store::Store;

use crate::args::RunArgs;
use crate::exit;
use crate::table;

pub fn run(a: RunArgs) -> anyhow::Result<i32> {
    let (sweep, planned) = super::prepare(&a.file)?;
    // An explicit group size is refused before anything is registered.
    group_size(a.fuse, &planned, 1, false).map_err(|e| anyhow::anyhow!(e))?;
    let mut slots = super::slots(&a.devices)?;
    let results = super::results_dir(&a.store.db, a.results.as_ref());
    let shown = results.display().to_string();
    let exe = std::env::current_exe().context("finding the headsweep binary")?;
    super::runtime()?.block_on(async {
        let store = Store::open(&a.store.db).await?;
        let name = sweep.name().to_string();
        let (runs, new) = register(&store, &sweep).await?;
        if a.retry_failed {
            let n = store.retry_failed(&name).await?;
            if n > 0 {
                eprintln!("{n} failed run(s) will train again");
            }
        }
        let reclaimed = store.reclaim_dead(&name, &hostname(), pid_alive).await?;
        if reclaimed > 0 {
            eprintln!("{reclaimed} interrupted run(s) will train again");
        }
        let before = store.counts(&name).await?;
        eprintln!(
            "sweep {name}: {} runs ({new} new), {} done, {} failed, {} to train",
            runs.len(),
            before.done,
            before.failed,
            before.pending + before.running
        );
        let mut outcome = LaunchOutcome::Finished;
        if before.pending > 0 {
            slots.truncate(before.pending.max(1));
            let gpu = slots.iter().any(|s| s.device.starts_with("cuda"));
            let fuse =
                group_size(a.fuse, &runs, slots.len(), gpu).map_err(|e| anyhow::anyhow!(e))?;
            eprintln!("{}", super::describe_slots(&slots));
            if fuse > 1 {
                eprintln!("fusing up to {fuse} compatible runs per model");
            }
            let l = Launch {
                exe,
                db: a.store.db.clone(),
                sweep: name.clone(),
                results,
                slots,
                lease: Duration::from_secs(a.lease),
                fuse,
            };
            outcome = launch(&store, &l).await?;
        }
        let after = store.counts(&name).await?;
        let mut out = summary(&store, &name).await?;
        for f in store.failed(&name).await? {
            out += &format!("failed {}: {}\n", &f.id[..12], f.error);
        }
        out += &format!(
            "{} done, {} failed, {} pending, {} running\n",
            after.done, after.failed, after.pending, after.running
        );
        std::io::stdout().write_all(out.as_bytes())?;
        Ok(match outcome {
            LaunchOutcome::Interrupted => exit::INTERRUPTED,
            LaunchOutcome::Finished if after.failed > 0 => exit::SOME_FAILED,
            LaunchOutcome::Finished if after.pending + after.running > 0 => {
                anyhow::bail!(
                    "{} run(s) were left unfinished; see {}/workers/",
                    after.pending + after.running,
                    shown
                )
            }
            LaunchOutcome::Finished => exit::SUCCESS,
        })
    })
}

/// One row per grid point: runs done and failed, and the mean test
/// accuracy and balanced accuracy of each head over its done seeds.
async fn summary(store: &Store, sweep: &str) -> anyhow::Result<String> {
    let runs = store.runs(sweep).await?;
    let metrics = store.split_metrics(sweep, "test").await?;
    let mut heads: Vec<String> = Vec::new();
    let mut value: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    for (run, head, metric, v) in metrics {
        if head != "joint" && !heads.contains(&head) {
            heads.push(head.clone());
        }
        if let Some(v) = v {
            value.insert((run, head, metric), v);
        }
    }
    let axes: Vec<String> = runs
        .first()
        .map(|r| r.axes.iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    let mut header: Vec<String> = axes.clone();
    header.extend(["done".to_string(), "failed".to_string()]);
    for h in &heads {
        header.push(format!("{h} acc"));
        header.push(format!("{h} bal_acc"));
    }
    header.push("exact_match".into());
    let mut points: Vec<i64> = runs.iter().map(|r| r.point).collect();
    points.dedup();
    let mean = |ids: &[&str], head: &str, metric: &str| {
        let v: Vec<f64> = ids
            .iter()
            .filter_map(|id| {
                value
                    .get(&(id.to_string(), head.to_string(), metric.to_string()))
                    .copied()
            })
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|&p| {
            let of_point: Vec<_> = runs.iter().filter(|r| r.point == p).collect();
            let done: Vec<&str> = of_point
                .iter()
                .filter(|r| r.status == "done")
                .map(|r| r.id.as_str())
                .collect();
            let mut row: Vec<String> = of_point[0].axes.iter().map(|(_, v)| v.clone()).collect();
            row.push(done.len().to_string());
            row.push(
                of_point
                    .iter()
                    .filter(|r| r.status == "failed")
                    .count()
                    .to_string(),
            );
            for h in &heads {
                row.push(table::value(mean(&done, h, "accuracy")));
                row.push(table::value(mean(&done, h, "balanced_accuracy")));
            }
            row.push(table::value(mean(&done, "joint", "exact_match")));
            row
        })
        .collect();
    Ok(format!(
        "\ntest split, mean over done seeds\n{}\n",
        table::render(&header, &rows)
    ))
}
