//! Starting worker processes for a sweep, showing progress, and stopping
//! them cleanly on Ctrl-C or SIGTERM.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use headsweep_store::{Store, StoreFiles};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::signal::unix::{signal, SignalKind};
use tracing::warn;

use crate::{hostname, RunnerError, Slot, WorkerCommand, WorkerSlot};

/// Everything needed to start the workers of one sweep: one per slot,
/// each `worker` with the slot's device and threads.
#[derive(Debug, Clone)]
pub struct Launch {
    pub worker: WorkerCommand,
    pub slots: Vec<Slot>,
    /// Where the store keeps its files (worker logs go in its `workers/`).
    pub files: StoreFiles,
}

impl Launch {
    fn sweep(&self) -> &str {
        &self.worker.sweep
    }

    fn logs(&self) -> PathBuf {
        self.files.workers()
    }
}

/// The exit status of a worker that stopped because the machine could not
/// keep a run's files or write the store (a full disk, an I/O error): its
/// runs go back to pending instead of failing (EX_TEMPFAIL).
pub const WORKER_EXIT_MACHINE: i32 = 75;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchOutcome {
    /// Every worker ran out of runs.
    Finished,
    /// Stopped by a signal; running runs went back to pending.
    Interrupted,
    /// Workers stopped because files or the store could not be written;
    /// their runs went back to pending.
    MachineStopped { workers: usize },
}

/// How long stopped workers get to put their runs back before being killed.
const STOP_GRACE: Duration = Duration::from_secs(30);

fn spawn(l: &Launch, slot: usize, s: &Slot) -> Result<Child, RunnerError> {
    let logs = l.logs();
    std::fs::create_dir_all(&logs).map_err(|source| RunnerError::Io {
        context: format!("creating {}", logs.display()),
        source,
    })?;
    let log_path = logs.join(format!("{}-{}.log", l.sweep(), slot));
    let log = std::fs::File::create(&log_path).map_err(|source| RunnerError::Io {
        context: format!("creating {}", log_path.display()),
        source,
    })?;
    let worker = WorkerCommand {
        device: s.device.clone(),
        threads: s.threads as u32,
        slot: WorkerSlot::Fixed(slot),
        ..l.worker.clone()
    };
    let mut cmd = worker.command();
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
    // SAFETY: prctl is async-signal-safe; it asks the kernel to send this
    // child SIGTERM when its parent dies, so no worker outlives `run`.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn().map_err(|source| RunnerError::Io {
        context: format!("starting worker {}", l.worker.exe.display()),
        source,
    })
}

fn terminate(children: &[(usize, Child)]) {
    for (_, c) in children {
        // SAFETY: sending a signal to our own child.
        unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
    }
}

/// Starts one worker process per slot and waits until all have finished,
/// with a progress bar on stderr (when it is a terminal). A worker that dies
/// abnormally fails only the run it held, and a new worker takes its slot
/// while runs remain.
pub async fn launch(store: &Store, l: &Launch) -> Result<LaunchOutcome, RunnerError> {
    let mut sigint = signal(SignalKind::interrupt()).map_err(|source| RunnerError::Io {
        context: "installing a signal handler".into(),
        source,
    })?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(|source| RunnerError::Io {
        context: "installing a signal handler".into(),
        source,
    })?;
    // A worker's exit is noticed when it happens, not at the next tick
    // (which kept every `run` up to a tick longer than its work).
    let mut sigchld = signal(SignalKind::child()).map_err(|source| RunnerError::Io {
        context: "installing a signal handler".into(),
        source,
    })?;
    let host = hostname();
    let mut children: Vec<(usize, Child)> = Vec::new();
    for (i, s) in l.slots.iter().enumerate() {
        children.push((i, spawn(l, i, s)?));
    }
    let counts = store.counts(l.sweep()).await?;
    let bar = ProgressBar::new(counts.total() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg} (ETA {eta})",
        )
        .expect("valid template"),
    );
    let mut interrupted: Option<Instant> = None;
    let (mut respawns, mut worker_errors, mut machine_stops) = (0usize, 0usize, 0usize);
    let max_respawns = counts.total();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    while !children.is_empty() {
        tokio::select! {
            _ = sigint.recv() => { if interrupted.is_none() { interrupted = Some(Instant::now()); terminate(&children); } }
            _ = sigterm.recv() => { if interrupted.is_none() { interrupted = Some(Instant::now()); terminate(&children); } }
            _ = sigchld.recv() => {}
            _ = tick.tick() => {}
        }
        let mut still = Vec::new();
        for (slot, mut c) in children.drain(..) {
            match c.try_wait() {
                Ok(None) => still.push((slot, c)),
                Ok(Some(status)) if status.success() || interrupted.is_some() => {}
                Ok(Some(status)) if status.code() == Some(WORKER_EXIT_MACHINE) => {
                    // Not the runs' fault: back to pending, and no new
                    // worker (it would meet the same full disk). If the
                    // store itself cannot be written, the claims lapse and
                    // the next `run` reclaims them.
                    let back = store
                        .release_runs_of(l.sweep(), &host, c.id() as i64)
                        .await
                        .unwrap_or(0);
                    warn!(
                        back,
                        "a worker stopped: files or the store could not be written"
                    );
                    machine_stops += 1;
                }
                Ok(Some(status)) => {
                    let reason = format!(
                        "worker process {} {} while training this run",
                        c.id(),
                        death_reason(status)
                    );
                    let held = store
                        .fail_runs_of(l.sweep(), &host, c.id() as i64, &reason)
                        .await?;
                    warn!(%reason, held, "worker died");
                    // Replace a worker that crashed inside a run, while runs
                    // remain; one that failed on its own (say, it could not
                    // open the store) would only fail again.
                    if held > 0
                        && respawns < max_respawns
                        && store.counts(l.sweep()).await?.pending > 0
                    {
                        respawns += 1;
                        still.push((slot, spawn(l, slot, &l.slots[slot])?));
                    } else if held == 0 {
                        worker_errors += 1;
                    }
                }
                Err(e) => {
                    return Err(RunnerError::Io {
                        context: "waiting for a worker".into(),
                        source: e,
                    })
                }
            }
        }
        children = still;
        if let Some(since) = interrupted {
            if since.elapsed() > STOP_GRACE {
                for (_, c) in &mut children {
                    let _ = c.kill();
                }
            }
        }
        let c = store.counts(l.sweep()).await?;
        bar.set_length(c.total() as u64);
        bar.set_position((c.done + c.failed) as u64);
        bar.set_message(format!("done, {} failed, {} running", c.failed, c.running));
    }
    bar.finish_and_clear();
    if worker_errors > 0 {
        warn!(
            worker_errors,
            "worker processes failed outside any run; see {}",
            l.logs().display()
        );
    }
    Ok(if interrupted.is_some() {
        LaunchOutcome::Interrupted
    } else if machine_stops > 0 {
        LaunchOutcome::MachineStopped {
            workers: machine_stops,
        }
    } else {
        LaunchOutcome::Finished
    })
}

/// How a worker process ended, in words: killed by the kernel's OOM
/// killer (SIGKILL), aborted (SIGABRT: libtorch or the allocator gave up,
/// often for memory), another signal, or an exit status.
fn death_reason(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(libc::SIGKILL) => {
            "was killed (SIGKILL: the kernel's out-of-memory killer, or kill -9)".into()
        }
        Some(libc::SIGABRT) => {
            "aborted (SIGABRT: libtorch or the memory allocator gave up, often for lack of memory)"
                .into()
        }
        Some(libc::SIGSEGV) => "crashed (SIGSEGV)".into(),
        Some(sig) => format!("died of signal {sig}"),
        None => format!("died ({status})"),
    }
}
