use std::io::Write;

use anyhow::Context;
use headsweep_data::Part;
use headsweep_model::{parse_device, train, RunOutput, TrainOptions};
use headsweep_spec::{RunConfig, SweepFile};
use serde::Serialize;

use headsweep_cli::args::{Format, SplitChoice, TrainArgs};
use headsweep_report::{aligned, fixed4};

pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    let sweep = SweepFile::load(&a.file)?;
    let config = sweep.first_run();
    let device = parse_device(&a.device)?;
    let data = headsweep_data::load(&config.data, &config.tasks)
        .with_context(|| format!("loading the data of {}", a.file.display()))?;
    eprint!("data: {}", data.summary());
    let opts = TrainOptions {
        device,
        threads: a.threads as usize,
        weights: a.weights.clone(),
        ..Default::default()
    };
    let out = train(&config, &data, &opts).context("training failed")?;
    let parts: Vec<Part> = match a.split {
        SplitChoice::Train => vec![Part::Train],
        SplitChoice::Val => vec![Part::Val],
        SplitChoice::Test => vec![Part::Test],
        SplitChoice::All => Part::ALL.to_vec(),
    };
    let text = match a.format {
        Format::Table => render_table(
            &config,
            &out,
            &parts,
            &format!("{device:?}").to_lowercase(),
            data.n_samples(),
        ),
        Format::Json => serde_json::to_string_pretty(&report(&config, &out, &parts))? + "\n",
    };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(())
}

const COLUMNS: &[&str] = &[
    "n",
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "weighted_f1",
    "log_loss",
    "brier",
    "ece",
    "auroc",
    "mass",
];

fn render_table(
    c: &RunConfig,
    out: &RunOutput,
    parts: &[Part],
    device: &str,
    samples: usize,
) -> String {
    // Tasks with a loss of their own, named after the sweep's.
    let own: Vec<String> = c
        .tasks
        .iter()
        .filter_map(|t| t.loss.map(|l| format!("{}: {}", t.name, l.name())))
        .collect();
    let loss = if own.is_empty() {
        c.train.loss.name().to_string()
    } else {
        format!("{} ({})", c.train.loss.name(), own.join(", "))
    };
    let mut s = format!(
        "{} seed {}: {} + {loss}, head_depth {}, trunk {:?}, {} parameters, {samples} samples, {device}\n",
        c.sweep,
        c.seed,
        serde_json::to_value(c.model.architecture).expect("enum").as_str().unwrap_or("?"),
        c.model.head_depth,
        c.model.trunk,
        out.parameters,
    );
    s += &format!(
        "best epoch {} of {}{} in {:.2} s\n",
        out.best_epoch,
        out.epochs_run,
        if out.stopped_early {
            " (stopped early)"
        } else {
            ""
        },
        out.seconds
    );
    for &part in parts {
        let split = out.split(part);
        s += &format!(
            "\n{} split ({} samples), loss {:.4}\n",
            part.name(),
            split.ids.len(),
            split.loss
        );
        let mut header = vec!["head".to_string()];
        header.extend(COLUMNS.iter().map(|c| c.to_string()));
        let mut rows: Vec<Vec<String>> = split
            .heads
            .iter()
            .map(|h| {
                let mut row = vec![h.name.clone()];
                match &h.metrics {
                    Some(m) => {
                        let scalars = m.scalars();
                        row.push(m.n.to_string());
                        row.extend(COLUMNS[1..].iter().map(|c| {
                            fixed4(
                                scalars
                                    .iter()
                                    .find(|(k, _)| k.name() == *c)
                                    .and_then(|(_, v)| *v),
                            )
                        }));
                    }
                    None => row.extend(COLUMNS.iter().map(|_| "—".to_string())),
                }
                row
            })
            .collect();
        let mut joint = vec![
            headsweep_metrics::JOINT.to_string(),
            "".into(),
            fixed4(split.exact_match),
        ];
        joint.extend(COLUMNS[2..].iter().map(|_| String::new()));
        rows.push(joint);
        s += &aligned(&header, &rows);
        // Ordered and regression heads: their own measures, one line each.
        for h in &split.heads {
            let Some(m) = &h.metrics else { continue };
            let mut parts = Vec::new();
            if let (Some(mae), Some(off)) = (m.mae, m.off_by_one) {
                parts.push(format!("mae {mae:.4} classes, off_by_one {off:.4}"));
            }
            if let Some(rmse) = h.rmse {
                parts.push(format!("rmse {rmse:.4} (the target's units)"));
            }
            if !parts.is_empty() {
                s += &format!("{}: {}\n", h.name, parts.join(", "));
            }
        }
    }
    s += "\njoint accuracy is exact match: every head right on samples labelled in all heads.\n";
    s
}

#[derive(Serialize)]
struct Report<'a> {
    config: &'a RunConfig,
    parameters: usize,
    best_epoch: usize,
    epochs_run: usize,
    stopped_early: bool,
    seconds: f64,
    splits: Vec<SplitReport>,
}

#[derive(Serialize)]
struct SplitReport {
    split: &'static str,
    samples: usize,
    loss: f64,
    heads: Vec<HeadReport>,
    joint_exact_match: Option<f64>,
}

#[derive(Serialize)]
struct HeadReport {
    head: String,
    classes: Vec<String>,
    metrics: Option<headsweep_metrics::HeadMetrics>,
    /// Regression heads only.
    #[serde(skip_serializing_if = "Option::is_none")]
    rmse: Option<f64>,
}

fn report<'a>(c: &'a RunConfig, out: &RunOutput, parts: &[Part]) -> Report<'a> {
    Report {
        config: c,
        parameters: out.parameters,
        best_epoch: out.best_epoch,
        epochs_run: out.epochs_run,
        stopped_early: out.stopped_early,
        seconds: out.seconds,
        splits: parts
            .iter()
            .map(|&p| {
                let s = out.split(p);
                SplitReport {
                    split: p.name(),
                    samples: s.ids.len(),
                    loss: s.loss,
                    heads: s
                        .heads
                        .iter()
                        .map(|h| HeadReport {
                            head: h.name.clone(),
                            classes: h.classes.clone(),
                            metrics: h.metrics.clone(),
                            rmse: h.rmse,
                        })
                        .collect(),
                    joint_exact_match: s.exact_match,
                }
            })
            .collect(),
    }
}
