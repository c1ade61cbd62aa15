use anyhow::Context;
use headsweep_runner::{
    group_size, register, sbatch_script, submit, DbVia, SlurmJob, WorkerCommand, WorkerSlot,
};
use headsweep_store::Store;

use super::report::emit_bytes;
use crate::args::SlurmArgs;

pub fn run(a: SlurmArgs) -> anyhow::Result<()> {
    let (sweep, runs) = super::prepare(&a.file)?;
    let results = super::results_dir(&a.store.db, a.results.as_ref());
    let results = std::path::absolute(&results).context("resolving the results folder")?;
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .context("finding the headsweep binary")?;
    let name = sweep.name().to_string();
    let tasks = a
        .array
        .map_or(runs.len(), |k| (k as usize).min(runs.len()))
        .max(1);
    let fuse = group_size(a.fuse, &runs, tasks, a.gpus_per_task > 0)?;
    let job = |array: usize| SlurmJob {
        worker: WorkerCommand {
            exe: exe.clone(),
            db: a.store.db.clone(),
            db_via: DbVia::Argv,
            sweep: name.clone(),
            device: if a.gpus_per_task > 0 { "cuda:0" } else { "cpu" }.into(),
            threads: a.cpus_per_task,
            lease_secs: a.lease,
            results: results.clone(),
            slot: WorkerSlot::SlurmArrayTask,
            fuse,
        },
        array,
        partition: a.partition.clone(),
        gpus_per_task: a.gpus_per_task,
        cpus_per_task: a.cpus_per_task,
        time: a.time.clone(),
    };
    let cap = |n: usize| a.array.map_or(n, |k| (k as usize).min(n));
    if a.dry_run {
        print!("{}", sbatch_script(&job(cap(runs.len()).max(1)))?);
        return Ok(());
    }
    super::runtime()?.block_on(async {
        let store = Store::open(&a.store.db).await?;
        if store.is_sqlite() {
            eprintln!("note: an SQLite store works only where every node sees the same file system and locks work on it; PostgreSQL (--db postgres://…) is the store for a cluster");
        }
        register(&store, &sweep).await?;
        if a.retry_failed {
            let n = store.retry_failed(&name).await?;
            if n > 0 {
                eprintln!("{n} failed run(s) will train again");
            }
        }
        let left = store.claimable(&name).await?;
        let c = store.counts(&name).await?;
        if left == 0 {
            println!("nothing to submit: sweep {name} has {} done, {} failed and {} running run(s) of {}", c.done, c.failed, c.running, c.total());
            return Ok(());
        }
        let script = sbatch_script(&job(cap(left)))?;
        let path = results.join(&name).join("slurm.sbatch");
        emit_bytes(&path, script.as_bytes())?;
        let id = submit(&path)?;
        println!("submitted job {id}: {} array task(s) for {left} run(s) left of {}", cap(left), c.total());
        println!("follow it with: headsweep status {name} --db {}", a.store.db);
        anyhow::Ok(())
    })
}
