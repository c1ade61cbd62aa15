//! What is left of a sweep, before training more: `plan --db` per grid
//! point, and `slurm --dry-run` sized for the runs left.

mod common;

use common::{hs, small_sweep};
use predicates::prelude::*;
use predicates::str::contains;

#[test]
fn plan_and_a_dry_run_count_what_the_store_has_left() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("s.toml"), small_sweep("[0, 1]")).unwrap();
    // No store yet: plan creates none and says nothing of progress.
    hs(d.path())
        .args(["plan", "s.toml", "--db", "h.db"])
        .assert()
        .success()
        .stdout(contains(" left").not());
    assert!(!d.path().join("h.db").exists());
    hs(d.path())
        .args(["run", "s.toml", "--db", "h.db"])
        .assert()
        .success();
    hs(d.path())
        .args(["plan", "s.toml", "--db", "h.db"])
        .assert()
        .success()
        .stdout(contains("4 done, 0 failed, 0 running, 0 left"));
    // Each done run says where and how it was trained.
    let out = hs(d.path())
        .args([
            "export", "s", "--what", "runs", "--format", "json", "--db", "h.db",
        ])
        .output()
        .unwrap();
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for r in runs.as_array().unwrap() {
        let p: serde_json::Value = serde_json::from_str(r["provenance"].as_str().unwrap()).unwrap();
        assert_eq!(p["libtorch"], "2.11.0");
        assert_eq!(p["device"], "cpu");
        assert!(p["rustc"].as_str().unwrap().starts_with("rustc "), "{p}");
        assert!(
            p["cpu_isa"].is_array() && p["os"]["kernel"].is_string(),
            "{p}"
        );
    }
    hs(d.path())
        .args(["slurm", "s.toml", "--db", "h.db", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("nothing to submit"));
    // One run to train again: one task, and the time left estimated.
    let out = hs(d.path())
        .args([
            "query",
            "SELECT id FROM runs ORDER BY id LIMIT 1",
            "--db",
            "h.db",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    let id = String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    hs(d.path())
        .args(["rm", &id, "--rerun", "--db", "h.db"])
        .assert()
        .success();
    hs(d.path())
        .args(["plan", "s.toml", "--db", "h.db"])
        .assert()
        .success()
        .stdout(
            contains("3 done, 0 failed, 0 running, 1 left").and(contains("s of training left")),
        );
    hs(d.path())
        .args(["slurm", "s.toml", "--db", "h.db", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("#SBATCH --array=0-0"))
        .stderr(contains("1 of 4 run(s) left"));
}
