//! Predictions of a trained network over one split, and their metrics.

use headsweep_data::{Part, TaskLabels};
use headsweep_metrics::{
    coral_exceedance, corn_exceedance, exact_match, from_exceedance, from_value, Decoded,
    HeadMetrics, HeadPredictions,
};
use headsweep_spec::Output;
use tch::{Kind, Tensor};

use crate::batch::{padded, SplitInput};
use crate::loss::{self, LossSpec};
use crate::net::Net;
use crate::TrainError;

/// One head over one split.
#[derive(Debug, Clone)]
pub struct HeadOutput {
    pub name: String,
    pub classes: Vec<String>,
    /// Class probabilities (renormalised for a sigmoid head) and truth.
    pub predictions: HeadPredictions,
    /// Raw outputs, row-major `n × width`: logits, or threshold logits
    /// (`coral`, `corn`), or for regression the predicted value on the
    /// target's scale.
    pub raw: Vec<f64>,
    pub metrics: Option<HeadMetrics>,
    /// Regression heads: the root mean squared error of the predicted value
    /// over the split's labelled samples, in the target's units.
    pub rmse: Option<f64>,
    /// Regression heads: σ of the Gaussian around each prediction that
    /// gives the class probabilities (the validation split's RMSE).
    pub spread: Option<f64>,
}

/// Every head over one split.
#[derive(Debug, Clone)]
pub struct SplitOutput {
    pub part: Part,
    pub ids: Vec<String>,
    pub heads: Vec<HeadOutput>,
    /// Joint exact match over samples labelled in every head.
    pub exact_match: Option<f64>,
    /// The training loss evaluated on this split (no dropout).
    pub loss: f64,
    /// Each task's own loss term.
    pub head_losses: Vec<f64>,
}

/// Class probabilities and mass from one sample's logits: softmax for a
/// softmax head; for a sigmoid head the sigmoids, their sum as the mass, and
/// the sigmoids divided by that sum as probabilities.
pub fn probabilities(raw: &[f64], sigmoid: bool) -> (Vec<f64>, f64) {
    if sigmoid {
        let s: Vec<f64> = raw.iter().map(|&z| 1.0 / (1.0 + (-z).exp())).collect();
        let mass: f64 = s.iter().sum();
        (s.iter().map(|v| v / mass).collect(), mass)
    } else {
        let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = raw.iter().map(|&z| (z - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        (e.iter().map(|v| v / sum).collect(), 1.0)
    }
}

/// Per member, per task: the spread of a regression head.
pub(crate) type Spreads = Vec<Vec<Option<f64>>>;

/// The spreads the heads of `outputs` (one per member, on the validation
/// split) used.
pub(crate) fn spreads(outputs: &[SplitOutput]) -> Spreads {
    outputs
        .iter()
        .map(|o| o.heads.iter().map(|h| h.spread).collect())
        .collect()
}

/// The inner bin edges of an ordered task: its edges without the ends, or
/// halfway between class indices when it has no numbers.
fn inner_edges(task: &TaskLabels) -> Vec<f64> {
    match &task.edges {
        Some(e) => e[1..e.len() - 1].to_vec(),
        None => (1..task.classes.len()).map(|j| j as f64 - 0.5).collect(),
    }
}

pub(crate) fn tensor_to_vec(t: &Tensor) -> Result<Vec<f64>, TrainError> {
    Ok(Vec::<f64>::try_from(
        t.to_kind(Kind::Double)
            .to_device(tch::Device::Cpu)
            .flatten(0, -1),
    )?)
}

/// Full predictions and metrics of every member of `net` on a split;
/// `specs[k]` is member k's training loss. Regression heads take their
/// spread from `spreads` (computed on the validation split), or from this
/// split's own residuals without it.
pub(crate) fn evaluate(
    net: &Net,
    input: &SplitInput,
    specs: &[&LossSpec],
    tasks: &[TaskLabels],
    spreads: Option<&Spreads>,
) -> Result<Vec<SplitOutput>, TrainError> {
    let _guard = tch::no_grad_guard();
    outputs(net, &forward(net, input), input, specs, tasks, spreads)
}

/// Every member's outputs on the split's rows and their padding: what
/// [`outputs`] reads. Outside `no_grad` it keeps its graph, so that the
/// validation pass after an epoch can also give the gradient cosine.
pub(crate) fn forward(net: &Net, input: &SplitInput) -> Tensor {
    net.forward(&input.x.narrow(0, 0, padded(input.ids.len()) as i64), None)
}

/// [`evaluate`] from `logits`, the network's [`forward`] on the split.
pub(crate) fn outputs(
    net: &Net,
    logits: &Tensor,
    input: &SplitInput,
    specs: &[&LossSpec],
    tasks: &[TaskLabels],
    spreads: Option<&Spreads>,
) -> Result<Vec<SplitOutput>, TrainError> {
    let _guard = tch::no_grad_guard();
    let logits = logits.detach();
    let n = input.ids.len();
    let rows = padded(n) as i64;
    let members = logits.size()[0];
    let targets = input.targets.narrow(rows).expand(members);
    let values = loss::compute_members(specs, &logits, &targets)?.values()?;
    let all = tensor_to_vec(&logits.narrow(1, 0, n as i64))?;
    let width = net.width();
    let mut out = Vec::with_capacity(members as usize);
    for (member, (total, terms)) in values.into_iter().enumerate() {
        let all = &all[member * n * width..(member + 1) * n * width];
        let spec = &specs[member];
        let mut heads = Vec::with_capacity(tasks.len());
        let mut offset = 0;
        for (t, task) in tasks.iter().enumerate() {
            let tl = &spec.tasks[t];
            let k = tl.classes;
            let (output, w) = (tl.head().output, tl.head().width());
            let outputs = |i: usize| &all[i * width + offset..i * width + offset + w];
            let mut raw = Vec::with_capacity(n * w);
            let (mut rmse, mut spread) = (None, None);
            let decoded: Vec<Decoded> = match output {
                Output::Classes => (0..n)
                    .map(|i| {
                        raw.extend_from_slice(outputs(i));
                        let (probs, mass) = probabilities(outputs(i), spec.is_sigmoid(t));
                        Decoded {
                            probs,
                            mass,
                            predicted: 0,
                        }
                    })
                    .collect(),
                Output::SharedThresholds | Output::Thresholds => (0..n)
                    .map(|i| {
                        let z = outputs(i);
                        raw.extend_from_slice(z);
                        from_exceedance(&if output == Output::Thresholds {
                            corn_exceedance(z)
                        } else {
                            coral_exceedance(z)
                        })
                    })
                    .collect(),
                Output::Value => {
                    let (mu, sd) = tl.target.expect("regression losses are standardised");
                    raw.extend((0..n).map(|i| mu + sd * outputs(i)[0]));
                    let residuals: Vec<f64> = (0..n)
                        .filter_map(|i| input.values[t][i].map(|v| raw[i] - v))
                        .collect();
                    rmse = (!residuals.is_empty()).then(|| {
                        (residuals.iter().map(|r| r * r).sum::<f64>() / residuals.len() as f64)
                            .sqrt()
                    });
                    // Without residuals anywhere, the target's own spread.
                    let s = spreads
                        .and_then(|s| s[member][t])
                        .or(rmse)
                        .unwrap_or(sd)
                        .max(sd * 1e-9);
                    spread = Some(s);
                    let inner = inner_edges(task);
                    raw.iter().map(|&v| from_value(v, s, &inner)).collect()
                }
            };
            let predictions = HeadPredictions {
                n_classes: k,
                truth: input.labels[t].clone(),
                probs: decoded
                    .iter()
                    .flat_map(|d| d.probs.iter().copied())
                    .collect(),
                mass: decoded.iter().map(|d| d.mass).collect(),
                ordered: task.ordered,
                decoded: (output != Output::Classes)
                    .then(|| decoded.iter().map(|d| d.predicted).collect()),
            };
            let metrics = predictions.metrics()?;
            heads.push(HeadOutput {
                name: task.name.clone(),
                classes: task.classes.clone(),
                predictions,
                raw,
                metrics,
                rmse,
                spread,
            });
            offset += w;
        }
        let refs: Vec<&HeadPredictions> = heads.iter().map(|h| &h.predictions).collect();
        out.push(SplitOutput {
            part: input.part,
            ids: input.ids.clone(),
            exact_match: exact_match(&refs),
            heads,
            loss: total,
            head_losses: terms,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_and_renormalised_sigmoid() {
        let (p, m) = probabilities(&[0.0, (2.0f64).ln()], false);
        assert!((p[0] - 1.0 / 3.0).abs() < 1e-15 && (p[1] - 2.0 / 3.0).abs() < 1e-15 && m == 1.0);
        // sigmoid(0) = ½, sigmoid(ln 3) = ¾: mass 1.25, probabilities 0.4, 0.6.
        let (p, m) = probabilities(&[0.0, (3.0f64).ln()], true);
        assert!((m - 1.25).abs() < 1e-15);
        assert!((p[0] - 0.4).abs() < 1e-15 && (p[1] - 0.6).abs() < 1e-15);
    }
}
