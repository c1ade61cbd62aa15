//! A member's training state saved at the end of its run, so that a run of
//! the same trajectory (the same configuration and data with more epochs,
//! [`RunConfig::trajectory`]) continues from it instead of training those
//! epochs again — successive halving's promoted trials are such runs.
//!
//! The state is everything the next epoch reads: the member's weights, its
//! optimiser moments and the step count, its generator's position, its
//! batch order (each epoch shuffles the last), its learning curve, its best
//! epoch with that epoch's weights, and its task-weighting state. A run
//! continued from it gets the result it gets trained from scratch, bit for
//! bit on CPU. A member that early stopping ended is saved as ended: a
//! longer run of it ends at the same epoch.
//!
//! One safetensors file per budget, `DIR/epochs-N.safetensors`, written
//! whole or not at all ([`write_whole`]); the scalars travel as JSON
//! in a byte tensor, every float as its bits. A file that cannot be read,
//! or that does not fit the run, is passed over with a warning: the run
//! then trains from its first epoch, to the same result.

use std::path::{Path, PathBuf};

use headsweep_data::{Dataset, Part};
use headsweep_spec::RunConfig;
use serde::{Deserialize, Serialize};
use tch::Tensor;
use tracing::warn;

use crate::epoch::{Best, Snapshot};
use crate::job::EpochRecord;
use crate::weighting;

/// Bump when what a file holds changes meaning.
const FORMAT: u32 = 1;

/// One member's state after `budget` epochs of training.
pub(crate) struct State {
    /// The epochs of the run that saved it (the file's N).
    pub budget: usize,
    /// Optimiser steps taken.
    pub step: u64,
    /// The member's generator's position (its seed is the run's).
    pub word_pos: u128,
    pub order: Vec<i64>,
    pub curves: Vec<EpochRecord>,
    pub best: Option<Best>,
    /// The current weights; for an ended member, the kept ones.
    pub weights: Snapshot,
    /// Per optimiser parameter, the member's two state tensors.
    pub moments: Vec<(Tensor, Tensor)>,
    pub weighting: weighting::Saved,
    /// Early stopping ended the member, keeping this epoch's weights.
    pub stopped: Option<usize>,
}

/// The scalars of [`State`], floats as bits.
#[derive(Serialize, Deserialize)]
struct Meta {
    format: u32,
    trajectory: String,
    budget: usize,
    step: u64,
    word_pos: String,
    order: Vec<i64>,
    curves: Vec<Curve>,
    best: Option<(u64, usize)>,
    stopped: Option<usize>,
    history: Vec<Vec<u64>>,
    task_weights: Vec<u64>,
    initial_terms: Option<Vec<u64>>,
    moments: usize,
    learned: bool,
}

/// [`EpochRecord`], floats as bits.
#[derive(Serialize, Deserialize)]
struct Curve {
    epoch: usize,
    train_loss: u64,
    val_loss: u64,
    val_head_losses: Vec<u64>,
    val_balanced_accuracy: Vec<Option<u64>>,
    val_exact_match: Option<u64>,
    monitor: u64,
    task_weights: Vec<u64>,
    grad_cosine: Vec<u64>,
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn floats(v: &[u64]) -> Vec<f64> {
    v.iter().map(|&x| f64::from_bits(x)).collect()
}

impl Curve {
    fn of(e: &EpochRecord) -> Curve {
        Curve {
            epoch: e.epoch,
            train_loss: e.train_loss.to_bits(),
            val_loss: e.val_loss.to_bits(),
            val_head_losses: bits(&e.val_head_losses),
            val_balanced_accuracy: e
                .val_balanced_accuracy
                .iter()
                .map(|v| v.map(f64::to_bits))
                .collect(),
            val_exact_match: e.val_exact_match.map(f64::to_bits),
            monitor: e.monitor.to_bits(),
            task_weights: bits(&e.task_weights),
            grad_cosine: bits(&e.grad_cosine),
        }
    }

    fn record(&self) -> EpochRecord {
        EpochRecord {
            epoch: self.epoch,
            train_loss: f64::from_bits(self.train_loss),
            val_loss: f64::from_bits(self.val_loss),
            val_head_losses: floats(&self.val_head_losses),
            val_balanced_accuracy: self
                .val_balanced_accuracy
                .iter()
                .map(|v| v.map(f64::from_bits))
                .collect(),
            val_exact_match: self.val_exact_match.map(f64::from_bits),
            monitor: f64::from_bits(self.monitor),
            task_weights: floats(&self.task_weights),
            grad_cosine: floats(&self.grad_cosine),
        }
    }
}

fn file(dir: &Path, budget: usize) -> PathBuf {
    dir.join(format!("epochs-{budget}.safetensors"))
}

/// The budgets saved in `dir`, largest first.
fn budgets(dir: &Path) -> Vec<usize> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<usize> = entries
        .filter_map(|e| {
            let name = e.ok()?.file_name();
            name.to_str()?
                .strip_prefix("epochs-")?
                .strip_suffix(".safetensors")?
                .parse()
                .ok()
        })
        .collect();
    out.sort_unstable_by(|a, b| b.cmp(a));
    out
}

/// Steps in one epoch of `config` on `data`.
fn steps_per_epoch(config: &RunConfig, data: &Dataset) -> (usize, u64) {
    let n_train = data.parts.iter().filter(|&&p| p == Part::Train).count();
    let batch = config.train.batch_size.max(1);
    (n_train, n_train.div_ceil(batch) as u64)
}

/// The tensors named `PREFIX…`, without the prefix, in file order.
fn named(all: &[(String, Tensor)], prefix: &str) -> Snapshot {
    all.iter()
        .filter_map(|(n, t)| Some((n.strip_prefix(prefix)?.to_string(), t.shallow_clone())))
        .collect()
}

/// The tensor named `name`.
fn one(all: &[(String, Tensor)], name: &str) -> Result<Tensor, String> {
    all.iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t.shallow_clone())
        .ok_or_else(|| format!("no tensor {name}"))
}

/// The newest state in `dir` that `config` (on `data`) can continue from:
/// saved by a run of the same trajectory with fewer epochs. `None` when
/// there is none; a file that does not fit is passed over with a warning.
pub(crate) fn load(dir: &Path, config: &RunConfig, data: &Dataset) -> Option<State> {
    let budget = budgets(dir)
        .into_iter()
        .find(|&b| b < config.train.epochs)?;
    let path = file(dir, budget);
    match read(&path, config, data) {
        Ok(state) if state.budget == budget => Some(state),
        Ok(state) => {
            warn!(path = %path.display(), saved = state.budget, "a saved training state names another budget than its file; training from the first epoch");
            None
        }
        Err(why) => {
            warn!(path = %path.display(), %why, "cannot continue from a saved training state; training from the first epoch");
            None
        }
    }
}

fn read(path: &Path, config: &RunConfig, data: &Dataset) -> Result<State, String> {
    let all = Tensor::read_safetensors(path).map_err(|e| e.to_string())?;
    let bytes = Vec::<u8>::try_from(one(&all, "meta")?).map_err(|e| e.to_string())?;
    let meta: Meta = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    if meta.format != FORMAT {
        return Err(format!(
            "format {} (this version reads {FORMAT})",
            meta.format
        ));
    }
    if meta.trajectory != config.trajectory() {
        return Err("saved by a run of another configuration".into());
    }
    let (n_train, per_epoch) = steps_per_epoch(config, data);
    let curves: Vec<EpochRecord> = meta.curves.iter().map(Curve::record).collect();
    let epochs_in_order = curves.iter().enumerate().all(|(i, e)| e.epoch == i + 1);
    match meta.stopped {
        Some(best) if best == 0 || best > curves.len() || curves.len() > meta.budget => {
            return Err("an ended run's epochs do not add up".into())
        }
        None if curves.len() != meta.budget || meta.step != meta.budget as u64 * per_epoch => {
            return Err(format!(
                "{} epochs and {} steps saved for a budget of {} ({per_epoch} steps an epoch)",
                curves.len(),
                meta.step,
                meta.budget
            ))
        }
        _ => {}
    }
    if !epochs_in_order {
        return Err("the curve's epochs are not 1, 2, … in order".into());
    }
    let training = meta.stopped.is_none();
    let mut sorted = meta.order.clone();
    sorted.sort_unstable();
    if training && !sorted.iter().copied().eq(0..n_train as i64) {
        return Err(format!(
            "the batch order is not one of the {n_train} training samples"
        ));
    }
    let moments = (0..meta.moments)
        .map(|j| Ok((one(&all, &format!("m.{j}"))?, one(&all, &format!("v.{j}"))?)))
        .collect::<Result<Vec<_>, String>>()?;
    let weights = named(&all, "weights.");
    let best_weights = named(&all, "best.");
    if weights.is_empty()
        || (training && moments.is_empty())
        || (meta.best.is_some() && best_weights.len() != weights.len())
    {
        return Err("weights, best weights or optimiser state missing".into());
    }
    Ok(State {
        budget: meta.budget,
        step: meta.step,
        word_pos: meta
            .word_pos
            .parse()
            .map_err(|_| "an unreadable generator position")?,
        order: meta.order,
        best: meta
            .best
            .map(|(v, epoch)| (f64::from_bits(v), epoch, best_weights)),
        curves,
        weights,
        moments,
        weighting: weighting::Saved {
            history: meta.history.iter().map(|h| floats(h)).collect(),
            task_weights: floats(&meta.task_weights),
            initial_terms: meta.initial_terms.as_deref().map(floats),
            learned: if meta.learned {
                Some(one(&all, "learned")?)
            } else {
                None
            },
        },
        stopped: meta.stopped,
    })
}

/// Saves `state` of a run of `config` in `dir` as `epochs-BUDGET`, then
/// removes the states of smaller budgets there (this one continues them).
pub(crate) fn save(dir: &Path, config: &RunConfig, state: &State) -> std::io::Result<()> {
    let meta = Meta {
        format: FORMAT,
        trajectory: config.trajectory(),
        budget: state.budget,
        step: state.step,
        word_pos: state.word_pos.to_string(),
        order: state.order.clone(),
        curves: state.curves.iter().map(Curve::of).collect(),
        best: state.best.as_ref().map(|(v, e, _)| (v.to_bits(), *e)),
        stopped: state.stopped,
        history: state.weighting.history.iter().map(|h| bits(h)).collect(),
        task_weights: bits(&state.weighting.task_weights),
        initial_terms: state.weighting.initial_terms.as_deref().map(bits),
        moments: state.moments.len(),
        learned: state.weighting.learned.is_some(),
    };
    let json = serde_json::to_vec(&meta).map_err(std::io::Error::other)?;
    let mut tensors: Vec<(String, Tensor)> = vec![("meta".into(), Tensor::from_slice(&json))];
    let mut add = |prefix: &str, s: &Snapshot| {
        for (n, t) in s {
            tensors.push((format!("{prefix}{n}"), t.shallow_clone()));
        }
    };
    add("weights.", &state.weights);
    if let Some((_, _, w)) = &state.best {
        add("best.", w);
    }
    for (j, (m, v)) in state.moments.iter().enumerate() {
        tensors.push((format!("m.{j}"), m.shallow_clone()));
        tensors.push((format!("v.{j}"), v.shallow_clone()));
    }
    if let Some(l) = &state.weighting.learned {
        tensors.push(("learned".into(), l.shallow_clone()));
    }
    write_whole(&tensors, &file(dir, state.budget))?;
    for b in budgets(dir) {
        if b < state.budget {
            let _ = std::fs::remove_file(file(dir, b));
        }
    }
    Ok(())
}

/// Writes `tensors` to `path` as safetensors, from host memory whatever
/// device holds them, through `NAME.partial.safetensors` renamed into
/// place; on failure the temporary file is removed, so nothing half-written
/// stays. Saved states and a run's best weights are both written so.
pub(crate) fn write_whole(tensors: &[(String, Tensor)], path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let host: Vec<(&str, Tensor)> = tensors
        .iter()
        .map(|(n, t)| (n.as_str(), t.to_device(tch::Device::Cpu).contiguous()))
        .collect();
    let tmp = path.with_extension("partial.safetensors");
    let written = Tensor::write_safetensors(&host, &tmp)
        .map_err(|e| match e {
            tch::TchError::Io(io)
            | tch::TchError::SafeTensorError {
                err: safetensors::SafeTensorError::IoError(io),
                ..
            } => io,
            other => std::io::Error::other(other.to_string()),
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}
