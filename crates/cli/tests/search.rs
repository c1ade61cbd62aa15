//! Searches end to end through the built binary: trials proposed in rounds
//! from stored results, the same trials whatever the parallelism or an
//! interruption, and each design's chosen setting evaluated on fresh seeds;
//! and seeds spent in rounds on the designs not yet settled.

mod common;

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command as Std, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use common::hs;
use headsweep_spec::Role;
use headsweep_store::{RunStatus, Store};
use predicates::str::contains;

/// Two designs (losses), TPE over three settings: 2 random trials, then
/// rounds of 2, then 1; each chosen setting trained on seeds 5 and 6.
fn search_sweep(method: &str) -> String {
    common::small_sweep("[0]")
        + &format!(
            r#"
[search]
{method}
metric = "val.sex.balanced_accuracy"

[search.space]
"train.lr" = {{ log_uniform = [1e-3, 1e-1] }}
"model.dropout" = {{ uniform = [0.0, 0.4] }}
"train.batch_size" = {{ int = [16, 48], step = 16 }}

[evaluate]
seeds = [5, 6]
"#
        )
}

const TPE: &str = "method = \"tpe\"\ntrials = 5\nstartup = 2\nround = 2";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// (role, run, status, validation metrics) of every run of sweep "s":
/// the search's objective and every other metric counted in samples. (A
/// fused group can round probabilities differently in the last bit from a
/// run trained alone, which moves log loss, Brier and ECE by about 1e-9;
/// what a search ranks on here does not move.)
fn stored(db: &Path) -> BTreeSet<(String, String, String, String)> {
    rt().block_on(async {
        let s = Store::open(db.to_str().unwrap()).await.unwrap();
        let mut metrics = s.split_metrics("s", "val").await.unwrap();
        metrics.retain(|m| {
            [
                "accuracy",
                "balanced_accuracy",
                "exact_match",
                "macro_f1",
                "n",
            ]
            .contains(&m.metric.as_str())
        });
        s.runs("s")
            .await
            .unwrap()
            .into_iter()
            .map(|r| {
                let mut m: Vec<String> = metrics
                    .iter()
                    .filter(|m| m.run == r.id)
                    .map(|m| format!("{}.{}={:?}", m.head, m.metric, m.value))
                    .collect();
                m.sort();
                (r.role.to_string(), r.id, r.status.to_string(), m.join(" "))
            })
            .collect()
    })
}

#[test]
fn a_tpe_search_gives_the_same_trials_at_any_parallelism_and_reports_its_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), search_sweep(TPE)).unwrap();
    hs(dir.path())
        .args(["plan", "s.toml", "--db", "a.db"])
        .assert()
        .success()
        .stdout(contains("search: tpe over 3 setting(s); each of 2 design(s) gets 5 trial(s) × 1 seed(s), ranked by val.sex.balanced_accuracy"))
        .stdout(contains("budget: 14 runs in all (10 trial runs, 4 evaluation runs)"))
        .stdout(contains("train.lr ~ log_uniform [0.001, 0.1]"));
    hs(dir.path())
        .args(["run", "s.toml", "--db", "a.db", "--jobs", "2"])
        .assert()
        .success()
        .stdout(contains("14 done, 0 failed"))
        .stderr(contains(
            "search: 10 of 10 trial(s) ended, 2 of 2 design(s) chosen",
        ));
    hs(dir.path())
        .args([
            "run", "s.toml", "--db", "b.db", "--jobs", "1", "--fuse", "off",
        ])
        .assert()
        .success();
    let a = stored(&dir.path().join("a.db"));
    assert_eq!(a.len(), 14);
    assert_eq!(a.iter().filter(|r| r.0 == "trial").count(), 10);
    assert_eq!(a.iter().filter(|r| r.0 == "evaluate").count(), 4);
    assert_eq!(
        a,
        stored(&dir.path().join("b.db")),
        "same trials, same results"
    );

    // compare reports the evaluation: one row per design, n = 2 seeds,
    // with the chosen values as columns.
    let out = hs(dir.path())
        .args([
            "compare",
            "s",
            "--db",
            "a.db",
            "--format",
            "csv",
            "--metrics",
            "sex.accuracy",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("train.loss,train.lr,"), "{csv}");
    assert!(
        lines[1].starts_with("bce,") && lines[2].starts_with("ce,"),
        "{csv}"
    );
    assert!(lines[1].contains(",2,"), "two evaluation seeds: {csv}");
    // plan shows each design's chosen trial; runs lists the trials.
    hs(dir.path())
        .args(["plan", "s.toml", "--db", "a.db"])
        .assert()
        .success()
        .stdout(contains("trial"))
        .stdout(contains("5/5"));
    hs(dir.path())
        .args(["runs", "s", "--db", "a.db"])
        .assert()
        .success()
        .stdout(contains("evaluate"))
        .stdout(contains("trial"));
    // Nothing new the second time.
    hs(dir.path())
        .args(["run", "s.toml", "--db", "a.db"])
        .assert()
        .success()
        .stderr(contains("14 runs (0 new), 14 done"));
}

#[test]
fn a_search_killed_with_sigkill_resumes_to_the_same_trials() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), search_sweep(TPE)).unwrap();
    hs(dir.path())
        .args(["run", "s.toml", "--db", "clean.db", "--jobs", "2"])
        .assert()
        .success();
    let clean = stored(&dir.path().join("clean.db"));

    let db = dir.path().join("h.db");
    let mut child = Std::new(cargo_bin("headsweep"))
        .args(["run", "s.toml", "--db", "h.db", "--jobs", "2"])
        .current_dir(dir.path())
        .env_remove("HEADSWEEP_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let start = Instant::now();
    // Killed once the first round has ended and a later one is under way.
    while !(db.exists()
        && stored(&db)
            .iter()
            .filter(|r| r.2 == RunStatus::Done.as_str())
            .count()
            >= 5)
    {
        assert!(start.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kills the process group this test created.
    unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
    child.wait().unwrap();
    assert!(stored(&db).len() < 14 || stored(&db).iter().any(|r| r.2 != "done"));
    hs(dir.path())
        .args(["run", "s.toml", "--db", "h.db", "--jobs", "2"])
        .assert()
        .success()
        .stdout(contains("14 done, 0 failed"));
    assert_eq!(
        stored(&db),
        clean,
        "the same trials and results as without the kill"
    );
}

#[test]
fn random_and_grid_searches_plan_every_trial_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("r.toml"),
        search_sweep("method = \"random\"\ntrials = 3\nseed = 4"),
    )
    .unwrap();
    let out = hs(dir.path())
        .args(["plan", "r.toml", "--db", "r.db"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    let trials = text
        .lines()
        .filter(|l| l.split_whitespace().nth(3) == Some("trial"))
        .count();
    assert_eq!(trials, 6, "{text}");
    assert!(text.contains("trials drawn with search seed 4"), "{text}");
    let grid = search_sweep("method = \"grid\"").replace(
        "\"train.lr\" = { log_uniform = [1e-3, 1e-1] }\n\"model.dropout\" = { uniform = [0.0, 0.4] }\n",
        "\"model.dropout\" = { choice = [0.0, 0.2] }\n",
    );
    std::fs::write(dir.path().join("g.toml"), grid).unwrap();
    hs(dir.path())
        .args(["run", "g.toml", "--db", "g.db"])
        .assert()
        .success()
        // 2 designs × (2 × 3 combinations + 2 evaluation seeds).
        .stdout(contains("16 done, 0 failed"));
    let roles: Vec<Role> = rt().block_on(async {
        let s = Store::open(dir.path().join("g.db").to_str().unwrap())
            .await
            .unwrap();
        s.runs("s").await.unwrap().iter().map(|r| r.role).collect()
    });
    assert_eq!(roles.iter().filter(|r| **r == Role::Evaluate).count(), 4);
}

#[test]
fn failed_trials_use_up_budget_and_retrying_them_proposes_the_same_trials() {
    let dir = tempfile::tempdir().unwrap();
    // With plain SGD, learning rates far above 1 diverge: those trials fail.
    let text = search_sweep(TPE)
        .replace("[train]", "[train]\noptimizer = \"sgd\"")
        .replace("[1e-3, 1e-1]", "[1e-3, 1e3]");
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    let first = hs(dir.path())
        .args(["run", "s.toml", "--db", "a.db"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&first.stderr);
    let out = String::from_utf8_lossy(&first.stdout);
    assert_eq!(first.status.code(), Some(3), "some runs failed: {err}");
    assert!(out.contains("non-finite training loss"), "{out}");
    let before = stored(&dir.path().join("a.db"));
    let failed = before.iter().filter(|r| r.2 == "failed").count();
    assert!(failed > 0 && failed < 10, "{before:?}");
    // Failed trials are never chosen: every evaluation run trained.
    assert!(before
        .iter()
        .filter(|r| r.0 == "evaluate")
        .all(|r| r.2 == "done"));
    hs(dir.path())
        .args(["run", "s.toml", "--db", "a.db", "--retry-failed"])
        .assert()
        .code(3)
        .stderr(contains(format!("{failed} failed run(s) will train again")));
    assert_eq!(stored(&dir.path().join("a.db")), before);
}

#[test]
fn evaluation_seeds_in_rounds_are_shown_per_design() {
    let dir = tempfile::tempdir().unwrap();
    let file = search_sweep("method = \"random\"\ntrials = 2")
        .replace("seeds = [5, 6]", "seeds = { rounds = [3], first = 5 }");
    std::fs::write(dir.path().join("s.toml"), &file).unwrap();
    hs(dir.path())
        .args(["run", "s.toml", "--db", "a.db"])
        .assert()
        .success()
        .stderr(contains(
            "evaluation seeds: 6 run(s) of at most 6; 0 design(s) running",
        ));
    hs(dir.path())
        .args(["compare", "s", "--db", "a.db", "--metrics", "sex.accuracy"])
        .assert()
        .success()
        .stdout(contains("| 3/3: every round |"))
        .stdout(contains("Seeds were spent in rounds of 3 (seeds 5–7)"));
}

/// `s.toml` run into a.db with 2 fused workers (its progress lines saying
/// `progress`) and into b.db with one unfused worker: the stored runs and
/// results, which must be the same.
fn same_at_any_parallelism(
    dir: &Path,
    progress: &str,
) -> BTreeSet<(String, String, String, String)> {
    hs(dir)
        .args(["run", "s.toml", "--db", "a.db", "--jobs", "2"])
        .assert()
        .success()
        .stderr(contains(progress));
    hs(dir)
        .args([
            "run", "s.toml", "--db", "b.db", "--jobs", "1", "--fuse", "off",
        ])
        .assert()
        .success();
    let a = stored(&dir.join("a.db"));
    assert_eq!(a, stored(&dir.join("b.db")), "same runs, same results");
    a
}

#[test]
fn successive_halving_prunes_the_same_trials_at_any_parallelism() {
    let dir = tempfile::tempdir().unwrap();
    let file = search_sweep("method = \"random\"\ntrials = 6\nprune = \"sha\"");
    std::fs::write(dir.path().join("s.toml"), &file).unwrap();
    // Two epochs: rungs of 1 and 2; 6 trials at 1 epoch, the best 2 at 2.
    hs(dir.path())
        .args(["plan", "s.toml"])
        .assert()
        .success()
        .stdout(contains(
            "budget: 20 runs in all (16 trial runs, 4 evaluation runs)",
        ))
        .stdout(contains("rungs of train.loss=bce: 1, 2 epochs"))
        .stdout(contains("Trial epochs: 16 of 24 without pruning (67%)"));
    let a = same_at_any_parallelism(
        dir.path(),
        "search: 12 of 12 trial(s) ended, 8 pruned, 2 of 2 design(s) chosen",
    );
    assert_eq!(a.len(), 20);
    // Each evaluation trains the chosen setting for the full two epochs.
    rt().block_on(async {
        let s = Store::open(dir.path().join("a.db").to_str().unwrap())
            .await
            .unwrap();
        for r in s.runs("s").await.unwrap() {
            if r.role == Role::Evaluate {
                assert!(
                    r.axes.contains(&("train.epochs".into(), "2".into())),
                    "{r:?}"
                );
            }
        }
    });
    hs(dir.path())
        .args(["plan", "s.toml", "--db", "a.db"])
        .assert()
        .success()
        .stdout(contains("pruned"));
    // The 8 trials stopped at the first rung: their 1-epoch runs are
    // listed as pruned, every other run as done.
    let out = hs(dir.path())
        .args(["runs", "s", "--db", "a.db", "--format", "csv"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (status, epochs) = (col("status"), col("train.epochs"));
    let pruned: Vec<&Vec<&str>> = rows.iter().filter(|r| r[status] == "pruned").collect();
    assert_eq!(pruned.len(), 8, "{text}");
    assert!(pruned.iter().all(|r| r[epochs] == "1"), "{text}");
    assert_eq!(
        rows.iter().filter(|r| r[status] == "done").count(),
        12,
        "{text}"
    );
    hs(dir.path())
        .args(["status", "--db", "a.db"])
        .assert()
        .success()
        .stdout(contains(
            "8 of the done runs are trial runs where pruning stopped their trial",
        ));
    hs(dir.path())
        .args(["compare", "s", "--db", "a.db"])
        .assert()
        .success()
        .stderr(contains(
            "not compared: the search's 16 trial run(s), 8 of them where pruning stopped a trial",
        ));
    // The promoted trials continued their first rung's saved state, to the
    // results the same runs get trained from scratch: without pruning the
    // same random trials all train both epochs from their first.
    let logs = files_named(dir.path(), "train.log");
    let continued = logs
        .iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("(the first 1 continued from a saved state)")
        })
        .count();
    assert_eq!(continued, 8, "the 4 promoted trials, in a.db and in b.db");
    let states = files_named(dir.path(), "states");
    assert_eq!(states.len(), 2, "a folder of states in each store's files");
    assert!(
        states
            .iter()
            .all(|p| std::fs::read_dir(p).unwrap().next().is_none()),
        "an ended search keeps no training state"
    );
    std::fs::write(
        dir.path().join("full.toml"),
        file.replace("prune = \"sha\"\n", ""),
    )
    .unwrap();
    hs(dir.path())
        .args(["run", "full.toml", "--db", "c.db", "--jobs", "1"])
        .assert()
        .success();
    let full = stored(&dir.path().join("c.db"));
    let last_rung: Vec<_> = a
        .iter()
        .filter(|r| r.0 == "trial" && full.iter().any(|f| f.1 == r.1))
        .collect();
    assert_eq!(
        last_rung.len(),
        4,
        "the promoted trials' runs are full training's"
    );
    for r in last_rung {
        assert!(full.contains(r), "{r:?}");
    }
}

/// Every file or folder called `name` under `dir`.
fn files_named(dir: &Path, name: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().is_some_and(|n| n == name) {
            out.push(p.clone());
        }
        if p.is_dir() {
            out.extend(files_named(&p, name));
        }
    }
    out
}

/// Three learning rates, one far too small to learn anything in 6 epochs,
/// with seeds in rounds of 4 + 2 + 2 compared on validation accuracy.
fn rounds_sweep() -> String {
    common::small_sweep(r#"{ rounds = [4, 2, 2], metric = "val.sex.accuracy" }"#)
        .replace("samples = 120", "samples = 200")
        .replace("epochs = 2", "epochs = 6")
        .replace(
            r#""train.loss" = ["bce", "ce"]"#,
            r#""train.lr" = [0.03, 0.01, 1e-6]"#,
        )
}

#[test]
fn seeds_in_rounds_stop_a_settled_design_and_compare_shows_why() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), rounds_sweep()).unwrap();
    hs(dir.path())
        .args(["plan", "s.toml"])
        .assert()
        .success()
        .stdout(contains("seeds in rounds of 4 + 2 + 2"))
        .stdout(contains(
            "budget: at most 24 runs (3 design(s) × 8 seeds), at least 12 (round 1)",
        ));
    let a = same_at_any_parallelism(
        dir.path(),
        "seeds: 20 run(s) of at most 24; 0 design(s) running, 1 settled below the best",
    );
    assert_eq!(a.len(), 20);
    let seeds_of = |lr: &str| {
        rt().block_on(async {
            let s = Store::open(dir.path().join("a.db").to_str().unwrap())
                .await
                .unwrap();
            let mut seeds: Vec<i64> = s
                .runs("s")
                .await
                .unwrap()
                .into_iter()
                .filter(|r| r.axes.iter().any(|(k, v)| k == "train.lr" && v == lr))
                .map(|r| r.seed)
                .collect();
            seeds.sort();
            seeds
        })
    };
    assert_eq!(seeds_of("1e-6"), [0, 1, 2, 3], "settled after round 1");
    assert_eq!(seeds_of("0.03"), (0..8).collect::<Vec<i64>>());
    assert_eq!(seeds_of("0.01"), (0..8).collect::<Vec<i64>>());

    hs(dir.path())
        .args(["plan", "s.toml", "--db", "a.db"])
        .assert()
        .success()
        .stdout(contains("settled below train.lr=0.03 after 4 seeds"));
    // compare: seeds and why per row; against a baseline, anytime
    // intervals instead of p-values.
    let compare = |extra: &[&str]| {
        let out = hs(dir.path())
            .args([
                "compare",
                "s",
                "--db",
                "a.db",
                "--metrics",
                "sex.accuracy",
                "--baseline",
                "train.lr=0.03",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let md = compare(&[]);
    assert!(
        md.contains("| seeds |") && md.contains("anytime CI Δ"),
        "{md}"
    );
    assert!(!md.contains("p_W"), "{md}");
    assert!(
        md.contains("4/8: settled below train.lr=0.03 after 4 seeds"),
        "{md}"
    );
    assert!(md.contains("8/8: every round"), "{md}");
    let csv = compare(&["--format", "csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0]
            .ends_with("sex.accuracy.anytime_low,sex.accuracy.anytime_high,seeds,seeds_of,stopped"),
        "{csv}"
    );
    let small = lines.iter().find(|l| l.starts_with("1e-6,")).unwrap();
    assert!(small.contains(",4,8,\"settled below"), "{csv}");
    // Nothing new the second time.
    hs(dir.path())
        .args(["run", "s.toml", "--db", "a.db"])
        .assert()
        .success()
        .stderr(contains("20 runs (0 new), 20 done"));
}
