use super::*;
use crate::config::{Architecture, Loss};

const BASE: &str = r#"[sweep]
name = "t"
seeds = [3, 4]

[data]
synthetic = { preset = "methylation", samples = 200, features = 100 }

[[tasks]]
name = "age"
bins = [0, 30, 60, 90]

[[tasks]]
name = "sex"

[model]
architecture = "multi_head"

[train]
lr = 0.01
"#;

fn parse(text: &str) -> Result<SweepFile, SpecError> {
    SweepFile::parse(Path::new("exp/t.toml"), text)
}

/// The error's text, which must name the file, line and column.
fn error(text: &str) -> String {
    parse(text).expect_err("should be refused").to_string()
}

#[test]
fn a_minimal_file_resolves_with_defaults() {
    let s = parse(BASE).unwrap();
    assert_eq!(s.points.len(), 1);
    let run = s.first_run();
    assert_eq!(run.seed, 3);
    assert_eq!(run.model.architecture, Architecture::MultiHead);
    assert_eq!(run.train.loss, Loss::Ce);
    assert_eq!(run.train.lr, 0.01);
    assert_eq!(run.model.trunk, vec![256, 128]);
    assert_eq!(run.tasks[1].column(), "sex");
    assert_eq!(s.runs().count(), 2);
}

#[test]
fn grid_is_a_cartesian_product_last_axis_fastest() {
    let text = format!(
        "{BASE}\n[grid]\n\"model.architecture\" = [\"multi_label\", \"separate\"]\n\"model.head_depth\" = [0, 1, 2]\n"
    );
    let s = parse(&text).unwrap();
    assert_eq!(s.points.len(), 6);
    assert_eq!(s.runs().count(), 12);
    let p = &s.points[1];
    assert_eq!(p.config.model.architecture, Architecture::MultiLabel);
    assert_eq!(p.config.model.head_depth, 1);
    assert_eq!(
        p.label(),
        "model.architecture=multi_label model.head_depth=1"
    );
    assert_eq!(
        s.points[5].config.model.architecture,
        Architecture::Separate
    );
}

#[test]
fn relative_data_paths_resolve_against_the_file() {
    let text = BASE.replace(
        "synthetic = { preset = \"methylation\", samples = 200, features = 100 }",
        "features = \"x.tsv\"\nlabels = \"y.csv\"",
    );
    let run = parse(&text).unwrap().first_run();
    assert_eq!(run.data.features.unwrap(), Path::new("exp/x.tsv"));
}

#[test]
fn unknown_key_names_the_nearest_with_line_and_column() {
    let e = error(&BASE.replace(
        "architecture = \"multi_head\"",
        "archtecture = \"multi_head\"",
    ));
    assert!(e.starts_with("exp/t.toml:16:1:"), "{e}");
    assert!(e.contains("unknown field `archtecture`"), "{e}");
    assert!(e.contains("did you mean `architecture`?"), "{e}");
}

#[test]
fn unknown_architecture_lists_the_valid_ones() {
    let e = error(&BASE.replace("\"multi_head\"", "\"multihead\""));
    assert!(e.starts_with("exp/t.toml:16:16:"), "{e}");
    for v in ["multi_label", "multi_head", "separate"] {
        assert!(e.contains(v), "{e}");
    }
    assert!(e.contains("did you mean `multi_head`?"), "{e}");
}

#[test]
fn unknown_loss_lists_the_valid_ones() {
    let e = error(&BASE.replace("lr = 0.01", "loss = \"l2\""));
    assert!(
        e.contains("unknown variant `l2`") && e.contains("`bce`, `bce_task`, `ce`"),
        "{e}"
    );
}

#[test]
fn wrong_type_is_refused_at_its_line() {
    let e = error(&BASE.replace("lr = 0.01", "lr = \"fast\""));
    assert!(e.starts_with("exp/t.toml:19:"), "{e}");
}

#[test]
fn out_of_range_values_point_at_their_key() {
    let cases = [
        (
            BASE.replace("lr = 0.01", "lr = 0.0"),
            "exp/t.toml:19:1: train.lr",
        ),
        (BASE.replace("lr = 0.01", "lr = -1.0"), "train.lr"),
        (
            BASE.replace("lr = 0.01", "epochs = 0"),
            "exp/t.toml:19:1: train.epochs",
        ),
        (
            BASE.replace("lr = 0.01", "batch_size = 0"),
            "train.batch_size",
        ),
        (
            BASE.replace("[0, 30, 60, 90]", "[0, 30, 30, 90]"),
            "exp/t.toml:10:16: tasks[0].bins",
        ),
        (BASE.replace("[0, 30, 60, 90]", "[5]"), "tasks[0].bins"),
        (
            BASE.replace(
                "[data]",
                "[data]\nsplit = { train = 0.5, val = 0.2, test = 0.2 }",
            ),
            "data.split",
        ),
        (
            BASE.replace("architecture = \"multi_head\"", "dropout = 1.0"),
            "model.dropout",
        ),
        (
            BASE.replace("samples = 200", "samples = 10"),
            "data.synthetic.samples",
        ),
        (BASE.replace("[data]", "[data]\nfold = 1"), "data.fold"),
        (
            BASE.replace("[data]", "[data]\nfolds = 5\nfold = 5"),
            "data.fold",
        ),
        (
            BASE.replace("seeds = [3, 4]", "seeds = [3, 3]"),
            "sweep.seeds",
        ),
        (
            BASE.replace("name = \"sex\"", "name = \"sex\"\nweight = 2.0")
                .replace("lr = 0.01", "loss = \"bce\""),
            "tasks[1].weight: task weights do not apply",
        ),
    ];
    for (text, want) in cases {
        let e = error(&text);
        assert!(e.contains(want), "expected {want:?} in {e}");
    }
}

#[test]
fn reserved_and_duplicate_task_names_are_refused() {
    for name in ["joint", "model", "train", "data", "sweep"] {
        let e = error(&BASE.replace("name = \"sex\"", &format!("name = \"{name}\"")));
        assert!(
            e.contains("reserved") && e.contains("exp/t.toml:13:"),
            "{e}"
        );
    }
    let e = error(&BASE.replace("name = \"sex\"", "name = \"age\""));
    assert!(e.contains("used twice"), "{e}");
}

#[test]
fn data_needs_exactly_one_source() {
    let none = BASE.replace(
        "synthetic = { preset = \"methylation\", samples = 200, features = 100 }",
        "seed = 1",
    );
    assert!(error(&none).contains("data needs either"));
    let npy = BASE.replace(
        "synthetic = { preset = \"methylation\", samples = 200, features = 100 }",
        "features = \"x.npy\"\nlabels = \"y.csv\"",
    );
    assert!(error(&npy).contains("data.ids"));
}

#[test]
fn a_bad_grid_value_points_at_that_value() {
    let text = format!("{BASE}\n[grid]\n\"train.lr\" = [0.1, -0.5]\n");
    let e = error(&text);
    assert!(e.starts_with("exp/t.toml:22:20:"), "{e}");
    assert!(
        e.contains("grid axis \"train.lr\" value -0.5")
            && e.contains("lr = -0.5: the learning rate must be a positive number"),
        "{e}"
    );

    let text = format!("{BASE}\n[grid]\n\"model.archtecture\" = [\"separate\"]\n");
    let e = error(&text);
    assert!(e.contains("did you mean `architecture`?"), "{e}");

    let text = format!("{BASE}\n[grid]\n\"model.head_depth\" = []\n");
    assert!(error(&text).contains("non-empty array"));
    let text = format!("{BASE}\n[grid]\nhead_depth = [1]\n");
    assert!(error(&text).contains("section.key"));
}

#[test]
fn syntax_errors_carry_a_position() {
    let e = error("[sweep]\nname = \n");
    assert!(e.starts_with("exp/t.toml:2:"), "{e}");
}

#[test]
fn zip_groups_vary_together_and_multiply_with_axes() {
    let text = format!(
        "{BASE}\n[grid]\n\"model.head_depth\" = [0, 1]\n\n[[grid.zip]]\n\"train.lr\" = [0.1, 0.01, 0.001]\n\"train.batch_size\" = [8, 16, 32]\n"
    );
    let s = parse(&text).unwrap();
    assert_eq!(s.points.len(), 6);
    assert_eq!(s.axes, ["model.head_depth", "train.lr", "train.batch_size"]);
    for p in &s.points {
        let pair = (p.config.train.lr, p.config.train.batch_size);
        assert!(
            [(0.1, 8), (0.01, 16), (0.001, 32)].contains(&pair),
            "{pair:?}"
        );
    }
    assert_eq!(
        s.points[1].label(),
        "model.head_depth=0 train.lr=0.01 train.batch_size=16"
    );

    let uneven =
        format!("{BASE}\n[[grid.zip]]\n\"train.lr\" = [0.1, 0.01]\n\"train.batch_size\" = [8]\n");
    assert!(error(&uneven).contains("must have equally many"));
}

#[test]
fn exclude_removes_partial_matches_and_include_adds_points() {
    let text = format!(
        r#"{BASE}
[grid]
"model.architecture" = ["multi_label", "multi_head"]
"train.loss" = ["bce", "ce"]
"model.head_depth" = [0, 1]

[[exclude]]
"model.architecture" = "multi_label"
"model.head_depth" = 1

[[exclude]]
"train.loss" = ["bce"]
"model.architecture" = "multi_head"

[[include]]
"model.architecture" = "separate"
"model.dropout" = 0.3
"#
    );
    let s = parse(&text).unwrap();
    let labels: Vec<String> = s.points.iter().map(|p| p.label()).collect();
    // 8 points − 2 (multi_label, depth 1) − 2 (multi_head, bce) + 1.
    assert_eq!(labels.len(), 5, "{labels:#?}");
    assert!(labels
        .iter()
        .all(|l| !(l.contains("multi_label") && l.contains("head_depth=1"))));
    assert!(labels
        .iter()
        .all(|l| !(l.contains("multi_head") && l.contains("loss=bce"))));
    let last = s.points.last().unwrap();
    assert_eq!(last.config.model.architecture, Architecture::Separate);
    assert_eq!(last.config.model.dropout, 0.3);
    // The include's axes join the sweep's, with defaults where a point is silent.
    assert_eq!(s.axes.last().unwrap(), "model.dropout");
    assert_eq!(
        last.label(),
        "model.architecture=separate train.loss=ce model.head_depth=0 model.dropout=0.3"
    );
    assert!(s.points[0].label().ends_with("model.dropout=0.1"));
}

#[test]
fn a_grid_that_excludes_everything_is_an_error() {
    let text = format!(
        "{BASE}\n[grid]\n\"train.loss\" = [\"ce\"]\n\n[[exclude]]\n\"train.loss\" = \"ce\"\n"
    );
    assert!(error(&text).contains("expands to no run"));
}

#[test]
fn data_seed_and_fold_can_be_axes() {
    let text = format!("{BASE}\n[grid]\n\"data.seed\" = [0, 1]\n\"data.fold\" = [0, 1, 2]\n")
        .replace("[data]", "[data]\nfolds = 3");
    let s = parse(&text).unwrap();
    assert_eq!(s.points.len(), 6);
    assert_eq!(s.points[5].config.data.seed, 1);
    assert_eq!(s.points[5].config.data.fold, Some(2));
}

#[test]
fn a_bad_include_points_at_it() {
    let text = format!("{BASE}\n[[include]]\n\"train.lr\" = -1.0\n");
    let e = error(&text);
    assert!(
        e.starts_with("exp/t.toml:21:") && e.contains("include: train.lr"),
        "{e}"
    );
}

#[test]
fn loss_and_weighting_settings_parse_and_default() {
    let s = parse(&format!(
        "{BASE}focal_gamma = 1.5\nlabel_smoothing = 0.1\nclass_weights = \"balanced\"\ntask_weighting = \"dwa\"\n"
    ))
    .unwrap();
    let run = s.first_run();
    assert_eq!(run.train.focal_gamma, 1.5);
    assert_eq!(run.train.class_weights, crate::ClassWeighting::Balanced);
    assert_eq!(run.train.task_weighting, crate::TaskWeighting::Dwa);
    let own = BASE.replace(
        "name = \"sex\"",
        "name = \"sex\"\nloss = \"focal\"\nclass_weights = [1.0, 2.0]",
    );
    let run = parse(&own).unwrap().first_run();
    assert_eq!(run.tasks[1].loss, Some(Loss::Focal));
    assert_eq!(
        run.tasks[1].class_weights,
        Some(crate::ClassWeights::List(vec![1.0, 2.0]))
    );
    // Defaults leave the identity of existing runs alone.
    let plain = parse(BASE).unwrap().first_run();
    assert_eq!(plain.train.task_weighting, crate::TaskWeighting::Fixed);
}

#[test]
fn combinations_that_cannot_work_are_refused_at_their_key() {
    let e = error(
        &(BASE.replace(
            "architecture = \"multi_head\"",
            "architecture = \"separate\"",
        ) + "task_weighting = \"pcgrad\"\n"),
    );
    assert!(
        e.contains("shares none") && e.contains("exp/t.toml:"),
        "{e}"
    );
    // In a grid too: the point that combines them is refused.
    let e = error(&format!(
        "{BASE}\n[grid]\n\"model.architecture\" = [\"multi_head\", \"separate\"]\n\"train.task_weighting\" = [\"fixed\", \"pcgrad\"]\n"
    ));
    assert!(e.contains("shares none"), "{e}");
    let e = error(&format!(
        "{BASE}loss = \"bce\"\ntask_weighting = \"uncertainty\"\n"
    ));
    assert!(e.contains("one flat loss"), "{e}");
    let e = error(&BASE.replace("name = \"sex\"", "name = \"sex\"\nloss = \"bce\""));
    assert!(e.contains("bce_task"), "{e}");
    let e = error(&format!("{BASE}label_smoothing = 1.0\n"));
    assert!(e.contains("label_smoothing = 1"), "{e}");
    let e = error(&BASE.replace(
        "name = \"sex\"",
        "name = \"sex\"\nclass_weights = [-1.0, 1.0]",
    ));
    assert!(e.contains("class_weights"), "{e}");
    let e = error(
        &(BASE.replace(
            "architecture = \"multi_head\"",
            "architecture = \"separate\"",
        ) + "task_weighting = \"gradnorm\"\n"),
    );
    assert!(e.contains("gradnorm") && e.contains("shares none"), "{e}");
    let e = error(
        &BASE
            .replace(
                "architecture = \"multi_head\"",
                "architecture = \"multi_head\"\ntrunk = []",
            )
            .replace("lr = 0.01", "lr = 0.01\ntask_weighting = \"pcgrad\""),
    );
    assert!(e.contains("no shared hidden layer"), "{e}");
    let e = error(&format!("{BASE}task_weighting = \"gradnorm_x\"\n"));
    assert!(e.contains("gradnorm") && e.contains("pcgrad"), "{e}");
}

#[test]
fn ordinal_losses_need_bins_and_their_own_output_layer() {
    // train.loss = coral reaches the unbinned sex task: refused at train.loss.
    let e = error(&BASE.replace("lr = 0.01", "loss = \"coral\""));
    assert!(
        e.contains("train.loss")
            && e.contains("task \"sex\" has no bins")
            && e.contains("loss = \"ce\""),
        "{e}"
    );
    // With sex's own loss the sweep resolves, and each task gets its loss.
    let ok = BASE
        .replace("lr = 0.01", "loss = \"corn\"")
        .replace("name = \"sex\"", "name = \"sex\"\nloss = \"ce\"");
    let run = &parse(&ok).unwrap().points[0].config;
    assert_eq!(run.train.task_loss(&run.tasks[0]), Loss::Corn);
    assert_eq!(run.train.task_loss(&run.tasks[1]), Loss::Ce);
    // A task's own ordinal loss without bins points at that task's key.
    let e = error(&BASE.replace("name = \"sex\"", "name = \"sex\"\nloss = \"mse\""));
    assert!(
        e.contains("tasks[1].loss") && e.contains("has no bins"),
        "{e}"
    );
    // CORAL shares a weight vector, which multi_label's single layer cannot.
    let e = error(
        &BASE
            .replace(
                "architecture = \"multi_head\"",
                "architecture = \"multi_label\"",
            )
            .replace(
                "bins = [0, 30, 60, 90]",
                "bins = [0, 30, 60, 90]\nloss = \"coral\"",
            ),
    );
    assert!(
        e.contains("tasks[0].loss") && e.contains("multi_label"),
        "{e}"
    );
    // In a grid, the bad combination names its grid point.
    let e = error(&format!(
        "{ok}\n[grid]\n\"model.architecture\" = [\"multi_head\", \"multi_label\"]\n\"train.loss\" = [\"corn\", \"coral\"]\n"
    ));
    assert!(e.contains("coral") && e.contains("multi_label"), "{e}");
    let e = error(&BASE.replace("lr = 0.01", "huber_delta = 0.0"));
    assert!(e.contains("train.huber_delta"), "{e}");
    // An order makes a task without bins ordered.
    let ordered = BASE
        .replace("lr = 0.01", "loss = \"corn\"")
        .replace("name = \"sex\"", "name = \"sex\"\norder = [\"F\", \"M\"]");
    assert!(parse(&ordered).is_ok());
    let e = error(&ordered.replace("[\"F\", \"M\"]", "[\"F\"]"));
    assert!(e.contains("at least two ordered classes"), "{e}");
    let e = error(&ordered.replace("[\"F\", \"M\"]", "[\"F\", \"M\", \"F\"]"));
    assert!(
        e.contains("tasks[1].order[2]") && e.contains("listed twice"),
        "{e}"
    );
    let e = error(&BASE.replace(
        "bins = [0, 30, 60, 90]",
        "bins = [0, 30, 60, 90]\norder = [\"a\"]",
    ));
    assert!(
        e.contains("tasks[0].order") && e.contains("not both"),
        "{e}"
    );
}

const SEARCH: &str = r#"
[grid]
"model.architecture" = ["multi_label", "multi_head"]

[search]
method = "tpe"
trials = 12
seed = 7
metric = "val.age.balanced_accuracy"

[search.space]
"train.lr" = { log_uniform = [1e-4, 1e-1] }
"model.dropout" = { uniform = [0.0, 0.5] }
"train.batch_size" = { int = [16, 64], step = 16 }
"model.activation" = { choice = ["relu", "gelu"] }

[evaluate]
seeds = [10, 11, 12]
"#;

#[test]
fn a_search_resolves_its_space_budget_and_rounds() {
    let s = parse(&format!("{BASE}{SEARCH}")).unwrap();
    let search = s.search.as_ref().unwrap();
    assert_eq!(search.method, crate::Method::Tpe);
    assert_eq!(search.trials, 12);
    assert_eq!(search.objective.to_string(), "val.age.balanced_accuracy");
    assert_eq!(search.space.len(), 4);
    assert_eq!(
        search.space[2].distribution,
        crate::Distribution::Int {
            low: 16,
            high: 64,
            step: 16
        }
    );
    // 10 startup trials, then one trial per round.
    assert_eq!(search.rounds(), vec![0..10, 10..11, 11..12]);
    assert_eq!(search.evaluate_seeds, vec![10, 11, 12]);
    // The designs are the grid's points; a trial sets the tuned values.
    assert_eq!(s.points.len(), 2);
    let trial = s
        .configure(
            1,
            &[
                ("train.lr".into(), serde_json::json!(0.003)),
                ("model.activation".into(), serde_json::json!("gelu")),
            ],
        )
        .unwrap();
    assert_eq!(trial.config.train.lr, 0.003);
    assert_eq!(trial.config.model.architecture, Architecture::MultiHead);
    assert_eq!(
        trial.label(),
        "model.architecture=multi_head train.lr=0.003 model.activation=gelu"
    );
}

#[test]
fn grid_search_enumerates_and_counts_its_trials() {
    let text = format!("{BASE}{SEARCH}")
        .replace("method = \"tpe\"\ntrials = 12\n", "method = \"grid\"\n")
        .replace(
            "\"train.lr\" = { log_uniform = [1e-4, 1e-1] }\n\"model.dropout\" = { uniform = [0.0, 0.5] }\n",
            "",
        );
    let s = parse(&text).unwrap();
    let search = s.search.unwrap();
    assert_eq!(search.trials, 8);
    let trials = search.grid_trials();
    assert_eq!(trials.len(), 8);
    assert_eq!(
        trials[1],
        vec![serde_json::json!(16), serde_json::json!("gelu")]
    );
    assert_eq!(search.rounds(), vec![0..8]);
}

#[test]
fn bad_search_sections_are_refused_at_their_key() {
    let full = format!("{BASE}{SEARCH}");
    let cases = [
        (
            full.replace("[1e-4, 1e-1]", "[0.0, 1e-1]"),
            "log_uniform needs LOW > 0",
        ),
        (full.replace("[0.0, 0.5] }", "[0.5, 0.5] }"), "LOW < HIGH"),
        (full.replace("step = 16", "step = 20"), "multiple of step"),
        (
            full.replace("[\"relu\", \"gelu\"]", "[\"relu\", \"relu\"]"),
            "lists \"relu\" twice",
        ),
        (
            full.replace("{ uniform = [0.0, 0.5] }", "{ normal = [0.0, 0.5] }"),
            "unknown distribution `normal`",
        ),
        // The extremes are checked as settings of every design.
        (
            full.replace("[0.0, 0.5] }", "[0.0, 1.5] }"),
            "search.space.\"model.dropout\" value 1.5 in design model.architecture=multi_label: model.dropout",
        ),
        (
            full.replace("\"model.dropout\"", "\"data.seed\""),
            "only model.* and train.* settings can be tuned",
        ),
        (
            full.replace("\"model.dropout\"", "\"model.architecture\""),
            "either compared or tuned",
        ),
        (full.replace("[evaluate]\nseeds = [10, 11, 12]\n", ""), "needs [evaluate]"),
        (full.replace("seeds = [10, 11, 12]", "seeds = [3, 11]"), "must be fresh"),
        (full.replace("trials = 12\n", ""), "needs trials = N"),
        (
            full.replace("val.age.balanced_accuracy", "test.age.balanced_accuracy"),
            "validation split",
        ),
        (full.replace("val.age.balanced", "val.height.balanced"), "no head named \"height\""),
        (
            full.replace("method = \"tpe\"\ntrials = 12", "method = \"grid\""),
            "needs choice or int values",
        ),
        (
            full.replace("method = \"tpe\"", "method = \"random\"\nround = 2"),
            "search.round applies to method = \"tpe\" only",
        ),
    ];
    for (text, want) in cases {
        let e = error(&text);
        assert!(e.contains(want), "expected {want:?} in {e}");
        assert!(e.starts_with("exp/t.toml:"), "{e}");
    }
}

#[test]
fn tpe_rounds_of_several_trials() {
    let text = format!("{BASE}{SEARCH}").replace("seed = 7", "seed = 7\nround = 4\nstartup = 3");
    let search = parse(&text).unwrap().search.unwrap();
    assert_eq!(search.rounds(), vec![0..3, 3..7, 7..11, 11..12]);
}

#[test]
fn seeds_in_rounds_resolve_to_consecutive_seeds() {
    let text = BASE.replace(
        "seeds = [3, 4]",
        r#"seeds = { rounds = [3, 3, 4], stop = "settled", first = 100, metric = "val.age.macro_f1" }"#,
    );
    let s = parse(&text).unwrap();
    assert_eq!(s.seeds, (100..110).collect::<Vec<u64>>());
    assert_eq!(s.first_run().seed, 100);
    let q = s.sequential.as_ref().unwrap();
    assert_eq!(q.rounds, [3, 3, 4]);
    assert_eq!(q.objective.to_string(), "val.age.macro_f1");
    assert_eq!(q.level, crate::DEFAULT_LEVEL);
    assert!(s.adaptive());
    // A list stays a list: no rounds.
    assert!(parse(BASE).unwrap().sequential.is_none());
}

#[test]
fn seeds_in_rounds_are_checked_where_they_are_written() {
    let with = |seeds: &str| BASE.replace("seeds = [3, 4]", &format!("seeds = {seeds}"));
    let e = error(&with("{ rounds = [3, 0] }"));
    assert!(e.contains("t.toml:3:") && e.contains("a round of 0"), "{e}");
    let e = error(&with("{ rounds = [] }"));
    assert!(e.contains("at least one round"), "{e}");
    let e = error(&with("{ rounds = [3], level = 0.9 }"));
    assert!(e.contains("sweep.seeds.level") && e.contains("0.9"), "{e}");
    let e = error(&with(r#"{ rounds = [3], metric = "test.age.accuracy" }"#));
    assert!(e.contains("never read to choose or to stop"), "{e}");
    let e = error(&with(r#"{ rounds = [3], stop = "never" }"#));
    assert!(e.contains("settled"), "{e}");
    let e = error(&with(r#"{ rounds = [3], seeds = 4 }"#));
    assert!(e.contains("unknown field"), "{e}");
    let e = error(&with(r#""many""#));
    assert!(e.contains("a list of seeds") && e.contains("rounds"), "{e}");
}
