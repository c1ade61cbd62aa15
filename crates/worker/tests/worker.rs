//! The worker loop against a real store and real training.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use headsweep_data::Dataset;
use headsweep_model::{GroupOptions, Member, RunOutput, TrainError};
use headsweep_runner::register;
use headsweep_spec::SweepFile;
use headsweep_store::{RunStatus, StatusCounts, Store, StoreFiles, Worker};
use headsweep_worker::{work, Libtorch, Trainer, WorkerOptions};

const SWEEP: &str = r#"
[sweep]
name = "w"
seeds = [0, 1, 2]
[data]
synthetic = { preset = "methylation", samples = 200, features = 40 }
[[tasks]]
name = "sex"
[model]
trunk = [8]
[train]
epochs = 2
"#;

fn options(results: &Path, stop: Arc<AtomicBool>) -> WorkerOptions {
    WorkerOptions {
        sweep: "w".into(),
        worker: Worker {
            name: "t:1:0".into(),
            host: "t".into(),
            pid: 1,
            device: "cpu".into(),
            threads: 1,
        },
        lease: Duration::from_secs(60),
        heartbeat: Duration::from_millis(50),
        files: StoreFiles::own(results, "0a"),
        stop,
        fuse: 1,
        ahead: Duration::ZERO,
        states: None,
    }
}

/// A store in `dir` with sweep "w" registered.
async fn registered(dir: &Path) -> Store {
    let store = Store::open(dir.join("h.db").to_str().unwrap())
        .await
        .unwrap();
    let sweep = SweepFile::parse(Path::new("w.toml"), SWEEP).unwrap();
    register(&store, &sweep).await.unwrap();
    store
}

/// Panics when it is given seed 1; trains for real otherwise.
struct PanicsOnSeedOne;

impl Trainer for PanicsOnSeedOne {
    fn train_group(
        &self,
        members: Vec<Member>,
        d: &Dataset,
        o: &GroupOptions,
    ) -> Vec<Result<RunOutput, TrainError>> {
        if members.iter().any(|m| m.config.seed == 1) {
            panic!("deliberate failure for seed 1");
        }
        Libtorch.train_group(members, d, o)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_run_fails_alone_and_the_worker_goes_on() {
    // Alone, and in a fused group of three (which then trains one by one).
    for fuse in [1, 3] {
        panicking_run_fails_alone(fuse).await;
    }
}

async fn panicking_run_fails_alone(fuse: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = registered(dir.path()).await;
    let opts = WorkerOptions {
        fuse,
        ..options(dir.path(), Arc::new(AtomicBool::new(false)))
    };
    let report = work(&store, &opts, Arc::new(PanicsOnSeedOne))
        .await
        .unwrap();
    assert_eq!((report.done, report.failed), (2, 1));
    let failed = store.failed("w").await.unwrap();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]
            .error
            .contains("panic: deliberate failure for seed 1"),
        "{}",
        failed[0].error
    );
    // The done runs left weights and a log.
    let done: Vec<_> = store
        .runs("w")
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.status == RunStatus::Done)
        .collect();
    for r in &done {
        let run_dir = dir.path().join("stores/0a/runs").join(&r.id);
        assert!(run_dir.join("best.safetensors").exists());
        let log = std::fs::read_to_string(run_dir.join("train.log")).unwrap();
        assert!(
            log.contains("epoch 2 ") && log.contains("done: best epoch"),
            "{log}"
        );
    }
    let log = std::fs::read_to_string(
        dir.path()
            .join("stores/0a/runs")
            .join(&failed[0].id)
            .join("train.log"),
    )
    .unwrap();
    assert!(log.contains("failed: panic"), "{log}");
}

/// Whether sweep "w"'s counts in the store at `db` satisfy `want` within
/// `wait` (looked at every 10 ms), from a trainer's blocking thread.
fn store_shows(db: &Path, wait: Duration, want: impl Fn(StatusCounts) -> bool) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::open(db.to_str().unwrap()).await.unwrap();
        let start = std::time::Instant::now();
        while start.elapsed() < wait {
            if want(store.counts("w").await.unwrap()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    })
}

/// Before training, waits (up to 30 s) until the store shows every run it
/// trained before as done, and notes whether it did; then trains for real.
struct SeesEarlierRunsDone {
    db: std::path::PathBuf,
    trained: std::sync::atomic::AtomicUsize,
    saw: std::sync::Mutex<Vec<bool>>,
}

impl Trainer for SeesEarlierRunsDone {
    fn train_group(
        &self,
        members: Vec<Member>,
        d: &Dataset,
        o: &GroupOptions,
    ) -> Vec<Result<RunOutput, TrainError>> {
        use std::sync::atomic::Ordering;
        let before = self.trained.fetch_add(members.len(), Ordering::SeqCst);
        let saw = store_shows(&self.db, Duration::from_secs(30), |c| c.done == before);
        self.saw.lock().unwrap().push(saw);
        Libtorch.train_group(members, d, o)
    }
}

/// A group's results are written as the next group starts to train, not
/// after it: while a group trains, every run trained before it is done in
/// the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_groups_results_are_stored_while_the_next_group_trains() {
    let dir = tempfile::tempdir().unwrap();
    let store = registered(dir.path()).await;
    let trainer = Arc::new(SeesEarlierRunsDone {
        db: dir.path().join("h.db"),
        trained: Default::default(),
        saw: Default::default(),
    });
    let opts = options(dir.path(), Arc::new(AtomicBool::new(false)));
    let report = work(&store, &opts, trainer.clone()).await.unwrap();
    assert_eq!(report.done, 3);
    assert_eq!(*trainer.saw.lock().unwrap(), [true, true, true]);
    assert_eq!(store.counts("w").await.unwrap().done, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_worker_puts_its_run_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("h.db").to_str().unwrap())
        .await
        .unwrap();
    let sweep = SweepFile::parse(
        Path::new("w.toml"),
        &SWEEP.replace("epochs = 2", "epochs = 100000\npatience = 0"),
    )
    .unwrap();
    register(&store, &sweep).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let opts = options(dir.path(), stop.clone());
    let stopper = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let report = work(&store, &opts, Arc::new(Libtorch)).await.unwrap();
    stopper.await.unwrap();
    assert_eq!((report.done, report.failed, report.released), (0, 0, 1));
    assert_eq!(store.counts("w").await.unwrap().pending, 3);
}

/// Trains for real, but the disk is full when seed 1's weights are saved:
/// the seam through which a full disk reaches the worker in tests.
struct DiskFullOnSeedOne;

impl Trainer for DiskFullOnSeedOne {
    fn train_group(
        &self,
        members: Vec<Member>,
        d: &Dataset,
        o: &GroupOptions,
    ) -> Vec<Result<RunOutput, TrainError>> {
        let full: Vec<bool> = members.iter().map(|m| m.config.seed == 1).collect();
        let paths: Vec<_> = members.iter().map(|m| m.weights.clone()).collect();
        Libtorch
            .train_group(members, d, o)
            .into_iter()
            .zip(full.into_iter().zip(paths))
            .map(|(r, (full, path))| match (r, full) {
                (Ok(_), true) => Err(TrainError::Save {
                    path: path.unwrap(),
                    source: std::io::Error::from_raw_os_error(libc::ENOSPC),
                }),
                (r, _) => r,
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_no_run_and_stops_the_worker_naming_the_path() {
    // With and without the next run claimed while one trains.
    for ahead in [Duration::ZERO, Duration::from_secs(3600)] {
        full_disk_fails_no_run(ahead).await;
    }
}

async fn full_disk_fails_no_run(ahead: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let store = registered(dir.path()).await;
    let opts = WorkerOptions {
        ahead,
        ..options(dir.path(), Arc::new(AtomicBool::new(false)))
    };
    let e = work(&store, &opts, Arc::new(DiskFullOnSeedOne))
        .await
        .unwrap_err();
    assert!(e.is_environment(), "{e}");
    let message = e.to_string();
    assert!(
        message.contains("best.safetensors") && message.contains("No space left on device"),
        "{message}"
    );
    let counts = store.counts("w").await.unwrap();
    assert_eq!(counts.failed, 0, "a full disk fails no run");
    assert_eq!(counts.running, 0, "every held run is back");
    assert_eq!(counts.pending + counts.done, 3);
    // Space again: a plain rerun finishes everything.
    let report = work(&store, &opts, Arc::new(Libtorch)).await.unwrap();
    assert_eq!(report.failed, 0);
    assert_eq!(store.counts("w").await.unwrap().done, 3);
}

/// Trains one run at a time for real. Its second run waits (up to `wait`)
/// until the store shows one more run done or held than the two it has
/// been given — the next one, claimed ahead — notes whether it did, and
/// sets the worker's stop flag once trained.
struct StopsAfterTwo {
    db: std::path::PathBuf,
    wait: Duration,
    stop: Arc<AtomicBool>,
    groups: std::sync::atomic::AtomicUsize,
    saw_ahead: AtomicBool,
}

impl Trainer for StopsAfterTwo {
    fn train_group(
        &self,
        members: Vec<Member>,
        d: &Dataset,
        o: &GroupOptions,
    ) -> Vec<Result<RunOutput, TrainError>> {
        use std::sync::atomic::Ordering;
        let second = self.groups.fetch_add(1, Ordering::SeqCst) == 1;
        if second {
            let saw = store_shows(&self.db, self.wait, |c| c.done + c.running > 2);
            self.saw_ahead.store(saw, Ordering::SeqCst);
        }
        let out = Libtorch.train_group(members, d, o);
        if second {
            self.stop.store(true, Ordering::SeqCst);
        }
        out
    }
}

/// A worker on a new store of three runs, stopped after its second run by
/// [`StopsAfterTwo`] waiting up to `wait`: the store, the worker's report
/// and whether the trainer saw a run claimed ahead.
async fn stopped_after_two(
    dir: &Path,
    ahead: Duration,
    wait: Duration,
) -> (Store, headsweep_worker::WorkerReport, bool) {
    let store = registered(dir).await;
    let stop = Arc::new(AtomicBool::new(false));
    let opts = WorkerOptions {
        ahead,
        ..options(dir, stop.clone())
    };
    let trainer = Arc::new(StopsAfterTwo {
        db: dir.join("h.db"),
        wait,
        stop,
        groups: Default::default(),
        saw_ahead: AtomicBool::new(false),
    });
    let report = work(&store, &opts, trainer.clone()).await.unwrap();
    assert_eq!(trainer.groups.load(std::sync::atomic::Ordering::SeqCst), 2);
    let saw = trainer.saw_ahead.load(std::sync::atomic::Ordering::SeqCst);
    (store, report, saw)
}

/// A worker that claims the next run while one trains puts that run back,
/// untrained, when it is stopped; the runs it trained are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_claimed_ahead_goes_back_when_the_worker_stops() {
    let dir = tempfile::tempdir().unwrap();
    let (store, report, saw) = stopped_after_two(
        dir.path(),
        Duration::from_secs(3600),
        Duration::from_secs(30),
    )
    .await;
    assert!(saw);
    // The third run was claimed while the second trained, and never
    // trained.
    assert_eq!((report.done, report.failed, report.released), (2, 0, 1));
    let counts = store.counts("w").await.unwrap();
    assert_eq!((counts.done, counts.pending, counts.running), (2, 1, 0));
    let pending = store
        .runs("w")
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.status == RunStatus::Pending)
        .unwrap();
    let log = std::fs::read_to_string(
        dir.path()
            .join("stores/0a/runs")
            .join(&pending.id)
            .join("train.log"),
    )
    .unwrap();
    assert!(
        log.ends_with("stopped: the run goes back to pending\n"),
        "{log}"
    );
    // Without claiming ahead, the same stop leaves the third run unclaimed.
    let dir = tempfile::tempdir().unwrap();
    let (_, report, saw) =
        stopped_after_two(dir.path(), Duration::ZERO, Duration::from_millis(300)).await;
    assert!(!saw);
    assert_eq!((report.done, report.failed, report.released), (2, 0, 0));
}
