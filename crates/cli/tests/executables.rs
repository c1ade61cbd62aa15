//! The two executables: `headsweep` never loads libtorch, and hands the
//! commands that train to `headsweep-train` beside it.

mod common;

use std::path::Path;
use std::process::Command;

use predicates::prelude::*;

/// `exe`'s dynamic section as `readelf -d` prints it, read without
/// running it; `None` (the test skips) where binutils is absent.
fn dynamic(exe: &Path) -> Option<String> {
    let Ok(out) = Command::new("readelf").arg("-d").arg(exe).output() else {
        println!("skipped: readelf is not installed");
        return None;
    };
    assert!(
        out.status.success(),
        "readelf -d {}: {}",
        exe.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn headsweep_does_not_link_libtorch() {
    let Some(d) = dynamic(Path::new(env!("CARGO_BIN_EXE_headsweep"))) else {
        return;
    };
    let needed: Vec<&str> = d.lines().filter(|l| l.contains("(NEEDED)")).collect();
    assert!(!needed.is_empty(), "{d}");
    for lib in ["torch", "c10"] {
        assert!(!needed.iter().any(|l| l.contains(lib)), "{d}");
    }
}

/// `headsweep-train` finds libtorch without LD_LIBRARY_PATH and keeps
/// libtorch_cuda, so that CUDA works where a GPU exists.
#[test]
fn headsweep_train_has_a_runpath_and_links_libtorch_cuda() {
    let bin = Path::new(env!("CARGO_BIN_EXE_headsweep-train"));
    let Some(dynamic) = dynamic(bin) else {
        return;
    };
    assert!(dynamic.contains("libtorch_cpu.so"), "{dynamic}");
    let runpath = dynamic
        .lines()
        .find(|l| l.contains("RUNPATH") || l.contains("RPATH"))
        .unwrap_or_else(|| panic!("no RUNPATH:\n{dynamic}"));
    let dir = runpath.split('[').nth(1).unwrap().trim_end_matches(']');
    if Path::new(dir).join("libtorch_cuda.so").exists() {
        assert!(
            dynamic.contains("libtorch_cuda.so"),
            "libtorch_cuda dropped by the linker:\n{dynamic}"
        );
    } else {
        println!(
            "skipped the libtorch_cuda check: {dir} has no libtorch_cuda.so (a CPU-only libtorch)"
        );
    }
    // And it runs with no loader path set.
    assert_cmd::Command::new(bin)
        .env_remove("LD_LIBRARY_PATH")
        .arg("--version")
        .assert()
        .success();
}

#[test]
fn report_commands_run_while_training_is_handed_over() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), common::small_sweep("[0]")).unwrap();
    // Trained by headsweep-train, through `headsweep run`'s workers.
    common::hs(dir.path())
        .args(["run", "s.toml", "--db", "h.db", "--jobs", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 done, 0 failed"));
    common::hs(dir.path())
        .args(["train", "s.toml", "--device", "cpu", "--format", "json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"sex\""));
    // `--help` of a training command is answered without headsweep-train.
    common::hs(dir.path())
        .args(["train", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Usage: headsweep train"));
}

#[test]
fn without_headsweep_train_training_says_what_is_missing_and_reports_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let alone = dir.path().join("bin");
    std::fs::create_dir(&alone).unwrap();
    let hs = alone.join("headsweep");
    std::fs::copy(env!("CARGO_BIN_EXE_headsweep"), &hs).unwrap();
    std::fs::write(dir.path().join("s.toml"), common::small_sweep("[0]")).unwrap();
    let run = |args: &[&str]| {
        assert_cmd::Command::new(&hs)
            .current_dir(dir.path())
            .env_remove("HEADSWEEP_DB")
            .args(args)
            .assert()
    };
    run(&["train", "s.toml"])
        .failure()
        .stderr(predicate::str::contains("headsweep-train is missing"));
    // Planning on the CPU and reading a store need no libtorch.
    run(&["plan", "s.toml", "--devices", "cpu"])
        .success()
        .stdout(predicate::str::contains("2 runs: 2 grid point(s)"));
    run(&["--version"])
        .success()
        .stdout(predicate::str::starts_with("headsweep "));
}
