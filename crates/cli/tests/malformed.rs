//! The malformed-input corpus: one sweep file per rule and key of
//! docs/sweep-file.md (types, ranges, encodings, sizes, names, data
//! sources, and data files that cannot be read: `malformed/data/`), each
//! starting with `# expect: TEXT`. Through the built
//! binary, every one must fail before any work with exit 1, a message that
//! names the file and says TEXT, no panic, and nothing written.

use std::path::Path;

use assert_cmd::Command;

fn expectation(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let first = bytes.split(|&b| b == b'\n').next().unwrap();
    String::from_utf8_lossy(first)
        .strip_prefix("# expect: ")
        .unwrap_or_else(|| panic!("{} has no '# expect:' line", path.display()))
        .to_string()
}

#[test]
fn every_malformed_sweep_file_fails_cleanly_before_any_work() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 60, "the corpus has {} files", files.len());
    let mut problems = Vec::new();
    for file in &files {
        let work = tempfile::tempdir().unwrap();
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        std::fs::copy(file, work.path().join(&name)).unwrap();
        let data = work.path().join("data");
        std::fs::create_dir(&data).unwrap();
        for f in std::fs::read_dir(corpus.join("data")).unwrap().flatten() {
            std::fs::copy(f.path(), data.join(f.file_name())).unwrap();
        }
        let out = Command::cargo_bin("headsweep")
            .unwrap()
            .current_dir(work.path())
            .env_remove("HEADSWEEP_DB")
            .env_remove("RUST_LOG")
            .args(["run", &name, "--db", "res/h.db"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let want = expectation(file);
        let written: Vec<_> = std::fs::read_dir(work.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|f| *f != name && f != "data")
            .collect();
        if out.status.code() != Some(1)
            || !stderr.contains(&name)
            || !stderr.contains(&want)
            || stderr.contains("panicked")
            || !written.is_empty()
        {
            problems.push(format!(
                "{name}: exit {:?}, wrote {written:?}, expected {want:?} in: {}",
                out.status.code(),
                stderr.trim()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
