//! The training loop: batches, the optimiser, early stopping, and the final
//! evaluation at the best epoch.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use headsweep_data::{Dataset, Part};
use headsweep_spec::{Monitor, Optimizer, RunConfig};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::nn::OptimizerConfig;
use tch::{nn, Device, Tensor};
use tracing::{debug, info_span};

use crate::eval::{evaluate, SplitInput, SplitOutput};
use crate::loss::{self, Targets};
use crate::net::Net;
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
}

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
    pub seconds: f64,
}

impl RunOutput {
    pub fn split(&self, part: Part) -> &SplitOutput {
        self.splits
            .iter()
            .find(|s| s.part == part)
            .expect("every part is evaluated")
    }
}

fn split_input(data: &Dataset, part: Part, net: &Net, device: Device) -> SplitInput {
    let idx = data.indices(part);
    let p = data.n_features();
    let mut x = Vec::with_capacity(idx.len() * p);
    for &i in &idx {
        x.extend_from_slice(&data.x[i * p..(i + 1) * p]);
    }
    let labels: Vec<Vec<Option<usize>>> = data
        .tasks
        .iter()
        .map(|t| idx.iter().map(|&i| t.labels[i]).collect())
        .collect();
    SplitInput {
        part,
        ids: idx.iter().map(|&i| data.ids[i].clone()).collect(),
        x: Tensor::from_slice(&x)
            .view([idx.len() as i64, p as i64])
            .to_kind(net.kind())
            .to_device(device),
        targets: Targets::new(&labels, &net.classes, net.kind(), device),
        labels,
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

/// Trains one run of `config` on `data` and evaluates it on every split.
pub fn train(
    config: &RunConfig,
    data: &Dataset,
    opts: &TrainOptions,
) -> Result<RunOutput, TrainError> {
    let span = info_span!("train", sweep = %config.sweep, seed = config.seed);
    let _enter = span.enter();
    let start = Instant::now();
    tch::set_num_threads(opts.threads.max(1) as i32);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let classes: Vec<usize> = data.tasks.iter().map(|t| t.classes.len()).collect();
    let names: Vec<String> = data.tasks.iter().map(|t| t.name.clone()).collect();
    let head_names: Vec<(String, Vec<String>, bool)> = data
        .tasks
        .iter()
        .map(|t| (t.name.clone(), t.classes.clone(), t.ordered))
        .collect();
    let weights: Vec<f64> = data.tasks.iter().map(|t| t.weight).collect();
    let net = Net::new(
        &config.model,
        data.n_features(),
        &classes,
        &names,
        opts.device,
        &mut rng,
    );

    let tc = &config.train;
    let mut opt = match tc.optimizer {
        Optimizer::Adam => nn::Adam {
            wd: tc.weight_decay,
            ..Default::default()
        }
        .build(&net.vs, tc.lr)?,
        Optimizer::Adamw => nn::AdamW {
            wd: tc.weight_decay,
            ..Default::default()
        }
        .build(&net.vs, tc.lr)?,
        Optimizer::Sgd => nn::Sgd {
            momentum: tc.momentum,
            dampening: 0.0,
            wd: tc.weight_decay,
            nesterov: false,
        }
        .build(&net.vs, tc.lr)?,
    };

    let splits: Vec<SplitInput> = Part::ALL
        .iter()
        .map(|&p| split_input(data, p, &net, opts.device))
        .collect();
    let (train_in, val_in) = (&splits[0], &splits[1]);
    let n_train = train_in.ids.len();
    let vars = net.vs.trainable_variables();
    let snapshot =
        || -> Vec<Tensor> { tch::no_grad(|| vars.iter().map(|v| v.detach().copy()).collect()) };

    let mut curves = Vec::new();
    let mut best: Option<(f64, usize, Vec<Tensor>)> = None;
    let mut stopped_early = false;
    let mut order: Vec<i64> = (0..n_train as i64).collect();
    for epoch in 1..=tc.epochs {
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        for (b, chunk) in order.chunks(tc.batch_size).enumerate() {
            if opts.stop.as_ref().is_some_and(|stop| stop()) {
                return Err(TrainError::Cancelled);
            }
            let idx = Tensor::from_slice(chunk).to_device(opts.device);
            let xb = train_in.x.index_select(0, &idx);
            let tb = train_in.targets.select(&idx);
            let logits = net.forward(&xb, Some(&mut rng));
            let (loss, _) = loss::compute(tc.loss, &logits, &tb, &classes, &weights);
            let value = loss.double_value(&[]);
            if !value.is_finite() {
                return Err(TrainError::NonFinite {
                    epoch,
                    batch: b + 1,
                    value,
                });
            }
            opt.backward_step(&loss);
            loss_sum += value * chunk.len() as f64;
        }
        let val = evaluate(&net, val_in, tc.loss, &weights, &head_names)?;
        let monitor = monitor_value(tc.monitor, &val);
        curves.push(EpochRecord {
            epoch,
            train_loss: loss_sum / n_train as f64,
            val_loss: val.loss,
            val_head_losses: val.head_losses.clone(),
            val_balanced_accuracy: val
                .heads
                .iter()
                .map(|h| h.metrics.as_ref().map(|m| m.balanced_accuracy))
                .collect(),
            val_exact_match: val.exact_match,
            monitor,
        });
        if let Some(f) = &opts.on_epoch {
            f(curves.last().expect("just pushed"));
        }
        debug!(
            epoch,
            train_loss = loss_sum / n_train as f64,
            val_loss = val.loss,
            monitor,
            "epoch"
        );
        if tc.patience == 0 {
            continue;
        }
        match &best {
            Some((b, _, _)) if !(monitor.is_finite() && better(tc.monitor, monitor, *b)) => {
                if epoch - best.as_ref().map_or(0, |b| b.1) >= tc.patience {
                    stopped_early = true;
                    break;
                }
            }
            _ => best = Some((monitor, epoch, snapshot())),
        }
    }
    let epochs_run = curves.len();
    let best_epoch = match best {
        Some((_, epoch, weights)) => {
            tch::no_grad(|| {
                for (v, w) in vars.iter().zip(&weights) {
                    v.shallow_clone().copy_(w);
                }
            });
            epoch
        }
        None => epochs_run,
    };
    let splits = splits
        .iter()
        .map(|s| evaluate(&net, s, tc.loss, &weights, &head_names))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(path) = &opts.weights {
        save(&net, path)?;
    }
    Ok(RunOutput {
        parameters: net.parameter_count(),
        best_epoch,
        epochs_run,
        stopped_early,
        curves,
        splits,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Saves through a temporary file renamed into place.
fn save(net: &Net, path: &std::path::Path) -> Result<(), TrainError> {
    let err = |message: String| TrainError::Save {
        path: path.to_path_buf(),
        message,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    }
    let tmp = path.with_extension("partial.safetensors");
    net.vs.save(&tmp).map_err(|e| err(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
}
