use std::io::Write;

use anyhow::Context;
use headsweep_metrics::Metric;
use headsweep_report::run_summary;
use headsweep_runner::{
    group_size, hostname, launch, pid_alive, register, DbVia, Launch, LaunchOutcome,
    TrainingStates, WorkerCommand, WorkerSlot,
};
use headsweep_store::Store;

use crate::args::RunArgs;
use crate::exit;

pub fn run(a: RunArgs, torch: &dyn crate::Torch) -> anyhow::Result<i32> {
    let (sweep, planned, data, prepared) = super::prepare(&a.file)?;
    // An explicit group size is refused before anything is registered.
    group_size(a.fuse, &planned, 1, false)?;
    let slots = super::slots(&a.devices, torch)?;
    let results = super::results_dir(&a.store.db, a.results.as_ref());
    let exe = std::env::current_exe().context("finding the headsweep binary")?;
    super::runtime()?.block_on(async {
        let store = Store::open(&a.store.db).await?;
        let files = store.files(&results).await?;
        prepared.keep(&files)?;
        let name = sweep.name().to_string();
        let mut outcome = LaunchOutcome::Finished;
        // A search proposes its next round from the last one's results, and
        // seeds in rounds go to the designs not yet settled, so registering
        // and training alternate until nothing new is planned.
        let mut planned_before = None;
        let mut last_plan;
        // Before planning: a search plans its next rounds from the runs
        // that have ended, and a failed run about to train again has not.
        if a.retry_failed {
            let n = store.retry_failed(&name).await?;
            if n > 0 {
                eprintln!("{n} failed run(s) will train again");
            }
        }
        loop {
            let reg = register(&store, &sweep).await?;
            if planned_before.is_none() {
                let reclaimed = store.reclaim_dead(&name, &hostname(), pid_alive).await?;
                if reclaimed > 0 {
                    eprintln!("{reclaimed} interrupted run(s) will train again");
                }
            }
            let before = store.counts(&name).await?;
            if planned_before.is_none() {
                eprintln!(
                    "sweep {name}: {} runs ({} new), {} done, {} failed, {} to train",
                    reg.runs.len(),
                    reg.new,
                    before.done,
                    before.failed,
                    before.pending + before.running
                );
                for d in &data {
                    eprint!("{d}");
                }
            }
            if let (Some(plan), Some(s)) = (&reg.search, &sweep.search) {
                eprintln!("{}", super::plan::search_progress(plan, s));
            }
            if let (Some(plan), Some(q)) = (&reg.seeds, &sweep.sequential) {
                eprintln!("{}", super::seeds::progress(plan, q));
            }
            let grew = planned_before != Some(reg.runs.len());
            last_plan = (reg.runs.clone(), reg.search.clone());
            planned_before = Some(reg.runs.len());
            if before.pending == 0 {
                // Runs new to this sweep may all have ended in another
                // one: plan again from their results.
                if sweep.adaptive() && grew {
                    continue;
                }
                break;
            }
            let mut slots = slots.clone();
            slots.truncate(before.pending.max(1));
            let gpu = slots.iter().any(|s| s.device.starts_with("cuda"));
            let fuse = group_size(a.fuse, &reg.runs, slots.len(), gpu)?;
            eprintln!("{}", super::describe_slots(&slots));
            if fuse > 1 {
                eprintln!("fusing up to {fuse} compatible runs per model");
            }
            let l = Launch {
                worker: WorkerCommand {
                    exe: exe.clone(),
                    db: a.store.db.clone(),
                    // Kept out of argv, where every user's `ps` shows it.
                    db_via: DbVia::Env,
                    sweep: name.clone(),
                    device: "cpu".into(),
                    threads: a.devices.threads_per_run,
                    lease_secs: a.lease,
                    results: results.clone(),
                    slot: WorkerSlot::Fixed(0),
                    fuse,
                },
                slots,
                files: files.clone(),
            };
            outcome = launch(&store, &l).await?;
            let unfinished = store.counts(&name).await?.pending > 0;
            if !sweep.adaptive() || outcome != LaunchOutcome::Finished || unfinished {
                break;
            }
        }
        let after = store.counts(&name).await?;
        if after.pending + after.running == 0 {
            forget_states(&files, &sweep, &last_plan.0, last_plan.1.as_ref());
        }
        // The summary shows test accuracy, balanced accuracy and exact
        // match: reading every metric of every run took longer than the
        // rest of `run` after the last run ended, on a sweep of tiny runs.
        let shown = super::report::Needed::new(
            vec!["test".into()],
            vec![Metric::BalancedAccuracy.name().into()],
        );
        let data = super::report::sweep_data_for(&store, &name, Some(&shown)).await?;
        let mut out = run_summary(&data);
        for f in store.failed(&name).await? {
            out += &format!("failed {}: {}\n", headsweep_spec::short_id(&f.id), f.error);
        }
        out += &format!(
            "{} done, {} failed, {} pending, {} running\n",
            after.done, after.failed, after.pending, after.running
        );
        std::io::stdout().write_all(out.as_bytes())?;
        Ok(match outcome {
            LaunchOutcome::Interrupted => exit::INTERRUPTED,
            LaunchOutcome::MachineStopped { workers } => anyhow::bail!(
                "{workers} worker(s) stopped because run files or the store could not be written (a full disk?); their runs went back to pending and nothing failed: free space and run again (logs: {})",
                files.workers().display()
            ),
            LaunchOutcome::Finished if after.failed > 0 => exit::SOME_FAILED,
            // Runs nobody holds: this launch's workers stopped early.
            LaunchOutcome::Finished if after.pending > 0 => {
                anyhow::bail!(
                    "{} run(s) were left unfinished; see {}",
                    after.pending,
                    files.workers().display()
                )
            }
            // Runs held by workers of another `run` or another machine.
            LaunchOutcome::Finished if after.running > 0 => {
                eprintln!(
                    "{} run(s) are still training in other processes; `headsweep status` follows them",
                    after.running
                );
                exit::SUCCESS
            }
            LaunchOutcome::Finished => exit::SUCCESS,
        })
    })
}

/// Once a pruned search has ended in every design (and nothing of the
/// sweep is pending or running), no trial will continue a training state:
/// `runs`' states go.
pub(super) fn forget_states(
    files: &headsweep_store::StoreFiles,
    sweep: &headsweep_spec::SweepFile,
    runs: &[headsweep_runner::PlannedRun],
    plan: Option<&headsweep_runner::SearchPlan>,
) {
    let prunes = sweep.search.as_ref().is_some_and(|s| s.prune.is_some());
    let ended = plan.is_some_and(|p| {
        p.designs
            .iter()
            .all(|d| d.chosen.is_some() || d.nothing_chosen)
    });
    if prunes && ended {
        TrainingStates::new(files, Some(sweep)).forget(runs);
    }
}
