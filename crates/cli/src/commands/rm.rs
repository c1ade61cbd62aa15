use anyhow::bail;
use headsweep_runner::TrainingStates;
use headsweep_store::{redact, Access, Store, StoreFiles};

use crate::args::RmArgs;

pub fn run(a: RmArgs) -> anyhow::Result<()> {
    let results = super::results_dir(&a.store.db, None);
    super::runtime()?.block_on(async {
        let store = Store::open_with(&a.store.db, Access::Existing).await?;
        let files = store.files(&results).await?;
        let mut sweeps = Vec::new();
        let mut runs = Vec::new();
        for t in &a.targets {
            if store.has_sweep(t).await? {
                sweeps.push(t.clone());
                continue;
            }
            match store.resolve_run(t).await.map_err(|_| anyhow::anyhow!("{t:?} is neither a sweep nor a run identity (or a prefix of at least 8 hex digits)"))?.as_slice() {
                [] => bail!("no sweep or run {t:?} in {}", redact(&a.store.db)),
                [one] => runs.push(one.clone()),
                many => bail!("{t:?} matches {} runs; give more of the identity", many.len()),
            }
        }
        if a.failed && !runs.is_empty() {
            bail!("--failed applies to sweeps; name the runs alone to remove them");
        }
        let direct = runs.clone();
        for s in &sweeps {
            runs.extend(store.sweep_run_ids(s, a.failed).await?);
        }
        if a.rerun {
            let n = store.rerun(&runs).await?;
            println!("{n} run(s) will train again on the next `headsweep run`");
            return Ok(());
        }
        // What the forgotten runs' training states are found by, read only
        // when the store keeps some (a pruned search's).
        let keeps_states = files.owned()
            && std::fs::read_dir(files.states()).is_ok_and(|mut d| d.next().is_some());
        let mut configs = Vec::new();
        for id in runs.iter().filter(|_| keeps_states) {
            if let Some(r) = store.run_config(id).await? {
                if let Ok(c) = serde_json::from_str::<headsweep_spec::RunConfig>(&r.config) {
                    configs.push(c);
                }
            }
        }
        if a.failed {
            println!("forgot {} failed run(s)", store.forget_runs(&runs).await?);
        } else {
            let mut forgotten = store.forget_runs(&direct).await?;
            for s in &sweeps {
                forgotten += store.forget_sweep(s).await?;
            }
            println!("forgot {} sweep(s) and {forgotten} run(s)", sweeps.len());
        }
        remove_files(&store, &files, &runs).await?;
        if !configs.is_empty() {
            let n = TrainingStates::new(&files, None).forget_configs(&configs);
            if n > 0 {
                println!(
                    "removed {n} folder(s) of training states under {}",
                    files.states().display()
                );
            }
        }
        Ok(())
    })
}

/// Deletes the folders of runs the store no longer holds, printing each —
/// only in the store's own folder. In the shared layout of older stores a
/// run's folder may belong to another store of the same results folder
/// too, so it is kept and named.
async fn remove_files(store: &Store, files: &StoreFiles, runs: &[String]) -> anyhow::Result<()> {
    let mut gone = Vec::new();
    for id in runs {
        if store.resolve_run(id).await?.is_empty() {
            let dir = files.run(id)?;
            // A run in two named sweeps is listed twice.
            if dir.exists() && !gone.contains(&dir) {
                gone.push(dir);
            }
        }
    }
    if !files.owned() {
        if !gone.is_empty() {
            println!(
                "kept {} run folder(s) under {}: this store predates store folders, and another store of that folder may use them; delete them by hand if none does",
                gone.len(),
                files.runs().display()
            );
        }
        return Ok(());
    }
    // Also folders left behind by runs forgotten earlier (say, by an
    // interrupted rm): this folder is the store's alone.
    if let Ok(entries) = std::fs::read_dir(files.runs()) {
        for e in entries.flatten() {
            let id = e.file_name().to_string_lossy().to_string();
            if headsweep_spec::check_run_id(&id).is_ok()
                && store.resolve_run(&id).await?.is_empty()
                && !gone.contains(&e.path())
            {
                gone.push(e.path());
            }
        }
    }
    for dir in gone {
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => println!("removed {}", dir.display()),
            // Removed meanwhile (by another rm): what was wanted.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => anyhow::bail!("removing {}: {e}", dir.display()),
        }
    }
    Ok(())
}
