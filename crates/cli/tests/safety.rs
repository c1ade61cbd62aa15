//! Files and stores handled safely, through the built binary: no command
//! touches another store's files, no path is built from what a store holds
//! without checking it, a damaged store fails at once naming its file, read
//! commands create and change nothing, and no secret is written to disk.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;

use common::{hs, small_sweep};
use headsweep_store::{Access, NewRun, NewSweep, RunStatus, Store};
use predicates::prelude::*;
use predicates::str::contains;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Every run's folder in the store `db` under the results folder `results`.
fn run_dirs(db: &Path, results: &Path) -> Vec<PathBuf> {
    rt().block_on(async {
        let s = Store::open_with(db.to_str().unwrap(), Access::Read)
            .await
            .unwrap();
        let files = s.files(results).await.unwrap();
        s.runs("s")
            .await
            .unwrap()
            .iter()
            .map(|r| files.run(&r.id).unwrap())
            .collect()
    })
}

#[test]
fn rm_on_one_store_leaves_another_stores_files_in_the_same_folder() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("s.toml"), small_sweep("[0]")).unwrap();
    for db in ["res/a.db", "res/b.db"] {
        hs(d.path())
            .args(["run", "s.toml", "--db", db])
            .assert()
            .success();
    }
    let res = d.path().join("res");
    let (a, b) = (
        run_dirs(&res.join("a.db"), &res),
        run_dirs(&res.join("b.db"), &res),
    );
    // The same runs by identity, in folders of their own.
    assert_eq!(a.len(), 2);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.file_name(), y.file_name());
        assert_ne!(x, y);
        assert!(x.join("best.safetensors").exists() && y.join("best.safetensors").exists());
    }
    hs(d.path())
        .args(["rm", "s", "--db", "res/a.db"])
        .assert()
        .success()
        .stdout(contains("removed").and(contains("forgot 1 sweep(s) and 2 run(s)")));
    assert!(a.iter().all(|x| !x.exists()), "a's run folders are gone");
    assert!(
        b.iter().all(|y| y.join("best.safetensors").exists()),
        "b's weights are untouched"
    );
    // And b's runs can still be explained.
    let id = b[0].file_name().unwrap().to_string_lossy().to_string();
    hs(d.path())
        .args(["explain", &id[..12], "--db", "res/b.db", "--top", "3"])
        .assert()
        .success();
}

/// Two sweeps that share runs (the same configurations) are forgotten
/// together: each shared run's folder is removed once.
#[test]
fn rm_of_two_sweeps_sharing_runs_removes_each_folder_once() {
    let d = tempfile::tempdir().unwrap();
    let sweep = small_sweep("[0]");
    std::fs::write(d.path().join("s.toml"), &sweep).unwrap();
    std::fs::write(
        d.path().join("t.toml"),
        sweep.replacen("name = \"s\"", "name = \"t\"", 1),
    )
    .unwrap();
    for f in ["s.toml", "t.toml"] {
        hs(d.path())
            .args(["run", f, "--db", "res/h.db"])
            .assert()
            .success();
    }
    let res = d.path().join("res");
    let dirs = run_dirs(&res.join("h.db"), &res);
    assert_eq!(dirs.len(), 2);
    hs(d.path())
        .args(["rm", "s", "t", "--db", "res/h.db"])
        .assert()
        .success()
        .stdout(contains("forgot 2 sweep(s)"));
    assert!(dirs.iter().all(|x| !x.exists()));
}

#[test]
fn a_crafted_run_identity_in_the_store_never_becomes_a_path() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("res/h.db");
    rt().block_on(async {
        let s = Store::open(db.to_str().unwrap()).await.unwrap();
        let sweep = NewSweep {
            name: "evil".into(),
            file_path: "evil.toml".into(),
            file_text: String::new(),
            axes: Vec::new(),
            code_version: "test".into(),
            host: "test".into(),
        };
        let run = |id: &str| NewRun {
            id: id.into(),
            config: "{}".into(),
            seed: 0,
            point: 0,
            axes: Vec::new(),
            fuse_key: None,
            role: headsweep_spec::Role::Run,
            trial: None,
        };
        s.register(&sweep, &[run("../../../escaped"), run("é")])
            .await
            .unwrap();
    });
    hs(d.path())
        .args(["worker", "--sweep", "evil", "--db"])
        .arg(&db)
        .assert()
        .success();
    assert!(!d.path().join("escaped").exists());
    assert!(!d.path().parent().unwrap().join("escaped").exists());
    let runs = rt().block_on(async {
        let s = Store::open_with(db.to_str().unwrap(), Access::Read)
            .await
            .unwrap();
        s.failed("evil").await.unwrap()
    });
    assert_eq!(runs.len(), 2);
    assert!(
        runs.iter()
            .all(|r| r.error.contains("is not a run identity")),
        "{runs:?}"
    );
    // Listing such runs does not trip over them either.
    hs(d.path())
        .args(["status", "evil", "--db"])
        .arg(&db)
        .assert()
        .success()
        .stdout(contains("2 failed"));
}

#[test]
fn a_damaged_store_fails_at_once_naming_the_file_and_the_cause() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("broken.db");
    std::fs::write(&db, vec![0x42u8; 8192]).unwrap();
    for args in [
        vec!["status"],
        vec!["query", "SELECT 1"],
        vec!["run", "s.toml"],
    ] {
        std::fs::write(d.path().join("s.toml"), small_sweep("[0]")).unwrap();
        let start = Instant::now();
        hs(d.path())
            .args(&args)
            .arg("--db")
            .arg(&db)
            .assert()
            .code(1)
            .stderr(contains("broken.db").and(contains("not a database")))
            .stderr(contains("timed out").not());
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{args:?} took {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn read_commands_create_nothing_and_name_a_missing_store() {
    let d = tempfile::tempdir().unwrap();
    for args in [
        vec!["status"],
        vec!["runs"],
        vec!["compare", "s"],
        vec!["query", "SELECT 1"],
        vec!["export", "s", "--what", "runs"],
    ] {
        hs(d.path())
            .args(&args)
            .args(["--db", "typo/h.db"])
            .assert()
            .code(1)
            .stderr(contains("no store at typo/h.db"));
        assert!(!d.path().join("typo").exists(), "{args:?} created a folder");
    }
}

#[test]
fn query_refuses_statements_that_write_files_or_state() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("s.toml"), small_sweep("[0]")).unwrap();
    hs(d.path())
        .args(["run", "s.toml", "--db", "h.db"])
        .assert()
        .success();
    let before = std::fs::read(d.path().join("h.db")).unwrap().len();
    for sql in [
        "VACUUM INTO 'copy.db'",
        "ATTACH DATABASE 'other.db' AS o",
        "SELECT 1; VACUUM INTO 'copy2.db'",
        "PRAGMA journal_mode = DELETE",
        "DELETE FROM runs",
    ] {
        hs(d.path())
            .args(["query", sql, "--db", "h.db"])
            .assert()
            .code(1)
            .stderr(contains("query refused"));
    }
    for f in ["copy.db", "copy2.db", "other.db"] {
        assert!(!d.path().join(f).exists(), "{f} was written");
    }
    hs(d.path())
        .args(["query", "SELECT COUNT(*) AS n FROM runs", "--db", "h.db"])
        .assert()
        .success()
        .stdout(contains("2"));
    let s = rt().block_on(async {
        let s = Store::open_with(d.path().join("h.db").to_str().unwrap(), Access::Read)
            .await
            .unwrap();
        s.counts("s").await.unwrap()
    });
    assert_eq!(s.of(RunStatus::Done), 2);
    assert!(std::fs::read(d.path().join("h.db")).unwrap().len() >= before);
}

#[test]
fn a_store_in_a_read_only_folder_is_still_read() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("s.toml"), small_sweep("[0]")).unwrap();
    hs(d.path())
        .args(["run", "s.toml", "--db", "ro/h.db"])
        .assert()
        .success();
    let ro = d.path().join("ro");
    // Checkpoint the WAL into the file, as a store copied to read-only
    // media would be.
    rt().block_on(async {
        let s = Store::open(ro.join("h.db").to_str().unwrap())
            .await
            .unwrap();
        s.close().await;
    });
    for f in std::fs::read_dir(&ro).unwrap().flatten() {
        if f.path().is_file() {
            // The journal files may go as the pool's last connection closes.
            match std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o444)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("{}: {e}", f.path().display()),
            }
        }
    }
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let listing = || {
        let mut v: Vec<_> = std::fs::read_dir(&ro)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        v.sort();
        v
    };
    let before = listing();
    hs(d.path())
        .args(["status", "--db", "ro/h.db"])
        .assert()
        .success()
        .stdout(contains("2 done"));
    hs(d.path())
        .args(["compare", "s", "--db", "ro/h.db"])
        .assert()
        .success();
    // Root ignores permissions: SQLite then opens the store read-write as
    // usual, with its journal files beside it.
    if std::fs::File::create(ro.join("probe")).is_ok() {
        eprintln!("permissions are not enforced for this user (root): not checking that nothing was written");
    } else {
        assert_eq!(listing(), before, "reading wrote nothing beside the store");
    }
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn the_slurm_script_holds_no_password_and_sweep_names_stay_inside_results() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("s.toml"), small_sweep("[0]")).unwrap();
    hs(d.path())
        .args([
            "slurm",
            "s.toml",
            "--db",
            "postgres://alice:s3cret@127.0.0.1:1/none",
            "--results",
            "res",
            "--dry-run",
        ])
        .env("HEADSWEEP_CONNECT_TIMEOUT", "0.5")
        .assert()
        .success()
        .stdout(contains("s3cret").not())
        .stdout(contains("HEADSWEEP_DB"));
    std::fs::write(
        d.path().join("up.toml"),
        small_sweep("[0]").replace("name = \"s\"", "name = \"..\""),
    )
    .unwrap();
    hs(d.path())
        .args(["slurm", "up.toml", "--db", "h.db", "--dry-run"])
        .assert()
        .code(1)
        .stderr(contains("sweep name \"..\""));
    assert!(!d.path().join("h.db").exists());
}

/// Unmounts a test's filesystem whatever happens.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// A sweep whose results folder fills a 2 MB filesystem: no run fails for
/// it, `run` stops naming the cause, and after space is freed a plain rerun
/// finishes with the metrics of a sweep that never ran out of space. Needs
/// root (to mount a small tmpfs); skips with the reason otherwise.
#[test]
fn a_full_disk_fails_no_run_and_a_rerun_after_freeing_space_finishes() {
    let d = tempfile::tempdir().unwrap();
    let small = d.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&small)
        .output();
    match mounted {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            eprintln!(
                "skipped: cannot mount a small tmpfs here (needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return;
        }
        Err(e) => {
            eprintln!("skipped: no mount command: {e}");
            return;
        }
    }
    let _mount = Mount(small.clone());
    // 24 runs whose weights (~0.4 MB each) cannot all fit in 2 MB.
    let sweep = small_sweep("[0]")
        .replace("seeds = [0]", "seeds = [0, 1, 2, 3, 4, 5]")
        .replace("features = 40", "features = 400")
        .replace("trunk = [8]", "trunk = [256]")
        .replace(
            "\"train.loss\" = [\"bce\", \"ce\"]",
            "\"train.loss\" = [\"bce\", \"ce\"]\n\"train.lr\" = [1e-3, 2e-3]",
        );
    std::fs::write(d.path().join("s.toml"), &sweep).unwrap();
    // Unfused, so that the comparison at the end is with runs trained the
    // same way whatever the disk did.
    let out = hs(d.path())
        .args(["run", "s.toml", "--db", "small/h.db", "--fuse", "off"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("could not be written") || stderr.contains("full"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let count = |status: &str| -> String {
        let out = hs(d.path())
            .args([
                "query",
                &format!("SELECT COUNT(*) AS n FROM runs WHERE status = '{status}'"),
                "--db",
                "small/h.db",
                "--format",
                "csv",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(count("failed"), "0", "a full disk fails no run");
    let partial = walk(&small)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".partial"))
        .collect::<Vec<_>>();
    assert!(partial.is_empty(), "partial files left: {partial:?}");
    // Free space, then a plain rerun.
    let grown = std::process::Command::new("mount")
        .args(["-o", "remount,size=256m"])
        .arg(&small)
        .status()
        .unwrap();
    assert!(grown.success());
    hs(d.path())
        .args(["run", "s.toml", "--db", "small/h.db", "--fuse", "off"])
        .assert()
        .success()
        .stdout(contains("24 done, 0 failed"));
    // The same numbers as a sweep that never ran out of space.
    hs(d.path())
        .args(["run", "s.toml", "--db", "big/h.db", "--fuse", "off"])
        .assert()
        .success();
    let metrics = |db: &str| {
        hs(d.path())
            .args([
                "query",
                "SELECT run, split, head, metric, value FROM metrics ORDER BY 1, 2, 3, 4",
                "--db",
                db,
                "--format",
                "csv",
            ])
            .output()
            .unwrap()
            .stdout
    };
    let (a, b) = (metrics("small/h.db"), metrics("big/h.db"));
    let (a, b) = (String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
    assert!(a.lines().count() > 100);
    let differ: Vec<_> = a
        .lines()
        .zip(b.lines())
        .filter(|(x, y)| x != y)
        .take(3)
        .collect();
    assert!(
        differ.is_empty() && a.lines().count() == b.lines().count(),
        "metrics after the interruption differ from an uninterrupted sweep ({} vs {} rows): {differ:?}",
        a.lines().count(),
        b.lines().count()
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn an_unreachable_postgresql_store_fails_within_the_connect_timeout_without_its_password() {
    let d = tempfile::tempdir().unwrap();
    let start = Instant::now();
    // A non-routable address: either no answer (the timeout) or no route.
    hs(d.path())
        .args([
            "status",
            "--db",
            "postgres://alice:s3cret@10.255.255.1:5432/hs",
        ])
        .env("HEADSWEEP_CONNECT_TIMEOUT", "1")
        .assert()
        .code(1)
        .stderr(contains("10.255.255.1").and(contains("s3cret").not()));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
}
