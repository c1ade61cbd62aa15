//! The training losses (docs/losses.md). Samples without a task's label are
//! masked out of that task's term.

use headsweep_data::{Dataset, Part};
use headsweep_spec::{ClassWeighting, ClassWeights, Loss, Output, RunConfig};

use crate::net::Head;
use crate::LossError;
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
    /// What regression fits (the value before binning, else the class
    /// index; 0 where unlabelled); last dimension tasks.
    pub values: Tensor,
}

impl Targets {
    /// `labels[t][i]` and `values[t][i]`: task t's class and regression
    /// target of sample i.
    pub fn new(
        labels: &[Vec<Option<usize>>],
        values: &[Vec<Option<f64>>],
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
        let mut value = vec![0f64; n * tasks];
        for (t, task) in labels.iter().enumerate() {
            let offset: usize = classes[..t].iter().sum();
            for (i, l) in task.iter().enumerate() {
                if let Some(c) = l {
                    idx[i * tasks + t] = *c as i64;
                    onehot[i * total + offset + c] = 1.0;
                    mask[i * tasks + t] = 1.0;
                    value[i * tasks + t] = values[t][i].unwrap_or(*c as f64);
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
            values: crate::init::tensor(&value, &shape(tasks), kind, device),
        }
    }

    fn map(&self, f: impl Fn(&Tensor) -> Tensor) -> Targets {
        Targets {
            labels: f(&self.labels),
            onehot: f(&self.onehot),
            mask: f(&self.mask),
            values: f(&self.values),
        }
    }

    /// The rows `idx` (an i64 index tensor on the same device) of `[n, …]`
    /// targets, as `[members, idx.len() / members, …]`.
    pub fn select(&self, idx: &Tensor, members: i64) -> Targets {
        self.map(|t| {
            let rows = t.index_select(0, idx);
            let cols = rows.size()[1];
            rows.view([members, -1, cols])
        })
    }

    /// The first `rows` rows of `[n, …]` targets.
    pub fn narrow(&self, rows: i64) -> Targets {
        self.map(|t| t.narrow(0, 0, rows))
    }

    /// `[n, …]` targets seen by each of `members` members.
    pub fn expand(&self, members: i64) -> Targets {
        self.map(|t| t.unsqueeze(0).expand([members, -1, -1], false))
    }

    /// Members `start..start + len` of `[K, n, …]` targets.
    fn narrow_members(&self, start: i64, len: i64) -> Targets {
        self.map(|t| t.narrow(0, start, len))
    }

    /// Members `idx` of `[K, n, …]` targets.
    fn members(&self, idx: &Tensor) -> Targets {
        self.map(|t| t.index_select(0, idx))
    }
}

/// Each member's loss `[K]` and each task's own term `L_t` (`[K]` per task).
pub struct Losses {
    pub total: Tensor,
    pub terms: Vec<Tensor>,
}

/// One task's part of a loss, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskLoss {
    /// The task's loss (`bce_task` when the whole loss is the flat `bce`).
    pub kind: Loss,
    pub classes: usize,
    /// Weight of each class's samples; `None`: every sample weighs 1.
    pub class_weights: Option<Vec<f64>>,
    /// Regression losses: the mean and standard deviation of the target on
    /// the training split, which standardise it.
    pub target: Option<(f64, f64)>,
}

impl TaskLoss {
    /// The task's output layer.
    pub fn head(&self) -> Head {
        Head {
            output: self.kind.output(),
            classes: self.classes,
        }
    }
}

/// A member's loss, resolved from its configuration and the training split
/// (docs/losses.md).
#[derive(Debug, Clone, PartialEq)]
pub struct LossSpec {
    /// `bce`: one flat mean over every output of every task.
    pub flat: bool,
    pub tasks: Vec<TaskLoss>,
    /// The tasks' fixed weights w_t.
    pub weights: Vec<f64>,
    pub label_smoothing: f64,
    pub focal_gamma: f64,
    /// Huber's δ in standard deviations of the target.
    pub huber_delta: f64,
}

impl LossSpec {
    /// Every task's output layer, in task order.
    pub fn heads(&self) -> Vec<Head> {
        self.tasks.iter().map(TaskLoss::head).collect()
    }

    /// Whether task `t`'s outputs go through a sigmoid (else a softmax).
    pub fn is_sigmoid(&self, t: usize) -> bool {
        self.flat || self.tasks[t].kind.is_sigmoid()
    }
}

/// The loss of `config` on `data`: each task's loss kind and class
/// weights, balanced weights counted on the training split.
pub fn loss_spec(config: &RunConfig, data: &Dataset) -> Result<LossSpec, LossError> {
    let tc = &config.train;
    let flat = tc.loss == Loss::Bce;
    let train = data.indices(Part::Train);
    let tasks = data
        .tasks
        .iter()
        .map(|task| {
            let own = config.tasks.iter().find(|t| t.name == task.name);
            let kind = match own {
                Some(t) => tc.task_loss(t),
                None if flat => Loss::BceTask,
                None => tc.loss,
            };
            if kind.is_ordinal() && !task.ordered {
                return Err(LossError::Unordered {
                    task: task.name.clone(),
                    loss: kind.name().to_string(),
                });
            }
            let setting = own
                .and_then(|t| t.class_weights.clone())
                .unwrap_or(ClassWeights::Named(tc.class_weights));
            let k = task.classes.len();
            let class_weights = match setting {
                ClassWeights::Named(ClassWeighting::None) => None,
                ClassWeights::Named(ClassWeighting::Balanced) => {
                    let mut counts = vec![0usize; k];
                    for &i in &train {
                        if let Some(c) = task.labels[i] {
                            counts[c] += 1;
                        }
                    }
                    let n: usize = counts.iter().sum();
                    Some(
                        counts
                            .iter()
                            .map(|&c| {
                                if c > 0 {
                                    n as f64 / (k * c) as f64
                                } else {
                                    0.0
                                }
                            })
                            .collect(),
                    )
                }
                ClassWeights::List(w) => {
                    if w.len() != k {
                        return Err(LossError::ClassWeights {
                            task: task.name.clone(),
                            given: w.len(),
                            classes: k,
                            names: task.classes.clone(),
                        });
                    }
                    Some(w)
                }
            };
            let target = (kind.output() == Output::Value).then(|| {
                standardisation(
                    &train
                        .iter()
                        .filter_map(|&i| task.target(i))
                        .collect::<Vec<_>>(),
                )
            });
            Ok(TaskLoss {
                kind,
                classes: k,
                class_weights,
                target,
            })
        })
        .collect::<Result<Vec<_>, LossError>>()?;
    Ok(LossSpec {
        flat,
        tasks,
        weights: data.tasks.iter().map(|t| t.weight).collect(),
        label_smoothing: tc.label_smoothing,
        focal_gamma: tc.focal_gamma,
        huber_delta: tc.huber_delta,
    })
}

/// Mean and standard deviation (over n, not n − 1) of `v`; a deviation of
/// 0 (one distinct value, or none) is taken as 1 so that the targets stay
/// finite.
fn standardisation(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    (mean, if sd > 0.0 { sd } else { 1.0 })
}

/// The loss to minimise for each member of `[K, n, Σ widths]` outputs, all
/// with the loss `spec`; a member's loss depends on its own slice only.
/// Every mean is over labelled samples, each weighing its class's weight
/// c_y (1 without class weights):
///
/// - `ce`: `L_t` = Σ_i c_yi·ℓ_i / Σ_i c_yi with ℓ_i = −Σ_c q_c·log softmax(z)_c,
///   q = (1 − ε)·onehot(y) + ε/K (ε = label smoothing; ε = 0 gives
///   −log softmax(z)_y).
/// - `focal`: the same mean of ℓ_i = −(1 − p_y)^γ·log p_y, p = softmax(z).
/// - `bce_task`: the same mean over samples of the mean over the task's K
///   outputs of BCE(sigmoid(z), onehot(y)).
/// - `coral`: the same mean of ℓ_i = Σ_k BCE(sigmoid(z_k), 1[y_i > k]) over
///   the K − 1 thresholds (summed, as Cao et al. and coral-pytorch do).
/// - `corn`: Σ over (sample, threshold k) pairs with y_i ≥ k of
///   c_yi·BCE(sigmoid(z_k), 1[y_i > k]), divided by Σ of c_yi over the same
///   pairs: threshold k learns P(y > k | y ≥ k) from the samples that
///   reached it.
/// - `mse`: the same mean of (z − u_i)², u_i = (v_i − μ)/σ the target
///   standardised with the training split's mean and deviation.
/// - `huber`: the same mean of ½d² where |d| ≤ δ, δ·(|d| − ½δ) elsewhere,
///   d = z − u_i.
/// - total Σ_t w_t·L_t, except `bce`: one mean over every (labelled sample,
///   output) pair of every task, each weighing its sample's class weight.
pub fn compute(spec: &LossSpec, logits: &Tensor, t: &Targets) -> Losses {
    let kind = logits.kind();
    let device = logits.device();
    let per_member = |x: &Tensor, dims: &[i64]| x.sum_dim_intlist(dims, false, kind);
    let mut offset = 0i64;
    let mut onehot_offset = 0i64;
    let mut terms = Vec::with_capacity(spec.tasks.len());
    let mut flat: Option<(Tensor, Tensor)> = None;
    for (task, tl) in spec.tasks.iter().enumerate() {
        let k = tl.classes;
        let width = tl.head().width() as i64;
        let z = logits.narrow(2, offset, width);
        let mask = t.mask.select(2, task as i64);
        let y = t.labels.select(2, task as i64).clamp_min(0);
        // Each labelled sample weighs its class's weight. (Not in place:
        // the mask is a view of the targets every member and task share.)
        let m = match &tl.class_weights {
            Some(w) => {
                let w = crate::init::tensor(w, &[k as i64], kind, device);
                mask * w.index_select(0, &y.flatten(0, -1)).view_as(&y)
            }
            None => mask,
        };
        let labelled = per_member(&m, &[1]);
        let mean =
            |per_sample: Tensor| per_member(&(per_sample * &m), &[1]) / labelled.clamp_min(1e-12);
        // 1[y > k] and 1[y ≥ k] for the thresholds k = 0 … K − 2.
        let thresholds = || {
            let k = Tensor::arange(width, (Kind::Int64, device));
            let y = y.unsqueeze(2);
            (y.gt_tensor(&k).to_kind(kind), y.ge_tensor(&k).to_kind(kind))
        };
        let bce = |target: &Tensor| {
            z.binary_cross_entropy_with_logits::<Tensor>(target, None, None, Reduction::None)
        };
        let term = match if spec.flat { Loss::Bce } else { tl.kind } {
            Loss::Ce if spec.label_smoothing > 0.0 => {
                let eps = spec.label_smoothing;
                let logp = z.log_softmax(2, kind);
                let true_class = logp.gather(2, &y.unsqueeze(2), false).squeeze_dim(2);
                let uniform = logp.mean_dim(&[2i64][..], false, kind);
                mean(-(true_class * (1.0 - eps) + uniform * eps))
            }
            Loss::Ce => mean(
                -z.log_softmax(2, kind)
                    .gather(2, &y.unsqueeze(2), false)
                    .squeeze_dim(2),
            ),
            Loss::Focal => {
                let logp = z
                    .log_softmax(2, kind)
                    .gather(2, &y.unsqueeze(2), false)
                    .squeeze_dim(2);
                let focus = (-logp.exp() + 1.0)
                    .clamp_min(0.0)
                    .pow_tensor_scalar(spec.focal_gamma);
                mean(-(focus * logp))
            }
            Loss::Coral => {
                let (above, _) = thresholds();
                mean(bce(&above).sum_dim_intlist(&[2i64][..], false, kind))
            }
            Loss::Corn => {
                let (above, reached) = thresholds();
                let pairs = reached * m.unsqueeze(2);
                per_member(&(bce(&above) * &pairs), &[1, 2])
                    / per_member(&pairs, &[1, 2]).clamp_min(1e-12)
            }
            Loss::Mse | Loss::Huber => {
                let (mu, sd) = tl.target.expect("regression losses are standardised");
                let u = (t.values.select(2, task as i64) - mu) / sd;
                let d = z.squeeze_dim(2) - u;
                if tl.kind == Loss::Mse {
                    mean(d.square())
                } else {
                    let delta = spec.huber_delta;
                    let a = d.abs();
                    let q = a.clamp_max(delta);
                    mean(q.square() * 0.5 + (a - q) * delta)
                }
            }
            Loss::Bce | Loss::BceTask => {
                let target = t.onehot.narrow(2, onehot_offset, k as i64);
                let summed = per_member(&(bce(&target) * m.unsqueeze(2)), &[1, 2]);
                let count = &labelled * k as f64;
                if spec.flat {
                    flat = Some(match flat {
                        Some((s, c)) => (s + &summed, c + &count),
                        None => (summed.shallow_clone(), count.shallow_clone()),
                    });
                }
                summed / count.clamp_min(1e-12)
            }
        };
        terms.push(term);
        offset += width;
        onehot_offset += k as i64;
    }
    let total = match flat {
        Some((sum, count)) => sum / count.clamp_min(1e-12),
        None => terms
            .iter()
            .zip(&spec.weights)
            .map(|(l, &w)| l * w)
            .reduce(|a, b| a + b)
            .expect("at least one task"),
    };
    Losses { total, terms }
}

/// Members grouped by loss: `(spec, member positions)`, in order of first
/// appearance.
pub fn by_loss<'a>(specs: &[&'a LossSpec]) -> Vec<(&'a LossSpec, Vec<usize>)> {
    let mut groups: Vec<(&LossSpec, Vec<usize>)> = Vec::new();
    for (i, &l) in specs.iter().enumerate() {
        match groups.iter_mut().find(|(g, _)| *g == l) {
            Some((_, members)) => members.push(i),
            None => groups.push((l, vec![i])),
        }
    }
    groups
}

/// Per member: its loss and its task terms.
pub type MemberValues = Vec<(f64, Vec<f64>)>;

/// Every member's loss at once, each with its own spec.
pub struct MemberLosses {
    /// Σ over members of their losses (what one backward pass
    /// differentiates — each member's gradient is exactly its own).
    pub sum: Tensor,
    /// Per task, `[K]` in member order (in the autograd graph).
    pub terms: Vec<Tensor>,
    /// `[1 + tasks, K]` in f64, detached, on the logits' device: row 0 each
    /// member's loss, then one row per task. Left there, so that a step
    /// need not wait for the device; [`MemberLosses::values`] reads it.
    pub table: Tensor,
}

impl MemberLosses {
    /// Per member its loss and task terms as numbers (waits for the device).
    pub fn values(&self) -> Result<MemberValues, tch::TchError> {
        let k = self.table.size()[1] as usize;
        let all = Vec::<f64>::try_from(self.table.to_device(tch::Device::Cpu).flatten(0, -1))?;
        Ok(member_values(&all, k))
    }
}

/// [`MemberLosses::table`] read back as `[1 + tasks, k]` numbers, per member.
pub fn member_values(table: &[f64], k: usize) -> MemberValues {
    let (total, terms) = table.split_at(k);
    let terms: Vec<&[f64]> = terms.chunks(k).collect();
    (0..k)
        .map(|j| (total[j], terms.iter().map(|x| x[j]).collect()))
        .collect()
}

/// Each member with its own loss spec.
pub fn compute_members(
    specs: &[&LossSpec],
    logits: &Tensor,
    t: &Targets,
) -> Result<MemberLosses, tch::TchError> {
    let groups = by_loss(specs);
    let mut sum: Option<Tensor> = None;
    let mut tables = Vec::new();
    let mut parts: Vec<(Vec<usize>, Vec<Tensor>)> = Vec::new();
    for (spec, members) in groups {
        let contiguous = members.windows(2).all(|w| w[1] == w[0] + 1);
        let part = if members.len() == specs.len() {
            compute(spec, logits, t)
        } else if contiguous {
            let (start, len) = (members[0] as i64, members.len() as i64);
            compute(
                spec,
                &logits.narrow(0, start, len),
                &t.narrow_members(start, len),
            )
        } else {
            let idx = Tensor::from_slice(&members.iter().map(|&m| m as i64).collect::<Vec<_>>())
                .to_device(logits.device());
            compute(spec, &logits.index_select(0, &idx), &t.members(&idx))
        };
        // Every number of the part: row 0 the totals, then one row per task.
        let rows: Vec<Tensor> = std::iter::once(&part.total)
            .chain(&part.terms)
            .map(Tensor::detach)
            .collect();
        tables.push(Tensor::stack(&rows, 0).to_kind(Kind::Double));
        let s = part.total.sum(logits.kind());
        sum = Some(match sum {
            Some(a) => a + s,
            None => s,
        });
        parts.push((members, part.terms));
    }
    // Task terms in member order: the parts' members concatenated, put back
    // in order where they are not already.
    let order: Vec<usize> = parts.iter().flat_map(|(m, _)| m.iter().copied()).collect();
    let tasks = specs[0].tasks.len();
    let joined = |pieces: Vec<&Tensor>, dim: i64| {
        if pieces.len() == 1 {
            pieces[0].shallow_clone()
        } else {
            Tensor::cat(&pieces, dim)
        }
    };
    let mut terms: Vec<Tensor> = (0..tasks)
        .map(|task| joined(parts.iter().map(|(_, t)| &t[task]).collect(), 0))
        .collect();
    let mut table = joined(tables.iter().collect(), 1);
    if order.iter().enumerate().any(|(i, &m)| i != m) {
        let mut inverse = vec![0i64; order.len()];
        for (pos, &m) in order.iter().enumerate() {
            inverse[m] = pos as i64;
        }
        let idx = Tensor::from_slice(&inverse).to_device(logits.device());
        terms = terms.iter().map(|t| t.index_select(0, &idx)).collect();
        table = table.index_select(1, &idx);
    }
    Ok(MemberLosses {
        sum: sum.expect("at least one member"),
        terms,
        table,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spec of `kind` for every task, with task weights; the tasks have
    /// 3 and 2 classes (the first `weights.len()` of them).
    pub(crate) fn spec(kind: Loss, weights: &[f64]) -> LossSpec {
        LossSpec {
            flat: kind == Loss::Bce,
            tasks: weights
                .iter()
                .zip([3, 2])
                .map(|(_, classes)| TaskLoss {
                    kind: if kind == Loss::Bce {
                        Loss::BceTask
                    } else {
                        kind
                    },
                    classes,
                    class_weights: None,
                    target: None,
                })
                .collect(),
            weights: weights.to_vec(),
            label_smoothing: 0.0,
            focal_gamma: 2.0,
            huber_delta: 1.0,
        }
    }

    /// Targets without values before binning.
    fn labels_only(labels: &[Vec<Option<usize>>], classes: &[usize]) -> Targets {
        let none: Vec<Vec<Option<f64>>> = labels.iter().map(|l| vec![None; l.len()]).collect();
        Targets::new(labels, &none, classes, Kind::Double, tch::Device::Cpu)
    }

    fn logits() -> Tensor {
        // Two samples, tasks with 3 and 2 classes.
        Tensor::from_slice(&[1.0f64, 2.0, 0.5, -1.0, 1.0, 0.0, 0.0, 3.0, 2.0, -2.0]).view([1, 2, 5])
    }

    fn targets() -> Targets {
        // Sample 1 has no label for task 0.
        labels_only(&[vec![Some(1), None], vec![Some(0), Some(0)]], &[3, 2]).expand(1)
    }

    fn lse(v: &[f64]) -> f64 {
        v.iter().map(|x| x.exp()).sum::<f64>().ln()
    }

    fn bce(z: f64, y: f64) -> f64 {
        let p = 1.0 / (1.0 + (-z).exp());
        -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
    }

    fn value(t: &Tensor) -> f64 {
        t.double_value(&[0])
    }

    #[test]
    fn ce_by_hand() {
        let Losses { total, terms } = compute(&spec(Loss::Ce, &[1.0, 0.5]), &logits(), &targets());
        let l0 = lse(&[1.0, 2.0, 0.5]) - 2.0;
        let l1 = ((lse(&[-1.0, 1.0]) + 1.0) + (lse(&[2.0, -2.0]) - 2.0)) / 2.0;
        assert!((value(&terms[0]) - l0).abs() < 1e-12);
        assert!((value(&terms[1]) - l1).abs() < 1e-12);
        assert!((value(&total) - (l0 + 0.5 * l1)).abs() < 1e-12);
    }

    #[test]
    fn bce_flat_and_per_task_by_hand() {
        let t0 = bce(1.0, 0.0) + bce(2.0, 1.0) + bce(0.5, 0.0);
        let t1 = bce(-1.0, 1.0) + bce(1.0, 0.0) + bce(2.0, 1.0) + bce(-2.0, 0.0);
        let Losses { total, terms } =
            compute(&spec(Loss::BceTask, &[1.0, 2.0]), &logits(), &targets());
        assert!((value(&terms[0]) - t0 / 3.0).abs() < 1e-12);
        assert!((value(&terms[1]) - t1 / 4.0).abs() < 1e-12);
        assert!((value(&total) - (t0 / 3.0 + 2.0 * t1 / 4.0)).abs() < 1e-12);
        // Flat: 7 labelled (sample, output) pairs, weights play no part.
        let flat = compute(&spec(Loss::Bce, &[1.0, 2.0]), &logits(), &targets()).total;
        assert!((value(&flat) - (t0 + t1) / 7.0).abs() < 1e-12);
    }

    /// Label smoothing ε: −[(1 − ε)·log p_y + ε·mean_c log p_c].
    #[test]
    fn label_smoothing_by_hand() {
        let mut s = spec(Loss::Ce, &[1.0, 1.0]);
        s.label_smoothing = 0.1;
        let terms = compute(&s, &logits(), &targets()).terms;
        let z = [1.0, 2.0, 0.5];
        let logp: Vec<f64> = z.iter().map(|v| v - lse(&z)).collect();
        let want = -(0.9 * logp[1] + 0.1 * logp.iter().sum::<f64>() / 3.0);
        assert!((value(&terms[0]) - want).abs() < 1e-12);
    }

    /// Focal: −(1 − p_y)^γ·log p_y, γ = 2; γ = 0 is cross-entropy.
    #[test]
    fn focal_by_hand() {
        let mut s = spec(Loss::Focal, &[1.0, 1.0]);
        let terms = compute(&s, &logits(), &targets()).terms;
        let p = |z: &[f64], y: usize| (z[y] - lse(z)).exp();
        let f = |p: f64| -(1.0 - p).powi(2) * p.ln();
        assert!((value(&terms[0]) - f(p(&[1.0, 2.0, 0.5], 1))).abs() < 1e-12);
        let want1 = (f(p(&[-1.0, 1.0], 0)) + f(p(&[2.0, -2.0], 0))) / 2.0;
        assert!((value(&terms[1]) - want1).abs() < 1e-12);
        s.focal_gamma = 0.0;
        let focal0 = compute(&s, &logits(), &targets()).terms;
        let ce = compute(&spec(Loss::Ce, &[1.0, 1.0]), &logits(), &targets()).terms;
        assert!((value(&focal0[1]) - value(&ce[1])).abs() < 1e-12);
    }

    /// Class weights: a weighted mean, Σ c_y·ℓ / Σ c_y.
    #[test]
    fn class_weights_by_hand() {
        // Task 1 labels: both samples class 0 → weights cancel; use a
        // target set with both classes.
        let t = labels_only(&[vec![Some(1), Some(2)], vec![Some(0), Some(1)]], &[3, 2]).expand(1);
        let mut s = spec(Loss::Ce, &[1.0, 1.0]);
        s.tasks[1].class_weights = Some(vec![1.0, 3.0]);
        let terms = compute(&s, &logits(), &t).terms;
        let l_a = lse(&[-1.0, 1.0]) + 1.0; // sample 0, class 0
        let l_b = lse(&[2.0, -2.0]) + 2.0; // sample 1, class 1
        assert!((value(&terms[1]) - (l_a + 3.0 * l_b) / 4.0).abs() < 1e-12);
        s.tasks[1].kind = Loss::BceTask;
        let terms = compute(&s, &logits(), &t).terms;
        let b_a = bce(-1.0, 1.0) + bce(1.0, 0.0);
        let b_b = bce(2.0, 0.0) + bce(-2.0, 1.0);
        assert!((value(&terms[1]) - (b_a + 3.0 * b_b) / (4.0 * 2.0)).abs() < 1e-12);
    }

    #[test]
    fn a_task_without_labels_in_the_batch_contributes_zero() {
        let t = labels_only(&[vec![None, None], vec![Some(0), Some(1)]], &[3, 2]).expand(1);
        let terms = compute(&spec(Loss::Ce, &[1.0, 1.0]), &logits(), &t).terms;
        assert_eq!(value(&terms[0]), 0.0);
    }

    /// Two members with different losses and rows: each member's value is
    /// the one it has alone.
    #[test]
    fn members_with_different_losses_get_their_own_values() {
        let z = Tensor::from_slice(&[
            1.0f64, 2.0, 0.5, -1.0, 1.0, 0.0, 0.0, 3.0, 2.0, -2.0, 0.3, -0.2,
        ])
        .view([2, 2, 3]);
        let t = labels_only(&[vec![Some(2), Some(0), Some(1), None]], &[3]);
        let idx = Tensor::from_slice(&[0i64, 1, 2, 3]);
        let both = t.select(&idx, 2);
        let specs = [spec(Loss::Ce, &[1.0]), spec(Loss::Bce, &[1.0])];
        let m = compute_members(&[&specs[0], &specs[1]], &z, &both).unwrap();
        let alone = |k: i64, s: &LossSpec| {
            let rows = Tensor::from_slice(&[2 * k, 2 * k + 1]);
            value(&compute(s, &z.narrow(0, k, 1), &t.select(&rows, 1)).total)
        };
        let values = m.values().unwrap();
        assert_eq!(values[0].0, alone(0, &specs[0]));
        assert_eq!(values[1].0, alone(1, &specs[1]));
        assert!((m.sum.double_value(&[]) - values[0].0 - values[1].0).abs() < 1e-12);
        assert_eq!(m.terms[0].double_value(&[1]), values[1].1[0]);
    }

    /// Members whose losses interleave (ce, bce, ce) are computed per loss
    /// and put back in member order: terms and values alike.
    #[test]
    fn interleaved_losses_come_back_in_member_order() {
        let z = Tensor::from_slice(&[
            1.0f64, 2.0, 0.5, -1.0, 1.0, 0.0, 0.0, 3.0, 2.0, -2.0, 0.3, -0.2, 0.7, 0.1, -0.4, 1.2,
            -1.0, 0.0,
        ])
        .view([3, 2, 3]);
        let t = labels_only(
            &[vec![Some(2), Some(0), Some(1), None, Some(1), Some(2)]],
            &[3],
        );
        let all = t.select(&Tensor::from_slice(&[0i64, 1, 2, 3, 4, 5]), 3);
        let specs = [
            spec(Loss::Ce, &[1.0]),
            spec(Loss::Bce, &[1.0]),
            spec(Loss::Ce, &[1.0]),
        ];
        let m = compute_members(&[&specs[0], &specs[1], &specs[2]], &z, &all).unwrap();
        let values = m.values().unwrap();
        for (k, s) in specs.iter().enumerate() {
            let rows = Tensor::from_slice(&[2 * k as i64, 2 * k as i64 + 1]);
            let alone = compute(s, &z.narrow(0, k as i64, 1), &t.select(&rows, 1));
            assert_eq!(values[k].0, value(&alone.total), "member {k}");
            assert_eq!(values[k].1[0], value(&alone.terms[0]), "member {k}");
            assert_eq!(m.terms[0].double_value(&[k as i64]), values[k].1[0]);
        }
    }

    /// One ordered task of 4 classes with loss `kind`; samples of classes
    /// 0, 2 and 3 (values 10, 47 and 80) and one unlabelled.
    fn ordinal(kind: Loss, z: &[f64]) -> (LossSpec, Tensor, Targets) {
        let spec = LossSpec {
            flat: false,
            tasks: vec![TaskLoss {
                kind,
                classes: 4,
                class_weights: None,
                target: Some((50.0, 20.0)),
            }],
            weights: vec![1.0],
            label_smoothing: 0.0,
            focal_gamma: 2.0,
            huber_delta: 1.0,
        };
        let width = z.len() as i64 / 4;
        let t = Targets::new(
            &[vec![Some(0), Some(2), Some(3), None]],
            &[vec![Some(10.0), Some(47.0), Some(80.0), None]],
            &[4],
            Kind::Double,
            tch::Device::Cpu,
        )
        .expand(1);
        (spec, Tensor::from_slice(z).view([1, 4, width]), t)
    }

    const THRESHOLDS: [f64; 12] = [
        0.5, -0.2, -1.0, // y = 0
        2.0, 0.3, 0.1, // y = 2
        1.5, 1.0, -0.5, // y = 3
        9.0, 9.0, 9.0, // unlabelled
    ];

    /// CORAL: per sample Σ_k BCE(z_k, 1[y > k]), then the mean over samples.
    #[test]
    fn coral_by_hand() {
        let (s, z, t) = ordinal(Loss::Coral, &THRESHOLDS);
        let z0 = bce(0.5, 0.0) + bce(-0.2, 0.0) + bce(-1.0, 0.0);
        let z2 = bce(2.0, 1.0) + bce(0.3, 1.0) + bce(0.1, 0.0);
        let z3 = bce(1.5, 1.0) + bce(1.0, 1.0) + bce(-0.5, 1.0);
        let got = value(&compute(&s, &z, &t).terms[0]);
        assert!((got - (z0 + z2 + z3) / 3.0).abs() < 1e-12, "{got}");
    }

    /// CORN: threshold k sees the samples with y ≥ k; one mean over all
    /// (sample, threshold) pairs, each weighing its class weight.
    #[test]
    fn corn_by_hand() {
        let (mut s, z, t) = ordinal(Loss::Corn, &THRESHOLDS);
        // y = 0 reaches threshold 0 only; y = 2 and y = 3 reach all three.
        let p0 = bce(0.5, 0.0);
        let p2 = bce(2.0, 1.0) + bce(0.3, 1.0) + bce(0.1, 0.0);
        let p3 = bce(1.5, 1.0) + bce(1.0, 1.0) + bce(-0.5, 1.0);
        let got = value(&compute(&s, &z, &t).terms[0]);
        assert!((got - (p0 + p2 + p3) / 7.0).abs() < 1e-12, "{got}");
        s.tasks[0].class_weights = Some(vec![1.0, 5.0, 2.0, 3.0]);
        let got = value(&compute(&s, &z, &t).terms[0]);
        let want = (p0 + 2.0 * p2 + 3.0 * p3) / (1.0 + 2.0 * 3.0 + 3.0 * 3.0);
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }

    /// Regression on the value standardised with the training mean 50 and
    /// deviation 20: u = −2, −0.15, 1.5.
    #[test]
    fn mse_and_huber_by_hand() {
        let z = [-1.0, 0.25, 1.5, 7.0];
        let d = [-1.0 - -2.0, 0.25 - -0.15, 0.0];
        let (s, x, t) = ordinal(Loss::Mse, &z);
        let got = value(&compute(&s, &x, &t).terms[0]);
        let want = d.iter().map(|d| d * d).sum::<f64>() / 3.0;
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        // Huber with δ = 0.5: |d| = 1 is linear, 0.4 and 0 quadratic.
        let (mut s, x, t) = ordinal(Loss::Huber, &z);
        s.huber_delta = 0.5;
        let got = value(&compute(&s, &x, &t).terms[0]);
        let want = (0.5 * (1.0 - 0.25) + 0.5 * 0.4 * 0.4 + 0.0) / 3.0;
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        // Within δ everywhere Huber is half the squared error.
        s.huber_delta = 10.0;
        let huber = value(&compute(&s, &x, &t).terms[0]);
        let (s, x, t) = ordinal(Loss::Mse, &z);
        let mse = value(&compute(&s, &x, &t).terms[0]);
        assert!((huber - mse / 2.0).abs() < 1e-12);
    }

    #[test]
    fn standardisation_uses_the_population_deviation() {
        assert_eq!(standardisation(&[1.0, 3.0]), (2.0, 1.0));
        assert_eq!(standardisation(&[4.0, 4.0]), (4.0, 1.0));
    }
}
