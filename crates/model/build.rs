//! The model crate's build script: libtorch's link arguments (shared with
//! the other crates that link it), and `csrc/fused.cpp`, the few libtorch
//! operators tch does not wrap, compiled against the headers of the same
//! libtorch.

#[path = "../../build/torch_link.rs"]
mod torch_link;

fn main() {
    println!("cargo:rerun-if-changed=csrc/fused.cpp");
    let lib = torch_link::link_torch()
        .expect("torch-sys reports libtorch's directory (DEP_TCH_LIBTORCH_LIB)");
    // libtorch's layout: lib/ beside include/, in its own archive and in
    // PyTorch's wheel alike.
    let root = std::path::Path::new(&lib)
        .parent()
        .expect("libtorch's lib directory has a parent")
        .to_path_buf();
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_owned());
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .warnings(false)
        .include(root.join("include"))
        .include(root.join("include/torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .file("csrc/fused.cpp")
        .compile("headsweep_fused");
}
