//! The training losses (docs/losses.md). Samples without a task's label are
//! masked out of that task's term.

use headsweep_spec::Loss;
use tch::{Kind, Reduction, Tensor};

/// Targets for a set of samples, on the model's device.
pub struct Targets {
    /// `[n, tasks]` class indices, −1 where a label is missing.
    pub labels: Tensor,
    /// `[n, Σ classes]` one-hot rows (all zero for a missing label).
    pub onehot: Tensor,
    /// `[n, tasks]` 1 where labelled, 0 where not.
    pub mask: Tensor,
}

impl Targets {
    pub fn new(
        labels: &[Vec<Option<usize>>],
        classes: &[usize],
        kind: Kind,
        device: tch::Device,
    ) -> Targets {
        let n = labels.first().map_or(0, Vec::len);
        let tasks = labels.len();
        let total: usize = classes.iter().sum();
        let mut idx = vec![-1i64; n * tasks];
        let mut onehot = vec![0f64; n * total];
        let mut mask = vec![0f64; n * tasks];
        for (t, task) in labels.iter().enumerate() {
            let offset: usize = classes[..t].iter().sum();
            for (i, l) in task.iter().enumerate() {
                if let Some(c) = l {
                    idx[i * tasks + t] = *c as i64;
                    onehot[i * total + offset + c] = 1.0;
                    mask[i * tasks + t] = 1.0;
                }
            }
        }
        let shape = |cols: usize| [n as i64, cols as i64];
        Targets {
            labels: Tensor::from_slice(&idx)
                .view(shape(tasks))
                .to_device(device),
            onehot: crate::init::tensor(&onehot, &shape(total), kind, device),
            mask: crate::init::tensor(&mask, &shape(tasks), kind, device),
        }
    }

    /// The rows `idx` (an i64 index tensor on the same device).
    pub fn select(&self, idx: &Tensor) -> Targets {
        Targets {
            labels: self.labels.index_select(0, idx),
            onehot: self.onehot.index_select(0, idx),
            mask: self.mask.index_select(0, idx),
        }
    }
}

/// The loss to minimise, and each task's own term `L_t`.
///
/// - `ce`: `L_t` = mean over labelled samples of −log softmax(z_t)[y]; total
///   Σ_t w_t·L_t.
/// - `bce_task`: `L_t` = mean over labelled samples and the task's K_t
///   outputs of BCE(sigmoid(z), one-hot); total Σ_t w_t·L_t.
/// - `bce`: total = mean over every (labelled sample, output) pair of every
///   task — one flat sigmoid layer's BCE; `L_t` as for `bce_task`.
pub fn compute(
    loss: Loss,
    logits: &Tensor,
    t: &Targets,
    classes: &[usize],
    weights: &[f64],
) -> (Tensor, Vec<Tensor>) {
    let mut offset = 0i64;
    let mut terms = Vec::with_capacity(classes.len());
    let mut flat_sum: Option<Tensor> = None;
    let mut flat_count: Option<Tensor> = None;
    for (task, &k) in classes.iter().enumerate() {
        let z = logits.narrow(1, offset, k as i64);
        let m = t.mask.select(1, task as i64);
        let labelled = m.sum(m.kind());
        let term = match loss {
            Loss::Ce => {
                let y = t.labels.select(1, task as i64).clamp_min(0).unsqueeze(1);
                let nll = -z
                    .log_softmax(1, z.kind())
                    .gather(1, &y, false)
                    .squeeze_dim(1);
                (nll * &m).sum(z.kind()) / labelled.clamp_min(1.0)
            }
            Loss::Bce | Loss::BceTask => {
                let target = t.onehot.narrow(1, offset, k as i64);
                let bce = z.binary_cross_entropy_with_logits::<Tensor>(
                    &target,
                    None,
                    None,
                    Reduction::None,
                );
                let summed = (bce * m.unsqueeze(1)).sum(z.kind());
                if loss == Loss::Bce {
                    let count = &labelled * k as f64;
                    flat_sum = Some(match flat_sum {
                        Some(s) => s + &summed,
                        None => summed.shallow_clone(),
                    });
                    flat_count = Some(match flat_count {
                        Some(c) => c + &count,
                        None => count.shallow_clone(),
                    });
                }
                summed / (labelled * k as f64).clamp_min(1.0)
            }
        };
        terms.push(term);
        offset += k as i64;
    }
    let total = match loss {
        Loss::Bce => flat_sum.expect("a task") / flat_count.expect("a task").clamp_min(1.0),
        _ => terms
            .iter()
            .zip(weights)
            .map(|(l, &w)| l * w)
            .reduce(|a, b| a + b)
            .expect("at least one task"),
    };
    (total, terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logits() -> Tensor {
        // Two samples, tasks with 3 and 2 classes.
        Tensor::from_slice(&[1.0f64, 2.0, 0.5, -1.0, 1.0, 0.0, 0.0, 3.0, 2.0, -2.0]).view([2, 5])
    }

    fn targets() -> Targets {
        // Sample 1 has no label for task 0.
        Targets::new(
            &[vec![Some(1), None], vec![Some(0), Some(0)]],
            &[3, 2],
            Kind::Double,
            tch::Device::Cpu,
        )
    }

    fn lse(v: &[f64]) -> f64 {
        v.iter().map(|x| x.exp()).sum::<f64>().ln()
    }

    fn bce(z: f64, y: f64) -> f64 {
        let p = 1.0 / (1.0 + (-z).exp());
        -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
    }

    #[test]
    fn ce_by_hand() {
        let (total, terms) = compute(Loss::Ce, &logits(), &targets(), &[3, 2], &[1.0, 0.5]);
        let l0 = lse(&[1.0, 2.0, 0.5]) - 2.0;
        let l1 = ((lse(&[-1.0, 1.0]) + 1.0) + (lse(&[2.0, -2.0]) - 2.0)) / 2.0;
        assert!((terms[0].double_value(&[]) - l0).abs() < 1e-12);
        assert!((terms[1].double_value(&[]) - l1).abs() < 1e-12);
        assert!((total.double_value(&[]) - (l0 + 0.5 * l1)).abs() < 1e-12);
    }

    #[test]
    fn bce_flat_and_per_task_by_hand() {
        let t0 = bce(1.0, 0.0) + bce(2.0, 1.0) + bce(0.5, 0.0);
        let t1 = bce(-1.0, 1.0) + bce(1.0, 0.0) + bce(2.0, 1.0) + bce(-2.0, 0.0);
        let (total, terms) = compute(Loss::BceTask, &logits(), &targets(), &[3, 2], &[1.0, 2.0]);
        assert!((terms[0].double_value(&[]) - t0 / 3.0).abs() < 1e-12);
        assert!((terms[1].double_value(&[]) - t1 / 4.0).abs() < 1e-12);
        assert!((total.double_value(&[]) - (t0 / 3.0 + 2.0 * t1 / 4.0)).abs() < 1e-12);
        // Flat: 7 labelled (sample, output) pairs, weights play no part.
        let (flat, _) = compute(Loss::Bce, &logits(), &targets(), &[3, 2], &[1.0, 2.0]);
        assert!((flat.double_value(&[]) - (t0 + t1) / 7.0).abs() < 1e-12);
    }

    #[test]
    fn a_task_without_labels_in_the_batch_contributes_zero() {
        let t = Targets::new(
            &[vec![None, None], vec![Some(0), Some(1)]],
            &[3, 2],
            Kind::Double,
            tch::Device::Cpu,
        );
        let (_, terms) = compute(Loss::Ce, &logits(), &t, &[3, 2], &[1.0, 1.0]);
        assert_eq!(terms[0].double_value(&[]), 0.0);
    }
}
