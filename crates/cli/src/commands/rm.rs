use anyhow::bail;
use headsweep_store::Store;

use crate::args::RmArgs;

pub fn run(a: RmArgs) -> anyhow::Result<()> {
    let results = super::results_dir(&a.store.db, None);
    super::runtime()?.block_on(async {
        let store = Store::open(&a.store.db).await?;
        let mut sweeps = Vec::new();
        let mut runs = Vec::new();
        for t in &a.targets {
            if store.has_sweep(t).await? {
                sweeps.push(t.clone());
                continue;
            }
            match store.resolve_run(t).await.map_err(|_| anyhow::anyhow!("{t:?} is neither a sweep nor a run identity (or a prefix of at least 8 hex digits)"))?.as_slice() {
                [] => bail!("no sweep or run {t:?} in {}", a.store.db),
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
        if a.failed {
            println!("forgot {} failed run(s)", store.forget_runs(&runs).await?);
        } else {
            let mut forgotten = store.forget_runs(&direct).await?;
            for s in &sweeps {
                forgotten += store.forget_sweep(s).await?;
            }
            println!("forgot {} sweep(s) and {forgotten} run(s)", sweeps.len());
        }
        // Weights and logs of runs no longer in the store.
        if let Ok(entries) = std::fs::read_dir(results.join("runs")) {
            for e in entries.flatten() {
                let id = e.file_name().to_string_lossy().to_string();
                if store.resolve_run(&id).await.map(|v| v.is_empty()).unwrap_or(false) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(())
    })
}
