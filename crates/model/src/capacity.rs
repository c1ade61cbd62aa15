//! Matched capacity: a network scaled to a parameter budget.
//!
//! Deeper heads add parameters, so "deeper heads help" can mean "more
//! parameters help". With `model.params = N` every hidden width (the trunk's
//! and `head_width`) is multiplied by one factor, chosen so the network of
//! this data's features and output layers has N trainable parameters
//! within [`TOLERANCE`]; designs compared at the same N differ in shape
//! only. Widths stay multiples of 4 (f32) or 2 (f64), so scaled runs still
//! fuse bit-identically (see `headsweep_spec::fusion_blockers`).

use std::borrow::Cow;

use headsweep_spec::{Architecture, Dtype, ModelConfig, Output};

use crate::net::Head;
use crate::TrainError;

/// How far the matched count may lie from the target, relative.
pub const TOLERANCE: f64 = 0.02;

/// Weights and biases of a dense stack from `inputs` through `widths`.
fn dense(inputs: usize, widths: &[usize]) -> (usize, usize) {
    let mut width = inputs;
    let mut total = 0;
    for &w in widths {
        total += (width + 1) * w;
        width = w;
    }
    (total, width)
}

/// One output layer after `width` features.
fn output(width: usize, head: &Head) -> usize {
    match head.output {
        // One shared weight column, a bias per threshold.
        Output::SharedThresholds => width + head.width(),
        _ => (width + 1) * head.width(),
    }
}

/// Trainable parameters of one member of `model`'s network for `inputs`
/// features and output layers `heads` (what `Net::parameter_count` counts).
pub fn parameter_count(model: &ModelConfig, inputs: usize, heads: &[Head]) -> usize {
    let tower = vec![model.head_width; model.head_depth];
    match model.architecture {
        Architecture::MultiLabel => {
            let widths: Vec<usize> = model.trunk.iter().copied().chain(tower).collect();
            let (shared, width) = dense(inputs, &widths);
            let outputs: usize = heads.iter().map(Head::width).sum();
            shared + (width + 1) * outputs
        }
        Architecture::MultiHead => {
            let (shared, width) = dense(inputs, &model.trunk);
            shared
                + heads
                    .iter()
                    .map(|h| {
                        let (t, w) = dense(width, &tower);
                        t + output(w, h)
                    })
                    .sum::<usize>()
        }
        Architecture::Separate => {
            let widths: Vec<usize> = model.trunk.iter().copied().chain(tower).collect();
            heads
                .iter()
                .map(|h| {
                    let (t, w) = dense(inputs, &widths);
                    t + output(w, h)
                })
                .sum()
        }
    }
}

/// `model` with every hidden width times `factor`, rounded to a multiple
/// of `unit` (at least `unit`).
fn scaled(model: &ModelConfig, factor: f64, unit: usize) -> ModelConfig {
    let scale = |w: usize| {
        let v = (w as f64 * factor / unit as f64).round().max(1.0) as usize;
        v * unit
    };
    ModelConfig {
        trunk: model.trunk.iter().map(|&w| scale(w)).collect(),
        head_width: scale(model.head_width),
        params: None,
        ..model.clone()
    }
}

/// The network `model` describes: itself without `model.params`, else its
/// widths scaled to that parameter count. Fails when no scale comes within
/// [`TOLERANCE`] (the budget is below the smallest network of this shape,
/// or the shape has no hidden layer to scale).
pub fn resolve<'a>(
    model: &'a ModelConfig,
    inputs: usize,
    heads: &[Head],
) -> Result<Cow<'a, ModelConfig>, TrainError> {
    let Some(target) = model.params else {
        return Ok(Cow::Borrowed(model));
    };
    let unit = match model.dtype {
        Dtype::F32 => 4,
        Dtype::F64 => 2,
    };
    let count = |f: f64| parameter_count(&scaled(model, f, unit), inputs, heads);
    // The count grows with the factor: bisect on it (in log space), then
    // take the nearer of the two bracketing networks.
    let (mut lo, mut hi) = (1e-4f64, 1e4f64);
    for _ in 0..200 {
        let mid = (lo * hi).sqrt();
        if count(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let best = [lo, hi]
        .into_iter()
        .min_by_key(|&f| count(f).abs_diff(target))
        .expect("two candidates");
    let got = count(best);
    let off = got.abs_diff(target) as f64 / target as f64;
    let hidden = model.trunk.len() + model.head_depth;
    if hidden == 0 || off > TOLERANCE {
        return Err(TrainError::Capacity {
            target,
            nearest: got,
            reason: if hidden == 0 {
                "the network has no hidden layer to scale".into()
            } else {
                format!(
                    "hidden widths in multiples of {unit} give {got} at best for {inputs} features"
                )
            },
        });
    }
    Ok(Cow::Owned(scaled(model, best, unit)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Net;
    use rand::SeedableRng;

    fn heads() -> Vec<Head> {
        vec![Head::logits(18), Head::logits(2)]
    }

    fn model(architecture: Architecture, head_depth: usize) -> ModelConfig {
        ModelConfig {
            architecture,
            trunk: vec![32, 16],
            head_depth,
            head_width: 8,
            ..Default::default()
        }
    }

    /// Hand count for multi_head, trunk [32, 16], one tower layer of 8,
    /// 50 inputs, heads of 18 and 2 classes:
    /// (50+1)·32 + (32+1)·16 + [(16+1)·8 + (8+1)·18] + [(16+1)·8 + (8+1)·2]
    /// = 1632 + 528 + 298 + 154 = 2612.
    #[test]
    fn count_by_hand() {
        assert_eq!(
            parameter_count(&model(Architecture::MultiHead, 1), 50, &heads()),
            2612
        );
        // multi_label depth 0: 1632 + 528 + (16+1)·20 = 2500.
        assert_eq!(
            parameter_count(&model(Architecture::MultiLabel, 0), 50, &heads()),
            2500
        );
    }

    /// The count is the network's own, for every architecture and output.
    #[test]
    fn count_equals_the_networks() {
        let mut heads = heads();
        heads.push(Head {
            output: Output::SharedThresholds,
            classes: 5,
        });
        heads.push(Head {
            output: Output::Value,
            classes: 4,
        });
        let names: Vec<String> = (0..heads.len()).map(|i| format!("t{i}")).collect();
        for arch in [Architecture::MultiHead, Architecture::Separate] {
            for depth in 0..3 {
                let m = model(arch, depth);
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
                let net = Net::single(&m, 30, &heads, &names, tch::Device::Cpu, &mut rng);
                assert_eq!(
                    parameter_count(&m, 30, &heads),
                    net.parameter_count(),
                    "{arch:?} {depth}"
                );
            }
        }
        let plain = &heads[..2];
        for depth in 0..3 {
            let m = model(Architecture::MultiLabel, depth);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
            let net = Net::single(&m, 30, plain, &names[..2], tch::Device::Cpu, &mut rng);
            assert_eq!(parameter_count(&m, 30, plain), net.parameter_count());
        }
    }

    /// Every design lands within 2% of the budget, with widths that keep
    /// fused runs aligned.
    #[test]
    fn designs_match_the_budget() {
        for arch in [
            Architecture::MultiLabel,
            Architecture::MultiHead,
            Architecture::Separate,
        ] {
            for depth in 0..3 {
                let mut m = model(arch, depth);
                m.params = Some(60_000);
                let r = resolve(&m, 400, &heads()).unwrap();
                let n = parameter_count(&r, 400, &heads());
                assert!(
                    n.abs_diff(60_000) as f64 <= 0.02 * 60_000.0,
                    "{arch:?} {depth}: {n}"
                );
                assert!(r.trunk.iter().chain([&r.head_width]).all(|w| w % 4 == 0));
                assert_eq!(r.params, None);
            }
        }
        let plain = model(Architecture::MultiHead, 1);
        assert!(matches!(
            resolve(&plain, 400, &heads()).unwrap(),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn unreachable_budgets_are_refused() {
        let mut m = model(Architecture::MultiHead, 0);
        m.params = Some(100);
        let e = resolve(&m, 400, &heads()).unwrap_err().to_string();
        assert!(e.contains("model.params = 100"), "{e}");
        m.trunk.clear();
        m.params = Some(10_000);
        assert!(resolve(&m, 400, &heads())
            .unwrap_err()
            .to_string()
            .contains("no hidden layer"));
    }
}
