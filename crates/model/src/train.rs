//! The training loop: batches, the optimiser, early stopping, and the final
//! evaluation at the best epoch.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use headsweep_data::{Dataset, Part};
use headsweep_spec::{fusion_key, Monitor, RunConfig, TaskWeighting};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Tensor};
use tracing::{debug, info_span};

use crate::eval::{evaluate, spreads, tensor_to_vec, SplitInput, SplitOutput};
use crate::loss::{self, LossSpec, MemberLosses, Targets};
use crate::net::Net;
use crate::optim::{Hyper, Optim};
use crate::TrainError;

/// Asked between batches; true stops training with [`TrainError::Cancelled`].
pub type StopFn = Arc<dyn Fn() -> bool + Send + Sync>;
/// Called after every epoch, e.g. to write a log line.
pub type EpochFn = Arc<dyn Fn(&EpochRecord) + Send + Sync>;

/// How to run training, as opposed to what to train.
#[derive(Clone)]
pub struct TrainOptions {
    pub device: Device,
    /// libtorch intra-op threads for this run.
    pub threads: usize,
    /// Where to save the best epoch's weights (safetensors), if anywhere.
    pub weights: Option<PathBuf>,
    pub stop: Option<StopFn>,
    pub on_epoch: Option<EpochFn>,
}

impl std::fmt::Debug for TrainOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainOptions")
            .field("device", &self.device)
            .field("threads", &self.threads)
            .field("weights", &self.weights)
            .finish()
    }
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            device: Device::Cpu,
            threads: 1,
            weights: None,
            stop: None,
            on_epoch: None,
        }
    }
}

/// One epoch's learning-curve values.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (weighted by batch size,
    /// with dropout on), as the optimiser saw it.
    pub train_loss: f64,
    pub val_loss: f64,
    pub val_head_losses: Vec<f64>,
    pub val_balanced_accuracy: Vec<Option<f64>>,
    pub val_exact_match: Option<f64>,
    /// The monitored quantity.
    pub monitor: f64,
    /// Each task's weight in this epoch's training objective (docs/losses.md).
    pub task_weights: Vec<f64>,
    /// Cosine between two tasks' loss gradients on the last shared layer
    /// (weights and bias), per pair of tasks `(i, j)`, `i < j`, in order;
    /// measured on up to [`COSINE_ROWS`] validation samples after the
    /// epoch. Empty when nothing is shared or there is one task.
    pub grad_cosine: Vec<f64>,
}

/// Validation samples the gradient cosine is measured on.
pub const COSINE_ROWS: usize = 256;

/// Everything a run produces.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub parameters: usize,
    /// 1-based epoch whose weights were kept.
    pub best_epoch: usize,
    pub epochs_run: usize,
    pub stopped_early: bool,
    pub curves: Vec<EpochRecord>,
    /// Train, validation and test, at the best epoch.
    pub splits: Vec<SplitOutput>,
    /// Wall time of the training call (shared by every run of a fused
    /// group).
    pub seconds: f64,
    /// Training FLOPs: forward and backward passes over the training
    /// batches ([`Net::train_flops_per_sample`] per sample seen).
    pub flops: f64,
    /// How many runs the training call trained together (1 unfused).
    pub fused: usize,
}

impl RunOutput {
    pub fn split(&self, part: Part) -> &SplitOutput {
        self.splits
            .iter()
            .find(|s| s.part == part)
            .expect("every part is evaluated")
    }
}

/// Every member's rows in a batch are padded to a multiple of this many,
/// so that each member's slice of a batched product starts on a 16-byte
/// boundary: MKL's matrix multiply rounds differently into an output that
/// is not 16-byte aligned, and a run's numbers must not depend on its
/// position in a fused group.
pub(crate) const ROW_ALIGN: usize = 4;

pub(crate) fn padded(rows: usize) -> usize {
    rows.div_ceil(ROW_ALIGN) * ROW_ALIGN
}

/// A split's rows followed by zero rows without labels: at least one (the
/// row index `n` pads training batches) and enough to make `padded(n)`.
fn split_input(data: &Dataset, part: Part, net: &Net, device: Device) -> SplitInput {
    let idx = data.indices(part);
    let p = data.n_features();
    let rows = padded(idx.len() + 1);
    let mut x = Vec::with_capacity(rows * p);
    for &i in &idx {
        x.extend_from_slice(&data.x[i * p..(i + 1) * p]);
    }
    x.resize(rows * p, 0.0);
    let labels: Vec<Vec<Option<usize>>> = data
        .tasks
        .iter()
        .map(|t| idx.iter().map(|&i| t.labels[i]).collect())
        .collect();
    let values: Vec<Vec<Option<f64>>> = data
        .tasks
        .iter()
        .map(|t| idx.iter().map(|&i| t.target(i)).collect())
        .collect();
    let mut padded_labels = labels.clone();
    for l in &mut padded_labels {
        l.resize(rows, None);
    }
    let classes: Vec<usize> = data.tasks.iter().map(|t| t.classes.len()).collect();
    SplitInput {
        part,
        ids: idx.iter().map(|&i| data.ids[i].clone()).collect(),
        x: Tensor::from_slice(&x)
            .view([rows as i64, p as i64])
            .to_kind(net.kind())
            .to_device(device),
        targets: Targets::new(&padded_labels, &values, &classes, net.kind(), device),
        labels,
        values,
    }
}

fn monitor_value(monitor: Monitor, val: &SplitOutput) -> f64 {
    match monitor {
        Monitor::ValLoss => val.loss,
        Monitor::ValBalancedAccuracy => {
            let v: Vec<f64> = val
                .heads
                .iter()
                .filter_map(|h| h.metrics.as_ref().map(|m| m.balanced_accuracy))
                .collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        }
        Monitor::ValExactMatch => val.exact_match.unwrap_or(0.0),
    }
}

fn better(monitor: Monitor, new: f64, best: f64) -> bool {
    match monitor {
        Monitor::ValLoss => new < best,
        _ => new > best,
    }
}

/// One run of a fused group, with what belongs to it alone.
#[derive(Clone)]
pub struct Member {
    pub config: RunConfig,
    /// Where to save the best epoch's weights (safetensors), if anywhere.
    pub weights: Option<PathBuf>,
    /// Asked between batches; true drops this run alone with
    /// [`TrainError::Cancelled`] while the others go on.
    pub stop: Option<StopFn>,
    pub on_epoch: Option<EpochFn>,
}

/// How to run a group's training.
#[derive(Clone)]
pub struct GroupOptions {
    pub device: Device,
    /// libtorch intra-op threads.
    pub threads: usize,
    /// Asked between batches; true stops every run with
    /// [`TrainError::Cancelled`].
    pub stop: Option<StopFn>,
}

/// Trains one run of `config` on `data` and evaluates it on every split: a
/// fused group of one.
pub fn train(
    config: &RunConfig,
    data: &Dataset,
    opts: &TrainOptions,
) -> Result<RunOutput, TrainError> {
    let member = Member {
        config: config.clone(),
        weights: opts.weights.clone(),
        stop: None,
        on_epoch: opts.on_epoch.clone(),
    };
    let group = GroupOptions {
        device: opts.device,
        threads: opts.threads,
        stop: opts.stop.clone(),
    };
    train_group(vec![member], data, &group)
        .pop()
        .expect("one result per member")
}

/// One member's named parameters.
type Snapshot = Vec<(String, Tensor)>;

/// A member still training.
struct Slot {
    member: usize,
    order: Vec<i64>,
    loss_sum: f64,
    curves: Vec<EpochRecord>,
    /// Monitored value, epoch, and that epoch's weights.
    best: Option<(f64, usize, Snapshot)>,
    spec: LossSpec,
    /// This epoch's per-task training loss, summed over samples.
    term_sums: Vec<f64>,
    /// Epoch-mean per-task training losses so far (for DWA).
    history: Vec<Vec<f64>>,
    /// This epoch's task weights (with DWA: λ_t·w_t).
    task_weights: Vec<f64>,
    /// GradNorm's L_t(0): the task losses of the first step.
    initial_terms: Option<Vec<f64>>,
    gradnorm_alpha: f64,
}

/// A member whose training ended normally.
struct Finished {
    curves: Vec<EpochRecord>,
    best_epoch: usize,
    stopped_early: bool,
    weights: Vec<(String, Tensor)>,
}

impl Slot {
    fn finish(self, stopped_early: bool, current: Vec<(String, Tensor)>) -> Finished {
        let epochs_run = self.curves.len();
        let (best_epoch, weights) = match self.best {
            Some((_, epoch, w)) => (epoch, w),
            None => (epochs_run, current),
        };
        Finished {
            curves: self.curves,
            best_epoch,
            stopped_early,
            weights,
        }
    }
}

/// What the members still training share, kept in step when some leave.
struct Active {
    net: Net,
    optim: Optim,
    rngs: Vec<ChaCha8Rng>,
    slots: Vec<Slot>,
    /// `uncertainty`: each member's learned s_t = log σ_t², `[K, tasks]`.
    log_var: Option<Tensor>,
    /// `gradnorm`: each member's learned task multipliers λ_t, `[K, tasks]`,
    /// renormalised after every step to sum to the number of tasks.
    lambda: Option<Tensor>,
}

impl Active {
    /// The parameters the optimiser updates, in its order.
    fn parameters(&self) -> Vec<&Tensor> {
        let mut p = self.net.parameters();
        p.extend(self.log_var.as_ref());
        p.extend(self.lambda.as_ref());
        p
    }

    /// Removes the members at positions `leave`, returning their slots.
    fn remove(&mut self, leave: &[usize]) -> Vec<(usize, Slot)> {
        if leave.is_empty() {
            return Vec::new();
        }
        let keep: Vec<usize> = (0..self.slots.len())
            .filter(|i| !leave.contains(i))
            .collect();
        if !keep.is_empty() {
            self.net.retain(&keep);
            for s in [&mut self.log_var, &mut self.lambda].into_iter().flatten() {
                let idx = Tensor::from_slice(&keep.iter().map(|&k| k as i64).collect::<Vec<_>>())
                    .to_device(s.device());
                *s = s.detach().index_select(0, &idx).set_requires_grad(true);
            }
        }
        self.optim.retain(&keep);
        let mut gone = Vec::new();
        let (mut slots, mut rngs) = (Vec::new(), Vec::new());
        for (i, (slot, rng)) in self.slots.drain(..).zip(self.rngs.drain(..)).enumerate() {
            if leave.contains(&i) {
                gone.push((i, slot));
            } else {
                slots.push(slot);
                rngs.push(rng);
            }
        }
        self.slots = slots;
        self.rngs = rngs;
        gone
    }
}

/// Trains `members` as one fused model on `data` and evaluates each on every
/// split. Every member must have the same [`headsweep_spec::fusion_key`].
/// Each member's result is the one it gets trained alone, bit for bit on
/// CPU: its initial weights, batch order and dropout masks come from its
/// own generator, the loss is a sum of per-member losses (so each member's
/// gradient is exactly its own), and the optimiser updates each member with
/// its own settings. A member that stops early keeps its best weights and
/// leaves the group; one whose loss is not finite fails alone.
pub fn train_group(
    members: Vec<Member>,
    data: &Dataset,
    opts: &GroupOptions,
) -> Vec<Result<RunOutput, TrainError>> {
    let n = members.len();
    let span = info_span!("train", sweep = %members.first().map_or("", |m| m.config.sweep.as_str()), runs = n);
    let _enter = span.enter();
    // Members with the same loss side by side, so that each loss sees a
    // contiguous slice of the batched outputs (a view, not a copy). Order
    // within a group changes no member's numbers.
    let specs: Result<Vec<LossSpec>, TrainError> = members
        .iter()
        .map(|m| loss::loss_spec(&m.config, data))
        .collect::<Result<_, _>>()
        .map_err(TrainError::Invalid);
    let mut order: Vec<usize> = (0..n).collect();
    let result = specs.and_then(|specs| {
        let keys: Vec<String> = specs.iter().map(|s| format!("{s:?}")).collect();
        order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
        let sorted: Vec<Member> = order.iter().map(|&i| members[i].clone()).collect();
        let specs: Vec<LossSpec> = order.iter().map(|&i| specs[i].clone()).collect();
        group(&sorted, specs, data, opts)
    });
    match result {
        Ok(out) => {
            let mut back: Vec<Option<Result<RunOutput, TrainError>>> =
                (0..n).map(|_| None).collect();
            for (r, &i) in out.into_iter().zip(&order) {
                back[i] = Some(r);
            }
            back.into_iter()
                .map(|r| r.expect("a result per member"))
                .collect()
        }
        Err(e) => {
            let message = e.to_string();
            let cancelled = matches!(e, TrainError::Cancelled);
            (0..n)
                .map(|_| {
                    Err(if cancelled {
                        TrainError::Cancelled
                    } else {
                        TrainError::Invalid(message.clone())
                    })
                })
                .collect()
        }
    }
}

/// `specs[i]` is member i's resolved loss.
fn group(
    members: &[Member],
    specs: Vec<LossSpec>,
    data: &Dataset,
    opts: &GroupOptions,
) -> Result<Vec<Result<RunOutput, TrainError>>, TrainError> {
    let start = Instant::now();
    let first = &members
        .first()
        .ok_or_else(|| TrainError::Invalid("a group needs at least one run".into()))?
        .config;
    let key = fusion_key(first);
    if let Some(m) = members.iter().find(|m| fusion_key(&m.config) != key) {
        return Err(TrainError::Invalid(format!(
            "runs with seeds {} and {} differ in more than seed, learning rate, weight decay, momentum, loss, dropout or early stopping, so they cannot train as one model",
            first.seed, m.config.seed
        )));
    }
    tch::set_num_threads(opts.threads.max(1) as i32);
    let device = opts.device;
    let names: Vec<String> = data.tasks.iter().map(|t| t.name.clone()).collect();
    // Equal fusion keys mean equal output layers.
    let heads = specs[0].heads();
    debug_assert!(specs.iter().all(|s| s.heads() == heads));
    let (tc, p) = (&first.train, data.n_features());

    let mut rngs: Vec<ChaCha8Rng> = members
        .iter()
        .map(|m| ChaCha8Rng::seed_from_u64(m.config.seed))
        .collect();
    let dropout: Vec<f64> = members.iter().map(|m| m.config.model.dropout).collect();
    let net = Net::new(&first.model, p, &heads, &names, device, &mut rngs, &dropout);
    let hyper = members
        .iter()
        .map(|m| Hyper {
            lr: m.config.train.lr,
            weight_decay: m.config.train.weight_decay,
            momentum: m.config.train.momentum,
        })
        .collect();
    if members.len() > 1 {
        if let Some(layer) = net.misaligned_layer() {
            return Err(TrainError::Invalid(format!(
                "{layer}: its per-run slices are not 16-byte aligned, so fused runs would round differently from runs alone; train these runs unfused"
            )));
        }
    }
    let weighting = tc.task_weighting;
    let tasks = heads.len();
    let log_var = (weighting == TaskWeighting::Uncertainty).then(|| {
        Tensor::zeros([members.len() as i64, tasks as i64], (net.kind(), device))
            .set_requires_grad(true)
    });
    let lambda = (weighting == TaskWeighting::Gradnorm).then(|| {
        Tensor::ones([members.len() as i64, tasks as i64], (net.kind(), device))
            .set_requires_grad(true)
    });
    let mut all_params = net.parameters();
    all_params.extend(log_var.as_ref());
    all_params.extend(lambda.as_ref());
    let mut optim = Optim::new(tc.optimizer, hyper, &all_params);
    if log_var.is_some() || lambda.is_some() {
        optim.exempt_last(1);
    }
    let shared_mask = net.shared_mask();
    let last_shared = net.last_shared_mask();
    let per_sample = net.train_flops_per_sample();
    let parameters = net.parameter_count();

    let splits: Vec<SplitInput> = Part::ALL
        .iter()
        .map(|&part| split_input(data, part, &net, device))
        .collect();
    let (train_in, val_in) = (&splits[0], &splits[1]);
    let n_train = train_in.ids.len();
    let mut finished: Vec<Option<Result<Finished, TrainError>>> =
        (0..members.len()).map(|_| None).collect();
    let mut active = Active {
        net,
        optim,
        rngs,
        slots: (0..members.len())
            .map(|member| Slot {
                member,
                order: (0..n_train as i64).collect(),
                loss_sum: 0.0,
                curves: Vec::new(),
                best: None,
                spec: specs[member].clone(),
                term_sums: vec![0.0; tasks],
                history: Vec::new(),
                task_weights: specs[member].weights.clone(),
                initial_terms: None,
                gradnorm_alpha: members[member].config.train.gradnorm_alpha,
            })
            .collect(),
        log_var,
        lambda,
    };

    'epochs: for epoch in 1..=tc.epochs {
        for (slot, rng) in active.slots.iter_mut().zip(&mut active.rngs) {
            slot.order.shuffle(rng);
            slot.loss_sum = 0.0;
            slot.term_sums = vec![0.0; tasks];
            if weighting == TaskWeighting::Dwa {
                let temperature = members[slot.member].config.train.dwa_temperature;
                slot.task_weights = dwa_weights(&slot.history, tasks, temperature)
                    .iter()
                    .zip(&slot.spec.weights)
                    .map(|(l, w)| l * w)
                    .collect();
            }
        }
        for (b, lo) in (0..n_train).step_by(tc.batch_size).enumerate() {
            if opts.stop.as_ref().is_some_and(|stop| stop()) {
                return Err(TrainError::Cancelled);
            }
            let cancelled: Vec<usize> = (0..active.slots.len())
                .filter(|&i| {
                    members[active.slots[i].member]
                        .stop
                        .as_ref()
                        .is_some_and(|stop| stop())
                })
                .collect();
            for (_, slot) in active.remove(&cancelled) {
                finished[slot.member] = Some(Err(TrainError::Cancelled));
            }
            if active.slots.is_empty() {
                break 'epochs;
            }
            let hi = (lo + tc.batch_size).min(n_train);
            let k = active.slots.len() as i64;
            // Each member's rows, then the zero row (index n_train) as padding.
            let pad = padded(hi - lo) - (hi - lo);
            let rows: Vec<i64> = active
                .slots
                .iter()
                .flat_map(|s| {
                    s.order[lo..hi]
                        .iter()
                        .copied()
                        .chain(std::iter::repeat_n(n_train as i64, pad))
                })
                .collect();
            let idx = Tensor::from_slice(&rows).to_device(device);
            let xb = train_in.x.index_select(0, &idx).view([k, -1, p as i64]);
            let tb = train_in.targets.select(&idx, k);
            let logits = active.net.forward(&xb, Some((&mut active.rngs, hi - lo)));
            let ml = loss::compute_members(&specs_of(&active), &logits, &tb)?;
            for (slot, (_, terms)) in active.slots.iter_mut().zip(&ml.values) {
                if slot.initial_terms.is_none() {
                    slot.initial_terms = Some(terms.clone());
                }
            }
            let owned: Vec<Tensor> = active
                .parameters()
                .into_iter()
                .map(Tensor::shallow_clone)
                .collect();
            let params: Vec<&Tensor> = owned.iter().collect();
            let grads = gradients(&active, &ml, &params, &shared_mask, weighting)?;
            active.optim.step(&params, &grads)?;
            if let Some(l) = &active.lambda {
                // Σ_t λ_t = T after every step (kept above 1e-3 first).
                tch::no_grad(|| {
                    let positive = l.clamp_min(1e-3);
                    let sum = positive.sum_dim_intlist(&[1i64][..], true, positive.kind());
                    l.shallow_clone().copy_(&(positive * tasks as f64 / sum));
                });
            }
            let values = ml.values;
            let mut bad = Vec::new();
            for (i, (slot, (value, terms))) in active.slots.iter_mut().zip(&values).enumerate() {
                if value.is_finite() {
                    slot.loss_sum += value * (hi - lo) as f64;
                    for (sum, t) in slot.term_sums.iter_mut().zip(terms) {
                        *sum += t * (hi - lo) as f64;
                    }
                } else {
                    bad.push(i);
                    finished[slot.member] = Some(Err(TrainError::NonFinite {
                        epoch,
                        batch: b + 1,
                        value: *value,
                    }));
                }
            }
            active.remove(&bad);
            if active.slots.is_empty() {
                break 'epochs;
            }
        }

        let vals = evaluate(&active.net, val_in, &specs_of(&active), &data.tasks, None)?;
        let cosines = grad_cosines(&active, val_in, &specs_of(&active), &last_shared)?;
        let uncertainty = active
            .log_var
            .as_ref()
            .map(|s| tensor_to_vec(&s.detach()))
            .transpose()?;
        let multipliers = active
            .lambda
            .as_ref()
            .map(|l| tensor_to_vec(&l.detach()))
            .transpose()?;
        let mut stopping = Vec::new();
        for (i, (slot, val)) in active.slots.iter_mut().zip(&vals).enumerate() {
            let m = &members[slot.member];
            let tc = &m.config.train;
            let monitor = monitor_value(tc.monitor, val);
            slot.history
                .push(slot.term_sums.iter().map(|s| s / n_train as f64).collect());
            if let Some(s) = &uncertainty {
                slot.task_weights = (0..tasks)
                    .map(|t| (-s[i * tasks + t]).exp() * slot.spec.weights[t])
                    .collect();
            }
            if let Some(l) = &multipliers {
                slot.task_weights = (0..tasks)
                    .map(|t| l[i * tasks + t] * slot.spec.weights[t])
                    .collect();
            }
            slot.curves.push(EpochRecord {
                epoch,
                train_loss: slot.loss_sum / n_train as f64,
                val_loss: val.loss,
                val_head_losses: val.head_losses.clone(),
                val_balanced_accuracy: val
                    .heads
                    .iter()
                    .map(|h| h.metrics.as_ref().map(|m| m.balanced_accuracy))
                    .collect(),
                val_exact_match: val.exact_match,
                monitor,
                task_weights: slot.task_weights.clone(),
                grad_cosine: cosines.get(i).cloned().unwrap_or_default(),
            });
            if let Some(f) = &m.on_epoch {
                f(slot.curves.last().expect("just pushed"));
            }
            debug!(
                seed = m.config.seed,
                epoch,
                train_loss = slot.loss_sum / n_train as f64,
                val_loss = val.loss,
                monitor,
                "epoch"
            );
            if tc.patience == 0 {
                continue;
            }
            match &slot.best {
                Some((b, best_epoch, _))
                    if !(monitor.is_finite() && better(tc.monitor, monitor, *b)) =>
                {
                    if epoch - best_epoch >= tc.patience {
                        stopping.push(i);
                    }
                }
                _ => slot.best = Some((monitor, epoch, active.net.member(i))),
            }
        }
        for (i, slot) in active.remove(&stopping) {
            let _ = i;
            let member = slot.member;
            finished[member] = Some(Ok(slot.finish(true, Vec::new())));
        }
        if active.slots.is_empty() {
            break;
        }
    }
    let slots = std::mem::take(&mut active.slots);
    for (i, slot) in slots.into_iter().enumerate() {
        let member = slot.member;
        let current = if slot.best.is_none() {
            active.net.member(i)
        } else {
            Vec::new()
        };
        finished[member] = Some(Ok(slot.finish(false, current)));
    }
    drop(active);

    // Every finished member evaluated with its kept weights, together.
    let done: Vec<usize> = (0..members.len())
        .filter(|&m| matches!(finished[m], Some(Ok(_))))
        .collect();
    let mut outputs: Vec<Option<Vec<SplitOutput>>> = (0..members.len()).map(|_| None).collect();
    if !done.is_empty() {
        let mut dummy: Vec<ChaCha8Rng> =
            done.iter().map(|_| ChaCha8Rng::seed_from_u64(0)).collect();
        let zeros = vec![0.0; done.len()];
        let net = Net::new(&first.model, p, &heads, &names, device, &mut dummy, &zeros);
        for (j, &m) in done.iter().enumerate() {
            if let Some(Ok(f)) = &finished[m] {
                net.set_member(j, &f.weights).map_err(TrainError::Invalid)?;
            }
        }
        let done_specs: Vec<&LossSpec> = done.iter().map(|&m| &specs[m]).collect();
        // Validation first: its residuals give regression heads their
        // spread on every split.
        let val = splits
            .iter()
            .find(|s| s.part == Part::Val)
            .expect("every part has an input");
        let on_val = evaluate(&net, val, &done_specs, &data.tasks, None)?;
        let spread = spreads(&on_val);
        let mut per_split = Vec::new();
        for s in &splits {
            per_split.push(if s.part == Part::Val {
                on_val.clone()
            } else {
                evaluate(&net, s, &done_specs, &data.tasks, Some(&spread))?
            });
        }
        for (j, &m) in done.iter().enumerate() {
            outputs[m] = Some(per_split.iter().map(|v| v[j].clone()).collect());
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(finished
        .into_iter()
        .zip(outputs)
        .zip(members)
        .map(|((f, out), member)| {
            let f = f.expect("every member ends")?;
            if let Some(path) = &member.weights {
                save(&f.weights, path)?;
            }
            let epochs_run = f.curves.len();
            Ok(RunOutput {
                parameters,
                best_epoch: f.best_epoch,
                epochs_run,
                stopped_early: f.stopped_early,
                curves: f.curves,
                splits: out.expect("finished members are evaluated"),
                seconds,
                flops: per_sample * (n_train * epochs_run) as f64,
                fused: members.len(),
            })
        })
        .collect())
}

/// Saves through a temporary file renamed into place.
fn save(weights: &[(String, Tensor)], path: &std::path::Path) -> Result<(), TrainError> {
    let err = |message: String| TrainError::Save {
        path: path.to_path_buf(),
        message,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    }
    let tmp = path.with_extension("partial.safetensors");
    Tensor::write_safetensors(weights, &tmp).map_err(|e| err(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
}

/// The members' losses, in slot order.
fn specs_of(a: &Active) -> Vec<&LossSpec> {
    a.slots.iter().map(|s| &s.spec).collect()
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

/// The gradients of one step for every parameter the optimiser updates.
fn gradients(
    active: &Active,
    ml: &MemberLosses,
    params: &[&Tensor],
    shared: &[bool],
    weighting: TaskWeighting,
) -> Result<Vec<Tensor>, TrainError> {
    let device = ml.sum.device();
    let kind = ml.sum.kind();
    // Per member per task weights, [K, tasks].
    let weights = |w: &dyn Fn(&Slot) -> Vec<f64>| {
        let v: Vec<f64> = active.slots.iter().flat_map(w).collect();
        crate::init::tensor(
            &v,
            &[active.slots.len() as i64, ml.terms.len() as i64],
            kind,
            device,
        )
    };
    Ok(match weighting {
        TaskWeighting::Fixed => Tensor::f_run_backward(&[&ml.sum], params, false, false)?,
        TaskWeighting::Dwa => {
            let w = weights(&|s| s.task_weights.clone());
            let objective = weighted(&ml.terms, &w).sum(kind);
            Tensor::f_run_backward(&[objective], params, false, false)?
        }
        TaskWeighting::Uncertainty => {
            let s = active
                .log_var
                .as_ref()
                .expect("uncertainty has log variances");
            let w = weights(&|s| s.spec.weights.clone());
            // Σ_t e^(−s_t)·w_t·L_t + s_t/2, summed over members.
            let l = Tensor::stack(&ml.terms, 1) * w;
            let objective = ((-s).exp() * l + s * 0.5).sum(kind);
            Tensor::f_run_backward(&[objective], params, false, false)?
        }
        TaskWeighting::Gradnorm => {
            let lambda = active.lambda.as_ref().expect("gradnorm has multipliers");
            let w = weights(&|s| s.spec.weights.clone());
            let alpha = weights(&|s| vec![s.gradnorm_alpha; s.spec.weights.len()]);
            let l0 = weights(&|s| {
                s.initial_terms
                    .clone()
                    .unwrap_or_else(|| vec![1.0; s.spec.weights.len()])
            });
            let last = last_shared_weight(params, shared);
            // g_t = ‖∇_W w_t·L_t‖ per member, on the last shared layer's weights.
            let tasks = ml.terms.len();
            let mut norms = Vec::with_capacity(tasks);
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
            grads
        }
        TaskWeighting::Pcgrad => {
            let w = weights(&|s| s.spec.weights.clone());
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
fn dot(a: &[Tensor], b: &[Tensor], mask: &[bool]) -> Tensor {
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

/// Per member, the cosine between each pair of tasks' loss gradients on
/// the parameters marked in `shared` (the last shared layer: the gradient
/// stops there, so measuring costs little beyond a forward pass), on up to
/// [`COSINE_ROWS`] validation samples.
fn grad_cosines(
    active: &Active,
    val: &SplitInput,
    specs: &[&LossSpec],
    shared: &[bool],
) -> Result<Vec<Vec<f64>>, TrainError> {
    let tasks = specs[0].tasks.len();
    if tasks < 2 || !shared.iter().any(|&s| s) || val.ids.is_empty() {
        return Ok(Vec::new());
    }
    let real = val.ids.len().min(COSINE_ROWS) as i64;
    let rows = padded(real as usize) as i64;
    let k = active.slots.len() as i64;
    let logits = active.net.forward(&val.x.narrow(0, 0, rows), None);
    let t = val.targets.narrow(rows);
    // Rows past the first `real` are other samples or padding: unlabelled here.
    let keep = Tensor::arange(rows, (tch::Kind::Int64, logits.device()))
        .lt(real)
        .to_kind(t.mask.kind())
        .unsqueeze(1);
    let targets = Targets {
        labels: t.labels.shallow_clone(),
        onehot: t.onehot.shallow_clone(),
        mask: &t.mask * keep,
        values: t.values.shallow_clone(),
    }
    .expand(k);
    let ml = loss::compute_members(specs, &logits, &targets)?;
    let params: Vec<&Tensor> = active
        .net
        .parameters()
        .into_iter()
        .zip(shared)
        .filter(|(_, &s)| s)
        .map(|(p, _)| p)
        .collect();
    let all = vec![true; params.len()];
    let mut grads = Vec::with_capacity(tasks);
    for (i, term) in ml.terms.iter().enumerate() {
        grads.push(Tensor::f_run_backward(
            &[term.sum(term.kind())],
            &params,
            i + 1 < tasks,
            false,
        )?);
    }
    let mut per_pair = Vec::new();
    for i in 0..tasks {
        for j in i + 1..tasks {
            let d = dot(&grads[i], &grads[j], &all);
            let n = (dot(&grads[i], &grads[i], &all) * dot(&grads[j], &grads[j], &all)).sqrt();
            per_pair.push(tensor_to_vec(&(d / n.clamp_min(1e-30)))?);
        }
    }
    Ok((0..k as usize)
        .map(|m| per_pair.iter().map(|p| p[m]).collect())
        .collect())
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
}
