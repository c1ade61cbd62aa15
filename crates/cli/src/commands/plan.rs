use std::io::Write;

use headsweep_runner::{group_size, Fuse};
use headsweep_spec::{display_value, fusion_blockers, fusion_key};

use crate::args::PlanArgs;
use headsweep_report::aligned;

pub fn run(a: PlanArgs) -> anyhow::Result<()> {
    let (sweep, runs) = super::prepare(&a.file)?;
    let slots = super::slots(&a.devices)?;
    let mut header = vec!["#".to_string(), "run".into(), "seed".into()];
    header.extend(sweep.axes.iter().cloned());
    let rows: Vec<Vec<String>> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut row = vec![
                (i + 1).to_string(),
                r.id[..12].to_string(),
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
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(())
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
