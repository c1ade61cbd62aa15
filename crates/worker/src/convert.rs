//! Training output → store rows. Values are copied, never recomputed.

use headsweep_data::Part;
use headsweep_metrics::{Metric, JOINT};
use headsweep_model::RunOutput;
use headsweep_store::{ClassRow, ConfusionRow, CurveRow, MetricRow, PredictionRow, RunResults};

/// The rows a finished run stores: metrics of every head on every split at
/// the best epoch, per-class counts, confusion cells, learning curves, and
/// test-set predictions.
pub fn results_of(out: &RunOutput) -> RunResults {
    let mut r = RunResults {
        parameters: out.parameters as i64,
        best_epoch: out.best_epoch as i64,
        epochs_run: out.epochs_run as i64,
        duration_s: out.seconds,
        flops: out.flops,
        train_seconds: out.seconds,
        fused: out.fused as i64,
        ..Default::default()
    };
    let metric = |split: &str, head: &str, metric: Metric, value: Option<f64>| MetricRow {
        split: split.into(),
        head: head.into(),
        metric: metric.name().into(),
        value,
    };
    for s in &out.splits {
        let split = s.part.name();
        r.metrics
            .push(metric(split, JOINT, Metric::ExactMatch, s.exact_match));
        r.metrics
            .push(metric(split, JOINT, Metric::Loss, Some(s.loss)));
        for (h, head_loss) in s.heads.iter().zip(&s.head_losses) {
            r.metrics
                .push(metric(split, &h.name, Metric::Loss, Some(*head_loss)));
            if h.rmse.is_some() {
                r.metrics.push(metric(split, &h.name, Metric::Rmse, h.rmse));
            }
            let Some(m) = &h.metrics else { continue };
            for (name, value) in m.scalars() {
                r.metrics.push(metric(split, &h.name, name, value));
            }
            for c in &m.classes {
                r.classes.push(ClassRow {
                    split: split.into(),
                    head: h.name.clone(),
                    class_index: c.class as i64,
                    class: h.classes[c.class].clone(),
                    tp: c.tp as i64,
                    fp: c.fp as i64,
                    fn_: c.fn_ as i64,
                    tn: c.tn as i64,
                    support: c.support as i64,
                    precision: c.precision,
                    recall: c.recall,
                    f1: c.f1,
                });
            }
            for (t, row) in m.confusion.cells.iter().enumerate() {
                for (p, &count) in row.iter().enumerate() {
                    r.confusion.push(ConfusionRow {
                        split: split.into(),
                        head: h.name.clone(),
                        true_class: t as i64,
                        predicted_class: p as i64,
                        count: count as i64,
                    });
                }
            }
        }
    }
    let heads: Vec<String> = out
        .split(Part::Val)
        .heads
        .iter()
        .map(|h| h.name.clone())
        .collect();
    for e in &out.curves {
        let curve = |split: &str, head: &str, metric: &str, value: Option<f64>| CurveRow {
            epoch: e.epoch as i64,
            split: split.into(),
            head: head.into(),
            metric: metric.into(),
            value,
        };
        r.curves
            .push(curve("train", JOINT, "loss", Some(e.train_loss)));
        r.curves.push(curve("val", JOINT, "loss", Some(e.val_loss)));
        r.curves
            .push(curve("val", JOINT, "exact_match", e.val_exact_match));
        r.curves
            .push(curve("val", JOINT, "monitor", Some(e.monitor)));
        for (i, w) in e.task_weights.iter().enumerate() {
            if let Some(head) = heads.get(i) {
                r.curves.push(curve("train", head, "task_weight", Some(*w)));
            }
        }
        let mut pair = 0;
        for i in 0..heads.len() {
            for j in i + 1..heads.len() {
                if let Some(c) = e.grad_cosine.get(pair) {
                    let name = format!("{}|{}", heads[i], heads[j]);
                    r.curves.push(curve("val", &name, "grad_cosine", Some(*c)));
                }
                pair += 1;
            }
        }
        for (i, head) in heads.iter().enumerate() {
            r.curves
                .push(curve("val", head, "loss", Some(e.val_head_losses[i])));
            r.curves.push(curve(
                "val",
                head,
                "balanced_accuracy",
                e.val_balanced_accuracy[i],
            ));
        }
    }
    let test = out.split(Part::Test);
    for h in &test.heads {
        let k = h.classes.len();
        for (i, sample) in test.ids.iter().enumerate() {
            let probs = &h.predictions.probs[i * k..(i + 1) * k];
            let w = h.raw.len() / test.ids.len().max(1);
            let raw = &h.raw[i * w..(i + 1) * w];
            r.predictions.push(PredictionRow {
                sample: sample.clone(),
                head: h.name.clone(),
                true_class: h.predictions.truth[i].map(|t| t as i64),
                predicted_class: h.predictions.predicted(i) as i64,
                probabilities: serde_json::to_string(probs).expect("finite floats"),
                raw: serde_json::to_string(raw).expect("finite floats"),
            });
        }
    }
    r
}
