//! Task weighting (docs/losses.md): how each member of a fused group turns
//! its per-task losses into the gradient the optimiser follows — fixed
//! weights, DWA, uncertainty weighting, GradNorm or PCGrad — with the
//! state each keeps per member and the parameters it learns.
//!
//! The training loop calls the hooks in this order: [`Weighting::parameter`]
//! once (the optimiser's last parameter, if any); per epoch
//! [`Weighting::start_epoch`]; per batch [`Weighting::observe`],
//! [`Weighting::gradients`], [`Weighting::after_step`] and
//! [`Weighting::accumulate`]; after the epoch [`Weighting::end_epoch`];
//! and [`Weighting::retain`] whenever members leave the group.

use headsweep_spec::TaskWeighting;
use tch::{Device, Kind, Tensor};

use crate::eval::tensor_to_vec;
use crate::loss::MemberLosses;
use crate::TrainError;

/// What one member's weighting needs from its configuration.
#[derive(Debug, Clone)]
pub(crate) struct MemberWeights {
    /// The loss's fixed task weights w_t.
    pub base: Vec<f64>,
    pub gradnorm_alpha: f64,
    pub dwa_temperature: f64,
}

/// One member's state.
#[derive(Debug, Clone)]
struct State {
    config: MemberWeights,
    /// This epoch's per-task training loss, summed over samples.
    term_sums: Vec<f64>,
    /// Epoch-mean per-task training losses so far (for DWA).
    history: Vec<Vec<f64>>,
    /// This epoch's task weights (with DWA: λ_t·w_t).
    task_weights: Vec<f64>,
    /// GradNorm's L_t(0): the task losses of the first step.
    initial_terms: Option<Vec<f64>>,
}

/// One member's weighting state between epochs: what
/// [`Weighting::member_state`] saves and [`Weighting::restore`] takes
/// (empty for a member that no longer trains).
#[derive(Default)]
pub(crate) struct Saved {
    pub history: Vec<Vec<f64>>,
    pub task_weights: Vec<f64>,
    pub initial_terms: Option<Vec<f64>>,
    /// The member's row of the learned weights, `[tasks]`.
    pub learned: Option<Tensor>,
}

/// The task weighting of the members still training, in slot order.
pub(crate) struct Weighting {
    kind: TaskWeighting,
    tasks: usize,
    members: Vec<State>,
    /// What the weighting learns, `[K, tasks]`: `uncertainty`'s
    /// s_t = log σ_t², or `gradnorm`'s multipliers λ_t (renormalised after
    /// every step to sum to the number of tasks).
    learned: Option<Tensor>,
}

impl Weighting {
    pub(crate) fn new(
        kind: TaskWeighting,
        members: Vec<MemberWeights>,
        tasks: usize,
        dtype: Kind,
        device: Device,
    ) -> Weighting {
        let shape = [members.len() as i64, tasks as i64];
        let learned = match kind {
            TaskWeighting::Uncertainty => {
                Some(Tensor::zeros(shape, (dtype, device)).set_requires_grad(true))
            }
            TaskWeighting::Gradnorm => {
                Some(Tensor::ones(shape, (dtype, device)).set_requires_grad(true))
            }
            _ => None,
        };
        Weighting {
            kind,
            tasks,
            members: members
                .into_iter()
                .map(|config| State {
                    term_sums: vec![0.0; tasks],
                    history: Vec::new(),
                    task_weights: config.base.clone(),
                    initial_terms: None,
                    config,
                })
                .collect(),
            learned,
        }
    }

    /// The parameter this weighting learns, updated by the optimiser after
    /// the network's (and exempt from weight decay).
    pub(crate) fn parameter(&self) -> Option<&Tensor> {
        self.learned.as_ref()
    }

    /// Member `i`'s task weights in this epoch's objective.
    pub(crate) fn task_weights(&self, i: usize) -> &[f64] {
        &self.members[i].task_weights
    }

    /// Resets the epoch's sums; DWA sets each member's weights for the
    /// coming epoch from its loss history.
    pub(crate) fn start_epoch(&mut self) {
        for m in &mut self.members {
            m.term_sums = vec![0.0; self.tasks];
            if self.kind == TaskWeighting::Dwa {
                m.task_weights = dwa_weights(&m.history, self.tasks, m.config.dwa_temperature)
                    .iter()
                    .zip(&m.config.base)
                    .map(|(l, w)| l * w)
                    .collect();
            }
        }
    }

    /// Whether [`Weighting::observe`] needs this step's loss values: only
    /// GradNorm, at a member's first step, for L(0).
    pub(crate) fn wants_values(&self) -> bool {
        self.kind == TaskWeighting::Gradnorm
            && self.members.iter().any(|m| m.initial_terms.is_none())
    }

    /// Sees a step's task losses before its gradients: GradNorm keeps the
    /// first step's as L_t(0).
    pub(crate) fn observe(&mut self, values: &[(f64, Vec<f64>)]) {
        for (m, (_, terms)) in self.members.iter_mut().zip(values) {
            if m.initial_terms.is_none() {
                m.initial_terms = Some(terms.clone());
            }
        }
    }

    /// Adds member `i`'s task losses of a batch of `rows` samples to the
    /// epoch's sums.
    pub(crate) fn accumulate(&mut self, i: usize, terms: &[f64], rows: usize) {
        for (sum, t) in self.members[i].term_sums.iter_mut().zip(terms) {
            *sum += t * rows as f64;
        }
    }

    /// After the optimiser's step: GradNorm's multipliers kept above 1e-3
    /// and renormalised so that Σ_t λ_t = T.
    pub(crate) fn after_step(&self) {
        if self.kind != TaskWeighting::Gradnorm {
            return;
        }
        if let Some(l) = &self.learned {
            tch::no_grad(|| {
                let positive = l.clamp_min(1e-3);
                let sum = positive.sum_dim_intlist(&[1i64][..], true, positive.kind());
                l.shallow_clone()
                    .copy_(&(positive * self.tasks as f64 / sum));
            });
        }
    }

    /// Records each member's epoch-mean task losses (`n_train` samples) and
    /// reads the learned weights: e^(−s_t)·w_t for uncertainty, λ_t·w_t for
    /// GradNorm.
    pub(crate) fn end_epoch(&mut self, n_train: usize) -> Result<(), TrainError> {
        let learned = self
            .learned
            .as_ref()
            .map(|s| tensor_to_vec(&s.detach()))
            .transpose()?;
        let tasks = self.tasks;
        for (i, m) in self.members.iter_mut().enumerate() {
            m.history
                .push(m.term_sums.iter().map(|s| s / n_train as f64).collect());
            if let Some(v) = &learned {
                let of = |t: usize| v[i * tasks + t];
                m.task_weights = (0..tasks)
                    .map(|t| match self.kind {
                        TaskWeighting::Uncertainty => (-of(t)).exp() * m.config.base[t],
                        _ => of(t) * m.config.base[t],
                    })
                    .collect();
            }
        }
        Ok(())
    }

    /// Member `i`'s state between epochs, to be saved.
    pub(crate) fn member_state(&self, i: usize) -> Saved {
        let m = &self.members[i];
        Saved {
            history: m.history.clone(),
            task_weights: m.task_weights.clone(),
            initial_terms: m.initial_terms.clone(),
            learned: self
                .learned
                .as_ref()
                .map(|l| tch::no_grad(|| l.get(i as i64).copy())),
        }
    }

    /// Member `i` continues from `saved`, as [`Weighting::member_state`]
    /// gave it after the same epoch.
    pub(crate) fn restore(&mut self, i: usize, saved: &Saved) -> Result<(), crate::WeightsError> {
        let tasks = self.tasks;
        let m = &mut self.members[i];
        if saved.task_weights.len() != tasks || saved.history.iter().any(|h| h.len() != tasks) {
            return Err(crate::WeightsError::Missing(format!(
                "task weighting state for {tasks} tasks"
            )));
        }
        m.history = saved.history.clone();
        m.task_weights = saved.task_weights.clone();
        m.initial_terms = saved.initial_terms.clone();
        match (&self.learned, &saved.learned) {
            (None, None) => Ok(()),
            (Some(l), Some(row)) if row.size() == [tasks as i64] => {
                tch::no_grad(|| {
                    l.get(i as i64)
                        .copy_(&row.to_kind(l.kind()).to_device(l.device()))
                });
                Ok(())
            }
            _ => Err(crate::WeightsError::Missing(
                "the task weighting's learned weights".into(),
            )),
        }
    }

    /// Keeps the members at positions `keep`, in that order.
    pub(crate) fn retain(&mut self, keep: &[usize]) {
        if !keep.is_empty() {
            if let Some(s) = &mut self.learned {
                let idx = Tensor::from_slice(&keep.iter().map(|&k| k as i64).collect::<Vec<_>>())
                    .to_device(s.device());
                *s = s.detach().index_select(0, &idx).set_requires_grad(true);
            }
        }
        let mut i = 0;
        self.members.retain(|_| {
            i += 1;
            keep.contains(&(i - 1))
        });
    }

    /// Per member per task values, `[K, tasks]`.
    fn per_member(&self, value: impl Fn(&State) -> Vec<f64>, kind: Kind, device: Device) -> Tensor {
        let v: Vec<f64> = self.members.iter().flat_map(value).collect();
        crate::init::tensor(
            &v,
            &[self.members.len() as i64, self.tasks as i64],
            kind,
            device,
        )
    }

    /// The gradients of one step for every parameter the optimiser updates
    /// (`params`: the network's, then [`Weighting::parameter`]); `shared`
    /// marks the network's parameters that every task reaches.
    pub(crate) fn gradients(
        &self,
        ml: &MemberLosses,
        params: &[&Tensor],
        shared: &[bool],
    ) -> Result<Vec<Tensor>, TrainError> {
        let device = ml.sum.device();
        let kind = ml.sum.kind();
        let base = || self.per_member(|m| m.config.base.clone(), kind, device);
        Ok(match self.kind {
            TaskWeighting::Fixed => Tensor::f_run_backward(&[&ml.sum], params, false, false)?,
            TaskWeighting::Dwa => {
                let w = self.per_member(|m| m.task_weights.clone(), kind, device);
                let objective = weighted(&ml.terms, &w).sum(kind);
                Tensor::f_run_backward(&[objective], params, false, false)?
            }
            TaskWeighting::Uncertainty => {
                let s = self
                    .learned
                    .as_ref()
                    .expect("uncertainty learns log variances");
                let w = base();
                // Σ_t e^(−s_t)·w_t·L_t + s_t/2, summed over members.
                let l = Tensor::stack(&ml.terms, 1) * w;
                let objective = ((-s).exp() * l + s * 0.5).sum(kind);
                Tensor::f_run_backward(&[objective], params, false, false)?
            }
            TaskWeighting::Gradnorm => self.gradnorm(ml, params, shared, base())?,
            TaskWeighting::Pcgrad => {
                let w = base();
                let tasks = ml.terms.len();
                let mut per_task = Vec::with_capacity(tasks);
                for (t, term) in ml.terms.iter().enumerate() {
                    let objective = (term * w.select(1, t as i64)).sum(kind);
                    per_task.push(Tensor::f_run_backward(
                        &[objective],
                        params,
                        t + 1 < tasks,
                        false,
                    )?);
                }
                pcgrad(&per_task, shared)
            }
        })
    }

    /// GradNorm (Chen et al. 2018): the network's gradient of Σ_t λ_t·w_t·L_t,
    /// and for λ the gradient of Σ_t |λ_t·g_t − ḡ·r_t^α| with the target
    /// held constant, g_t = ‖∇_W w_t·L_t‖ on the last shared layer's weights.
    fn gradnorm(
        &self,
        ml: &MemberLosses,
        params: &[&Tensor],
        shared: &[bool],
        w: Tensor,
    ) -> Result<Vec<Tensor>, TrainError> {
        let (device, kind) = (ml.sum.device(), ml.sum.kind());
        let lambda = self.learned.as_ref().expect("gradnorm learns multipliers");
        let alpha = self.per_member(
            |m| vec![m.config.gradnorm_alpha; m.config.base.len()],
            kind,
            device,
        );
        let l0 = self.per_member(
            |m| {
                m.initial_terms
                    .clone()
                    .unwrap_or_else(|| vec![1.0; m.config.base.len()])
            },
            kind,
            device,
        );
        let last = last_shared_weight(params, shared);
        // g_t = ‖∇_W w_t·L_t‖ per member, on the last shared layer's weights.
        let mut norms = Vec::with_capacity(ml.terms.len());
        for (t, term) in ml.terms.iter().enumerate() {
            let objective = (term * w.select(1, t as i64)).sum(kind);
            let g = Tensor::f_run_backward(&[objective], &[last], true, false)?.remove(0);
            let dims: Vec<i64> = (1..g.dim() as i64).collect();
            norms.push((&g * &g).sum_dim_intlist(&dims[..], false, kind).sqrt());
        }
        let g = Tensor::stack(&norms, 1);
        let lam = lambda.detach();
        let big_g = &lam * &g;
        let mean_g = big_g.mean_dim(&[1i64][..], true, kind);
        let ratio = Tensor::stack(&ml.terms, 1).detach() / l0.clamp_min(1e-12);
        let r = &ratio / ratio.mean_dim(&[1i64][..], true, kind);
        let target = mean_g * r.pow(&alpha);
        // ∂/∂λ_t Σ_t |λ_t·g_t − target_t|, the target held constant.
        let grad_lambda = (&big_g - target).sign() * &g;
        let objective = (Tensor::stack(&ml.terms, 1) * w * lam).sum(kind);
        let model = &params[..params.len() - 1];
        let mut grads = Tensor::f_run_backward(&[objective], model, false, false)?;
        grads.push(grad_lambda);
        Ok(grads)
    }
}

/// DWA's λ_t for the coming epoch from the epoch-mean task losses so far
/// (Liu et al. 2019): 1 for the first two epochs, then
/// T·exp(r_t/τ) / Σ_j exp(r_j/τ) with r_t = L̄_t(e−1) / L̄_t(e−2) and T the
/// number of tasks.
pub fn dwa_weights(history: &[Vec<f64>], tasks: usize, temperature: f64) -> Vec<f64> {
    if history.len() < 2 {
        return vec![1.0; tasks];
    }
    let (last, before) = (&history[history.len() - 1], &history[history.len() - 2]);
    let e: Vec<f64> = last
        .iter()
        .zip(before)
        .map(|(a, b)| (a / b / temperature).exp())
        .collect();
    let total: f64 = e.iter().sum();
    e.iter().map(|v| tasks as f64 * v / total).collect()
}

/// The weight tensor of the last shared layer, among `params`
/// (weights and biases alternate, layer by layer).
fn last_shared_weight<'a>(params: &[&'a Tensor], shared: &[bool]) -> &'a Tensor {
    let last = (0..shared.len())
        .rev()
        .find(|&i| shared[i] && i % 2 == 0)
        .expect("gradnorm needs a shared layer");
    params[last]
}

/// Σ_t w[:, t]·terms[t], `[K]`.
fn weighted(terms: &[Tensor], w: &Tensor) -> Tensor {
    terms
        .iter()
        .enumerate()
        .map(|(t, l)| l * w.select(1, t as i64))
        .reduce(|a, b| a + b)
        .expect("at least one task")
}

/// Per member, Σ over the parameters marked in `mask` of a·b, `[K]`.
pub(crate) fn dot(a: &[Tensor], b: &[Tensor], mask: &[bool]) -> Tensor {
    a.iter()
        .zip(b)
        .zip(mask)
        .filter(|(_, &s)| s)
        .map(|((x, y), _)| {
            let dims: Vec<i64> = (1..x.dim() as i64).collect();
            (x * y).sum_dim_intlist(&dims[..], false, x.kind())
        })
        .reduce(|p, q| p + q)
        .expect("a shared parameter")
}

/// PCGrad (Yu et al. 2020), for every member at once. On the shared
/// parameters each task's gradient g_i is projected, in the order i+1,
/// i+2, … (cyclically), onto the normal plane of each other task's original
/// gradient g_j it conflicts with (g_i·g_j < 0):
/// g_i ← g_i − (g_i·g_j / |g_j|²)·g_j; the projected gradients are summed.
/// A branch's own parameters keep the plain sum (only their task reaches
/// them). Parameters not marked shared: per-task gradients summed.
pub fn pcgrad(per_task: &[Vec<Tensor>], shared: &[bool]) -> Vec<Tensor> {
    let tasks = per_task.len();
    let mut projected: Vec<Vec<Tensor>> = per_task
        .iter()
        .map(|g| g.iter().map(Tensor::shallow_clone).collect())
        .collect();
    if shared.iter().any(|&s| s) {
        for (i, own) in projected.iter_mut().enumerate() {
            for step in 1..tasks {
                let j = (i + step) % tasks;
                let d = dot(own, &per_task[j], shared);
                let norm = dot(&per_task[j], &per_task[j], shared);
                let coef = d.clamp_max(0.0) / norm.clamp_min(1e-30);
                for (p, &is_shared) in shared.iter().enumerate() {
                    if is_shared {
                        let g = &per_task[j][p];
                        let mut shape = vec![1i64; g.dim()];
                        shape[0] = -1;
                        own[p] = &own[p] - coef.view(&shape[..]) * g;
                    }
                }
            }
        }
    }
    (0..per_task[0].len())
        .map(|p| {
            projected
                .iter()
                .map(|g| g[p].shallow_clone())
                .reduce(|a, b| a + b)
                .expect("a task")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two members, two tasks, one shared parameter of 2 values and one
    /// branch parameter. Member 0's task gradients conflict, member 1's do
    /// not.
    #[test]
    fn pcgrad_projects_conflicting_gradients_only() {
        let t = |v: &[f64]| Tensor::from_slice(v).view([2, 2]);
        // Shared: member 0 g1 = (1, 0), g2 = (−1, 1); member 1 g1 = (1, 0), g2 = (1, 1).
        let g1 = vec![t(&[1.0, 0.0, 1.0, 0.0]), t(&[0.5, 0.5, 0.5, 0.5])];
        let g2 = vec![t(&[-1.0, 1.0, 1.0, 1.0]), t(&[0.25, 0.25, 0.25, 0.25])];
        let out = pcgrad(&[g1, g2], &[true, false]);
        let v = |x: &Tensor| Vec::<f64>::try_from(x.flatten(0, -1)).unwrap();
        let shared = v(&out[0]);
        // Member 0: g1·g2 = −1 < 0 → g1' = g1 − (−1/2)·g2 = (0.5, 0.5),
        // orthogonal to g2; g2' = g2 − (−1/1)·g1 = (0, 1), orthogonal to g1.
        let (g1p, g2p): ([f64; 2], [f64; 2]) = ([0.5, 0.5], [0.0, 1.0]);
        assert!((-g1p[0] + g1p[1]).abs() < 1e-12);
        assert!((g2p[0] * 1.0 + g2p[1] * 0.0).abs() < 1e-12);
        assert_eq!(&shared[..2], &[g1p[0] + g2p[0], g1p[1] + g2p[1]]);
        // Member 1: no conflict, the plain sum.
        assert_eq!(&shared[2..], &[2.0, 1.0]);
        // The branch parameter keeps the plain sum for both members.
        assert_eq!(v(&out[1]), vec![0.75; 4]);
    }

    #[test]
    fn dwa_weights_by_hand() {
        assert_eq!(dwa_weights(&[], 2, 2.0), vec![1.0, 1.0]);
        assert_eq!(dwa_weights(&[vec![1.0, 2.0]], 2, 2.0), vec![1.0, 1.0]);
        // r = (0.5/1.0, 1.5/2.0) = (0.5, 0.75); λ = 2·e^(r/2) / Σ e^(r/2).
        let w = dwa_weights(&[vec![1.0, 2.0], vec![0.5, 1.5]], 2, 2.0);
        let (a, b) = ((0.25f64).exp(), (0.375f64).exp());
        assert!((w[0] - 2.0 * a / (a + b)).abs() < 1e-12);
        assert!((w[1] - 2.0 * b / (a + b)).abs() < 1e-12);
    }

    #[test]
    fn members_leaving_keep_the_others_state_in_order() {
        let m = |w: f64| MemberWeights {
            base: vec![w, w],
            gradnorm_alpha: 1.5,
            dwa_temperature: 2.0,
        };
        let mut weighting = Weighting::new(
            TaskWeighting::Gradnorm,
            vec![m(1.0), m(2.0), m(3.0)],
            2,
            Kind::Double,
            Device::Cpu,
        );
        weighting.retain(&[0, 2]);
        assert_eq!(weighting.task_weights(1), &[3.0, 3.0]);
        assert_eq!(weighting.parameter().map(|p| p.size()), Some(vec![2, 2]));
    }
}
