//! `headsweep`: everything but training, without libtorch. The commands
//! that train (`train`, `explain`, `worker`) become `headsweep-train`, the
//! executable beside this one, with the same arguments.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use anyhow::Context;
use headsweep_cli::{train_exe, Torch};

/// Hands training to `headsweep-train`.
struct Delegate;

impl Torch for Delegate {
    fn run(&self, _: headsweep_cli::Command) -> anyhow::Result<i32> {
        let exe = train_exe()?;
        // The same process (its id, signals, exit status), now with
        // libtorch; arg0 keeps `ps` and usage lines saying `headsweep`.
        let e = Command::new(&exe)
            .arg0("headsweep")
            .args(std::env::args_os().skip(1))
            .exec();
        Err(e).with_context(|| format!("starting {}", exe.display()))
    }

    fn cuda_devices(&self) -> anyhow::Result<usize> {
        // Without NVIDIA's driver libtorch finds no device: no need to
        // load it to hear so.
        if !Path::new("/proc/driver/nvidia").exists() && !Path::new("/dev/nvidiactl").exists() {
            return Ok(0);
        }
        let exe = train_exe()?;
        let out = Command::new(&exe)
            .arg("devices")
            .output()
            .with_context(|| format!("starting {}", exe.display()))?;
        let text = String::from_utf8_lossy(&out.stdout);
        anyhow::ensure!(
            out.status.success(),
            "{} devices failed ({}): {}",
            exe.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        headsweep_cli::commands::parse_devices(&text)
            .with_context(|| format!("reading what {} devices printed: {text:?}", exe.display()))
    }
}

fn main() {
    headsweep_cli::main(&Delegate)
}
