//! Build script shared by every crate whose binaries (tests included) link
//! libtorch: model, runner, cli.
//!
//! torch-sys links libtorch but leaves finding it at run time to the user
//! (LD_LIBRARY_PATH). This script bakes libtorch's directory into the
//! binaries as a RUNPATH, and links libtorch_cuda explicitly with
//! `--no-as-needed`: otherwise the linker drops it (nothing references it
//! directly) and CUDA stays unavailable even on a GPU machine. It also
//! records the compiler's version (`HEADSWEEP_RUSTC`) for run provenance.

fn main() {
    // The compiler, for the provenance stored with each run.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    if let Ok(out) = std::process::Command::new(rustc).arg("--version").output() {
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        println!("cargo:rustc-env=HEADSWEEP_RUSTC={version}");
    }
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        println!("cargo:warning=torch-sys did not report libtorch's directory; binaries will need LD_LIBRARY_PATH");
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    let cuda = std::path::Path::new(&lib).join("libtorch_cuda.so");
    if cuda.exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-L{lib}");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
