use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use headsweep_runner::{hostname, TrainingStates, WORKER_EXIT_MACHINE};
use headsweep_store::{redact, Access, Store, Worker};
use headsweep_worker::{work, Libtorch, WorkerOptions};
use tokio::signal::unix::{signal, SignalKind};
use tracing::info;

use headsweep_cli::args::WorkerArgs;
use headsweep_cli::exit;

/// Trains runs until none is left; exits with
/// [`WORKER_EXIT_MACHINE`] when the machine could not
/// keep a run's files or write the store, so that `run` puts its runs back
/// instead of failing them.
pub fn run(a: WorkerArgs) -> anyhow::Result<i32> {
    // Checked before any claim, so a bad device fails no run.
    headsweep_model::parse_device(&a.device)?;
    let results = headsweep_cli::commands::results_dir(&a.store.db, a.results.as_ref());
    headsweep_cli::commands::runtime()?.block_on(async {
        // A worker serves a registered sweep: it must not create a store.
        let store = Store::open_with(&a.store.db, Access::Existing).await?;
        let files = store.files(&results).await?;
        if !store.has_sweep(&a.sweep).await? {
            anyhow::bail!("no sweep named {:?} in {}", a.sweep, redact(&a.store.db));
        }
        let stop = Arc::new(AtomicBool::new(false));
        for kind in [SignalKind::terminate(), SignalKind::interrupt()] {
            let mut s = signal(kind)?;
            let stop = stop.clone();
            tokio::spawn(async move {
                s.recv().await;
                stop.store(true, Ordering::SeqCst);
            });
        }
        let host = hostname();
        let pid = std::process::id();
        let lease = Duration::from_secs(a.lease);
        let opts = WorkerOptions {
            sweep: a.sweep.clone(),
            worker: Worker {
                name: format!("{host}:{pid}:{}", a.slot),
                host,
                pid: pid as i64,
                device: a.device.clone(),
                threads: a.threads as i64,
            },
            lease,
            heartbeat: (lease / 12).max(Duration::from_millis(500)),
            // Claims take a few milliseconds (more while another worker
            // stores): worth hiding behind groups shorter than this, which
            // bounds what claiming ahead can leave one worker training
            // alone at the sweep's end.
            ahead: Duration::from_millis(500),
            files: files.clone(),
            stop,
            fuse: a.fuse as usize,
            states: Some(TrainingStates::new(
                &files,
                headsweep_cli::commands::report::stored_sweep_file(&store, &a.sweep)
                    .await?
                    .as_ref(),
            )),
        };
        let report = match work(&store, &opts, Arc::new(Libtorch)).await {
            Ok(report) => report,
            Err(e) if e.is_environment() => {
                // Best effort: the log may be on the full disk too.
                let _ = writeln!(std::io::stderr(), "error: {e}");
                return Ok(WORKER_EXIT_MACHINE);
            }
            Err(e) => return Err(e.into()),
        };
        info!(
            done = report.done,
            failed = report.failed,
            released = report.released,
            "worker finished"
        );
        store.close().await;
        Ok(exit::SUCCESS)
    })
}
