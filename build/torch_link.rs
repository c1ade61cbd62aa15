//! Build script shared by every crate whose binaries (tests included) link
//! libtorch: model, worker, and the cli package's `headsweep-train`.
//!
//! torch-sys links libtorch but leaves finding it at run time to the user
//! (LD_LIBRARY_PATH). This script bakes libtorch's directory into the
//! binaries as a RUNPATH, and links libtorch_cuda explicitly with
//! `--no-as-needed`: otherwise the linker drops it (nothing references it
//! directly) and CUDA stays unavailable even on a GPU machine. In the cli
//! package only `headsweep-train` gets them: `headsweep` itself never loads
//! libtorch.

#[allow(dead_code)]
fn main() {
    link_torch();
}

/// Emits the link arguments above; libtorch's library directory, if known.
pub fn link_torch() -> Option<String> {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        println!("cargo:warning=torch-sys did not report libtorch's directory; binaries will need LD_LIBRARY_PATH");
        return None;
    };
    let target = match std::env::var("CARGO_PKG_NAME").as_deref() {
        Ok("headsweep") => "rustc-link-arg-bin=headsweep-train=",
        _ => "rustc-link-arg=",
    };
    println!("cargo:{target}-Wl,-rpath,{lib}");
    let cuda = std::path::Path::new(&lib).join("libtorch_cuda.so");
    if cuda.exists() {
        println!("cargo:{target}-Wl,--no-as-needed");
        println!("cargo:{target}-L{lib}");
        println!("cargo:{target}-ltorch_cuda");
        println!("cargo:{target}-Wl,--as-needed");
    }
    Some(lib)
}
