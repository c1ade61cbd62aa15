//! Sweeps end to end through the built binary: parallel runs into a real
//! SQLite store, resume after kill -9, determinism across --jobs, failure
//! isolation, several processes sharing one store.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Std, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;
use headsweep_store::{Access, RunStatus, Store};
use predicates::prelude::*;
use predicates::str::contains;

const SWEEP: &str = r#"[sweep]
name = "s"
seeds = [0, 1]

[data]
synthetic = { preset = "methylation", samples = 240, features = 60 }

[[tasks]]
name = "age"
bins = [0, 30, 60, 90]

[[tasks]]
name = "sex"

[model]
trunk = [16]
head_width = 8
dropout = 0.2

[train]
epochs = EPOCHS
patience = 0
batch_size = 32

[grid]
"model.architecture" = ["multi_label", "multi_head"]
"train.loss" = ["bce", "ce"]
"model.head_depth" = [0, 1]
"#;

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    /// A folder holding `s.toml` with `epochs` epochs per run (16 runs).
    fn new(epochs: usize) -> Dir {
        let d = Dir {
            dir: tempfile::tempdir().unwrap(),
        };
        d.write("s.toml", &SWEEP.replace("EPOCHS", &epochs.to_string()));
        d
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// A run's folder in the store `db` (of this folder).
    fn run_dir(&self, db: &str, run: &str) -> PathBuf {
        rt().block_on(async {
            let s = Store::open_with(self.path(db).to_str().unwrap(), Access::Read)
                .await
                .unwrap();
            s.files(self.dir.path()).await.unwrap().run(run).unwrap()
        })
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    fn cmd(&self, db: &str) -> Command {
        let mut c = Command::cargo_bin("headsweep").unwrap();
        c.current_dir(self.dir.path())
            .env("HEADSWEEP_DB", self.path(db))
            .env_remove("RUST_LOG");
        c
    }

    /// What `headsweep query SQL --format csv` prints for the store `db`.
    fn query(&self, db: &str, sql: &str) -> String {
        let out = self
            .cmd(db)
            .args(["query", sql, "--format", "csv"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    fn spawn(&self, db: &str, args: &[&str]) -> Group {
        let mut c = Std::new(cargo_bin("headsweep"));
        c.current_dir(self.dir.path())
            .env("HEADSWEEP_DB", self.path(db))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so that a test can kill the whole tree.
        c.process_group(0);
        Group(c.spawn().unwrap())
    }
}

/// A child in its own process group, killed with its whole group when the
/// test ends — even by a failed assertion — so no sweep outlives its test.
struct Group(Child);

impl Group {
    fn id(&self) -> u32 {
        self.0.id()
    }

    fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.0.wait()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // SAFETY: signals the process group this test created.
        unsafe { libc::kill(-(self.0.id() as libc::pid_t), libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Every stored metric of every run: (run, split, head, metric) → value.
fn metrics(db: &Path, sweep: &str) -> BTreeMap<(String, String, String, String), Option<f64>> {
    rt().block_on(async {
        let s = Store::open(db.to_str().unwrap()).await.unwrap();
        let mut out = BTreeMap::new();
        for split in ["train", "val", "test"] {
            for m in s.split_metrics(sweep, split).await.unwrap() {
                out.insert((m.run, m.split, m.head, m.metric), m.value);
            }
        }
        out
    })
}

fn runs(db: &Path, sweep: &str) -> Vec<headsweep_store::RunRow> {
    rt().block_on(async {
        Store::open(db.to_str().unwrap())
            .await
            .unwrap()
            .runs(sweep)
            .await
            .unwrap()
    })
}

fn wait_until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn plan_lists_runs_and_refuses_bad_data_before_work() {
    let d = Dir::new(2);
    d.cmd("h.db")
        .args(["plan", "s.toml", "--devices", "cpu", "--jobs", "2"])
        .assert()
        .success()
        .stdout(contains("16 runs: 8 grid point(s) × 2 seed(s)"))
        .stdout(contains(
            "device plan: 2 worker(s): 2 on cpu; 1 thread(s) per run",
        ))
        .stdout(contains("multi_label"));
    assert!(!d.path("h.db").exists(), "plan writes nothing");
    // A bin no sample falls in: refused by plan, before any training.
    d.write(
        "bad.toml",
        &std::fs::read_to_string(d.path("s.toml"))
            .unwrap()
            .replace("[0, 30, 60, 90]", "[0, 30, 60, 90, 200]"),
    );
    d.cmd("h.db")
        .args(["plan", "bad.toml"])
        .assert()
        .code(1)
        .stderr(contains("class [90,200] has no training sample"));
    d.cmd("h.db").args(["run", "bad.toml"]).assert().code(1);
    assert!(!d.path("h.db").exists(), "a refused run writes nothing");
    let every_point_out = format!(
        "{}\n[[exclude]]\n\"train.loss\" = [\"bce\", \"ce\"]\n",
        std::fs::read_to_string(d.path("s.toml")).unwrap()
    );
    d.write("none.toml", &every_point_out);
    d.cmd("h.db")
        .args(["plan", "none.toml"])
        .assert()
        .code(1)
        .stderr(contains("expands to no run"));
}

#[test]
fn run_trains_everything_once_and_resumes_to_nothing() {
    let d = Dir::new(3);
    d.cmd("h.db")
        .args(["run", "s.toml", "--jobs", "2"])
        .assert()
        .success()
        .stdout(contains("16 done, 0 failed"));
    let all = runs(&d.path("h.db"), "s");
    assert_eq!(all.len(), 16);
    assert!(all
        .iter()
        .all(|r| r.status == RunStatus::Done && r.attempts == 1 && r.threads == Some(1)));
    for r in &all {
        let dir = d.run_dir("h.db", &r.id);
        assert!(dir.starts_with(d.path("stores")), "{}", dir.display());
        assert!(dir.join("best.safetensors").exists());
        assert!(dir.join("train.log").exists());
    }
    // Again: nothing to train, nothing retrained.
    d.cmd("h.db")
        .args(["run", "s.toml"])
        .assert()
        .success()
        .stderr(contains("16 done, 0 failed, 0 to train"));
    assert!(runs(&d.path("h.db"), "s").iter().all(|r| r.attempts == 1));
    d.cmd("h.db")
        .args(["status"])
        .assert()
        .success()
        .stdout(contains(
            "sweep s: 16 runs — 16 done, 0 failed, 0 running, 0 pending",
        ));
}

#[test]
fn metrics_are_bit_identical_with_one_or_four_jobs() {
    let d = Dir::new(4);
    d.cmd("one.db")
        .args(["run", "s.toml", "--jobs", "1", "--fuse", "off"])
        .assert()
        .success();
    d.cmd("four.db")
        .args(["run", "s.toml", "--jobs", "4", "--fuse", "off"])
        .assert()
        .success();
    let a = metrics(&d.path("one.db"), "s");
    let b = metrics(&d.path("four.db"), "s");
    assert!(a.len() > 16 * 40, "{} metric rows", a.len());
    assert_eq!(a, b, "every metric of every run, bit for bit");
}

/// Fused groups (the 16 runs fall into 4 shapes of 4: loss and seed vary
/// within a group) store every metric exactly as unfused runs do, and
/// record how many runs trained together and their FLOPs.
#[test]
fn fused_runs_store_the_same_metrics_as_unfused_runs() {
    let d = Dir::new(4);
    d.cmd("off.db")
        .args(["run", "s.toml", "--jobs", "1", "--fuse", "off"])
        .assert()
        .success();
    d.cmd("fused.db")
        .args(["run", "s.toml", "--jobs", "2", "--fuse", "4"])
        .assert()
        .success()
        .stderr(contains("fusing up to 4 compatible runs per model"));
    let a = metrics(&d.path("off.db"), "s");
    let b = metrics(&d.path("fused.db"), "s");
    assert!(a.len() > 16 * 40, "{} metric rows", a.len());
    assert_eq!(a, b, "every metric of every run, bit for bit");
    let fused = |db: &str| {
        d.cmd(db)
            .args([
                "query",
                "SELECT fused, flops > 0, train_seconds > 0 FROM runs ORDER BY id",
                "--format",
                "csv",
            ])
            .output()
            .unwrap()
            .stdout
    };
    let on = String::from_utf8(fused("fused.db")).unwrap();
    assert_eq!(
        on.lines().filter(|l| l.starts_with("4,1,1")).count(),
        16,
        "{on}"
    );
    let off = String::from_utf8(fused("off.db")).unwrap();
    assert_eq!(
        off.lines().filter(|l| l.starts_with("1,1,1")).count(),
        16,
        "{off}"
    );
}

/// An explicit group size is refused, before anything is written, when a
/// run cannot be fused; `auto` trains it alone.
#[test]
fn an_explicit_fuse_size_refuses_runs_that_cannot_fuse() {
    let d = Dir::new(1);
    d.write(
        "odd.toml",
        &SWEEP
            .replace("EPOCHS", "1")
            .replace("trunk = [16]", "trunk = [15]"),
    );
    d.cmd("odd.db")
        .args(["run", "odd.toml", "--fuse", "4"])
        .assert()
        .failure()
        .stderr(contains("cannot be fused").and(contains("model.trunk has width 15")));
    assert!(!d.path("odd.db").exists(), "nothing written");
    d.cmd("odd.db")
        .args(["plan", "odd.toml"])
        .assert()
        .success()
        .stdout(contains("trained alone: model.trunk has width 15"));
    d.cmd("odd.db")
        .args(["run", "odd.toml", "--fuse", "auto"])
        .assert()
        .success();
}

#[test]
fn a_sweep_killed_with_sigkill_resumes_to_the_same_results() {
    let d = Dir::new(60);
    d.cmd("clean.db")
        .args(["run", "s.toml", "--jobs", "2"])
        .assert()
        .success();
    let clean = metrics(&d.path("clean.db"), "s");

    let mut child = d.spawn("h.db", &["run", "s.toml", "--jobs", "2"]);
    let db = d.path("h.db");
    wait_until("a few finished runs", Duration::from_secs(120), || {
        db.exists()
            && runs(&db, "s")
                .iter()
                .filter(|r| r.status == RunStatus::Done)
                .count()
                >= 3
    });
    // SAFETY: kills the process group the test created.
    unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
    child.wait().unwrap();
    let mid = runs(&db, "s");
    let done_before = mid.iter().filter(|r| r.status == RunStatus::Done).count();
    assert!(done_before < 16, "killed before the end");

    d.cmd("h.db")
        .args(["run", "s.toml", "--jobs", "2"])
        .assert()
        .success()
        .stderr(contains("interrupted run(s) will train again"))
        .stdout(contains("16 done, 0 failed"));
    let after = runs(&db, "s");
    assert!(after.iter().all(|r| r.status == RunStatus::Done));
    assert_eq!(
        metrics(&db, "s"),
        clean,
        "same metrics as an uninterrupted sweep, no duplicates, nothing lost"
    );
}

#[test]
fn sigterm_stops_the_sweep_and_puts_runs_back() {
    let d = Dir::new(400);
    let mut child = d.spawn("h.db", &["run", "s.toml", "--jobs", "2"]);
    let db = d.path("h.db");
    wait_until("runs in progress", Duration::from_secs(60), || {
        db.exists()
            && runs(&db, "s")
                .iter()
                .any(|r| r.status == RunStatus::Running)
    });
    // SAFETY: signals the child this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let rows = runs(&db, "s");
    assert!(
        rows.iter()
            .all(|r| r.status == RunStatus::Pending || r.status == RunStatus::Done),
        "{:?}",
        rows.iter().map(|r| &r.status).collect::<Vec<_>>()
    );
}

#[test]
fn a_failing_run_is_its_own_failure() {
    let d = Dir::new(3);
    let text = std::fs::read_to_string(d.path("s.toml")).unwrap();
    d.write(
        "f.toml",
        &format!("{text}\n[[include]]\n\"train.optimizer\" = \"sgd\"\n\"train.lr\" = 1e30\n"),
    );
    d.cmd("h.db")
        .args(["run", "f.toml", "--jobs", "2"])
        .assert()
        .code(3)
        .stdout(contains("16 done, 2 failed"))
        .stdout(contains("non-finite training loss"));
    d.cmd("h.db")
        .args(["status", "s"])
        .assert()
        .success()
        .stdout(contains("failed"))
        .stdout(contains("non-finite training loss"));
    // --retry-failed trains them again (and they fail again, for the same reason).
    d.cmd("h.db")
        .args(["run", "f.toml", "--retry-failed"])
        .assert()
        .code(3)
        .stderr(contains("2 failed run(s) will train again"));
    // rm --failed forgets them; the sweep then has only done runs.
    d.cmd("h.db")
        .args(["rm", "s", "--failed"])
        .assert()
        .success()
        .stdout(contains("forgot 2 failed run(s)"));
    d.cmd("h.db")
        .args(["status", "s"])
        .assert()
        .success()
        .stdout(contains("16 runs — 16 done"));
}

#[test]
fn four_processes_share_forty_runs_each_claimed_once() {
    // Runs claimed one at a time and long enough (20 epochs) that every
    // process starts before the first has taken everything.
    let d = Dir::new(20);
    let text = std::fs::read_to_string(d.path("s.toml")).unwrap();
    d.write(
        "forty.toml",
        &text.replace("seeds = [0, 1]", "seeds = [0, 1, 2, 3, 4]"),
    );
    let children: Vec<Group> = (0..4)
        .map(|_| {
            d.spawn(
                "h.db",
                &["run", "forty.toml", "--jobs", "1", "--fuse", "off"],
            )
        })
        .collect();
    for mut c in children {
        let status = c.wait().unwrap();
        assert!(status.success(), "{status}");
    }
    let rows = runs(&d.path("h.db"), "s");
    assert_eq!(rows.len(), 40);
    assert!(
        rows.iter()
            .all(|r| r.status == RunStatus::Done && r.attempts == 1),
        "each run claimed exactly once"
    );
    let workers: std::collections::HashSet<_> =
        rows.iter().filter_map(|r| r.worker.clone()).collect();
    assert!(workers.len() >= 2, "the work was shared: {workers:?}");
}

#[test]
fn rm_forgets_or_resets_runs_by_prefix() {
    let d = Dir::new(2);
    d.cmd("h.db").args(["run", "s.toml"]).assert().success();
    let first = runs(&d.path("h.db"), "s")[0].id.clone();
    d.cmd("h.db")
        .args(["rm", &first[..10], "--rerun"])
        .assert()
        .success()
        .stdout(contains("1 run(s) will train again"));
    d.cmd("h.db")
        .args(["status", "s"])
        .assert()
        .stdout(contains("15 done, 0 failed, 0 running, 1 pending"));
    d.cmd("h.db")
        .args(["rm", &first[..4]])
        .assert()
        .code(1)
        .stderr(contains("neither a sweep nor a run identity"));
    d.cmd("h.db")
        .args(["rm", &first])
        .assert()
        .success()
        .stdout(contains("forgot 0 sweep(s) and 1 run(s)"));
    assert!(
        !d.run_dir("h.db", &first).exists(),
        "its weights and log go too"
    );
    d.cmd("h.db")
        .args(["rm", "s"])
        .assert()
        .success()
        .stdout(contains("forgot 1 sweep(s) and 15 run(s)"));
    d.cmd("h.db")
        .args(["status"])
        .assert()
        .stdout(contains("no sweeps"));
}

#[test]
fn a_worker_that_dies_takes_only_its_own_run() {
    // Unfused: a worker holds one run (fused, it holds its group).
    let d = Dir::new(150);
    let mut child = d.spawn("h.db", &["run", "s.toml", "--jobs", "2", "--fuse", "off"]);
    let db = d.path("h.db");
    let mut victim = None;
    wait_until("a running run", Duration::from_secs(60), || {
        let rows = if db.exists() {
            runs(&db, "s")
        } else {
            Vec::new()
        };
        victim = rows.into_iter().find(|r| r.status == RunStatus::Running);
        victim.is_some()
    });
    let victim = victim.unwrap();
    let pid: i32 = victim
        .worker
        .as_deref()
        .unwrap()
        .split(':')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    // SAFETY: kills one worker process of the sweep this test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "finished, with a failed run");
    let rows = runs(&db, "s");
    let failed: Vec<_> = rows
        .iter()
        .filter(|r| r.status == RunStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, victim.id);
    assert!(
        failed[0]
            .error
            .as_deref()
            .unwrap()
            .contains("was killed (SIGKILL: the kernel's out-of-memory killer, or kill -9)"),
        "{:?}",
        failed[0].error
    );
    assert_eq!(
        rows.iter().filter(|r| r.status == RunStatus::Done).count(),
        15
    );
}

#[test]
fn a_worker_needs_an_existing_store_and_sweep() {
    let d = Dir::new(2);
    d.cmd("absent.db")
        .args(["worker", "--sweep", "s"])
        .assert()
        .code(1)
        .stderr(contains("no store at"));
    assert!(!d.path("absent.db").exists());
    d.cmd("h.db").args(["run", "s.toml"]).assert().success();
    d.cmd("h.db")
        .args(["worker", "--sweep", "nope"])
        .assert()
        .code(1)
        .stderr(contains("no sweep named \"nope\""));
}

#[test]
fn explain_ranks_features_from_saved_weights() {
    let d = Dir::new(15);
    let text = std::fs::read_to_string(d.path("s.toml"))
        .unwrap()
        .replace("features = 60", "features = 400");
    d.write("e.toml", &text);
    d.cmd("h.db").args(["run", "e.toml"]).assert().success();
    let run = runs(&d.path("h.db"), "s")[0].id.clone();
    let out = d
        .cmd("h.db")
        .args(["explain", &run[..10], "--head", "sex", "--top", "5"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("integrated gradients, 50 steps") && text.contains("completeness:"),
        "{text}"
    );
    assert!(
        text.contains("top 5 against the generator's ground truth: 5 sex"),
        "{text}"
    );
    let csv = d
        .cmd("h.db")
        .args([
            "explain",
            &run,
            "--method",
            "grad-input",
            "--reference",
            "zero",
            "--class",
            "M",
            "--head",
            "sex",
            "--format",
            "csv",
            "--top",
            "3",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&csv.stdout).lines().count(), 4);
    // Each ranking is kept for reports: 5 features by integrated gradients,
    // 3 by gradient × input of class M.
    let kept = d.query(
        "h.db",
        "SELECT head, COUNT(*) AS n FROM attributions GROUP BY method, head ORDER BY n",
    );
    assert_eq!(kept, "head,n\nsex,3\nsex,5\n", "{kept}");
    d.cmd("h.db")
        .args(["explain", &run, "--head", "height"])
        .assert()
        .code(1)
        .stderr(contains("no head \"height\"; the heads are age, sex"));
    d.cmd("h.db")
        .args(["explain", &run, "--head", "sex", "--class", "X"])
        .assert()
        .code(1)
        .stderr(contains("has no class \"X\"; its classes are F, M"));
}

/// The loss and task-weighting axes run in a grid, fused, and compare by
/// axis; each epoch's task weights and gradient cosine are stored.
#[test]
fn loss_and_task_weighting_axes_run_fused_and_compare() {
    let d = Dir::new(3);
    let text = SWEEP.replace("EPOCHS", "3").replace(
        "[grid]\n\"model.architecture\" = [\"multi_label\", \"multi_head\"]\n\"train.loss\" = [\"bce\", \"ce\"]\n\"model.head_depth\" = [0, 1]",
        "class_weights = \"balanced\"\n\n[grid]\n\"train.loss\" = [\"ce\", \"focal\"]\n\"train.task_weighting\" = [\"fixed\", \"uncertainty\", \"dwa\", \"pcgrad\", \"gradnorm\"]",
    );
    assert!(text.contains("task_weighting"), "{text}");
    d.write("w.toml", &text);
    d.cmd("w.db")
        .args(["run", "w.toml", "--jobs", "2"])
        .assert()
        .success()
        .stdout(contains("20 done, 0 failed"));
    let q = |sql: &str| d.query("w.db", sql);
    let weights = q("SELECT COUNT(*) FROM curves WHERE metric = 'task_weight'");
    assert_eq!(
        weights.lines().nth(1),
        Some("120"),
        "20 runs × 3 epochs × 2 tasks: {weights}"
    );
    let cos = q("SELECT COUNT(*) FROM curves WHERE metric = 'grad_cosine' AND head = 'age|sex'");
    assert_eq!(cos.lines().nth(1), Some("60"), "{cos}");
    d.cmd("w.db")
        .args([
            "compare",
            "s",
            "--rows",
            "train.task_weighting",
            "--metrics",
            "age.balanced_accuracy",
            "--baseline",
            "train.task_weighting=fixed",
        ])
        .assert()
        .success()
        .stdout(contains("pcgrad").and(contains("uncertainty")));
}

/// Ordinal and regression losses as a grid axis: refused by `plan` where
/// they cannot work, trained fused where they can, decoded into stored
/// predictions, and compared like any other axis.
#[test]
fn ordinal_and_regression_losses_run_as_an_axis() {
    let d = Dir::new(3);
    let base = SWEEP
        .replace("EPOCHS", "3")
        .replace("name = \"sex\"", "name = \"sex\"\nloss = \"ce\"");
    let refused = [
        // CORAL on multi_label's single output layer cannot work.
        (
            base.replace(
                "\"train.loss\" = [\"bce\", \"ce\"]",
                "\"train.loss\" = [\"ce\", \"coral\"]",
            ),
            "\"multi_label\" has one output layer",
        ),
        // Without bins an ordinal loss has nothing to order.
        (
            SWEEP.replace("EPOCHS", "3").replace(
                "\"train.loss\" = [\"bce\", \"ce\"]",
                "\"train.loss\" = [\"ce\", \"corn\"]",
            ),
            "task \"sex\" has no bins",
        ),
    ];
    for (text, why) in refused {
        d.write("bad.toml", &text);
        d.cmd("o.db")
            .args(["plan", "bad.toml"])
            .assert()
            .code(1)
            .stderr(contains(why));
    }
    assert!(!d.path("o.db").exists(), "a refused plan writes nothing");

    let text = base.replace(
        "[grid]\n\"model.architecture\" = [\"multi_label\", \"multi_head\"]\n\"train.loss\" = [\"bce\", \"ce\"]\n\"model.head_depth\" = [0, 1]",
        "[grid]\n\"train.loss\" = [\"ce\", \"coral\", \"corn\", \"mse\", \"huber\"]",
    );
    d.write("o.toml", &text);
    // `train` names each task's loss and prints the ordered head's measures.
    d.write(
        "h.toml",
        &text.replace(
            "[grid]\n\"train.loss\" = [\"ce\", \"coral\", \"corn\", \"mse\", \"huber\"]",
            "loss = \"huber\"",
        ),
    );
    d.cmd("o.db")
        .args(["train", "h.toml"])
        .assert()
        .success()
        .stdout(
            contains("+ huber (sex: ce)")
                .and(contains("age: mae "))
                .and(contains("rmse ")),
        );
    d.cmd("o.db")
        .args(["run", "o.toml", "--jobs", "1", "--fuse", "auto"])
        .assert()
        .success()
        .stdout(contains("10 done, 0 failed"));
    let q = |sql: &str| d.query("o.db", sql);
    // Seeds of one loss fuse; mse and huber share an output shape and fuse too.
    let fused = q("SELECT MAX(fused) FROM runs");
    assert!(
        fused
            .lines()
            .nth(1)
            .is_some_and(|v| v.parse::<i64>().unwrap() >= 2),
        "{fused}"
    );
    // rmse for the regression heads only: 2 losses × 2 seeds × 3 splits.
    let rmse = q("SELECT COUNT(*) FROM metrics WHERE metric = 'rmse' AND head = 'age'");
    assert_eq!(rmse.lines().nth(1), Some("12"), "{rmse}");
    // Every stored age prediction has 3 probabilities summing to 1; the raw
    // outputs are a value, 2 thresholds or 3 logits.
    let out = d
        .cmd("o.db")
        .args([
            "query",
            "SELECT probabilities, raw FROM predictions WHERE head = 'age'",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!rows.is_empty());
    let mut widths = std::collections::BTreeSet::new();
    for row in &rows {
        let list =
            |k: &str| -> Vec<f64> { serde_json::from_str(row[k].as_str().unwrap()).unwrap() };
        let probs = list("probabilities");
        assert_eq!(probs.len(), 3);
        assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{row}");
        widths.insert(list("raw").len());
    }
    assert_eq!(widths, [1, 2, 3].into(), "value, thresholds and logits");
    d.cmd("o.db")
        .args([
            "compare",
            "s",
            "--rows",
            "train.loss",
            "--metrics",
            "age.mae,age.off_by_one",
            "--baseline",
            "train.loss=ce",
        ])
        .assert()
        .success()
        .stdout(contains("coral").and(contains("huber")));
    // explain attributes what each kind of head decides by.
    for (loss, what) in [("huber", "predicted value"), ("corn", "expected class")] {
        let run = q(&format!(
            "SELECT DISTINCT run FROM v_results WHERE axis = 'train.loss' AND axis_value = '{loss}'"
        ));
        let run = run.lines().nth(1).unwrap().to_string();
        d.cmd("o.db")
            .args(["explain", &run, "--head", "age", "--top", "3"])
            .assert()
            .success()
            .stdout(contains(what));
    }
}
