//! What several end-to-end test files share: a small sweep that trains in
//! about a second, and the binary started in a folder with a clean
//! environment.

#![allow(dead_code)]

use std::path::Path;

use assert_cmd::Command;

/// Two losses × the seeds given, on 120 × 40 synthetic methylation
/// samples, 2 epochs of a tiny network.
pub fn small_sweep(seeds: &str) -> String {
    format!(
        r#"
[sweep]
name = "s"
seeds = {seeds}

[data]
synthetic = {{ preset = "methylation", samples = 120, features = 40 }}
split = {{ train = 0.6, val = 0.2, test = 0.2 }}

[[tasks]]
name = "sex"
column = "sex"

[model]
trunk = [8]
head_width = 4

[train]
epochs = 2
batch_size = 32

[grid]
"train.loss" = ["bce", "ce"]
"#
    )
}

/// `headsweep` run in `dir`, without the caller's store or log settings.
pub fn hs(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("headsweep").unwrap();
    c.current_dir(dir)
        .env_remove("HEADSWEEP_DB")
        .env_remove("RUST_LOG");
    c
}
