use std::io::Write;

use anyhow::Context;
use headsweep_report::run_summary;
use headsweep_runner::{
    group_size, hostname, launch, pid_alive, register, DbVia, Launch, LaunchOutcome, WorkerCommand,
    WorkerSlot,
};
use headsweep_store::Store;

use crate::args::RunArgs;
use crate::exit;

pub fn run(a: RunArgs, torch: &dyn crate::Torch) -> anyhow::Result<i32> {
    let (sweep, planned, data, prepared) = super::prepare(&a.file)?;
    // An explicit group size is refused before anything is registered.
    group_size(a.fuse, &planned, 1, false)?;
    let mut slots = super::slots(&a.devices, torch)?;
    let results = super::results_dir(&a.store.db, a.results.as_ref());
    let exe = std::env::current_exe().context("finding the headsweep binary")?;
    super::runtime()?.block_on(async {
        let store = Store::open(&a.store.db).await?;
        let files = store.files(&results).await?;
        prepared.keep(&files)?;
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
        for d in &data {
            eprint!("{d}");
        }
        let mut outcome = LaunchOutcome::Finished;
        if before.pending > 0 {
            slots.truncate(before.pending.max(1));
            let gpu = slots.iter().any(|s| s.device.starts_with("cuda"));
            let fuse = group_size(a.fuse, &runs, slots.len(), gpu)?;
            eprintln!("{}", super::describe_slots(&slots));
            if fuse > 1 {
                eprintln!("fusing up to {fuse} compatible runs per model");
            }
            let l = Launch {
                worker: WorkerCommand {
                    exe,
                    db: a.store.db.clone(),
                    // Kept out of argv, where every user's `ps` shows it.
                    db_via: DbVia::Env,
                    sweep: name.clone(),
                    device: "cpu".into(),
                    threads: a.devices.threads_per_run,
                    lease_secs: a.lease,
                    results,
                    slot: WorkerSlot::Fixed(0),
                    fuse,
                },
                slots,
                files: files.clone(),
            };
            outcome = launch(&store, &l).await?;
        }
        let after = store.counts(&name).await?;
        let mut out = run_summary(&super::report::sweep_data(&store, &name).await?);
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
