//! One epoch of a fused group: its batches and optimiser steps, then
//! validation and early stopping. The members still training share one
//! network and one optimiser; a member that stops, fails or is cancelled
//! leaves them, and everything batched is narrowed to the others.

use headsweep_data::Dataset;
use headsweep_spec::Monitor;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Tensor};
use tracing::debug;

use crate::batch::{batch_rows, padded, SplitInput};
use crate::cosine;
use crate::eval::{self, evaluate, tensor_to_vec, SplitOutput};
use crate::job::{EpochRecord, Member, StopFn};
use crate::loss::{self, member_values, LossSpec};
use crate::net::Net;
use crate::optim::Optim;
use crate::weighting::Weighting;
use crate::TrainError;

/// One member's named parameters.
pub(crate) type Snapshot = Vec<(String, Tensor)>;

/// The best epoch so far: its monitored value, number and weights.
pub(crate) type Best = (f64, usize, Snapshot);

/// Up to this many bytes of activations (a large validation split of a
/// wide network would hold far more), the validation pass after an epoch
/// keeps its graph and also gives the gradient cosine; past it, the
/// cosine takes a pass of its own over its rows.
const SHARED_PASS_BYTES: usize = 64 << 20;

/// A member still training.
pub(crate) struct Slot {
    /// Position in the group's member list.
    pub member: usize,
    order: Vec<i64>,
    loss_sum: f64,
    curves: Vec<EpochRecord>,
    best: Option<Best>,
    spec: LossSpec,
}

impl Slot {
    pub(crate) fn new(member: usize, n_train: usize, spec: LossSpec) -> Slot {
        Slot {
            member,
            order: (0..n_train as i64).collect(),
            loss_sum: 0.0,
            curves: Vec::new(),
            best: None,
            spec,
        }
    }

    /// What a saved state keeps of the slot: its batch order (each epoch
    /// shuffles the last), learning curve and best epoch so far.
    pub(crate) fn progress(&self) -> (&[i64], &[EpochRecord], Option<&Best>) {
        (&self.order, &self.curves, self.best.as_ref())
    }

    /// Continues from [`Slot::progress`] as saved.
    pub(crate) fn resume(&mut self, order: Vec<i64>, curves: Vec<EpochRecord>, best: Option<Best>) {
        self.order = order;
        self.curves = curves;
        self.best = best;
    }

    /// Whether no epoch has set best weights yet (the current ones are kept).
    pub(crate) fn has_no_best(&self) -> bool {
        self.best.is_none()
    }

    pub(crate) fn finish(self, stopped_early: bool, current: Snapshot) -> Finished {
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

/// A member whose training ended normally.
pub(crate) struct Finished {
    pub curves: Vec<EpochRecord>,
    pub best_epoch: usize,
    pub stopped_early: bool,
    pub weights: Snapshot,
}

/// How each member's training ended, by member; `None` while it trains.
pub(crate) type Ends = Vec<Option<Result<Finished, TrainError>>>;

/// What the members still training share, kept in step when some leave.
pub(crate) struct Active {
    pub net: Net,
    pub optim: Optim,
    pub rngs: Vec<ChaCha8Rng>,
    pub slots: Vec<Slot>,
    pub weighting: Weighting,
    /// Steps whose loss values are still on the device: each step's
    /// [`crate::loss::MemberLosses::table`], its batch number and rows.
    /// Read back in one transfer when the epoch ends (or before members
    /// leave), so that no step waits for a GPU to finish the one before.
    pub pending: Vec<(Tensor, usize, usize)>,
}

/// The batch rows of one epoch for the members that began it, on the
/// device: batch after batch, each member's rows then its padding.
struct EpochRows {
    members: Vec<usize>,
    rows: Tensor,
    /// Per batch, where its rows start; then where the last one ends.
    starts: Vec<i64>,
}

/// What stays fixed over a group's epochs.
pub(crate) struct Context<'a> {
    pub members: &'a [Member],
    pub data: &'a Dataset,
    pub train: &'a SplitInput,
    pub val: &'a SplitInput,
    pub device: Device,
    pub batch_size: usize,
    /// Parameters every task reaches, and those of the last shared layer.
    pub shared: Vec<bool>,
    pub last_shared: Vec<bool>,
    /// Asked between batches; true cancels the whole group.
    pub stop: Option<&'a StopFn>,
}

/// Whether any member is still training after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    AllLeft,
}

impl Active {
    /// The parameters the optimiser updates, in its order.
    fn parameters(&self) -> Vec<&Tensor> {
        let mut p = self.net.parameters();
        p.extend(self.weighting.parameter());
        p
    }

    /// The members' losses, in slot order.
    fn specs(&self) -> Vec<&LossSpec> {
        self.slots.iter().map(|s| &s.spec).collect()
    }

    /// Removes the members at positions `leave`, returning their slots.
    pub(crate) fn remove(&mut self, leave: &[usize]) -> Vec<Slot> {
        if leave.is_empty() {
            return Vec::new();
        }
        let keep: Vec<usize> = (0..self.slots.len())
            .filter(|i| !leave.contains(i))
            .collect();
        if !keep.is_empty() {
            self.net.retain(&keep);
        }
        self.weighting.retain(&keep);
        self.optim.retain(&keep);
        let mut gone = Vec::new();
        let (mut slots, mut rngs) = (Vec::new(), Vec::new());
        for (i, (slot, rng)) in self.slots.drain(..).zip(self.rngs.drain(..)).enumerate() {
            if leave.contains(&i) {
                gone.push(slot);
            } else {
                slots.push(slot);
                rngs.push(rng);
            }
        }
        self.slots = slots;
        self.rngs = rngs;
        gone
    }

    /// Trains every member still in the group for one epoch, then validates
    /// each and applies early stopping. Members that leave get their end in
    /// `ends`.
    pub(crate) fn epoch(
        &mut self,
        cx: &Context,
        epoch: usize,
        ends: &mut Ends,
    ) -> Result<Flow, TrainError> {
        for (slot, rng) in self.slots.iter_mut().zip(&mut self.rngs) {
            slot.order.shuffle(rng);
            slot.loss_sum = 0.0;
        }
        self.weighting.start_epoch();
        let n_train = cx.train.len();
        let batches: Vec<(usize, usize)> = (0..n_train)
            .step_by(cx.batch_size)
            .map(|lo| (lo, (lo + cx.batch_size).min(n_train)))
            .collect();
        let plan = self.epoch_rows(cx, &batches);
        for (b, &(lo, hi)) in batches.iter().enumerate() {
            if cx.stop.is_some_and(|stop| stop()) {
                return Err(TrainError::Cancelled);
            }
            let cancelled: Vec<usize> = (0..self.slots.len())
                .filter(|&i| {
                    cx.members[self.slots[i].member]
                        .stop
                        .as_ref()
                        .is_some_and(|stop| stop())
                })
                .collect();
            if !cancelled.is_empty() {
                self.settle(epoch, ends)?;
                for slot in self.remove(&cancelled) {
                    ends[slot.member] = Some(Err(TrainError::Cancelled));
                }
            }
            if self.slots.is_empty() {
                return Ok(Flow::AllLeft);
            }
            let same = self
                .slots
                .iter()
                .map(|s| s.member)
                .eq(plan.members.iter().copied());
            let idx = if same {
                let (from, to) = (plan.starts[b], plan.starts[b + 1]);
                plan.rows.narrow(0, from, to - from)
            } else {
                Tensor::from_slice(&batch_rows(
                    self.slots.iter().map(|s| s.order.as_slice()),
                    lo,
                    hi,
                    n_train as i64,
                ))
                .to_device(cx.device)
            };
            self.step(cx, &idx, hi - lo, b + 1)?;
        }
        self.settle(epoch, ends)?;
        if self.slots.is_empty() {
            return Ok(Flow::AllLeft);
        }
        self.validate(cx, epoch, ends)
    }

    /// Every batch's rows for this epoch, uploaded at once.
    fn epoch_rows(&self, cx: &Context, batches: &[(usize, usize)]) -> EpochRows {
        let n_train = cx.train.len() as i64;
        let mut rows = Vec::new();
        let mut starts = Vec::with_capacity(batches.len() + 1);
        for &(lo, hi) in batches {
            starts.push(rows.len() as i64);
            rows.extend(batch_rows(
                self.slots.iter().map(|s| s.order.as_slice()),
                lo,
                hi,
                n_train,
            ));
        }
        starts.push(rows.len() as i64);
        EpochRows {
            members: self.slots.iter().map(|s| s.member).collect(),
            rows: Tensor::from_slice(&rows).to_device(cx.device),
            starts,
        }
    }

    /// Reads back the pending steps' loss values, in step order: each
    /// member's training loss and task sums, and the end of every member
    /// whose loss was not finite (at its first such step), who leaves.
    fn settle(&mut self, epoch: usize, ends: &mut Ends) -> Result<(), TrainError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let steps = std::mem::take(&mut self.pending);
        let k = self.slots.len();
        let tables: Vec<&Tensor> = steps.iter().map(|(t, _, _)| t).collect();
        let all = tensor_to_vec(&Tensor::stack(&tables, 0))?;
        let per_step = all.len() / steps.len();
        let mut bad: Vec<usize> = Vec::new();
        for ((_, batch, rows), table) in steps.iter().zip(all.chunks(per_step)) {
            for (i, (value, terms)) in member_values(table, k).into_iter().enumerate() {
                if bad.contains(&i) {
                    continue;
                }
                let slot = &mut self.slots[i];
                if value.is_finite() {
                    slot.loss_sum += value * *rows as f64;
                    self.weighting.accumulate(i, &terms, *rows);
                } else {
                    bad.push(i);
                    ends[slot.member] = Some(Err(TrainError::NonFinite {
                        epoch,
                        batch: *batch,
                        value,
                    }));
                }
            }
        }
        bad.sort_unstable();
        self.remove(&bad);
        Ok(())
    }

    /// One optimiser step on the rows `idx` (each member's batch of `rows`
    /// samples, then its padding); its loss values wait in `pending`.
    fn step(
        &mut self,
        cx: &Context,
        idx: &Tensor,
        rows: usize,
        batch: usize,
    ) -> Result<(), TrainError> {
        let k = self.slots.len() as i64;
        let p = cx.data.n_features() as i64;
        let xb = cx.train.x.index_select(0, idx).view([k, -1, p]);
        let tb = cx.train.targets.select(idx, k);
        let logits = self.net.forward(&xb, Some((&mut self.rngs, rows)));
        let ml = loss::compute_members(&self.specs(), &logits, &tb)?;
        if self.weighting.wants_values() {
            self.weighting.observe(&ml.values()?);
        }
        let owned: Vec<Tensor> = self
            .parameters()
            .into_iter()
            .map(Tensor::shallow_clone)
            .collect();
        let params: Vec<&Tensor> = owned.iter().collect();
        let grads = self.weighting.gradients(&ml, &params, &cx.shared)?;
        self.optim.step(&params, &grads)?;
        self.weighting.after_step();
        self.pending.push((ml.table, batch, rows));
        Ok(())
    }

    /// After an epoch's batches: every member's validation metrics, learning
    /// curve entry and early-stopping decision.
    fn validate(
        &mut self,
        cx: &Context,
        epoch: usize,
        ends: &mut Ends,
    ) -> Result<Flow, TrainError> {
        let specs = self.specs();
        let (vals, cosines) = if !cosine::measured(&specs, &cx.last_shared, cx.val) {
            let vals = evaluate(&self.net, cx.val, &specs, &cx.data.tasks, None)?;
            (vals, Vec::new())
        } else if self.net.activation_bytes(padded(cx.val.len())) <= SHARED_PASS_BYTES {
            // One forward pass, kept with its graph, serves both.
            let logits = eval::forward(&self.net, cx.val);
            let vals = eval::outputs(&self.net, &logits, cx.val, &specs, &cx.data.tasks, None)?;
            let cosines =
                cosine::grad_cosines(&self.net, Some(&logits), cx.val, &specs, &cx.last_shared)?;
            (vals, cosines)
        } else {
            // Its activations would be large: the cosine takes a pass over
            // its own rows.
            let vals = evaluate(&self.net, cx.val, &specs, &cx.data.tasks, None)?;
            let cosines = cosine::grad_cosines(&self.net, None, cx.val, &specs, &cx.last_shared)?;
            (vals, cosines)
        };
        let n_train = cx.train.len();
        self.weighting.end_epoch(n_train)?;
        let mut stopping = Vec::new();
        for (i, (slot, val)) in self.slots.iter_mut().zip(&vals).enumerate() {
            let m = &cx.members[slot.member];
            let tc = &m.config.train;
            let monitor = monitor_value(tc.monitor, val);
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
                task_weights: self.weighting.task_weights(i).to_vec(),
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
                _ => slot.best = Some((monitor, epoch, self.net.member(i))),
            }
        }
        for slot in self.remove(&stopping) {
            let member = slot.member;
            ends[member] = Some(Ok(slot.finish(true, Vec::new())));
        }
        Ok(if self.slots.is_empty() {
            Flow::AllLeft
        } else {
            Flow::Continue
        })
    }

    /// Ends every member still training after the last epoch.
    pub(crate) fn finish(mut self, ends: &mut Ends) {
        let slots = std::mem::take(&mut self.slots);
        for (i, slot) in slots.into_iter().enumerate() {
            let member = slot.member;
            let current = if slot.has_no_best() {
                self.net.member(i)
            } else {
                Vec::new()
            };
            ends[member] = Some(Ok(slot.finish(false, current)));
        }
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
