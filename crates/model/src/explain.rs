//! Ranking input features by attribution for one head of a saved run.

use std::path::Path;

use headsweep_data::{Dataset, Part};
use headsweep_spec::{Output, RunConfig};
use rand::SeedableRng;
use serde::Serialize;
use tch::{Device, Tensor};

use crate::attribution::{attribute, Method, Target};
use crate::net::{Head, Net};
use crate::{ExplainError, TrainError, WeightsError};

/// Which class logit to attribute, for a head with one logit per class.
/// Ordinal and regression heads attribute their expected class or predicted
/// value instead, over the samples with a label, and take `True` only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassChoice {
    /// Each sample's true class (samples without this head's label are left out).
    True,
    /// One class, by name or index, for every test sample.
    Named(String),
}

/// The reference point, in raw feature space, transformed like the inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// Raw zeros (for methylation: fully unmethylated).
    Zero,
    /// The training means: zero after standardisation.
    Mean,
}

#[derive(Debug, Clone)]
pub struct ExplainOptions {
    pub head: String,
    pub class: ClassChoice,
    pub method: Method,
    pub reference: Reference,
    pub device: Device,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeatureScore {
    pub rank: usize,
    pub feature: String,
    /// Mean over samples of |attribution|: the ranking key.
    pub mean_abs: f64,
    /// Mean signed attribution.
    pub mean: f64,
    /// What the feature carries, for generated data ("age", "sex", "none").
    pub truth: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub head: String,
    /// What was attributed: a class logit, the predicted value, or the
    /// expected class.
    pub target: String,
    pub samples: usize,
    /// Every feature, best first (ties broken by feature order).
    pub ranked: Vec<FeatureScore>,
    /// IG only: mean |F(x) − F(x′) − Σ IG| and mean |F(x) − F(x′)|.
    pub completeness_gap: Option<(f64, f64)>,
}

impl Explanation {
    /// Fraction of the top `k` features whose ground truth is `target`
    /// (`None` without ground truth).
    pub fn precision_at(&self, k: usize, target: &str) -> Option<f64> {
        let top = &self.ranked[..k.min(self.ranked.len())];
        let hits = top
            .iter()
            .map(|f| f.truth.as_deref().map(|t| t == target))
            .collect::<Option<Vec<bool>>>()?;
        Some(hits.iter().filter(|&&h| h).count() as f64 / top.len().max(1) as f64)
    }
}

/// Rebuilds the run's network and loads its saved weights.
pub fn load_net(
    config: &RunConfig,
    data: &Dataset,
    weights: &Path,
    device: Device,
) -> Result<Net, TrainError> {
    let heads = crate::loss::loss_spec(config, data)?.heads();
    load(config, data, &heads, weights, device)
}

/// The network of `config` with output layers `heads`, its weights read
/// from `weights`.
fn load(
    config: &RunConfig,
    data: &Dataset,
    heads: &[Head],
    weights: &Path,
    device: Device,
) -> Result<Net, TrainError> {
    let names: Vec<String> = data.tasks.iter().map(|t| t.name.clone()).collect();
    // The initial values are overwritten by the saved weights.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let model = crate::capacity::resolve(&config.model, data.n_features(), heads)?;
    let net = Net::single(&model, data.n_features(), heads, &names, device, &mut rng);
    let cannot = |e: TrainError| WeightsError::Load {
        path: weights.to_path_buf(),
        source: Box::new(e),
    };
    let values = Tensor::read_safetensors(weights).map_err(|e| cannot(e.into()))?;
    net.set_member(0, &values).map_err(|e| cannot(e.into()))?;
    Ok(net)
}

/// Attributes one head over the test split and ranks features by mean
/// |attribution|.
pub fn explain(
    config: &RunConfig,
    data: &Dataset,
    weights: &Path,
    opts: &ExplainOptions,
) -> Result<Explanation, TrainError> {
    let t = data
        .tasks
        .iter()
        .position(|t| t.name == opts.head)
        .ok_or_else(|| ExplainError::NoHead {
            head: opts.head.clone(),
            heads: data.tasks.iter().map(|t| t.name.clone()).collect(),
        })?;
    let task = &data.tasks[t];
    let spec = crate::loss::loss_spec(config, data)?;
    let tl = &spec.tasks[t];
    let output = tl.head().output;
    let fixed = match (&opts.class, output) {
        (ClassChoice::True, _) => None,
        (ClassChoice::Named(c), Output::Classes) => Some(
            task.classes
                .iter()
                .position(|k| k == c)
                .or_else(|| c.parse::<usize>().ok().filter(|&i| i < task.classes.len()))
                .ok_or_else(|| ExplainError::NoClass {
                    head: task.name.clone(),
                    class: c.clone(),
                    classes: task.classes.clone(),
                })?,
        ),
        (ClassChoice::Named(c), _) => {
            return Err(ExplainError::NoClassLogit {
                head: task.name.clone(),
                loss: tl.kind.name().to_string(),
                what: if output == Output::Value {
                    "predicted value"
                } else {
                    "expected class"
                },
                class: c.clone(),
            }
            .into())
        }
    };
    let mut rows = Vec::new();
    let mut classes = Vec::new();
    for i in data.indices(Part::Test) {
        match (fixed, task.labels[i]) {
            (Some(c), _) | (None, Some(c)) => {
                rows.push(i);
                classes.push(c);
            }
            (None, None) => {}
        }
    }
    if rows.is_empty() {
        return Err(ExplainError::NoLabelledSample(task.name.clone()).into());
    }
    let net = load(config, data, &spec.heads(), weights, opts.device)?;
    let offset: usize = net.heads[..t].iter().map(|h| h.width()).sum();
    let (target, what) = match output {
        Output::Classes => (
            Target::ClassLogit { offset, classes },
            match fixed {
                Some(c) => format!("logit of class {}", task.classes[c]),
                None => "logit of each sample's true class".to_string(),
            },
        ),
        Output::Value => {
            let (mean, sd) = tl.target.expect("regression losses are standardised");
            (
                Target::Value { offset, mean, sd },
                "predicted value, in the target's units".to_string(),
            )
        }
        Output::SharedThresholds | Output::Thresholds => (
            Target::ExpectedClass {
                offset,
                thresholds: tl.head().width(),
                cumulative: output == Output::Thresholds,
            },
            "expected class Σ_k P(y > k)".to_string(),
        ),
    };
    let p = data.n_features();
    let mut x = Vec::with_capacity(rows.len() * p);
    for &i in &rows {
        x.extend(data.x[i * p..(i + 1) * p].iter().map(|&v| v as f64));
    }
    let x = Tensor::from_slice(&x)
        .view([rows.len() as i64, p as i64])
        .to_kind(net.kind())
        .to_device(opts.device);
    let reference: Vec<f64> = (0..p)
        .map(|j| match opts.reference {
            Reference::Zero => data.scaler.transform(j, 0.0),
            Reference::Mean => data.scaler.transform(j, data.scaler.mean[j]),
        })
        .collect();
    let reference = Tensor::from_slice(&reference)
        .to_kind(net.kind())
        .to_device(opts.device);
    let a = attribute(&net, &x, &reference, &target, opts.method)?;
    let n = a.n as f64;
    let mut scores: Vec<FeatureScore> = (0..p)
        .map(|j| {
            let col = (0..a.n).map(|i| a.values[i * p + j]);
            FeatureScore {
                rank: 0,
                feature: data.feature_names[j].clone(),
                mean_abs: col.clone().map(f64::abs).sum::<f64>() / n,
                mean: col.sum::<f64>() / n,
                truth: data.truth.as_ref().map(|t| t[j].clone()),
            }
        })
        .collect();
    scores.sort_by(|a, b| b.mean_abs.total_cmp(&a.mean_abs));
    for (r, s) in scores.iter_mut().enumerate() {
        s.rank = r + 1;
    }
    Ok(Explanation {
        head: task.name.clone(),
        target: what,
        samples: a.n,
        ranked: scores,
        completeness_gap: a.completeness_gap(),
    })
}
