use std::io::Write;

use headsweep_report::{aligned, text_table, Align};
use headsweep_runner::{group_size, Fuse};
use headsweep_spec::{display_value, fusion_blockers, fusion_key};
use headsweep_store::{redact, Access, RunStatus, StatusCounts, Store};

use crate::args::PlanArgs;

pub fn run(a: PlanArgs, torch: &dyn crate::Torch) -> anyhow::Result<()> {
    let (sweep, runs, data, _) = super::prepare(&a.file)?;
    let slots = super::slots(&a.devices, torch)?;
    let mut header = vec!["#".to_string(), "run".into(), "seed".into()];
    header.extend(sweep.axes.iter().cloned());
    let rows: Vec<Vec<String>> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut row = vec![
                (i + 1).to_string(),
                headsweep_spec::short_id(&r.id).to_string(),
                r.config.seed.to_string(),
            ];
            row.extend(r.axes.iter().map(|(_, v)| display_value(v)));
            row
        })
        .collect();
    let mut out = format!("sweep {} ({})\n", sweep.name(), a.file.display());
    out += &aligned(&header, &rows);
    let slots = &slots[..slots.len().min(runs.len().max(1))];
    out += &format!(
        "\n{} runs: {} grid point(s) × {} seed(s)\ndevice plan: {}\n",
        runs.len(),
        sweep.points.len(),
        sweep.seeds.len(),
        super::describe_slots(slots)
    );
    out += &fusion_plan(&runs, slots);
    for d in &data {
        out += d;
    }
    out += &progress(&a.store.db, &sweep, &runs, slots.len())?;
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(())
}

/// Per grid point: done, failed, running and left in the store (when it
/// exists; nothing is created), and the time left estimated from the
/// done runs' mean training time over the workers.
fn progress(
    db: &str,
    sweep: &headsweep_spec::SweepFile,
    runs: &[headsweep_runner::PlannedRun],
    workers: usize,
) -> anyhow::Result<String> {
    if headsweep_store::sqlite_path(db).is_some_and(|p| !p.exists()) {
        return Ok(String::new());
    }
    let ids: Vec<String> = runs.iter().map(|r| r.id.clone()).collect();
    let states = super::runtime()?.block_on(async {
        let store = Store::open_with(db, Access::Read).await?;
        anyhow::Ok(store.run_states(&ids).await?)
    })?;
    let mut header: Vec<String> = sweep.axes.clone();
    header.extend(["done", "failed", "running", "left"].map(String::from));
    let mut rows = Vec::new();
    let (mut total, mut durations) = (StatusCounts::default(), Vec::new());
    for (point, p) in sweep.points.iter().enumerate() {
        let mut n = StatusCounts::default();
        for r in runs.iter().filter(|r| r.point == point) {
            // A run the store does not hold yet is left to train.
            let state = states.get(&r.id);
            let status = state.map_or(RunStatus::Pending, |s| s.status);
            n.add(status);
            total.add(status);
            durations.extend(state.and_then(|s| s.duration_s));
        }
        let mut row: Vec<String> = p.values.iter().map(|(_, v)| display_value(v)).collect();
        row.extend([n.done, n.failed, n.running, n.pending].map(|v| v.to_string()));
        rows.push(row);
    }
    let mut out = format!(
        "\nin {}: {} done, {} failed, {} running, {} left",
        redact(db),
        total.done,
        total.failed,
        total.running,
        total.pending
    );
    if !durations.is_empty() && total.pending + total.running > 0 {
        let mean = durations.iter().sum::<f64>() / durations.len() as f64;
        let left = mean * (total.pending + total.running) as f64 / workers.max(1) as f64;
        out += &format!(
            "; about {left:.0} s of training left at {workers} worker(s) ({mean:.2} s per done run, fused groups train faster)"
        );
    }
    out.push('\n');
    let align: Vec<Align> = (0..header.len())
        .map(|j| {
            if j < sweep.axes.len() {
                Align::Left
            } else {
                Align::Right
            }
        })
        .collect();
    out += &text_table(&header, &rows, &align);
    Ok(out)
}

/// How `--fuse auto` would group the runs: sets of mutually fusable runs,
/// the group size workers would claim, and the runs that train alone.
fn fusion_plan(runs: &[headsweep_runner::PlannedRun], slots: &[headsweep_runner::Slot]) -> String {
    let mut sets: std::collections::BTreeMap<String, usize> = Default::default();
    let mut alone = Vec::new();
    for r in runs {
        let why = fusion_blockers(&r.config);
        if why.is_empty() {
            *sets.entry(fusion_key(&r.config)).or_default() += 1;
        } else {
            alone.push(why.join("; "));
        }
    }
    let gpu = slots.iter().any(|s| s.device.starts_with("cuda"));
    let k = group_size(Fuse::Auto, runs, slots.len(), gpu).unwrap_or(1);
    let mut out = format!(
        "fusion (--fuse auto): {} set(s) of compatible runs, the largest {}; groups of up to {k}\n",
        sets.len(),
        sets.values().max().copied().unwrap_or(0)
    );
    alone.sort();
    alone.dedup();
    for why in alone {
        out += &format!("trained alone: {why}\n");
    }
    out
}
