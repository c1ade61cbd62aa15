//! Build script of the runner crate: records the compiler's version
//! (`HEADSWEEP_RUSTC`) for the provenance stored with each run.

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    if let Ok(out) = std::process::Command::new(rustc).arg("--version").output() {
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        println!("cargo:rustc-env=HEADSWEEP_RUSTC={version}");
    }
}
