//! Data as researchers hold it, through the built binary: a GEO series
//! matrix (gzipped, as GEO serves it) trains with no sample sheet, its
//! characteristics as labels and its probe ids as feature names.

mod common;

use std::io::Write;

use common::hs;

/// Runs headsweep in `dir` with `args` and asserts it succeeded; its
/// standard output and error.
fn ok(dir: &std::path::Path, args: &[&str]) -> (String, String) {
    let out = hs(dir).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "headsweep {}: {err}", args.join(" "));
    (String::from_utf8_lossy(&out.stdout).to_string(), err)
}

/// `data synth` of a methylation set of `samples` × `features` in
/// `format`, into `dir/x`.
fn synth(dir: &std::path::Path, samples: &str, features: &str, format: &str) {
    ok(
        dir,
        &[
            "data",
            "synth",
            "--preset",
            "methylation",
            "--samples",
            samples,
            "--features",
            features,
            "--format",
            format,
            "--out",
            "x",
        ],
    );
}

/// A series of `n` samples × 12 CpGs: cg00 rises with age, cg01 marks
/// males; the rest are noise from a fixed sequence.
fn series(n: usize) -> String {
    let mut out = String::from("!Series_title\t\"synthetic blood methylation\"\n");
    let ids: Vec<String> = (1..=n).map(|i| format!("GSM{i:04}")).collect();
    let age = |i: usize| 20 + (i * 37) % 60;
    let male = |i: usize| i.is_multiple_of(2);
    out += &format!(
        "!Sample_geo_accession\t{}\n",
        ids.iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join("\t")
    );
    out += &format!(
        "!Sample_characteristics_ch1\t{}\n",
        (0..n)
            .map(|i| format!("\"age: {}\"", age(i)))
            .collect::<Vec<_>>()
            .join("\t")
    );
    out += &format!(
        "!Sample_characteristics_ch1\t{}\n",
        (0..n)
            .map(|i| format!("\"gender: {}\"", if male(i) { "M" } else { "F" }))
            .collect::<Vec<_>>()
            .join("\t")
    );
    out += "!series_matrix_table_begin\n";
    out += &format!(
        "\"ID_REF\"\t{}\n",
        ids.iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join("\t")
    );
    let mut noise = 17u64;
    for f in 0..12 {
        let row: Vec<String> = (0..n)
            .map(|i| {
                noise = noise
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let jitter = (noise >> 40) as f64 / (1u64 << 24) as f64 * 0.1;
                let v = match f {
                    0 => age(i) as f64 / 100.0 + jitter,
                    1 => (if male(i) { 0.8 } else { 0.2 }) + jitter,
                    _ => 0.5 + jitter * 3.0,
                };
                if f == 5 && i == 3 {
                    "null".to_string()
                } else {
                    format!("{v:.4}")
                }
            })
            .collect();
        out += &format!("\"cg{f:02}\"\t{}\n", row.join("\t"));
    }
    out + "!series_matrix_table_end\n"
}

#[test]
fn a_gzipped_geo_series_matrix_trains_without_a_sample_sheet() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("GSE0001_series_matrix.txt.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(series(160).as_bytes()).unwrap();
    gz.finish().unwrap();
    std::fs::write(
        d.path().join("geo.toml"),
        r#"
[sweep]
name = "geo"
seeds = [0]

[data]
features = "GSE0001_series_matrix.txt.gz"
split = { train = 0.6, val = 0.2, test = 0.2 }
missing = { max_fraction = 0.0 }

[[tasks]]
name = "age"
bins = [0, 40, 60, 90]

[[tasks]]
name = "sex"
column = "gender"

[model]
trunk = [8]
head_width = 4

[train]
epochs = 30
batch_size = 32
lr = 0.01
"#,
    )
    .unwrap();
    // What a user runs first: the file's shape and its label columns.
    let inspected = hs(d.path())
        .args(["data", "inspect", "GSE0001_series_matrix.txt.gz"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&inspected.stdout);
    assert!(
        text.contains("GEO series matrix: 160 samples × 12 features"),
        "{text}"
    );
    assert!(text.contains("missing: 1 of 1920 cells"), "{text}");
    assert!(
        text.contains("gender: 2 classes: F 80, M 80; 0 missing"),
        "{text}"
    );
    let (out, err) = ok(d.path(), &["run", "geo.toml", "--db", "h.db"]);
    assert!(out.contains("1 done, 0 failed"));
    // cg05's one missing cell falls in training, so max_fraction = 0 drops it.
    assert!(
        err.contains("160 samples × 11 features (0 dropped: no label for any task; 1 features dropped for missing values)"),
        "{err}"
    );
    let q = hs(d.path())
        .args([
            "query",
            "--db",
            "h.db",
            "--format",
            "csv",
            "SELECT head, value FROM metrics WHERE split = 'test' AND metric = 'accuracy' ORDER BY head",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&q.stdout).to_string();
    let sex: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("sex,"))
        .unwrap_or_else(|| panic!("{text}"))
        .parse()
        .unwrap();
    assert!(sex > 0.9, "cg01 marks males: {text}");
    // Explain ranks features by the probes' names.
    let run = explain_top(d.path(), "sex", 1, "cg01");
    // Scored against the researcher's own list of known CpGs.
    std::fs::write(
        d.path().join("known.txt"),
        "# known markers\ncg01,sex\ncg00,age\ncg99\n",
    )
    .unwrap();
    let k = hs(d.path())
        .args([
            "explain",
            &run[..12],
            "--db",
            "h.db",
            "--head",
            "sex",
            "--top",
            "1",
            "--truth",
            "known.txt",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&k.stdout);
    assert!(text.contains("top 1 against known.txt: 1 known"), "{text}");
    assert!(
        text.contains("known.txt: 2 features listed for head sex, 1 of them not in the data"),
        "{text}"
    );
}

/// The first run of the store `h.db` in `dir`, after checking that
/// `explain` of its `head` (top `k`) names a feature containing `want`.
fn explain_top(dir: &std::path::Path, head: &str, k: usize, want: &str) -> String {
    let q = hs(dir)
        .args(["query", "--db", "h.db", "--format", "csv"])
        .arg("SELECT id FROM runs ORDER BY id LIMIT 1")
        .output()
        .unwrap();
    let run = String::from_utf8_lossy(&q.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let k = k.to_string();
    let (text, _) = ok(
        dir,
        &[
            "explain",
            &run[..12],
            "--db",
            "h.db",
            "--head",
            head,
            "--top",
            &k,
        ],
    );
    assert!(text.contains(want), "{text}");
    run
}

/// `PREFIX.bed/.bim/.fam` for `n` samples × 8 SNPs: rs0 is 2 copies in
/// males and 0 in females (sex from the .fam); the rest follow a fixed
/// sequence, a few calls missing.
fn plink(dir: &std::path::Path, n: usize) {
    let snps = 8;
    let male = |i: usize| !i.is_multiple_of(3);
    let mut fam = String::new();
    for i in 0..n {
        fam += &format!("fam{i} ind{i} 0 0 {} -9\n", if male(i) { 1 } else { 2 });
    }
    std::fs::write(dir.join("g.fam"), fam).unwrap();
    let bim: String = (0..snps)
        .map(|j| format!("1 rs{j} 0 {} A G\n", 1000 + j))
        .collect();
    std::fs::write(dir.join("g.bim"), bim).unwrap();
    let mut bed = vec![0x6c, 0x1b, 0x01];
    let mut state = 7u64;
    for j in 0..snps {
        let mut block = vec![0u8; n.div_ceil(4)];
        for i in 0..n {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let code = if j == 0 {
                if male(i) {
                    0b00
                } else {
                    0b11
                }
            } else {
                [0b00, 0b10, 0b11, 0b01][(state >> 60) as usize % 4]
            };
            block[i / 4] |= code << (2 * (i % 4));
        }
        bed.extend(block);
    }
    std::fs::write(dir.join("g.bed"), bed).unwrap();
}

#[test]
fn plink_genotypes_train_with_the_fam_as_labels() {
    let d = tempfile::tempdir().unwrap();
    plink(d.path(), 150);
    std::fs::write(
        d.path().join("g.toml"),
        r#"
[sweep]
name = "g"
seeds = [0]

[data]
features = "g.bed"
split = { train = 0.6, val = 0.2, test = 0.2 }

[[tasks]]
name = "sex"

[model]
trunk = [8]
head_width = 4

[train]
epochs = 30
batch_size = 32
lr = 0.01
"#,
    )
    .unwrap();
    ok(d.path(), &["run", "g.toml", "--db", "h.db"]);
    let q = hs(d.path())
        .args([
            "query",
            "--db",
            "h.db",
            "--format",
            "csv",
            "SELECT value FROM metrics WHERE split = 'test' AND head = 'sex' AND metric = 'accuracy'",
        ])
        .output()
        .unwrap();
    let acc: f64 = String::from_utf8_lossy(&q.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(acc > 0.9, "rs0 marks males: {acc}");
    // Editing the .fam changes the data, so the run is a new one.
    let fam = std::fs::read_to_string(d.path().join("g.fam")).unwrap();
    std::fs::write(
        d.path().join("g.fam"),
        fam.replacen("ind0 0 0 2", "ind0 0 0 1", 1),
    )
    .unwrap();
    let plan = hs(d.path())
        .args(["plan", "g.toml", "--db", "h.db"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        text.contains("0 done, 0 failed, 0 running, 1 left"),
        "{text}"
    );
}

#[test]
fn an_anndata_file_trains_with_its_obs_as_labels() {
    let d = tempfile::tempdir().unwrap();
    synth(d.path(), "150", "40", "h5ad");
    let inspected = hs(d.path())
        .args(["data", "inspect", "x/features.h5ad"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&inspected.stdout);
    assert!(
        text.contains("AnnData .h5ad: 150 samples × 40 features"),
        "{text}"
    );
    assert!(text.contains("sex: 2 classes"), "{text}");
    std::fs::write(
        d.path().join("h.toml"),
        r#"
[sweep]
name = "h5ad"
seeds = [0]

[data]
features = "x/features.h5ad"

[[tasks]]
name = "age"
bins = [0, 40, 60, 100]

[[tasks]]
name = "sex"

[model]
trunk = [8]
head_width = 4

[train]
epochs = 3
batch_size = 32
"#,
    )
    .unwrap();
    let (out, err) = ok(d.path(), &["run", "h.toml", "--db", "h.db"]);
    assert!(out.contains("1 done, 0 failed"));
    assert!(err.contains("150 samples × 40 features"), "{err}");
    // A layer that is not there is named with the ones that are.
    let toml = std::fs::read_to_string(d.path().join("h.toml")).unwrap();
    std::fs::write(
        d.path().join("l.toml"),
        toml.replace(
            "features = \"x/features.h5ad\"",
            "features = \"x/features.h5ad\"\nlayer = \"counts\"",
        ),
    )
    .unwrap();
    let out = hs(d.path())
        .args(["run", "l.toml", "--db", "l.db"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no layer \"counts\"; the file's layers are none"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn features_are_selected_on_the_training_split_and_change_the_identity() {
    let d = tempfile::tempdir().unwrap();
    let sweep = |select: &str| {
        format!(
            r#"
[sweep]
name = "sel"
seeds = [0]

[data]
synthetic = {{ preset = "methylation", samples = 120, features = 200 }}
{select}

[[tasks]]
name = "sex"

[model]
trunk = [8]
head_width = 4

[train]
epochs = 1
"#
        )
    };
    std::fs::write(d.path().join("all.toml"), sweep("")).unwrap();
    std::fs::write(
        d.path().join("top.toml"),
        sweep("select = { top_variance = 30 }"),
    )
    .unwrap();
    std::fs::write(d.path().join("keep.txt"), "cg00000001\ncg00000007\n").unwrap();
    std::fs::write(
        d.path().join("list.toml"),
        sweep("select = { features = \"keep.txt\" }"),
    )
    .unwrap();
    let mut ids = Vec::new();
    for (file, summary) in [
        ("all.toml", "120 samples × 200 features"),
        (
            "top.toml",
            "30 of 200 features selected on the training samples",
        ),
        (
            "list.toml",
            "2 of 200 features selected on the training samples",
        ),
    ] {
        let (_, err) = ok(d.path(), &["run", file, "--db", "h.db"]);
        assert!(err.contains(summary), "{file}: {err}");
        let q = hs(d.path())
            .args([
                "query",
                "--db",
                "h.db",
                "--format",
                "csv",
                "SELECT id FROM runs ORDER BY id",
            ])
            .output()
            .unwrap();
        ids = String::from_utf8_lossy(&q.stdout)
            .lines()
            .skip(1)
            .map(str::to_string)
            .collect();
    }
    // Three distinct runs: the selection is part of what a run is.
    assert_eq!(ids.len(), 3, "{ids:?}");
    std::fs::write(d.path().join("keep.txt"), "cg00000001\ncg99999999\n").unwrap();
    let out = hs(d.path())
        .args(["run", "list.toml", "--db", "h.db"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("keep.txt:2: feature \"cg99999999\" is not in"),
        "{err}"
    );
}

#[test]
fn selected_data_is_prepared_once_and_mapped_by_every_worker() {
    let d = tempfile::tempdir().unwrap();
    synth(d.path(), "150", "300", "npy");
    std::fs::write(
        d.path().join("s.toml"),
        r#"
[sweep]
name = "npy"
seeds = [0, 1, 2]

[data]
features = "x/features.npy"
ids = "x/ids.txt"
feature_names = "x/feature_names.txt"
labels = "x/samples.tsv"
select = { top_variance = 20 }

[[tasks]]
name = "sex"

[model]
trunk = [8]
head_width = 4

[train]
epochs = 2
"#,
    )
    .unwrap();
    let (out, err) = ok(
        d.path(),
        &[
            "run", "s.toml", "--db", "h.db", "--jobs", "2", "--fuse", "1",
        ],
    );
    assert!(out.contains("3 done, 0 failed"));
    assert!(
        err.contains("20 of 300 features selected on the training samples"),
        "{err}"
    );
    let cached: Vec<_> = std::fs::read_dir(d.path().join("stores"))
        .unwrap()
        .flatten()
        .flat_map(|s| {
            std::fs::read_dir(s.path().join("data-cache"))
                .unwrap()
                .flatten()
        })
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert!(cached[0].ends_with(".hsdata"), "{cached:?}");
    // Explain reads the selected features' names.
    explain_top(d.path(), "sex", 3, "cg0");
}
