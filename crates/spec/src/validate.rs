//! Range and consistency checks that the schema alone cannot express.

use std::collections::HashSet;

use crate::config::{Architecture, ClassWeights, Document, Loss, TaskWeighting, RESERVED_NAMES};
use crate::locate::Step;

/// One thing wrong with a document, at a key path.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub path: Vec<Step>,
    pub message: String,
}

fn problem(path: &[Step], message: impl Into<String>) -> Problem {
    Problem {
        path: path.to_vec(),
        message: message.into(),
    }
}

fn is_plain_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Every problem in document order; empty when the document is usable.
pub(crate) fn check(doc: &Document) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut bad = |path: &[Step], msg: String| out.push(problem(path, msg));

    let s = &doc.sweep;
    if let Err(e) = crate::check_sweep_name(&s.name) {
        bad(&["sweep".into(), "name".into()], e.to_string());
    }
    let seeds = s.seeds.all();
    let listed = matches!(s.seeds, crate::seeds::Seeds::List(_));
    if seeds.is_empty() && listed {
        bad(
            &["sweep".into(), "seeds".into()],
            "seeds must list at least one seed".into(),
        );
    } else if seeds.is_empty() {
        bad(
            &["sweep".into(), "seeds".into(), "rounds".into()],
            "sweep.seeds.rounds must list at least one round of seeds, e.g. [3, 3, 4]".into(),
        );
    }
    let mut seen = HashSet::new();
    for (i, seed) in seeds.iter().enumerate().filter(|_| listed) {
        if !seen.insert(seed) {
            bad(
                &["sweep".into(), "seeds".into(), i.into()],
                format!("seed {seed} is listed twice"),
            );
        }
    }

    let d = &doc.data;
    let data = |k: &str| -> Vec<Step> { vec!["data".into(), k.into()] };
    match (&d.synthetic, &d.features) {
        (Some(_), Some(_)) => bad(&data("features"), "give either data.synthetic or data.features, not both".into()),
        (None, None) => bad(&["data".into()], "data needs either synthetic = { preset, samples, features } or features = \"FILE\" with labels = \"FILE\"".into()),
        (None, Some(f)) => {
            let series = f
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains("series_matrix"));
            let plink = f.extension().is_some_and(|e| e == "bed");
            let h5ad = f.extension().is_some_and(|e| e == "h5ad" || e == "h5");
            if d.labels.is_none() && !series && !plink && !h5ad {
                bad(&data("features"), "data.features needs data.labels, the sample sheet (a GEO *_series_matrix.txt(.gz), a PLINK .bed with its .fam and an AnnData .h5ad with its obs carry their own)".into());
            }
            if d.layer.is_some() && !h5ad {
                bad(&data("layer"), "data.layer names a layer of an AnnData .h5ad file".into());
            }
            let npy = f.extension().is_some_and(|e| e == "npy");
            if npy && d.ids.is_none() {
                bad(&data("features"), "an .npy matrix needs data.ids, a file with one sample id per line".into());
            }
            if !npy && d.ids.is_some() {
                bad(&data("ids"), "data.ids is only for an .npy feature matrix".into());
            }
            if !npy && d.feature_names.is_some() {
                bad(&data("feature_names"), "data.feature_names is only for an .npy feature matrix; other formats name their features".into());
            }
        }
        (Some(syn), None) => {
            let at = |k: &str| vec!["data".into(), "synthetic".into(), Step::from(k)];
            if syn.samples < 60 {
                bad(&at("samples"), format!("samples = {}: at least 60 are needed to populate every class", syn.samples));
            }
            if syn.features < 20 {
                bad(&at("features"), format!("features = {}: at least 20 are needed to place the signal", syn.features));
            }
            if !(syn.sex_effect.is_finite() && syn.sex_effect >= 0.0) {
                bad(&at("sex_effect"), format!("sex_effect = {}: expected a number ≥ 0 (1 as drawn, 0 for no sex signal)", syn.sex_effect));
            }
            if !syn.age_shape.iter().all(|v| v.is_finite() && *v > 0.0) {
                bad(&at("age_shape"), format!("age_shape = {:?}: expected two positive Beta shapes [a, b], e.g. [2.0, 3.5]", syn.age_shape));
            }
            for k in ["labels", "ids", "id_column", "feature_names", "layer"] {
                let given = match k {
                    "labels" => d.labels.is_some(),
                    "ids" => d.ids.is_some(),
                    "feature_names" => d.feature_names.is_some(),
                    "layer" => d.layer.is_some(),
                    _ => d.id_column.is_some(),
                };
                if given {
                    bad(&data(k), format!("data.{k} has no meaning with data.synthetic"));
                }
            }
        }
    }
    if let Some(crate::config::Select::TopVariance(0)) = d.select {
        bad(
            &["data".into(), "select".into(), "top_variance".into()],
            "top_variance = 0 selects no feature; expected K ≥ 1".into(),
        );
    }
    let sp = d.split;
    for (k, v) in [("train", sp.train), ("val", sp.val), ("test", sp.test)] {
        if !(v > 0.0 && v < 1.0) {
            bad(
                &["data".into(), "split".into(), k.into()],
                format!("split.{k} = {v}: each fraction must lie strictly between 0 and 1"),
            );
        }
    }
    let total = sp.train + sp.val + sp.test;
    if (total - 1.0).abs() > 1e-9 {
        bad(
            &data("split"),
            format!("split fractions sum to {total}, not 1"),
        );
    }
    match (d.folds, d.fold) {
        (Some(k), _) if k < 3 => bad(
            &data("folds"),
            format!("folds = {k}: k-fold needs at least 3 folds (test, validation, training)"),
        ),
        (Some(k), Some(i)) if i >= k => bad(
            &data("fold"),
            format!("fold = {i} must be below folds = {k} (folds count from 0)"),
        ),
        (None, Some(_)) => bad(&data("fold"), "data.fold needs data.folds".into()),
        _ => {}
    }

    if doc.tasks.is_empty() {
        bad(&["tasks".into()], "at least one [[tasks]] is needed".into());
    }
    let mut names = HashSet::new();
    for (i, t) in doc.tasks.iter().enumerate() {
        let at = |k: &str| vec![Step::from("tasks"), i.into(), k.into()];
        if !is_plain_name(&t.name) || t.name.contains('.') {
            bad(
                &at("name"),
                format!("task name {:?} must be letters, digits, '_' or '-'", t.name),
            );
        } else if RESERVED_NAMES.contains(&t.name.as_str()) {
            bad(
                &at("name"),
                format!(
                    "task name {:?} is reserved (reserved: {})",
                    t.name,
                    RESERVED_NAMES.join(", ")
                ),
            );
        } else if !names.insert(t.name.as_str()) {
            bad(&at("name"), format!("task name {:?} is used twice", t.name));
        }
        if let Some(order) = &t.order {
            if t.bins.is_some() {
                bad(&at("order"), "a task has bins (classes from numbers) or an order (named classes in order), not both".into());
            } else if order.is_empty() {
                bad(
                    &at("order"),
                    "order must list the task's classes, lowest first".into(),
                );
            } else {
                let mut seen = HashSet::new();
                for (j, c) in order.iter().enumerate() {
                    if !seen.insert(c) {
                        let mut p = at("order");
                        p.push(j.into());
                        bad(&p, format!("class {c:?} is listed twice"));
                    }
                }
            }
        }
        if let Some(bins) = &t.bins {
            if bins.len() < 2 {
                bad(
                    &at("bins"),
                    format!(
                        "bins needs at least 2 edges (one class), got {}",
                        bins.len()
                    ),
                );
            }
            for (j, w) in bins.windows(2).enumerate() {
                if w[0] >= w[1] || w[0].is_nan() || w[1].is_nan() {
                    let mut p = at("bins");
                    p.push((j + 1).into());
                    bad(
                        &p,
                        format!(
                            "bins must increase strictly: edge {} ({}) is not above edge {} ({})",
                            j + 1,
                            w[1],
                            j,
                            w[0]
                        ),
                    );
                    break;
                }
            }
            if bins.iter().any(|b| !b.is_finite()) {
                bad(&at("bins"), "bins must be finite numbers".into());
            }
        }
        if !(t.weight > 0.0 && t.weight.is_finite()) {
            bad(
                &at("weight"),
                format!(
                    "weight = {}: a task weight must be a positive number",
                    t.weight
                ),
            );
        } else if t.weight != 1.0 && doc.train.loss == Loss::Bce {
            bad(&at("weight"), "task weights do not apply to loss = \"bce\", one flat mean over all outputs; use \"bce_task\" or \"ce\"".into());
        }
        if let Some(l) = t.loss {
            if l == Loss::Bce {
                bad(&at("loss"), "a task's own loss cannot be \"bce\", the flat loss over every output of every task; use \"bce_task\"".into());
            } else if doc.train.loss == Loss::Bce {
                bad(&at("loss"), "train.loss = \"bce\" is one flat loss over every output, so a task cannot have its own; set train.loss to \"bce_task\", \"ce\" or \"focal\"".into());
            }
        }
        let loss = doc.train.task_loss(t);
        if loss.is_ordinal() {
            let path = if t.loss.is_some() {
                at("loss")
            } else {
                vec!["train".into(), "loss".into()]
            };
            let classes = match (&t.bins, &t.order) {
                (Some(b), _) => Some(b.len().saturating_sub(1)),
                (None, Some(o)) => Some(o.len()),
                (None, None) => None,
            };
            if classes.is_none() {
                bad(&path, format!(
                    "loss = \"{}\" needs ordered classes, and task {:?} has no bins or order (its classes are the column's values, unordered); give the task bins or an order, or its own loss, e.g. [[tasks]] loss = \"ce\"",
                    loss.name(),
                    t.name
                ));
            } else if classes < Some(2) {
                bad(
                    &path,
                    format!(
                        "loss = \"{}\" needs at least two ordered classes, and task {:?} has one",
                        loss.name(),
                        t.name
                    ),
                );
            } else if loss == Loss::Coral && doc.model.architecture == Architecture::MultiLabel {
                bad(&path, format!(
                    "loss = \"coral\" gives task {:?} thresholds that share one weight vector, which needs the task's own output layer, and model.architecture = \"multi_label\" has one output layer for every task; use \"multi_head\", or loss = \"corn\"",
                    t.name
                ));
            }
        }
        if let Some(ClassWeights::List(w)) = &t.class_weights {
            if w.is_empty()
                || w.iter().any(|v| !(v.is_finite() && *v >= 0.0))
                || w.iter().all(|v| *v == 0.0)
            {
                bad(&at("class_weights"), "class_weights must be \"none\", \"balanced\" or one weight ≥ 0 per class (not all 0)".into());
            }
            // Where the file fixes the classes, their number is known now.
            let classes = t
                .bins
                .as_ref()
                .map(|b| b.len().saturating_sub(1))
                .or(t.order.as_ref().map(Vec::len));
            if let Some(k) = classes.filter(|&k| k != w.len()) {
                bad(
                    &at("class_weights"),
                    format!(
                        "class_weights has {} values, but task {:?} has {k} classes",
                        w.len(),
                        t.name
                    ),
                );
            }
        }
    }

    let m = &doc.model;
    let model = |k: &str| -> Vec<Step> { vec!["model".into(), k.into()] };
    if let Some(i) = m.trunk.iter().position(|&w| w == 0) {
        bad(
            &["model".into(), "trunk".into(), i.into()],
            "a layer width must be at least 1".into(),
        );
    }
    if m.params == Some(0) {
        bad(
            &model("params"),
            "params = 0: expected the number of trainable parameters to match, e.g. 60000".into(),
        );
    }
    if m.params.is_some() && m.trunk.is_empty() && m.head_depth == 0 {
        bad(
            &model("params"),
            "params needs a hidden layer to scale: a non-empty model.trunk or model.head_depth ≥ 1"
                .into(),
        );
    }
    if m.head_width == 0 {
        bad(&model("head_width"), "head_width must be at least 1".into());
    }
    if !(0.0..1.0).contains(&m.dropout) {
        bad(
            &model("dropout"),
            format!("dropout = {}: must be in [0, 1)", m.dropout),
        );
    }

    let t = &doc.train;
    let train = |k: &str| -> Vec<Step> { vec!["train".into(), k.into()] };
    if !(t.lr > 0.0 && t.lr.is_finite()) {
        bad(
            &train("lr"),
            format!("lr = {}: the learning rate must be a positive number", t.lr),
        );
    }
    if !(t.weight_decay >= 0.0 && t.weight_decay.is_finite()) {
        bad(
            &train("weight_decay"),
            format!("weight_decay = {}: must be 0 or more", t.weight_decay),
        );
    }
    if !(0.0..1.0).contains(&t.momentum) {
        bad(
            &train("momentum"),
            format!("momentum = {}: must be in [0, 1)", t.momentum),
        );
    }
    if t.epochs == 0 {
        bad(&train("epochs"), "epochs must be at least 1".into());
    }
    if t.batch_size == 0 {
        bad(&train("batch_size"), "batch_size must be at least 1".into());
    }
    if !(0.0..1.0).contains(&t.label_smoothing) {
        bad(
            &train("label_smoothing"),
            format!("label_smoothing = {}: must be in [0, 1)", t.label_smoothing),
        );
    }
    if !(t.focal_gamma >= 0.0 && t.focal_gamma.is_finite()) {
        bad(
            &train("focal_gamma"),
            format!("focal_gamma = {}: must be 0 or more", t.focal_gamma),
        );
    }
    if !(t.dwa_temperature > 0.0 && t.dwa_temperature.is_finite()) {
        bad(
            &train("dwa_temperature"),
            format!(
                "dwa_temperature = {}: must be a positive number",
                t.dwa_temperature
            ),
        );
    }
    if t.task_weighting != TaskWeighting::Fixed && t.loss == Loss::Bce {
        bad(
            &train("task_weighting"),
            format!(
                "task_weighting = \"{}\" weighs each task's loss, but loss = \"bce\" is one flat loss over every output; use \"bce_task\", \"ce\" or \"focal\"",
                t.task_weighting.name()
            ),
        );
    }
    if matches!(
        t.task_weighting,
        TaskWeighting::Pcgrad | TaskWeighting::Gradnorm
    ) {
        let shares = match m.architecture {
            Architecture::Separate => false,
            Architecture::MultiHead => !m.trunk.is_empty(),
            Architecture::MultiLabel => !m.trunk.is_empty() || m.head_depth > 0,
        };
        if !shares {
            let why = if m.architecture == Architecture::Separate {
                "model.architecture = \"separate\" shares none"
            } else {
                "this network has no shared hidden layer (model.trunk is empty)"
            };
            bad(
                &train("task_weighting"),
                format!(
                    "task_weighting = \"{}\" works on the parameters the tasks share, and {why}",
                    t.task_weighting.name()
                ),
            );
        }
    }
    if !(t.huber_delta > 0.0 && t.huber_delta.is_finite()) {
        bad(
            &train("huber_delta"),
            format!("huber_delta = {}: must be a positive number", t.huber_delta),
        );
    }
    if !(t.gradnorm_alpha >= 0.0 && t.gradnorm_alpha.is_finite()) {
        bad(
            &train("gradnorm_alpha"),
            format!("gradnorm_alpha = {}: must be 0 or more", t.gradnorm_alpha),
        );
    }
    out
}
