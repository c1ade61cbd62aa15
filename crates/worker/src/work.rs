//! The worker loop: claim a run, train it while renewing its lease, store
//! its results — until no run is left or the worker is told to stop.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use headsweep_data::Dataset;
use headsweep_model::{
    parse_device, Checkpoints, Device, EpochRecord, GroupOptions, Member, RunOutput, TrainError,
};
use headsweep_spec::RunConfig;
use headsweep_store::{RunResults, Store, StoreFiles, Worker};
use tracing::{info, warn};

use headsweep_runner::{TrainingStates, CODE_VERSION};

use crate::{results_of, WorkError};

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub sweep: String,
    pub worker: Worker,
    pub lease: Duration,
    /// How often the lease is renewed while a run trains.
    pub heartbeat: Duration,
    /// Where the store keeps its files: `RUN/best.safetensors` and
    /// `RUN/train.log` under its runs folder.
    pub files: StoreFiles,
    /// Set to stop: the current run goes back to pending.
    pub stop: Arc<AtomicBool>,
    /// Most runs to train together as one fused model (1: unfused).
    pub fuse: usize,
    /// The next group is claimed while one trains when the group before
    /// trained within this (zero: never).
    pub ahead: Duration,
    /// Where runs find and leave training states (a pruned search's rungs);
    /// `None`: every run trains from its first epoch and saves none.
    pub states: Option<TrainingStates>,
}

/// What one worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerReport {
    pub done: usize,
    pub failed: usize,
    pub released: usize,
}

/// What trains runs. [`Libtorch`] in real use; tests substitute one that
/// fails in chosen ways.
pub trait Trainer: Send + Sync + 'static {
    /// Trains `members` together (one member: a run alone), a result per
    /// member in order.
    fn train_group(
        &self,
        members: Vec<Member>,
        data: &Dataset,
        opts: &GroupOptions,
    ) -> Vec<Result<RunOutput, TrainError>>;
}

/// Training with libtorch (the model crate).
pub struct Libtorch;

impl Trainer for Libtorch {
    fn train_group(
        &self,
        members: Vec<Member>,
        data: &Dataset,
        opts: &GroupOptions,
    ) -> Vec<Result<RunOutput, TrainError>> {
        headsweep_model::train_group(members, data, opts)
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
    /// The machine could not keep the run's files (a full disk, an I/O
    /// error): not the run's fault, so it goes back to pending and the
    /// worker stops.
    Unsaved {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A claimed run, its configuration and its folder.
struct Held {
    id: String,
    config: RunConfig,
    dir: PathBuf,
    log: Arc<Mutex<Option<std::fs::File>>>,
}

/// Claims and trains runs of `opts.sweep` until none is left or `stop` is
/// set, up to `opts.fuse` compatible runs at a time as one fused model.
///
/// While a group trains, the worker's own thread settles the group before
/// (its log lines, its results stored in one transaction) and, when groups
/// train within `opts.ahead`, claims the next group: training then never
/// waits for the store. On SQLite a claim waits for the write lock, which
/// another worker may hold for about as long as a tiny group trains.
pub async fn work(
    store: &Store,
    opts: &WorkerOptions,
    trainer: Arc<dyn Trainer>,
) -> Result<WorkerReport, WorkError> {
    let mut report = WorkerReport::default();
    let mut datasets: HashMap<String, Arc<Dataset>> = HashMap::new();
    let device = parse_device(&opts.worker.device)?;
    // The same for every run this worker trains.
    let provenance = headsweep_runner::provenance(
        &opts.worker.device,
        opts.worker.threads.max(1) as u32,
        crate::torch_info(),
    )
    .to_string();
    // The last group's outcomes, settled as the next group starts to
    // train. A write that fails stops the worker once that group has
    // trained.
    let mut unsettled: Vec<(Held, Outcome)> = Vec::new();
    // The group claimed while the last one trained, and how long that took.
    let mut ahead: Option<Vec<Held>> = None;
    let mut took: Option<Duration> = None;
    loop {
        let held = match ahead.take() {
            Some(held) if opts.stop.load(Ordering::SeqCst) => {
                report.released += release(store, opts, &held).await?;
                break;
            }
            Some(held) => held,
            None if opts.stop.load(Ordering::SeqCst) => break,
            None => match claim(store, opts).await? {
                Some((held, failed)) => {
                    report.failed += failed;
                    held
                }
                None => break,
            },
        };
        if held.is_empty() {
            continue;
        }
        // Claiming ahead pays where claims are a noticeable part of a
        // group's time. A group claimed ahead of a long one would wait (and
        // at the sweep's end be trained here while another worker has
        // nothing left to do).
        let claim_ahead = took.is_some_and(|t| t < opts.ahead);
        let previous = std::mem::take(&mut unsettled);
        let (settled, (outcomes, trained_in)) = tokio::join!(
            async {
                let settled = settle(store, opts, &provenance, previous).await?;
                let next = match claim_ahead && !opts.stop.load(Ordering::SeqCst) {
                    true => claim(store, opts).await?,
                    false => None,
                };
                Ok::<_, WorkError>((settled, next))
            },
            async {
                let started = std::time::Instant::now();
                let outcomes =
                    train_or_one_by_one(store, opts, &held, device, &mut datasets, &trainer).await;
                (outcomes, started.elapsed())
            }
        );
        took = Some(trained_in);
        let (settled, next) = settled?;
        report.add(&settled);
        let mut next = next.map(|(next, failed)| {
            report.failed += failed;
            next
        });
        // Runs claimed ahead of a group that trained longer than a lease
        // renewal may have been claimed by another worker meanwhile.
        if let Some(next) = next.as_mut().filter(|_| trained_in >= opts.heartbeat) {
            let mut kept = Vec::with_capacity(next.len());
            for h in next.drain(..) {
                if store
                    .heartbeat(&h.id, &opts.worker.name, opts.lease.as_millis() as i64)
                    .await?
                {
                    kept.push(h);
                } else {
                    warn!(run = %headsweep_spec::short_id(&h.id), "lost a run claimed ahead");
                }
            }
            *next = kept;
        }
        unsettled = held.into_iter().zip(outcomes).collect();
        // A full disk would fail the next run too: every held run goes
        // back to the store, and the worker stops.
        if unsettled
            .iter()
            .any(|(_, o)| matches!(o, Outcome::Unsaved { .. }))
        {
            if let Some(next) = next {
                report.released += release(store, opts, &next).await?;
            }
            let settled = settle(store, opts, &provenance, unsettled).await?;
            report.add(&settled);
            return Err(settled.unsaved.expect("an unsaved run"));
        }
        ahead = next;
    }
    let settled = settle(store, opts, &provenance, unsettled).await?;
    report.add(&settled);
    Ok(report)
}

impl WorkerReport {
    fn add(&mut self, s: &Settled) {
        self.done += s.done;
        self.failed += s.failed;
        self.released += s.released;
    }
}

/// What settling a group's outcomes did.
#[derive(Default)]
struct Settled {
    done: usize,
    failed: usize,
    released: usize,
    /// The first run whose files could not be written.
    unsaved: Option<WorkError>,
}

/// Claims the next group and readies its runs' folders and logs. `None`:
/// nothing is left to claim; otherwise the held runs (possibly none) and
/// how many claimed runs failed at once (an unusable identity or
/// configuration).
async fn claim(
    store: &Store,
    opts: &WorkerOptions,
) -> Result<Option<(Vec<Held>, usize)>, WorkError> {
    let claims = store
        .claim_group(
            &opts.sweep,
            &opts.worker,
            opts.lease.as_millis() as i64,
            opts.fuse.max(1),
        )
        .await?;
    if claims.is_empty() {
        return Ok(None);
    }
    let (mut held, mut failed) = (Vec::new(), 0);
    for claim in claims {
        // An identity that is not one (a crafted row in a shared store)
        // must never become a path: that run fails, the worker goes on.
        let dir = match opts.files.run(&claim.id) {
            Ok(dir) => dir,
            Err(e) => {
                warn!(%e, "refusing a run");
                store
                    .fail(&claim.id, &opts.worker.name, &e.to_string())
                    .await?;
                failed += 1;
                continue;
            }
        };
        info!(run = %headsweep_spec::short_id(&claim.id), "claimed");
        match serde_json::from_str::<RunConfig>(&claim.config) {
            Ok(config) => {
                let _ = std::fs::create_dir_all(&dir);
                // Left by a worker killed while saving.
                let _ = std::fs::remove_file(dir.join("best.partial.safetensors"));
                let log = Arc::new(Mutex::new(
                    std::fs::File::create(dir.join("train.log")).ok(),
                ));
                log_line(
                    &log,
                    &format!(
                        "run {} on {} ({}), worker {}",
                        claim.id, opts.worker.device, opts.worker.host, opts.worker.name
                    ),
                );
                log_line(&log, &serde_json::to_string(&config).unwrap_or_default());
                held.push(Held {
                    id: claim.id,
                    config,
                    dir,
                    log,
                });
            }
            Err(e) => {
                store
                    .fail(
                        &claim.id,
                        &opts.worker.name,
                        &format!("unreadable configuration: {e}"),
                    )
                    .await?;
                failed += 1;
            }
        }
    }
    Ok(Some((held, failed)))
}

/// The log line of a run put back to pending untrained or part-trained.
const RELEASED: &str = "stopped: the run goes back to pending";

/// Puts held runs back to pending; how many.
async fn release(store: &Store, opts: &WorkerOptions, held: &[Held]) -> Result<usize, WorkError> {
    for h in held {
        log_line(&h.log, RELEASED);
        store.release(&h.id, &opts.worker.name).await?;
    }
    Ok(held.len())
}

/// Trains the held runs as one group; if the group panics, each alone, so
/// that the failure stays that run's own.
async fn train_or_one_by_one(
    store: &Store,
    opts: &WorkerOptions,
    held: &[Held],
    device: Device,
    datasets: &mut HashMap<String, Arc<Dataset>>,
    trainer: &Arc<dyn Trainer>,
) -> Vec<Outcome> {
    match train_held(store, opts, held, device, datasets, trainer).await {
        Ok(outcomes) => outcomes,
        Err(panic) if held.len() > 1 => {
            warn!(%panic, runs = held.len(), "a fused group panicked; training its runs one by one");
            let mut outcomes = Vec::new();
            for h in held {
                let one = std::slice::from_ref(h);
                outcomes.push(
                    match train_held(store, opts, one, device, datasets, trainer).await {
                        Ok(mut o) => o.pop().expect("one outcome"),
                        Err(panic) => Outcome::Failed(format!("panic: {panic}")),
                    },
                );
            }
            outcomes
        }
        Err(panic) => vec![Outcome::Failed(format!("panic: {panic}"))],
    }
}

/// Logs how each run of a trained group ended, marks the failed ones
/// failed and the released ones pending, and stores the finished ones'
/// results in one transaction.
async fn settle(
    store: &Store,
    opts: &WorkerOptions,
    provenance: &str,
    outcomes: Vec<(Held, Outcome)>,
) -> Result<Settled, WorkError> {
    let mut settled = Settled::default();
    let mut finished = Vec::new();
    for (h, outcome) in outcomes {
        log_line(
            &h.log,
            &match &outcome {
                Outcome::Done(out) => format!(
                    "done: best epoch {} of {}{}, {:.2} s, trained with {} run(s)",
                    out.best_epoch,
                    out.epochs_run,
                    if out.resumed_epochs > 0 {
                        format!(
                            " (the first {} continued from a saved state)",
                            out.resumed_epochs
                        )
                    } else {
                        String::new()
                    },
                    out.seconds,
                    out.fused
                ),
                Outcome::Failed(r) => format!("failed: {r}"),
                Outcome::Released => RELEASED.to_string(),
                Outcome::Unsaved { path, source } => format!(
                    "stopped: cannot write {}: {source}; the run goes back to pending",
                    path.display()
                ),
            },
        );
        let run = h.id;
        match outcome {
            Outcome::Done(out) => finished.push((
                run,
                RunResults {
                    provenance: Some(provenance.to_string()),
                    ..results_of(&out)
                },
            )),
            Outcome::Failed(reason) => {
                warn!(run = %headsweep_spec::short_id(&run), %reason, "run failed");
                store.fail(&run, &opts.worker.name, &reason).await?;
                settled.failed += 1;
            }
            Outcome::Released => {
                store.release(&run, &opts.worker.name).await?;
                settled.released += 1;
            }
            Outcome::Unsaved { path, source } => {
                warn!(run = %headsweep_spec::short_id(&run), path = %path.display(), %source, "cannot keep the run's files");
                store.release(&run, &opts.worker.name).await?;
                settled.released += 1;
                settled
                    .unsaved
                    .get_or_insert(WorkError::Unsaved { path, source });
            }
        }
    }
    settled.done = store_finished(store, opts, &finished).await?;
    Ok(settled)
}

/// Stores a group's finished runs in one transaction; how many were kept
/// (a run whose claim was lost meanwhile is not).
async fn store_finished(
    store: &Store,
    opts: &WorkerOptions,
    finished: &[(String, RunResults)],
) -> Result<usize, WorkError> {
    if finished.is_empty() {
        return Ok(0);
    }
    let rows: Vec<(&str, &RunResults)> = finished.iter().map(|(r, x)| (r.as_str(), x)).collect();
    let stored = store
        .complete_group(&opts.worker.name, CODE_VERSION, &rows)
        .await?;
    let mut kept = 0;
    for ((run, _), ok) in finished.iter().zip(stored) {
        if ok {
            kept += 1;
        } else {
            warn!(run = %headsweep_spec::short_id(run), "lost the claim before finishing; results discarded");
        }
    }
    Ok(kept)
}

fn log_line(log: &Mutex<Option<std::fs::File>>, line: &str) {
    if let Some(f) = log.lock().expect("log lock").as_mut() {
        let _ = writeln!(f, "{line}");
    }
}

/// Trains the held runs together while renewing their leases. `Err` carries
/// a panic's message.
async fn train_held(
    store: &Store,
    opts: &WorkerOptions,
    held: &[Held],
    device: Device,
    datasets: &mut HashMap<String, Arc<Dataset>>,
    trainer: &Arc<dyn Trainer>,
) -> Result<Vec<Outcome>, String> {
    let config = &held[0].config;
    let key = serde_json::to_string(&(&config.data, &config.tasks)).unwrap_or_default();
    let data = match datasets.get(&key) {
        Some(d) => d.clone(),
        None => {
            let (data_cfg, tasks) = (config.data.clone(), config.tasks.clone());
            let cache = opts.files.data_cache();
            let loaded = tokio::task::spawn_blocking(move || {
                headsweep_data::load_cached(&data_cfg, &tasks, Some(&cache))
            })
            .await;
            let loaded = match loaded {
                Ok(Ok(d)) => Ok(Arc::new(d)),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match loaded {
                Ok(d) => {
                    datasets.insert(key, d.clone());
                    d
                }
                Err(e) => {
                    return Ok(held
                        .iter()
                        .map(|_| Outcome::Failed(format!("data: {e}")))
                        .collect())
                }
            }
        }
    };

    let lost: Vec<Arc<AtomicBool>> = held
        .iter()
        .map(|_| Arc::new(AtomicBool::new(false)))
        .collect();
    let members: Vec<Member> = held
        .iter()
        .zip(&lost)
        .map(|(h, lost)| {
            let log = h.log.clone();
            let lost = lost.clone();
            Member {
                config: h.config.clone(),
                weights: Some(h.dir.join("best.safetensors")),
                stop: Some(Arc::new(move || lost.load(Ordering::SeqCst))),
                on_epoch: Some(Arc::new(move |e: &EpochRecord| {
                    log_line(
                        &log,
                        &format!(
                            "epoch {} train_loss {:.6} val_loss {:.6} monitor {:.6}",
                            e.epoch, e.train_loss, e.val_loss, e.monitor
                        ),
                    );
                })),
                checkpoints: opts.states.as_ref().and_then(|s| {
                    Some(Checkpoints {
                        dir: s.folder(&h.config)?,
                        save: s.saves(&h.config),
                    })
                }),
            }
        })
        .collect();
    // A run that continued a state and saves none ends its trajectory's
    // use of the folder (the last rung): what it held goes.
    let ending: Vec<Option<PathBuf>> = members
        .iter()
        .map(|m| {
            m.checkpoints
                .as_ref()
                .filter(|c| !c.save)
                .map(|c| c.dir.clone())
        })
        .collect();
    let group = GroupOptions {
        device,
        threads: opts.worker.threads as usize,
        stop: Some({
            let global = opts.stop.clone();
            Arc::new(move || global.load(Ordering::SeqCst))
        }),
    };
    let trainer = trainer.clone();
    let mut handle =
        tokio::task::spawn_blocking(move || trainer.train_group(members, &data, &group));
    let mut beat = tokio::time::interval(opts.heartbeat);
    beat.tick().await;
    let joined = loop {
        tokio::select! {
            joined = &mut handle => break joined,
            _ = beat.tick() => {
                for (h, lost) in held.iter().zip(&lost) {
                    match store.heartbeat(&h.id, &opts.worker.name, opts.lease.as_millis() as i64).await {
                        Ok(true) => {}
                        Ok(false) => lost.store(true, Ordering::SeqCst),
                        Err(e) => warn!(error = %e, "heartbeat failed"),
                    }
                }
            }
        }
    };
    match joined {
        Ok(results) => Ok(results
            .into_iter()
            .zip(ending)
            .map(|(r, ending)| match r {
                Ok(out) => {
                    if let Some(dir) = ending.filter(|_| out.resumed_epochs > 0) {
                        let _ = std::fs::remove_dir_all(dir);
                    }
                    Outcome::Done(Box::new(out))
                }
                Err(TrainError::Cancelled) => Outcome::Released,
                Err(TrainError::Save { path, source }) => Outcome::Unsaved { path, source },
                Err(e) => Outcome::Failed(e.to_string()),
            })
            .collect()),
        Err(e) if e.is_panic() => Err(panic_message(e.into_panic().as_ref())),
        Err(e) => Ok(held
            .iter()
            .map(|_| Outcome::Failed(e.to_string()))
            .collect()),
    }
}
