//! compare, runs, query, export and plot through the built binary, over a
//! store filled with fixed rows: trained numbers differ between processors,
//! so these outputs must not depend on training.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use headsweep_store::{
    ClassRow, ConfusionRow, CurveRow, MetricRow, NewRun, NewSweep, PredictionRow, RunResults,
    Store, Worker,
};
use predicates::str::contains;

/// Sweep "fx": architecture × loss, 4 seeds each, fixed metrics; one run
/// failed.
fn fill(db: &Path) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = Store::open(db.to_str().unwrap()).await.unwrap();
        let sweep = NewSweep {
            name: "fx".into(),
            file_path: "fx.toml".into(),
            file_text: "# fixed rows".into(),
            axes: vec!["model.architecture".into(), "train.loss".into()],
            code_version: "test".into(),
            host: "test".into(),
        };
        let mut runs = Vec::new();
        for (p, (arch, loss)) in [
            ("multi_label", "bce"),
            ("multi_label", "ce"),
            ("multi_head", "ce"),
        ]
        .iter()
        .enumerate()
        {
            for seed in 0..4i64 {
                runs.push(NewRun {
                    id: format!("{:02x}{seed:02x}{}", p, "ab".repeat(30)),
                    config: "{}".into(),
                    seed,
                    point: p as i64,
                    axes: vec![
                        ("model.architecture".into(), arch.to_string(), None),
                        ("train.loss".into(), loss.to_string(), None),
                    ],
                    fuse_key: None,
                    role: headsweep_spec::Role::Run,
                    trial: None,
                });
            }
        }
        s.register(&sweep, &runs).await.unwrap();
        let w = Worker {
            name: "w".into(),
            host: "test".into(),
            pid: 1,
            device: "cpu".into(),
            threads: 1,
        };
        while let Some(c) = s.claim("fx", &w, 60_000).await.unwrap() {
            let r = runs.iter().find(|r| r.id == c.id).unwrap();
            if r.point == 1 && r.seed == 3 {
                s.fail(
                    &c.id,
                    "w",
                    "non-finite training loss (inf) at epoch 3, batch 1",
                )
                .await
                .unwrap();
                continue;
            }
            let acc = 0.5
                + 0.1 * r.point as f64
                + [0.011, 0.024, 0.003, 0.017][r.seed as usize] * (1.0 + r.point as f64);
            let mass = if r.point == 0 {
                0.86 + 0.01 * r.seed as f64
            } else {
                1.0
            };
            let m = |split: &str, head: &str, metric: &str, value: f64| MetricRow {
                split: split.into(),
                head: head.into(),
                metric: metric.into(),
                value: Some(value),
            };
            let results = RunResults {
                parameters: 1234,
                best_epoch: 3,
                epochs_run: 5,
                duration_s: 1.5,
                flops: 2e9,
                train_seconds: 1.2,
                fused: 1,
                provenance: Some("{\"headsweep\":\"test\"}".into()),
                metrics: vec![
                    m("test", "age", "accuracy", acc),
                    m("test", "age", "mass", mass),
                    m("test", "sex", "accuracy", 0.97 + 0.001 * r.seed as f64),
                    m("test", "joint", "exact_match", acc - 0.02),
                    m("val", "age", "accuracy", acc - 0.01),
                ],
                classes: vec![
                    ClassRow {
                        split: "test".into(),
                        head: "sex".into(),
                        class_index: 0,
                        class: "F".into(),
                        tp: 9,
                        fp: 1,
                        fn_: 0,
                        tn: 10,
                        support: 9,
                        precision: Some(0.9),
                        recall: Some(1.0),
                        f1: Some(18.0 / 19.0),
                    },
                    ClassRow {
                        split: "test".into(),
                        head: "sex".into(),
                        class_index: 1,
                        class: "M".into(),
                        tp: 10,
                        fp: 0,
                        fn_: 1,
                        tn: 9,
                        support: 11,
                        precision: Some(1.0),
                        recall: Some(10.0 / 11.0),
                        f1: Some(20.0 / 21.0),
                    },
                ],
                confusion: vec![(0, 0, 9), (0, 1, 0), (1, 0, 1), (1, 1, 10)]
                    .into_iter()
                    .map(|(t, p, n)| ConfusionRow {
                        split: "test".into(),
                        head: "sex".into(),
                        true_class: t,
                        predicted_class: p,
                        count: n,
                    })
                    .collect(),
                curves: (1..=5)
                    .flat_map(|e| {
                        let c = |split: &str, head: &str, metric: &str, v: f64| CurveRow {
                            epoch: e,
                            split: split.into(),
                            head: head.into(),
                            metric: metric.into(),
                            value: Some(v),
                        };
                        [
                            c("train", "joint", "loss", 1.0 / e as f64),
                            c("val", "joint", "loss", 1.1 / e as f64),
                            c("val", "age", "loss", 0.8 / e as f64),
                            c("val", "age", "balanced_accuracy", 0.1 * e as f64),
                        ]
                    })
                    .collect(),
                predictions: vec![PredictionRow {
                    sample: "S1".into(),
                    head: "sex".into(),
                    true_class: Some(1),
                    predicted_class: 1,
                    probabilities: "[0.1,0.9]".into(),
                    raw: "[-1.0986122886681098,1.0986122886681098]".into(),
                }],
            };
            assert!(s.complete(&c.id, "w", "test", &results).await.unwrap());
        }
    });
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let f = Fixture {
            dir: tempfile::tempdir().unwrap(),
        };
        fill(&f.db());
        f
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("h.db")
    }

    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("headsweep").unwrap();
        c.current_dir(self.dir.path())
            .env("HEADSWEEP_DB", self.db())
            .env_remove("RUST_LOG");
        c
    }

    fn stdout(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

const COMPARE: &[&str] = &[
    "compare",
    "fx",
    "--metrics",
    "age.accuracy,age.mass,joint.exact_match",
    "--baseline",
    "model.architecture=multi_head,train.loss=ce",
    "--adjust",
    "holm",
];

#[test]
fn compare_in_every_format() {
    let f = Fixture::new();
    for format in ["md", "csv", "json", "latex", "html"] {
        let mut args = COMPARE.to_vec();
        args.extend(["--format", format]);
        insta::assert_snapshot!(format!("compare_{format}"), f.stdout(&args));
    }
}

#[test]
fn compare_writes_a_file_and_refuses_bad_names() {
    let f = Fixture::new();
    let mut args = COMPARE.to_vec();
    args.extend(["--format", "latex", "--out", "out/table.tex"]);
    f.cmd()
        .args(&args)
        .assert()
        .success()
        .stderr(contains("wrote out/table.tex"));
    assert!(std::fs::read_to_string(f.dir.path().join("out/table.tex"))
        .unwrap()
        .contains("\\begin{tabular}"));
    f.cmd()
        .args(["compare", "nope"])
        .assert()
        .code(1)
        .stderr(contains("no sweep named \"nope\""))
        .stderr(contains("the sweeps are: fx"));
    f.cmd()
        .args(["compare", "fx", "--baseline", "model.architecture=separate"])
        .assert()
        .code(1)
        .stderr(contains("matches no row"));
    f.cmd()
        .args(["compare", "fx", "--metrics", "age"])
        .assert()
        .code(1)
        .stderr(contains("is not HEAD.METRIC"));
    f.cmd()
        .args(["compare", "fx", "--select-by", "age.accuracy"])
        .assert()
        .code(1)
        .stderr(contains("expected SPLIT.HEAD.METRIC"));
}

#[test]
fn compare_selects_hidden_axes_on_validation() {
    let f = Fixture::new();
    let out = f.stdout(&[
        "compare",
        "fx",
        "--rows",
        "model.architecture",
        "--select-by",
        "val.age.accuracy",
        "--metrics",
        "age.accuracy",
    ]);
    // multi_label: ce (point 1) beats bce on validation and is selected.
    assert!(
        out.contains("| multi_label | train.loss=ce | 3/4 (1 failed) |"),
        "{out}"
    );
}

#[test]
fn runs_filters_and_formats() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.stdout(&[
        "runs",
        "fx",
        "--where",
        "model.architecture = multi_label AND (age.accuracy > 0.6 OR train.loss IN (bce))"
    ]));
    let json: serde_json::Value = serde_json::from_str(&f.stdout(&[
        "runs",
        "fx",
        "--format",
        "json",
        "--where",
        "train.loss = ce",
    ]))
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 8);
    f.cmd()
        .args([
            "runs",
            "fx",
            "--where",
            "train.loss = ce AND (age.accuracy > 1",
        ])
        .assert()
        .code(1)
        .stderr(contains("filter: expected ')' at column 38"));
    f.cmd()
        .args(["runs", "fx", "--where", "model.width = 3"])
        .assert()
        .code(1)
        .stderr(contains("\"model.width\" is neither an axis"));
}

#[test]
fn query_reads_views_and_refuses_writes() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.stdout(&[
        "query",
        "SELECT axis_value AS architecture, COUNT(*) AS n, ROUND(AVG(value), 4) AS mean FROM v_results \
         WHERE sweep = 'fx' AND axis = 'model.architecture' AND split = 'test' AND head = 'age' AND metric = 'accuracy' \
         GROUP BY axis_value ORDER BY axis_value",
    ]));
    f.cmd()
        .args(["query", "DELETE FROM runs"])
        .assert()
        .code(1)
        .stderr(contains("read-only statement"));
    f.cmd()
        .args(["query", "UPDATE runs SET status = 'pending'"])
        .assert()
        .code(1)
        .stderr(contains("query refused"));
    // A change behind a WITH clause passes the statement check and is
    // stopped by the read-only connection.
    f.cmd()
        .args([
            "query",
            "WITH x AS (SELECT 1) UPDATE runs SET status = 'pending'",
        ])
        .assert()
        .code(1)
        .stderr(contains("readonly database"));
    let n = f.stdout(&[
        "query",
        "SELECT COUNT(*) AS n FROM runs WHERE status = 'done'",
        "--format",
        "csv",
    ]);
    assert_eq!(n, "n\n11\n", "nothing changed");
    f.cmd()
        .args(["query", "SELEC 1"])
        .assert()
        .code(1)
        .stderr(contains("a statement beginning \"SELEC\""));
    f.cmd()
        .args(["query", "SELECT FROM WHERE"])
        .assert()
        .code(1)
        .stderr(contains("syntax error"));
}

#[test]
fn export_every_kind() {
    let f = Fixture::new();
    for what in [
        "runs",
        "metrics",
        "classes",
        "confusion",
        "curves",
        "predictions",
    ] {
        let csv = f.stdout(&["export", "fx", "--what", what]);
        let json: serde_json::Value =
            serde_json::from_str(&f.stdout(&["export", "fx", "--what", what, "--format", "json"]))
                .unwrap();
        assert_eq!(
            csv.lines().count() - 1,
            json.as_array().unwrap().len(),
            "{what}"
        );
    }
    let runs = f.stdout(&["export", "fx", "--what", "runs"]);
    assert!(
        runs.starts_with("run,seed,model.architecture,train.loss,status,"),
        "{runs}"
    );
    let preds = f.stdout(&["export", "fx", "--what", "predictions"]);
    assert!(
        preds.contains("S1,1,1,\"[0.1,0.9]\",\"[-1.0986122886681098,1.0986122886681098]\""),
        "full precision: {preds}"
    );
    let metrics = f.stdout(&["export", "fx", "--what", "metrics", "--format", "json"]);
    assert!(metrics.contains("\"value\": 0.511"), "{metrics}");
}

#[test]
fn plots_are_svg_with_titles_axes_and_legends() {
    let f = Fixture::new();
    f.cmd()
        .args([
            "plot",
            "metric",
            "fx",
            "--metric",
            "age.accuracy",
            "--error",
            "ci",
        ])
        .assert()
        .success();
    let svg = std::fs::read_to_string(f.dir.path().join("plots/fx-age.accuracy.svg")).unwrap();
    assert!(
        svg.starts_with("<svg")
            && svg.contains("mean and 95% CI (n = ")
            && svg.contains(">model.architecture</text>")
            && svg.contains(">train.loss</text>")
    );
    let run = format!("00{:02x}{}", 0, "ab".repeat(30));
    f.cmd()
        .args(["plot", "curves", &run[..10], "--out", "c.svg"])
        .assert()
        .success();
    let svg = std::fs::read_to_string(f.dir.path().join("c.svg")).unwrap();
    assert!(svg.contains("val loss, age") && svg.contains(">epoch</text>"));
    f.cmd()
        .args(["plot", "confusion", &run, "--head", "sex", "--out", "m.svg"])
        .assert()
        .success();
    let svg = std::fs::read_to_string(f.dir.path().join("m.svg")).unwrap();
    assert!(svg.contains("true F → predicted M: 0") && svg.contains("predicted class"));
    f.cmd()
        .args(["plot", "confusion", &run, "--head", "age", "--out", "m.svg"])
        .assert()
        .code(1)
        .stderr(contains("its heads: sex"));
    f.cmd()
        .args([
            "plot",
            "metric",
            "fx",
            "--metric",
            "age.accuracy",
            "--out",
            "x.pdf",
        ])
        .assert()
        .code(1)
        .stderr(contains("SVG"));
}

/// Unknown names are errors with the nearest valid one, never an empty
/// column; a baseline that matches several rows is an error naming them.
#[test]
fn unknown_names_are_errors_with_the_nearest_valid_one() {
    let f = Fixture::new();
    for (args, want) in [
        (
            vec!["compare", "fx", "--metrics", "sex.f1"],
            "no metric \"f1\"",
        ),
        (
            vec!["compare", "fx", "--metrics", "age.acuracy"],
            "did you mean \"accuracy\"?",
        ),
        (
            vec!["compare", "fx", "--metrics", "aeg.accuracy"],
            "no head \"aeg\"; did you mean \"age\"?",
        ),
        (
            vec!["compare", "fx", "--rows", "model.architectur"],
            "did you mean \"model.architecture\"?",
        ),
        (
            vec!["runs", "fx", "--metrics", "sexx.accuracy"],
            "no head \"sexx\"; did you mean \"sex\"?",
        ),
        (
            vec!["plot", "metric", "fx", "--metric", "age.acc"],
            "no metric \"acc\"",
        ),
        (
            vec![
                "plot",
                "metric",
                "fx",
                "--metric",
                "age.accuracy",
                "--x",
                "train.los",
            ],
            "--x: \"train.los\" is not an axis of sweep fx; did you mean \"train.loss\"?",
        ),
        (
            vec!["compare", "fx", "--baseline", "train.loss=ce"],
            "matches 2 rows",
        ),
    ] {
        f.cmd().args(&args).assert().code(1).stderr(contains(want));
    }
    // A split that does not exist is a usage error with the valid ones.
    f.cmd()
        .args(["compare", "fx", "--split", "tset"])
        .assert()
        .code(2)
        .stderr(contains("test"));
}

/// `classes` sums a design's confusion matrices: every done run of the
/// fixture stores the same sex matrix [[9, 0], [1, 10]].
#[test]
fn classes_sums_a_designs_counts() {
    let f = Fixture::new();
    let out = f.stdout(&[
        "classes",
        "fx",
        "--head",
        "sex",
        "--where",
        "train.loss = 'ce'",
        "--format",
        "csv",
    ]);
    let runs = f.stdout(&[
        "runs",
        "fx",
        "--where",
        "train.loss = 'ce'",
        "--format",
        "csv",
    ]);
    let done = runs.lines().filter(|l| l.contains(",done,")).count() as u64;
    assert!(done >= 2, "{runs}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "class,support,predicted,tp,fp,fn,tn,precision,recall,f1,predicted/support"
    );
    let f_row: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(f_row[0], "F");
    let counts: Vec<u64> = f_row[1..7].iter().map(|v| v.parse().unwrap()).collect();
    assert_eq!(counts, [9, 10, 9, 1, 0, 10].map(|v| v * done));
    assert_eq!(f_row[8], "1");
    let err = f
        .cmd()
        .args(["classes", "fx", "--head", "sx"])
        .output()
        .unwrap();
    assert!(!err.status.success());
    assert!(String::from_utf8_lossy(&err.stderr).contains("sex"));
}

/// The pooling, adjustment and margin flags reach the table: JSON says what
/// n counts and how runs were pooled, and an unknown pooling is refused.
#[test]
fn compare_pools_adjusts_and_tests_equivalence() {
    let f = Fixture::new();
    let base = [
        "compare",
        "fx",
        "--rows",
        "model.architecture",
        "--metrics",
        "age.accuracy",
        "--baseline",
        "model.architecture=multi_head",
        "--adjust",
        "holm-all",
        "--margin",
        "0.5",
        "--format",
        "json",
    ];
    let by_seed: serde_json::Value = serde_json::from_str(&f.stdout(&base)).unwrap();
    assert_eq!(by_seed["pool"], "seed");
    assert!(by_seed["n_counts"]
        .as_str()
        .unwrap()
        .starts_with("seeds (each the mean over train.loss"));
    let mut args = base.to_vec();
    args.extend(["--pool", "run"]);
    let by_run: serde_json::Value = serde_json::from_str(&f.stdout(&args)).unwrap();
    assert_eq!(by_run["pool"], "run");
    let n = |v: &serde_json::Value| -> Vec<u64> {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["cells"][0]["summary"]["n"].as_u64().unwrap())
            .collect()
    };
    assert!(n(&by_run).iter().zip(n(&by_seed)).all(|(r, s)| *r >= s));
    assert!(n(&by_run).iter().zip(n(&by_seed)).any(|(r, s)| *r > s));
    let paired = by_seed["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|r| r["cells"][0]["paired"].as_object().cloned())
        .unwrap();
    assert!(paired["equivalence"]["ci90"].is_array());
    let err = f
        .cmd()
        .args(["compare", "fx", "--pool", "each"])
        .output()
        .unwrap();
    assert!(!err.status.success());
}

/// `report` writes one self-contained page, or Markdown with its charts
/// beside it; both hold the methods, the table, the highlighted rows and
/// provenance.
#[test]
fn report_writes_a_self_contained_page() {
    let f = Fixture::new();
    let args = [
        "report",
        "fx",
        "--baseline",
        "model.architecture=multi_head,train.loss=ce",
        "--metrics",
        "age.accuracy,sex.accuracy",
    ];
    let out = f
        .cmd()
        .args(args)
        .args(["--out", "r.html"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(f.dir.path().join("r.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for part in [
        ">Methods",
        ">Comparison",
        ">Baseline",
        ">Calibration",
        ">Provenance",
        ">Sweep file",
        "paired two-sided Wilcoxon",
    ] {
        assert!(html.contains(part), "{part} missing");
    }
    // multi_head + ce is also the best row on validation here.
    assert!(html.contains(">Baseline, also best on validation"));
    // The sex head's summed counts: every done run stores [[9, 0], [1, 10]].
    assert!(html.contains("<td>F</td>"));
    assert!(
        !html.contains("src=") && !html.contains("<link"),
        "nothing external"
    );
    let out = f
        .cmd()
        .args(args)
        .args(["--format", "md", "--out", "doc/r.md"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = std::fs::read_to_string(f.dir.path().join("doc/r.md")).unwrap();
    let linked: Vec<&str> = md
        .lines()
        .filter_map(|l| l.strip_prefix("![").and_then(|l| l.split("](").nth(1)))
        .map(|l| l.trim_end_matches(')'))
        .collect();
    assert!(linked.len() >= 3, "{md}");
    for l in linked {
        assert!(f.dir.path().join("doc").join(l).is_file(), "{l}");
    }
}

#[test]
fn calibration_plots_a_sweep_by_loss_and_a_run() {
    let f = Fixture::new();
    f.cmd()
        .args([
            "plot",
            "calibration",
            "fx",
            "--head",
            "sex",
            "--out",
            "c.svg",
        ])
        .assert()
        .success();
    let svg = std::fs::read_to_string(f.dir.path().join("c.svg")).unwrap();
    assert!(svg.contains("train.loss=ce") && svg.contains("train.loss=bce"));
    let run = format!("00{:02x}{}", 0, "ab".repeat(30));
    let out = f
        .cmd()
        .args([
            "plot",
            "calibration",
            &run[..12],
            "--head",
            "age",
            "--out",
            "c2.svg",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "no age predictions are stored");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no stored test predictions"));
}
