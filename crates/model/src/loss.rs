//! The training losses (docs/losses.md). Samples without a task's label are
//! masked out of that task's term.

use headsweep_spec::Loss;
use tch::{Kind, Reduction, Tensor};

/// Targets for a set of samples, on the model's device: `[n, …]` for one
/// set of rows, or `[K, n, …]` when each member of a network has its own.
pub struct Targets {
    /// Class indices, −1 where a label is missing; last dimension tasks.
    pub labels: Tensor,
    /// One-hot rows (all zero for a missing label); last dimension Σ classes.
    pub onehot: Tensor,
    /// 1 where labelled, 0 where not; last dimension tasks.
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

    /// The rows `idx` (an i64 index tensor on the same device) of `[n, …]`
    /// targets, as `[members, idx.len() / members, …]`.
    pub fn select(&self, idx: &Tensor, members: i64) -> Targets {
        let pick = |t: &Tensor| {
            let rows = t.index_select(0, idx);
            let cols = rows.size()[1];
            rows.view([members, -1, cols])
        };
        Targets {
            labels: pick(&self.labels),
            onehot: pick(&self.onehot),
            mask: pick(&self.mask),
        }
    }

    /// The first `rows` rows of `[n, …]` targets.
    pub fn narrow(&self, rows: i64) -> Targets {
        Targets {
            labels: self.labels.narrow(0, 0, rows),
            onehot: self.onehot.narrow(0, 0, rows),
            mask: self.mask.narrow(0, 0, rows),
        }
    }

    /// `[n, …]` targets seen by each of `members` members.
    pub fn expand(&self, members: i64) -> Targets {
        let e = |t: &Tensor| t.unsqueeze(0).expand([members, -1, -1], false);
        Targets {
            labels: e(&self.labels),
            onehot: e(&self.onehot),
            mask: e(&self.mask),
        }
    }

    /// Members `start..start + len` of `[K, n, …]` targets.
    fn narrow_members(&self, start: i64, len: i64) -> Targets {
        Targets {
            labels: self.labels.narrow(0, start, len),
            onehot: self.onehot.narrow(0, start, len),
            mask: self.mask.narrow(0, start, len),
        }
    }

    /// Members `idx` of `[K, n, …]` targets.
    fn members(&self, idx: &Tensor) -> Targets {
        Targets {
            labels: self.labels.index_select(0, idx),
            onehot: self.onehot.index_select(0, idx),
            mask: self.mask.index_select(0, idx),
        }
    }
}

/// Each member's loss `[K]` and each task's own term `L_t` (`[K]` per task).
pub struct Losses {
    pub total: Tensor,
    pub terms: Vec<Tensor>,
}

/// The loss to minimise for each member of `[K, n, Σ classes]` logits, all
/// trained with `loss`; a member's loss depends on its own slice only.
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
) -> Losses {
    let kind = logits.kind();
    let per_member = |x: &Tensor, dims: &[i64]| x.sum_dim_intlist(dims, false, kind);
    let mut offset = 0i64;
    let mut terms = Vec::with_capacity(classes.len());
    let mut flat: Option<(Tensor, Tensor)> = None;
    for (task, &k) in classes.iter().enumerate() {
        let z = logits.narrow(2, offset, k as i64);
        let m = t.mask.select(2, task as i64);
        let labelled = per_member(&m, &[1]);
        let term = match loss {
            Loss::Ce => {
                let y = t.labels.select(2, task as i64).clamp_min(0).unsqueeze(2);
                let nll = -z.log_softmax(2, kind).gather(2, &y, false).squeeze_dim(2);
                per_member(&(nll * &m), &[1]) / labelled.clamp_min(1.0)
            }
            Loss::Bce | Loss::BceTask => {
                let target = t.onehot.narrow(2, offset, k as i64);
                let bce = z.binary_cross_entropy_with_logits::<Tensor>(
                    &target,
                    None,
                    None,
                    Reduction::None,
                );
                let summed = per_member(&(bce * m.unsqueeze(2)), &[1, 2]);
                let count = &labelled * k as f64;
                if loss == Loss::Bce {
                    flat = Some(match flat {
                        Some((s, c)) => (s + &summed, c + &count),
                        None => (summed.shallow_clone(), count.shallow_clone()),
                    });
                }
                summed / count.clamp_min(1.0)
            }
        };
        terms.push(term);
        offset += k as i64;
    }
    let total = match (loss, flat) {
        (Loss::Bce, Some((sum, count))) => sum / count.clamp_min(1.0),
        _ => terms
            .iter()
            .zip(weights)
            .map(|(l, &w)| l * w)
            .reduce(|a, b| a + b)
            .expect("at least one task"),
    };
    Losses { total, terms }
}

/// Per member: its loss and its task terms.
pub type MemberValues = Vec<(f64, Vec<f64>)>;

/// Members grouped by loss: `(loss, member positions)`, in order of first
/// appearance.
pub fn by_loss(losses: &[Loss]) -> Vec<(Loss, Vec<usize>)> {
    let mut groups: Vec<(Loss, Vec<usize>)> = Vec::new();
    for (i, &l) in losses.iter().enumerate() {
        match groups.iter_mut().find(|(g, _)| *g == l) {
            Some((_, members)) => members.push(i),
            None => groups.push((l, vec![i])),
        }
    }
    groups
}

/// Each member with its own loss: the sum of the members' losses (what
/// one backward pass differentiates — each member's gradient is exactly
/// its own), and per member its loss and task terms as numbers.
pub fn compute_members(
    losses: &[Loss],
    logits: &Tensor,
    t: &Targets,
    classes: &[usize],
    weights: &[f64],
) -> Result<(Tensor, MemberValues), tch::TchError> {
    let groups = by_loss(losses);
    let mut sum: Option<Tensor> = None;
    let mut values = vec![(0.0, Vec::new()); losses.len()];
    for (loss, members) in groups {
        let contiguous = members.windows(2).all(|w| w[1] == w[0] + 1);
        let part = if members.len() == losses.len() {
            compute(loss, logits, t, classes, weights)
        } else if contiguous {
            let (start, len) = (members[0] as i64, members.len() as i64);
            compute(
                loss,
                &logits.narrow(0, start, len),
                &t.narrow_members(start, len),
                classes,
                weights,
            )
        } else {
            let idx = Tensor::from_slice(&members.iter().map(|&m| m as i64).collect::<Vec<_>>())
                .to_device(logits.device());
            compute(
                loss,
                &logits.index_select(0, &idx),
                &t.members(&idx),
                classes,
                weights,
            )
        };
        // Every number of the part in one transfer: row 0 the totals, then
        // one row per task.
        let rows: Vec<Tensor> = std::iter::once(&part.total)
            .chain(&part.terms)
            .map(Tensor::detach)
            .collect();
        let k = members.len();
        let all = Vec::<f64>::try_from(
            Tensor::stack(&rows, 0)
                .to_kind(Kind::Double)
                .to_device(tch::Device::Cpu)
                .flatten(0, -1),
        )?;
        let total = &all[..k];
        let terms: Vec<&[f64]> = all[k..].chunks(k).collect();
        for (j, &m) in members.iter().enumerate() {
            values[m] = (total[j], terms.iter().map(|x| x[j]).collect());
        }
        let s = part.total.sum(logits.kind());
        sum = Some(match sum {
            Some(a) => a + s,
            None => s,
        });
    }
    Ok((sum.expect("at least one member"), values))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logits() -> Tensor {
        // Two samples, tasks with 3 and 2 classes.
        Tensor::from_slice(&[1.0f64, 2.0, 0.5, -1.0, 1.0, 0.0, 0.0, 3.0, 2.0, -2.0]).view([1, 2, 5])
    }

    fn targets() -> Targets {
        // Sample 1 has no label for task 0.
        Targets::new(
            &[vec![Some(1), None], vec![Some(0), Some(0)]],
            &[3, 2],
            Kind::Double,
            tch::Device::Cpu,
        )
        .expand(1)
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
        let Losses { total, terms } =
            compute(Loss::Ce, &logits(), &targets(), &[3, 2], &[1.0, 0.5]);
        let l0 = lse(&[1.0, 2.0, 0.5]) - 2.0;
        let l1 = ((lse(&[-1.0, 1.0]) + 1.0) + (lse(&[2.0, -2.0]) - 2.0)) / 2.0;
        assert!((terms[0].double_value(&[0]) - l0).abs() < 1e-12);
        assert!((terms[1].double_value(&[0]) - l1).abs() < 1e-12);
        assert!((total.double_value(&[0]) - (l0 + 0.5 * l1)).abs() < 1e-12);
    }

    #[test]
    fn bce_flat_and_per_task_by_hand() {
        let t0 = bce(1.0, 0.0) + bce(2.0, 1.0) + bce(0.5, 0.0);
        let t1 = bce(-1.0, 1.0) + bce(1.0, 0.0) + bce(2.0, 1.0) + bce(-2.0, 0.0);
        let Losses { total, terms } =
            compute(Loss::BceTask, &logits(), &targets(), &[3, 2], &[1.0, 2.0]);
        assert!((terms[0].double_value(&[0]) - t0 / 3.0).abs() < 1e-12);
        assert!((terms[1].double_value(&[0]) - t1 / 4.0).abs() < 1e-12);
        assert!((total.double_value(&[0]) - (t0 / 3.0 + 2.0 * t1 / 4.0)).abs() < 1e-12);
        // Flat: 7 labelled (sample, output) pairs, weights play no part.
        let Losses { total: flat, .. } =
            compute(Loss::Bce, &logits(), &targets(), &[3, 2], &[1.0, 2.0]);
        assert!((flat.double_value(&[0]) - (t0 + t1) / 7.0).abs() < 1e-12);
    }

    #[test]
    fn a_task_without_labels_in_the_batch_contributes_zero() {
        let t = Targets::new(
            &[vec![None, None], vec![Some(0), Some(1)]],
            &[3, 2],
            Kind::Double,
            tch::Device::Cpu,
        )
        .expand(1);
        let Losses { terms, .. } = compute(Loss::Ce, &logits(), &t, &[3, 2], &[1.0, 1.0]);
        assert_eq!(terms[0].double_value(&[0]), 0.0);
    }
}

#[cfg(test)]
mod member_tests {
    use super::*;

    /// Two members with different losses and rows: each member's value is
    /// the one it has alone.
    #[test]
    fn members_with_different_losses_get_their_own_values() {
        let z = Tensor::from_slice(&[
            1.0f64, 2.0, 0.5, -1.0, 1.0, 0.0, 0.0, 3.0, 2.0, -2.0, 0.3, -0.2,
        ])
        .view([2, 2, 3]);
        let t = Targets::new(
            &[vec![Some(2), Some(0), Some(1), None]],
            &[3],
            Kind::Double,
            tch::Device::Cpu,
        );
        let idx = Tensor::from_slice(&[0i64, 1, 2, 3]);
        let both = t.select(&idx, 2);
        let (sum, values) =
            compute_members(&[Loss::Ce, Loss::Bce], &z, &both, &[3], &[1.0]).unwrap();
        let alone = |m: i64, loss: Loss| {
            let rows = Tensor::from_slice(&[2 * m, 2 * m + 1]);
            compute(loss, &z.narrow(0, m, 1), &t.select(&rows, 1), &[3], &[1.0])
                .total
                .double_value(&[0])
        };
        assert_eq!(values[0].0, alone(0, Loss::Ce));
        assert_eq!(values[1].0, alone(1, Loss::Bce));
        assert!((sum.double_value(&[]) - values[0].0 - values[1].0).abs() < 1e-12);
    }
}
