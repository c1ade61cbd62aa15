//! Predictions of a trained network over one split, and their metrics.

use headsweep_data::Part;
use headsweep_metrics::{exact_match, HeadMetrics, HeadPredictions};
use tch::{Kind, Tensor};

use crate::loss::{self, LossSpec, Targets};
use crate::net::Net;
use crate::TrainError;

/// One head over one split.
#[derive(Debug, Clone)]
pub struct HeadOutput {
    pub name: String,
    pub classes: Vec<String>,
    /// Class probabilities (renormalised for a sigmoid head) and truth.
    pub predictions: HeadPredictions,
    /// Raw outputs (logits), row-major `n × classes`.
    pub raw: Vec<f64>,
    pub metrics: Option<HeadMetrics>,
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

pub(crate) struct SplitInput {
    pub part: Part,
    pub ids: Vec<String>,
    /// The split's rows, then zero rows without labels (padding).
    pub x: Tensor,
    pub targets: Targets,
    /// Per task, each sample's label.
    pub labels: Vec<Vec<Option<usize>>>,
}

pub(crate) fn tensor_to_vec(t: &Tensor) -> Result<Vec<f64>, TrainError> {
    Ok(Vec::<f64>::try_from(
        t.to_kind(Kind::Double)
            .to_device(tch::Device::Cpu)
            .flatten(0, -1),
    )?)
}

/// Full predictions and metrics of every member of `net` on a split;
/// `specs[k]` is member k's training loss.
pub(crate) fn evaluate(
    net: &Net,
    input: &SplitInput,
    specs: &[&LossSpec],
    names: &[(String, Vec<String>, bool)],
) -> Result<Vec<SplitOutput>, TrainError> {
    let _guard = tch::no_grad_guard();
    let n = input.ids.len();
    let rows = crate::train::padded(n) as i64;
    let logits = net.forward(&input.x.narrow(0, 0, rows), None);
    let members = logits.size()[0];
    let targets = input.targets.narrow(rows).expand(members);
    let values = loss::compute_members(specs, &logits, &targets, &net.classes)?.values;
    let all = tensor_to_vec(&logits.narrow(1, 0, n as i64))?;
    let width: usize = net.classes.iter().sum();
    let mut out = Vec::with_capacity(members as usize);
    for (member, (total, terms)) in values.into_iter().enumerate() {
        let all = &all[member * n * width..(member + 1) * n * width];
        let spec = &specs[member];
        let mut heads = Vec::with_capacity(net.classes.len());
        let mut offset = 0;
        for (t, &k) in net.classes.iter().enumerate() {
            let mut raw = Vec::with_capacity(n * k);
            let mut probs = Vec::with_capacity(n * k);
            let mut mass = Vec::with_capacity(n);
            for i in 0..n {
                let z = &all[i * width + offset..i * width + offset + k];
                let (p, m) = probabilities(z, spec.is_sigmoid(t));
                raw.extend_from_slice(z);
                probs.extend(p);
                mass.push(m);
            }
            let predictions = HeadPredictions {
                n_classes: k,
                truth: input.labels[t].clone(),
                probs,
                mass,
                ordered: names[t].2,
            };
            let metrics = predictions.metrics()?;
            heads.push(HeadOutput {
                name: names[t].0.clone(),
                classes: names[t].1.clone(),
                predictions,
                raw,
                metrics,
            });
            offset += k;
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
