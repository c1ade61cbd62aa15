//! The `headsweep` binary end to end: real training on CPU, real files.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;

fn headsweep() -> Command {
    let mut c = Command::cargo_bin("headsweep").unwrap();
    c.env_remove("RUST_LOG");
    c
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Strips the wall-clock time, the one thing allowed to differ between runs.
fn without_seconds(json: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(json).unwrap();
    v.as_object_mut().unwrap().remove("seconds");
    v
}

#[test]
fn train_the_same_file_twice_gives_identical_metrics() {
    let run = || {
        let out = headsweep()
            .args([
                "train",
                "experiments/tiny.toml",
                "--device",
                "cpu",
                "--format",
                "json",
                "--split",
                "all",
            ])
            .current_dir(repo())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        without_seconds(&out.stdout)
    };
    let a = run();
    assert_eq!(a, run());
    let splits = a["splits"].as_array().unwrap();
    assert_eq!(splits.len(), 3);
    let heads: Vec<&str> = splits[2]["heads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["head"].as_str().unwrap())
        .collect();
    assert_eq!(heads, ["age", "sex"]);
    assert!(
        splits[2]["heads"][1]["metrics"]["accuracy"]
            .as_f64()
            .unwrap()
            > 0.9,
        "sex is easy: {}",
        splits[2]["heads"][1]
    );
}

#[test]
fn train_prints_a_per_head_table() {
    headsweep()
        .args(["train", "experiments/tiny.toml", "--device", "cpu"])
        .current_dir(repo())
        .assert()
        .success()
        .stdout(contains("test split (60 samples)"))
        .stdout(contains("balanced_accuracy"))
        .stdout(contains("\nage "))
        .stdout(contains("\nsex "))
        .stdout(contains("\njoint "));
}

#[test]
fn synth_is_byte_identical_for_the_same_seed() {
    let d = tempfile::tempdir().unwrap();
    let synth = |dir: &str, seed: &str| {
        headsweep()
            .args([
                "data",
                "synth",
                "--preset",
                "methylation",
                "--samples",
                "90",
                "--features",
                "40",
                "--seed",
                seed,
                "--out",
            ])
            .arg(d.path().join(dir))
            .assert()
            .success()
            .stdout(contains("wrote"));
    };
    synth("a", "5");
    synth("b", "5");
    synth("c", "6");
    for f in ["features.tsv.gz", "samples.tsv", "truth.tsv"] {
        let read = |dir: &str| std::fs::read(d.path().join(dir).join(f)).unwrap();
        assert_eq!(read("a"), read("b"), "{f}");
        if f != "truth.tsv" {
            assert_ne!(read("a"), read("c"), "{f}");
        }
    }
    let truth = std::fs::read_to_string(d.path().join("a/truth.tsv")).unwrap();
    assert!(
        truth.contains("\tage\tage_up")
            && truth.contains("\tsex\tx_linked")
            && truth.contains("\tsex\ty_linked")
    );
    headsweep()
        .args([
            "data",
            "synth",
            "--preset",
            "genotypes",
            "--samples",
            "90",
            "--features",
            "40",
            "--out",
        ])
        .arg(d.path().join("g"))
        .assert()
        .success()
        .stdout(contains("0 age features"));
}

/// A folder with a small matrix and sheet that train cleanly, and a sweep
/// file over them.
struct Fixture {
    dir: tempfile::TempDir,
}

const SWEEP: &str = r#"[sweep]
name = "files"

[data]
features = "x.csv"
labels = "y.csv"

[[tasks]]
name = "grade"
bins = [0, 10, 20]

[[tasks]]
name = "kind"

[model]
trunk = [8]

[train]
epochs = 3
batch_size = 16
"#;

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut x = String::from("id,f1,f2,f3\n");
        let mut y = String::from("id,grade,kind\n");
        for i in 0..80 {
            x += &format!(
                "s{i},{},{},{}\n",
                i % 7,
                (i * 3) % 5,
                if i % 11 == 0 {
                    "NA".to_string()
                } else {
                    format!("{}", i as f64 / 10.0)
                }
            );
            y += &format!(
                "s{i},{},{}\n",
                (i * 7) % 20,
                if i % 2 == 0 { "a" } else { "b" }
            );
        }
        let f = Fixture { dir };
        f.write("x.csv", &x);
        f.write("y.csv", &y);
        f.write("s.toml", SWEEP);
        f
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    fn edit(&self, name: &str, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.path(name)).unwrap();
        assert!(text.contains(from), "{from:?} not in {name}");
        self.write(name, &text.replacen(from, to, 1));
    }

    /// Trains and expects failure with `message`, exit code 1, and no weights.
    fn fails_with(&self, message: &str) {
        let weights = self.path("out/best.safetensors");
        let out = headsweep()
            .arg("train")
            .arg(self.path("s.toml"))
            .args(["--device", "cpu", "--weights"])
            .arg(&weights)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(message),
            "expected {message:?} in:\n{stderr}"
        );
        assert!(out.stdout.is_empty(), "nothing printed on stdout");
        assert!(!self.path("out").exists(), "nothing written");
    }
}

#[test]
fn trains_from_csv_files_and_saves_weights() {
    let f = Fixture::new();
    headsweep()
        .arg("train")
        .arg(f.path("s.toml"))
        .args(["--device", "cpu", "--weights"])
        .arg(f.path("out/best.safetensors"))
        .assert()
        .success()
        .stdout(contains("grade"));
    assert!(f.path("out/best.safetensors").exists());
}

#[test]
fn sweep_file_errors_name_line_key_and_expectation() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "trunk = [8]",
            "trunck = [8]",
            "s.toml:16:1: unknown field `trunck`",
        ),
        ("trunk = [8]", "trunck = [8]", "did you mean `trunk`?"),
        (
            "epochs = 3",
            "epochs = \"three\"",
            "s.toml:19:10: train.epochs: invalid type: string \"three\", expected a whole number ≥ 0",
        ),
        (
            "epochs = 3",
            "epochs = 0",
            "s.toml:19:1: train.epochs: epochs must be at least 1",
        ),
        (
            "epochs = 3",
            "lr = 0.0",
            "train.lr: lr = 0: the learning rate must be a positive number",
        ),
        (
            "bins = [0, 10, 20]",
            "bins = [0, 20, 10]",
            "s.toml:10:16: tasks[0].bins[2]: bins must increase strictly: edge 2 (10) is not above edge 1 (20)",
        ),
        (
            "labels = \"y.csv\"",
            "labels = \"y.csv\"\nsplit = { train = 0.6, val = 0.2, test = 0.1 }",
            "data.split: split fractions sum to",
        ),
        (
            "trunk = [8]",
            "architecture = \"two_heads\"",
            "unknown variant `two_heads`, expected one of `multi_label`, `multi_head`, `separate`",
        ),
        (
            "epochs = 3",
            "loss = \"hinge\"",
            "expected one of `bce`, `bce_task`, `ce`",
        ),
        (
            "name = \"kind\"",
            "name = \"joint\"",
            "task name \"joint\" is reserved",
        ),
    ];
    for (from, to, message) in cases {
        let f = Fixture::new();
        f.edit("s.toml", from, to);
        f.fails_with(message);
    }
}

#[test]
fn data_errors_name_file_line_and_column() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "x.csv",
            "s3,3,4,0.3\n",
            "s3,3,4\n",
            "x.csv:5: ragged row: 3 fields, the header has 4",
        ),
        (
            "x.csv",
            "s3,3,4,0.3\n",
            "s3,3,four,0.3\n",
            "x.csv:5: column 3 (f2): \"four\" is not a number",
        ),
        (
            "x.csv",
            "s3,3,4,0.3\n",
            "s2,3,4,0.3\n",
            "x.csv:5: duplicate sample id \"s2\" (first on line 4)",
        ),
        (
            "y.csv",
            "s3,1,b\n",
            "s2,1,b\n",
            "y.csv:5: duplicate sample id \"s2\" (first on line 4)",
        ),
        (
            "y.csv",
            "s3,1,b\n",
            "s3,1,b\nghost,2,a\n",
            "y.csv:6: sample \"ghost\" is not in the feature matrix",
        ),
        (
            "y.csv",
            "id,grade,kind",
            "id,grade,type",
            "task \"kind\" needs column \"kind\", which the sheet lacks",
        ),
        (
            "y.csv",
            "s3,1,b\n",
            "s3,25,b\n",
            "y.csv:5: column \"grade\": 25 lies outside the bins of task \"grade\" [0, 20]",
        ),
    ];
    for (file, from, to, message) in cases {
        let f = Fixture::new();
        f.edit(file, from, to);
        f.fails_with(message);
    }
}

#[test]
fn an_empty_bin_has_no_training_sample() {
    let f = Fixture::new();
    f.edit("s.toml", "bins = [0, 10, 20]", "bins = [0, 10, 20, 30]");
    f.fails_with("task \"grade\" class [20,30] has no training sample (0 in the whole data set)");
}

#[test]
fn a_non_finite_loss_fails_the_run_with_its_reason() {
    let f = Fixture::new();
    f.edit(
        "s.toml",
        "epochs = 3",
        "epochs = 3\noptimizer = \"sgd\"\nlr = 1e30",
    );
    f.fails_with("non-finite training loss");
}

#[test]
fn a_missing_file_and_bad_usage_have_their_exit_codes() {
    headsweep()
        .args(["train", "nowhere.toml"])
        .assert()
        .code(1)
        .stderr(contains("cannot read nowhere.toml"));
    headsweep().args(["train"]).assert().code(2);
    headsweep().args(["frobnicate"]).assert().code(2);
    headsweep()
        .args(["train", "experiments/tiny.toml", "--device", "tpu"])
        .current_dir(repo())
        .assert()
        .code(1)
        .stderr(contains("unknown device \"tpu\""));
}
