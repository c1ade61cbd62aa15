//! Training runs: what a caller asks for and gets back, setting up a fused
//! group (network, optimiser, task weighting), its epochs, and the final
//! evaluation of each run's kept weights. One epoch's steps live in
//! `epoch.rs`, task weighting in `weighting.rs`, batching in `batch.rs`.

use std::sync::Arc;
use std::time::Instant;

use headsweep_data::{Dataset, Part};
use headsweep_spec::{fusion_key, RunConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Tensor};
use tracing::{info_span, warn};

use crate::batch::SplitInput;
use crate::checkpoint::{self, State};
use crate::epoch::{Active, Context, Ends, Finished, Flow, Slot, Snapshot};
use crate::eval::{evaluate, spreads, SplitOutput};
use crate::job::{GroupOptions, Member, RunOutput, TrainOptions};
use crate::loss::{self, LossSpec};
use crate::net::{Head, Net};
use crate::optim::{Hyper, Optim};
use crate::weighting::{MemberWeights, Weighting};
use crate::{LossError, TrainError};

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
        checkpoints: None,
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

/// Trains `members` as one fused model on `data` and evaluates each on every
/// split. Every member must have the same [`headsweep_spec::fusion_key`].
/// Each member's result is the one it gets trained alone, bit for bit on
/// CPU: its initial weights, batch order and dropout masks come from its
/// own generator, the loss is a sum of per-member losses (so each member's
/// gradient is exactly its own), and the optimiser updates each member with
/// its own settings. A member that stops early keeps its best weights and
/// leaves the group; one whose loss is not finite fails alone. A member
/// with [`Member::checkpoints`] continues from its trajectory's newest
/// saved state; members continuing from different epochs train apart.
pub fn train_group(
    members: Vec<Member>,
    data: &Dataset,
    opts: &GroupOptions,
) -> Vec<Result<RunOutput, TrainError>> {
    let mut states: Vec<Option<State>> = members
        .iter()
        .map(|m| {
            let c = m.checkpoints.as_ref()?;
            checkpoint::load(&c.dir, &m.config, data)
        })
        .collect();
    let mut parts: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (i, s) in states.iter().enumerate() {
        parts
            .entry(s.as_ref().map_or(0, |s| s.budget))
            .or_default()
            .push(i);
    }
    if parts.len() <= 1 {
        return train_part(members, states, data, opts);
    }
    let mut back: Vec<Option<Result<RunOutput, TrainError>>> =
        (0..members.len()).map(|_| None).collect();
    for idx in parts.into_values() {
        let part_members = idx.iter().map(|&i| members[i].clone()).collect();
        let part_states = idx.iter().map(|&i| states[i].take()).collect();
        for (r, i) in train_part(part_members, part_states, data, opts)
            .into_iter()
            .zip(idx)
        {
            back[i] = Some(r);
        }
    }
    back.into_iter()
        .map(|r| r.expect("a result per member"))
        .collect()
}

/// [`train_group`] for members that all start at the same epoch
/// (`states[i]`: member i's saved state, if it continues one).
fn train_part(
    members: Vec<Member>,
    mut states: Vec<Option<State>>,
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
        .collect::<Result<_, LossError>>()
        .map_err(TrainError::from);
    let mut order: Vec<usize> = (0..n).collect();
    let result = specs.and_then(|specs| {
        let keys: Vec<String> = specs.iter().map(|s| format!("{s:?}")).collect();
        order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
        let sorted: Vec<Member> = order.iter().map(|&i| members[i].clone()).collect();
        let specs: Vec<LossSpec> = order.iter().map(|&i| specs[i].clone()).collect();
        let states = order.iter().map(|&i| states[i].take()).collect();
        group(&sorted, specs, states, data, opts)
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
        Err(TrainError::Cancelled) => (0..n).map(|_| Err(TrainError::Cancelled)).collect(),
        Err(e) => {
            let shared = Arc::new(e);
            (0..n)
                .map(|_| Err(TrainError::Group(shared.clone())))
                .collect()
        }
    }
}

/// `specs[i]` is member i's resolved loss, `states[i]` the state it
/// continues from.
fn group(
    members: &[Member],
    specs: Vec<LossSpec>,
    states: Vec<Option<State>>,
    data: &Dataset,
    opts: &GroupOptions,
) -> Result<Vec<Result<RunOutput, TrainError>>, TrainError> {
    let start = Instant::now();
    let first = &members.first().ok_or(TrainError::EmptyGroup)?.config;
    let key = fusion_key(first);
    if let Some(m) = members.iter().find(|m| fusion_key(&m.config) != key) {
        return Err(TrainError::NotFusable {
            seeds: (first.seed, m.config.seed),
        });
    }
    tch::set_num_threads(opts.threads.max(1) as i32);
    let device = opts.device;
    // Equal fusion keys mean equal output layers.
    let heads = specs[0].heads();
    debug_assert!(specs.iter().all(|s| s.heads() == heads));
    let mut rngs: Vec<ChaCha8Rng> = members
        .iter()
        .map(|m| ChaCha8Rng::seed_from_u64(m.config.seed))
        .collect();
    let dropout: Vec<f64> = members.iter().map(|m| m.config.model.dropout).collect();
    let net = build_net(first, data, &heads, device, &mut rngs, &dropout)?;
    if members.len() > 1 {
        if let Some(layer) = net.misaligned_layer() {
            return Err(TrainError::Misaligned { layer });
        }
    }
    let per_sample = net.train_flops_per_sample();
    let parameters = net.parameter_count();
    let splits: Vec<SplitInput> = Part::ALL
        .iter()
        .map(|&part| SplitInput::new(data, part, &net, device))
        .collect();
    let n_train = splits[0].len();
    let mut ends: Ends = (0..members.len()).map(|_| None).collect();
    let cx = Context {
        members,
        data,
        train: &splits[0],
        val: &splits[1],
        device,
        batch_size: first.train.batch_size,
        shared: net.shared_mask(),
        last_shared: net.last_shared_mask(),
        stop: opts.stop.as_ref(),
    };
    let mut active = start_active(members, &specs, net, rngs, n_train);
    let resumed = resume(&mut active, states, &mut ends)?;
    if !active.slots.is_empty() {
        for epoch in resumed + 1..=first.train.epochs {
            if active.epoch(&cx, epoch, &mut ends)? == Flow::AllLeft {
                break;
            }
        }
    }
    save_states(&active, members, &ends);
    active.finish(&mut ends);
    let outputs = evaluate_finished(first, data, &heads, device, &specs, &splits, &ends)?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(ends
        .into_iter()
        .zip(outputs)
        .zip(members)
        .map(|((f, out), member)| {
            let f = f.expect("every member ends")?;
            if let Some(path) = &member.weights {
                save(&f.weights, path)?;
            }
            let epochs_run = f.curves.len();
            let resumed_epochs = resumed.min(epochs_run);
            Ok(RunOutput {
                parameters,
                best_epoch: f.best_epoch,
                epochs_run,
                stopped_early: f.stopped_early,
                curves: f.curves,
                splits: out.expect("finished members are evaluated"),
                seconds,
                flops: per_sample * (n_train * (epochs_run - resumed_epochs)) as f64,
                resumed_epochs,
                fused: members.len(),
            })
        })
        .collect())
}

/// Puts each member with a saved state where the state left it, and ends
/// those early stopping had ended; returns the epochs the states hold (the
/// same for every member that has one, 0 when none has).
fn resume(
    active: &mut Active,
    states: Vec<Option<State>>,
    ends: &mut Ends,
) -> Result<usize, TrainError> {
    let mut resumed = 0;
    let mut step = 0;
    let mut ended = Vec::new();
    let mut moments = Vec::new();
    for (i, state) in states.into_iter().enumerate() {
        let Some(s) = state else { continue };
        resumed = s.budget;
        if let Some(best_epoch) = s.stopped {
            ends[i] = Some(Ok(Finished {
                curves: s.curves,
                best_epoch,
                stopped_early: true,
                weights: s.weights,
            }));
            ended.push(i);
            continue;
        }
        active.net.set_member(i, &s.weights)?;
        active.rngs[i].set_word_pos(s.word_pos);
        active.weighting.restore(i, &s.weighting)?;
        active.slots[i].resume(s.order, s.curves, s.best);
        step = s.step;
        moments.push((i, s.moments));
    }
    if !moments.is_empty() {
        let saved: Vec<(usize, &[(Tensor, Tensor)])> =
            moments.iter().map(|(i, m)| (*i, m.as_slice())).collect();
        active.optim.resume(step, &saved)?;
    }
    active.remove(&ended);
    Ok(resumed)
}

/// Saves the state of every member asked to, after the group's last epoch:
/// those still training and those early stopping ended. A state that
/// cannot be written costs a later run time, not this run its result, so
/// it is a warning.
fn save_states(active: &Active, members: &[Member], ends: &Ends) {
    let shallow = |s: &Snapshot| -> Snapshot {
        s.iter()
            .map(|(n, t)| (n.clone(), t.shallow_clone()))
            .collect()
    };
    let wants = |m: usize| members[m].checkpoints.as_ref().is_some_and(|c| c.save);
    let mut states: Vec<(usize, State)> = Vec::new();
    for (i, slot) in active.slots.iter().enumerate() {
        if !wants(slot.member) {
            continue;
        }
        let (order, curves, best) = slot.progress();
        states.push((
            slot.member,
            State {
                budget: members[slot.member].config.train.epochs,
                step: active.optim.steps(),
                word_pos: active.rngs[i].get_word_pos(),
                order: order.to_vec(),
                curves: curves.to_vec(),
                best: best.map(|(v, e, w)| (*v, *e, shallow(w))),
                weights: active.net.member(i),
                moments: active.optim.member_state(i),
                weighting: active.weighting.member_state(i),
                stopped: None,
            },
        ));
    }
    for (m, end) in ends.iter().enumerate() {
        if let Some(Ok(f)) = end.as_ref().filter(|_| wants(m)) {
            states.push((
                m,
                State {
                    budget: members[m].config.train.epochs,
                    step: 0,
                    word_pos: 0,
                    order: Vec::new(),
                    curves: f.curves.clone(),
                    best: None,
                    weights: shallow(&f.weights),
                    moments: Vec::new(),
                    weighting: crate::weighting::Saved::default(),
                    stopped: Some(f.best_epoch),
                },
            ));
        }
    }
    for (m, state) in states {
        let member = &members[m];
        let c = member.checkpoints.as_ref().expect("asked to save");
        if let Err(e) = checkpoint::save(&c.dir, &member.config, &state) {
            warn!(dir = %c.dir.display(), %e, "cannot save the training state; a longer run of this trajectory will train from the first epoch");
        }
    }
}

/// The group's network: one member per generator, initialised from it.
fn build_net(
    first: &RunConfig,
    data: &Dataset,
    heads: &[Head],
    device: Device,
    rngs: &mut [ChaCha8Rng],
    dropout: &[f64],
) -> Result<Net, TrainError> {
    let names: Vec<String> = data.tasks.iter().map(|t| t.name.clone()).collect();
    let model = crate::capacity::resolve(&first.model, data.n_features(), heads)?;
    Ok(Net::new(
        &model,
        data.n_features(),
        heads,
        &names,
        device,
        rngs,
        dropout,
    ))
}

/// Every member training, with its optimiser settings and task weighting.
fn start_active(
    members: &[Member],
    specs: &[LossSpec],
    net: Net,
    rngs: Vec<ChaCha8Rng>,
    n_train: usize,
) -> Active {
    let tc = &members[0].config.train;
    let hyper = members
        .iter()
        .map(|m| Hyper {
            lr: m.config.train.lr,
            weight_decay: m.config.train.weight_decay,
            momentum: m.config.train.momentum,
        })
        .collect();
    let weighting = Weighting::new(
        tc.task_weighting,
        members
            .iter()
            .zip(specs)
            .map(|(m, spec)| MemberWeights {
                base: spec.weights.clone(),
                gradnorm_alpha: m.config.train.gradnorm_alpha,
                dwa_temperature: m.config.train.dwa_temperature,
            })
            .collect(),
        specs[0].heads().len(),
        net.kind(),
        net.device(),
    );
    let mut all_params = net.parameters();
    all_params.extend(weighting.parameter());
    let mut optim = Optim::new(tc.optimizer, hyper, &all_params);
    if weighting.parameter().is_some() {
        optim.exempt_last(1);
    }
    Active {
        net,
        optim,
        rngs,
        slots: specs
            .iter()
            .enumerate()
            .map(|(member, spec)| Slot::new(member, n_train, spec.clone()))
            .collect(),
        weighting,
        pending: Vec::new(),
    }
}

/// Every member that finished, evaluated with its kept weights on every
/// split, together; `None` for the others.
fn evaluate_finished(
    first: &RunConfig,
    data: &Dataset,
    heads: &[Head],
    device: Device,
    specs: &[LossSpec],
    splits: &[SplitInput],
    ends: &Ends,
) -> Result<Vec<Option<Vec<SplitOutput>>>, TrainError> {
    let mut outputs: Vec<Option<Vec<SplitOutput>>> = (0..ends.len()).map(|_| None).collect();
    let done: Vec<usize> = (0..ends.len())
        .filter(|&m| matches!(ends[m], Some(Ok(_))))
        .collect();
    if done.is_empty() {
        return Ok(outputs);
    }
    let mut dummy: Vec<ChaCha8Rng> = done.iter().map(|_| ChaCha8Rng::seed_from_u64(0)).collect();
    let zeros = vec![0.0; done.len()];
    let net = build_net(first, data, heads, device, &mut dummy, &zeros)?;
    for (j, &m) in done.iter().enumerate() {
        if let Some(Ok(f)) = &ends[m] {
            net.set_member(j, &f.weights)?;
        }
    }
    let done_specs: Vec<&LossSpec> = done.iter().map(|&m| &specs[m]).collect();
    // Validation first: its residuals give regression heads their spread
    // on every split.
    let val = splits
        .iter()
        .find(|s| s.part == Part::Val)
        .expect("every part has an input");
    let on_val = evaluate(&net, val, &done_specs, &data.tasks, None)?;
    let spread = spreads(&on_val);
    let mut per_split = Vec::new();
    for s in splits {
        per_split.push(if s.part == Part::Val {
            on_val.clone()
        } else {
            evaluate(&net, s, &done_specs, &data.tasks, Some(&spread))?
        });
    }
    for (j, &m) in done.iter().enumerate() {
        outputs[m] = Some(per_split.iter().map(|v| v[j].clone()).collect());
    }
    Ok(outputs)
}

/// Saves a run's best weights whole or not at all ([`checkpoint::write_whole`]).
fn save(weights: &[(String, Tensor)], path: &std::path::Path) -> Result<(), TrainError> {
    checkpoint::write_whole(weights, path).map_err(|source| TrainError::Save {
        path: path.to_path_buf(),
        source,
    })
}
