use anyhow::Context;
use headsweep_runner::{
    group_size, register, sbatch_script, submit, wait_for_job, DbVia, SlurmJob, WorkerCommand,
    WorkerSlot,
};
use headsweep_store::{redact, Access, RunStatus, Store, StoreFiles};

use super::report::emit_bytes;
use crate::args::SlurmArgs;

pub fn run(a: SlurmArgs) -> anyhow::Result<()> {
    let (sweep, runs, _, prepared) = super::prepare(&a.file)?;
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
    let job = |array: usize, files: &StoreFiles| -> anyhow::Result<SlurmJob> {
        Ok(SlurmJob {
            worker: WorkerCommand {
                exe: exe.clone(),
                db: a.store.db.clone(),
                // Not written into the script on shared disk, nor onto any
                // command line: sbatch hands it to the job's environment.
                db_via: DbVia::Env,
                sweep: name.clone(),
                device: if a.gpus_per_task > 0 { "cuda:0" } else { "cpu" }.into(),
                threads: a.cpus_per_task,
                lease_secs: a.lease,
                results: results.clone(),
                slot: WorkerSlot::SlurmArrayTask,
                fuse,
            },
            logs: files.sweep(&name)?,
            array,
            partition: a.partition.clone(),
            gpus_per_task: a.gpus_per_task,
            cpus_per_task: a.cpus_per_task,
            time: a.time.clone(),
        })
    };
    let cap = |n: usize| a.array.map_or(n, |k| (k as usize).min(n));
    if a.dry_run {
        // Nothing is created: an existing store says where its files go
        // and which runs are left (done ones, and failed ones without
        // --retry-failed, need no task).
        let unnamed = || StoreFiles::own(&results, "NEW-STORE");
        let (files, left, total) = match headsweep_store::sqlite_path(&a.store.db) {
            Some(path) if !path.exists() => {
                eprintln!("note: the store does not exist yet; its folder under {} is named when it is created", results.display());
                (unnamed(), runs.len(), runs.len())
            }
            _ => match read_store(&a.store.db, &results, &sweep, &runs, a.retry_failed) {
                Ok(found) => found,
                Err(e) => {
                    eprintln!("note: the store cannot be read now ({e:#}); the script shows where a new store's files would go");
                    (unnamed(), runs.len(), runs.len())
                }
            },
        };
        eprintln!("{left} of {total} run(s) left to train");
        if left == 0 {
            println!("nothing to submit: every run of sweep {name} is done or failed");
            return Ok(());
        }
        print!("{}", sbatch_script(&job(cap(left).max(1), &files)?)?);
        return Ok(());
    }
    super::runtime()?.block_on(async {
        let store = Store::open(&a.store.db).await?;
        let files = store.files(&results).await?;
        prepared.keep(&files)?;
        if store.is_sqlite() {
            eprintln!("note: an SQLite store works only where every node sees the same file system and locks work on it; PostgreSQL (--db postgres://…) is the store for a cluster");
        }
        // Before planning: a search plans its next rounds from the runs
        // that have ended, and a failed run about to train again has not.
        if a.retry_failed {
            let n = store.retry_failed(&name).await?;
            if n > 0 {
                eprintln!("{n} failed run(s) will train again");
            }
        }
        let mut ended_before = None;
        loop {
            let reg = register(&store, &sweep).await?;
            if let (Some(plan), Some(s)) = (&reg.search, &sweep.search) {
                eprintln!("{}", super::plan::search_progress(plan, s));
            }
            if let (Some(plan), Some(q)) = (&reg.seeds, &sweep.sequential) {
                eprintln!("{}", super::seeds::progress(plan, q));
            }
            let left = store.claimable(&name).await?;
            let c = store.counts(&name).await?;
            if left == 0 {
                if c.running == 0 {
                    super::run::forget_states(&files, &sweep, &reg.runs, reg.search.as_ref());
                }
                println!("nothing to submit: sweep {name} has {} done, {} failed and {} running run(s) of {}", c.done, c.failed, c.running, c.total());
                return anyhow::Ok(());
            }
            // A job that ended no run would be submitted again forever.
            if ended_before == Some(c.done + c.failed) {
                anyhow::bail!("the last job ended without finishing any run; its logs are in {}", files.sweep(&name)?.display());
            }
            ended_before = Some(c.done + c.failed);
            let j = job(cap(left), &files)?;
            let script = sbatch_script(&j)?;
            let path = files.sweep(&name)?.join("slurm.sbatch");
            emit_bytes(&path, script.as_bytes())?;
            let id = submit(&path, &j.worker.envs())?;
            println!("submitted job {id}: {} array task(s) for {left} run(s) left of {}", cap(left), c.total());
            if !a.follow {
                if sweep.search.is_some() {
                    println!("a search proposes its next trials from these results: when the job has ended, run this command again (until it says there is nothing to submit), or submit with --follow");
                } else if sweep.sequential.is_some() {
                    println!("the next round of seeds goes to the designs these results leave unsettled: when the job has ended, run this command again (until it says there is nothing to submit), or submit with --follow");
                }
                println!("follow it with: headsweep status {name} --db {}", redact(&a.store.db));
                return Ok(());
            }
            eprintln!("waiting for job {id} to end");
            let wait = tokio::task::spawn_blocking(move || {
                wait_for_job(&id, std::time::Duration::from_secs(5))
            });
            wait.await??;
        }
    })
}

/// Where an existing store keeps its files under `results`, and how many
/// of `runs` — for a search, of the runs its results allow proposing now —
/// a worker would still train by what it holds, of how many.
fn read_store(
    db: &str,
    results: &std::path::Path,
    sweep: &headsweep_spec::SweepFile,
    runs: &[headsweep_runner::PlannedRun],
    retry_failed: bool,
) -> anyhow::Result<(StoreFiles, usize, usize)> {
    let (files, ids, states) = super::runtime()?.block_on(async {
        let store = Store::open_with(db, Access::Read).await?;
        let ids: Vec<String> = match (&sweep.search, &sweep.sequential) {
            (Some(s), _) => {
                let known = headsweep_runner::known(&store, sweep.name(), &s.objective).await?;
                let plan = headsweep_runner::plan_search(sweep, &known)?;
                plan.runs.into_iter().map(|r| r.id).collect()
            }
            (None, Some(q)) => {
                let known = headsweep_runner::known(&store, sweep.name(), &q.objective).await?;
                let plan = headsweep_runner::plan_seeds(sweep, &known)?;
                plan.runs.into_iter().map(|r| r.id).collect()
            }
            (None, None) => runs.iter().map(|r| r.id.clone()).collect(),
        };
        let states = store.run_states(&ids).await?;
        anyhow::Ok((store.files(results).await?, ids, states))
    })?;
    let left = ids
        .iter()
        .filter(|id| match states.get(*id).map(|s| s.status) {
            Some(RunStatus::Done) => false,
            Some(RunStatus::Failed) => retry_failed,
            _ => true,
        })
        .count();
    Ok((files, left, ids.len()))
}
