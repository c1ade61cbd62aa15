//! The worker loop: claim a run, train it while renewing its lease, store
//! its results — until no run is left or the worker is told to stop.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use headsweep_data::Dataset;
use headsweep_model::{parse_device, Device, EpochRecord, RunOutput, TrainError, TrainOptions};
use headsweep_spec::RunConfig;
use headsweep_store::{Store, Worker};
use tracing::{info, warn};

use crate::{results_of, RunnerError, CODE_VERSION};

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub sweep: String,
    pub worker: Worker,
    pub lease: Duration,
    /// How often the lease is renewed while a run trains.
    pub heartbeat: Duration,
    /// Folder for `runs/RUN/best.safetensors` and `runs/RUN/train.log`.
    pub results: PathBuf,
    /// Set to stop: the current run goes back to pending.
    pub stop: Arc<AtomicBool>,
}

/// What one worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerReport {
    pub done: usize,
    pub failed: usize,
    pub released: usize,
}

/// What trains a run. [`Libtorch`] in real use; tests substitute one that
/// fails in chosen ways.
pub trait Trainer: Send + Sync + 'static {
    fn train(
        &self,
        config: &RunConfig,
        data: &Dataset,
        opts: &TrainOptions,
    ) -> Result<RunOutput, TrainError>;
}

/// Training with libtorch (the model crate).
pub struct Libtorch;

impl Trainer for Libtorch {
    fn train(
        &self,
        config: &RunConfig,
        data: &Dataset,
        opts: &TrainOptions,
    ) -> Result<RunOutput, TrainError> {
        headsweep_model::train(config, data, opts)
    }
}

/// A message for a panic payload.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

enum Outcome {
    Done(Box<RunOutput>),
    Failed(String),
    Released,
}

/// Claims and trains runs of `opts.sweep` until none is left or `stop` is set.
pub async fn work(
    store: &Store,
    opts: &WorkerOptions,
    trainer: Arc<dyn Trainer>,
) -> Result<WorkerReport, RunnerError> {
    let mut report = WorkerReport::default();
    let mut datasets: HashMap<String, Arc<Dataset>> = HashMap::new();
    let lease_ms = opts.lease.as_millis() as i64;
    let device = parse_device(&opts.worker.device)?;
    while !opts.stop.load(Ordering::SeqCst) {
        let Some(claim) = store.claim(&opts.sweep, &opts.worker, lease_ms).await? else {
            break;
        };
        let run = claim.id.clone();
        info!(run = %&run[..12], "claimed");
        let config: RunConfig = match serde_json::from_str(&claim.config) {
            Ok(c) => c,
            Err(e) => {
                store
                    .fail(
                        &run,
                        &opts.worker.name,
                        &format!("unreadable configuration: {e}"),
                    )
                    .await?;
                report.failed += 1;
                continue;
            }
        };
        let dir = opts.results.join("runs").join(&run);
        let outcome = run_one(
            store,
            opts,
            &run,
            &config,
            &dir,
            device,
            &mut datasets,
            trainer.clone(),
        )
        .await;
        match outcome {
            Outcome::Done(out) => {
                let results = results_of(&out);
                if store
                    .complete(&run, &opts.worker.name, CODE_VERSION, &results)
                    .await?
                {
                    report.done += 1;
                } else {
                    warn!(run = %&run[..12], "lost the claim before finishing; results discarded");
                }
            }
            Outcome::Failed(reason) => {
                warn!(run = %&run[..12], %reason, "run failed");
                store.fail(&run, &opts.worker.name, &reason).await?;
                report.failed += 1;
            }
            Outcome::Released => {
                store.release(&run, &opts.worker.name).await?;
                report.released += 1;
            }
        }
    }
    Ok(report)
}

fn log_line(log: &Mutex<Option<std::fs::File>>, line: &str) {
    if let Some(f) = log.lock().expect("log lock").as_mut() {
        let _ = writeln!(f, "{line}");
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_one(
    store: &Store,
    opts: &WorkerOptions,
    run: &str,
    config: &RunConfig,
    dir: &Path,
    device: Device,
    datasets: &mut HashMap<String, Arc<Dataset>>,
    trainer: Arc<dyn Trainer>,
) -> Outcome {
    let _ = std::fs::create_dir_all(dir);
    let log = Arc::new(Mutex::new(
        std::fs::File::create(dir.join("train.log")).ok(),
    ));
    log_line(
        &log,
        &format!(
            "run {run} on {} ({}), worker {}",
            opts.worker.device, opts.worker.host, opts.worker.name
        ),
    );
    log_line(&log, &serde_json::to_string(config).unwrap_or_default());

    let key = serde_json::to_string(&(&config.data, &config.tasks)).unwrap_or_default();
    let data = match datasets.get(&key) {
        Some(d) => d.clone(),
        None => {
            let (data_cfg, tasks) = (config.data.clone(), config.tasks.clone());
            match tokio::task::spawn_blocking(move || headsweep_data::load(&data_cfg, &tasks)).await
            {
                Ok(Ok(d)) => {
                    let d = Arc::new(d);
                    datasets.insert(key, d.clone());
                    d
                }
                Ok(Err(e)) => return Outcome::Failed(format!("data: {e}")),
                Err(e) => return Outcome::Failed(format!("data: {e}")),
            }
        }
    };

    let lost = Arc::new(AtomicBool::new(false));
    let stop = {
        let (global, lost) = (opts.stop.clone(), lost.clone());
        Arc::new(move || global.load(Ordering::SeqCst) || lost.load(Ordering::SeqCst))
    };
    let on_epoch = {
        let log = log.clone();
        Arc::new(move |e: &EpochRecord| {
            log_line(
                &log,
                &format!(
                    "epoch {} train_loss {:.6} val_loss {:.6} monitor {:.6}",
                    e.epoch, e.train_loss, e.val_loss, e.monitor
                ),
            );
        })
    };
    let train_opts = TrainOptions {
        device,
        threads: opts.worker.threads as usize,
        weights: Some(dir.join("best.safetensors")),
        stop: Some(stop),
        on_epoch: Some(on_epoch),
    };
    let config = config.clone();
    let mut handle =
        tokio::task::spawn_blocking(move || trainer.train(&config, &data, &train_opts));
    let mut beat = tokio::time::interval(opts.heartbeat);
    beat.tick().await;
    let joined = loop {
        tokio::select! {
            joined = &mut handle => break joined,
            _ = beat.tick() => {
                match store.heartbeat(run, &opts.worker.name, opts.lease.as_millis() as i64).await {
                    Ok(true) => {}
                    Ok(false) => lost.store(true, Ordering::SeqCst),
                    Err(e) => warn!(error = %e, "heartbeat failed"),
                }
            }
        }
    };
    let outcome = match joined {
        Ok(Ok(out)) => Outcome::Done(Box::new(out)),
        Ok(Err(TrainError::Cancelled)) => Outcome::Released,
        Ok(Err(e)) => Outcome::Failed(e.to_string()),
        Err(e) if e.is_panic() => {
            Outcome::Failed(format!("panic: {}", panic_message(e.into_panic().as_ref())))
        }
        Err(e) => Outcome::Failed(e.to_string()),
    };
    log_line(
        &log,
        &match &outcome {
            Outcome::Done(out) => format!(
                "done: best epoch {} of {}, {:.2} s",
                out.best_epoch, out.epochs_run, out.seconds
            ),
            Outcome::Failed(r) => format!("failed: {r}"),
            Outcome::Released => "stopped: the run goes back to pending".to_string(),
        },
    );
    outcome
}
