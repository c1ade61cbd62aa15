//! Where and how a run was trained: the build (headsweep version, git
//! commit and whether the checkout had changes, rustc), libtorch and CUDA,
//! the processor and its vector extensions, the operating system. Stored
//! with each run (`runs.provenance`) so that two reproductions that differ
//! can be told apart.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

/// The checkout the binary was built from (its workspace root), and the
/// compiler that built it, recorded at build time.
const SOURCE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// `git` in `dir`, trimmed output, or `None` where that is not a checkout
/// (or git is absent).
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The commit of the checkout the binary was built from, and whether it had
/// changes outside `docs/results/` (the results page, which a results run
/// rewrites); `None` when the binary runs away from that checkout.
pub fn git_state() -> Option<(String, bool)> {
    let dir = Path::new(SOURCE_DIR);
    let commit = git(dir, &["rev-parse", "HEAD"])?;
    let changes = git(
        dir,
        &["status", "--porcelain", "--", ".", ":(exclude)docs/results"],
    )?;
    Some((commit, !changes.is_empty()))
}

/// The first `model name` of /proc/cpuinfo, and which of the vector
/// extensions that decide libtorch's kernels it has.
fn cpu() -> (Option<String>, Vec<&'static str>) {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    let flags = field("flags").unwrap_or_default();
    let has: Vec<&str> = flags.split_whitespace().collect();
    let isa = [
        "sse4_2",
        "avx",
        "avx2",
        "fma",
        "avx512f",
        "avx512_bf16",
        "amx_tile",
    ]
    .into_iter()
    .filter(|f| has.contains(f))
    .collect();
    (field("model name"), isa)
}

/// The operating system: /etc/os-release's PRETTY_NAME and the kernel.
fn os() -> Value {
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_string());
    json!({ "name": pretty, "kernel": kernel })
}

/// What the worker's libtorch reports of itself.
#[derive(Debug, Clone, Copy)]
pub struct TorchInfo {
    pub version: &'static str,
    pub cuda_devices: usize,
}

/// Everything above for a worker on `device` with `threads` libtorch
/// threads per run, as the JSON object stored with each run it trains.
pub fn provenance(device: &str, threads: u32, torch: TorchInfo) -> Value {
    let (commit, dirty) = match git_state() {
        Some((c, d)) => (Some(c), Some(d)),
        None => (None, None),
    };
    let (cpu, isa) = cpu();
    json!({
        "headsweep": env!("CARGO_PKG_VERSION"),
        "git_commit": commit,
        "git_dirty": dirty,
        "rustc": option_env!("HEADSWEEP_RUSTC"),
        "libtorch": torch.version,
        "cuda_devices": torch.cuda_devices,
        "device": device,
        "threads_per_run": threads,
        "cpu": cpu,
        "cpu_isa": isa,
        "os": os(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_names_build_machine_and_libraries() {
        let torch = TorchInfo {
            version: "2.11.0",
            cuda_devices: 0,
        };
        let p = provenance("cpu", 1, torch);
        for key in [
            "headsweep",
            "git_commit",
            "git_dirty",
            "libtorch",
            "cpu",
            "cpu_isa",
            "os",
            "threads_per_run",
        ] {
            assert!(p.get(key).is_some(), "{key} missing from {p}");
        }
        assert_eq!(p["libtorch"], "2.11.0");
        assert_eq!(p["device"], "cpu");
        // Built from this checkout, the commit is known.
        if let Some((commit, _)) = git_state() {
            assert_eq!(commit.len(), 40);
            assert_eq!(p["git_commit"], commit);
        }
    }
}
