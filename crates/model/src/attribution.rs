//! Feature attributions for one head of a trained network: integrated
//! gradients (Sundararajan et al. 2017), saliency, gradient × input.
//!
//! Every method attributes one number per sample, the [`Target`]: a class
//! logit for heads with one logit per class, the predicted value for a
//! regression head, the expected class for an ordinal head — in model input
//! space (standardised features). The reference x′ is given in that space;
//! callers build it from a raw feature vector transformed like the inputs.

use tch::{Kind, Tensor};

use crate::eval::tensor_to_vec;
use crate::net::Net;
use crate::{ExplainError, TrainError};

/// How to attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// IG_j = (x_j − x′_j) · (1/M) Σ_{k=1..M} ∂F/∂x_j (x′ + (k/M)(x − x′)):
    /// the right Riemann sum with M steps.
    IntegratedGradients { steps: usize },
    /// |∂F/∂x_j (x)|.
    Saliency,
    /// (x_j − x′_j) · ∂F/∂x_j (x): the gradient times the input's offset
    /// from the reference — which is the standardised input itself for the
    /// training-mean reference, and IG with one step for any reference.
    GradInput,
}

/// The number attributed for each sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// The logit of class `classes[i]` for sample i, of the head whose
    /// outputs start at `offset`.
    ClassLogit { offset: usize, classes: Vec<usize> },
    /// A regression head's prediction on the target's scale, mean + sd·z.
    Value { offset: usize, mean: f64, sd: f64 },
    /// An ordinal head's expected class Σ_k P(y > k), from its `thresholds`
    /// logits: P(y > k) = σ(z_k), or Π_{j ≤ k} σ(z_j) when `cumulative`
    /// (CORN).
    ExpectedClass {
        offset: usize,
        thresholds: usize,
        cumulative: bool,
    },
}

/// Attributions of `n` samples over `p` features.
#[derive(Debug, Clone)]
pub struct Attributions {
    pub n: usize,
    pub p: usize,
    /// Row-major `n × p`.
    pub values: Vec<f64>,
    /// For IG: per sample, F(x) − F(x′) (what the attributions should sum
    /// to) and Σ_j IG_j.
    pub completeness: Option<Vec<(f64, f64)>>,
}

impl Attributions {
    /// Mean over samples of |F(x) − F(x′) − Σ_j IG_j|, and of |F(x) − F(x′)|
    /// for scale.
    pub fn completeness_gap(&self) -> Option<(f64, f64)> {
        let c = self.completeness.as_ref()?;
        let n = c.len().max(1) as f64;
        Some((
            c.iter().map(|(d, s)| (d - s).abs()).sum::<f64>() / n,
            c.iter().map(|(d, _)| d.abs()).sum::<f64>() / n,
        ))
    }
}

/// The target of each sample: `[n]`. `classes` holds the class indices of
/// a `ClassLogit` target as a tensor.
fn selected(net: &Net, x: &Tensor, target: &Target, classes: &Tensor) -> Tensor {
    let out = net.forward_one(x);
    match *target {
        Target::ClassLogit { offset, .. } => out
            .narrow(1, offset as i64, out.size()[1] - offset as i64)
            .gather(1, &classes.unsqueeze(1), false)
            .squeeze_dim(1),
        Target::Value { offset, mean, sd } => out.select(1, offset as i64) * sd + mean,
        Target::ExpectedClass {
            offset,
            thresholds,
            cumulative,
        } => {
            let p = out.narrow(1, offset as i64, thresholds as i64).sigmoid();
            let p = if cumulative {
                p.cumprod(1, p.kind())
            } else {
                p
            };
            p.sum_dim_intlist(&[1i64][..], false, p.kind())
        }
    }
}

fn gradient(
    net: &Net,
    x: &Tensor,
    target: &Target,
    classes: &Tensor,
) -> Result<(Tensor, Tensor), TrainError> {
    let xi = x.detach().set_requires_grad(true);
    let f = selected(net, &xi, target, classes);
    let grads = Tensor::run_backward(&[f.sum(f.kind())], &[&xi], false, false);
    Ok((
        grads.into_iter().next().ok_or(ExplainError::NoGradient)?,
        f.detach(),
    ))
}

/// Attributes `target` for each row of `x` (`[n, p]`).
pub fn attribute(
    net: &Net,
    x: &Tensor,
    reference: &Tensor,
    target: &Target,
    method: Method,
) -> Result<Attributions, TrainError> {
    let (n, p) = (x.size()[0] as usize, x.size()[1] as usize);
    let device = x.device();
    let classes: &[usize] = match target {
        Target::ClassLogit { classes, .. } => classes,
        _ => &[],
    };
    let cls = Tensor::from_slice(&classes.iter().map(|&c| c as i64).collect::<Vec<_>>())
        .to_device(device);
    let reference = reference
        .view([1, p as i64])
        .expand([n as i64, p as i64], false);
    let delta = x - &reference;
    let (values, completeness) = match method {
        Method::Saliency => (gradient(net, x, target, &cls)?.0.abs(), None),
        Method::GradInput => (gradient(net, x, target, &cls)?.0 * &delta, None),
        Method::IntegratedGradients { steps } => {
            let steps = steps.max(1);
            let mut total = Tensor::zeros([n as i64, p as i64], (x.kind(), device));
            for k in 1..=steps {
                let alpha = k as f64 / steps as f64;
                let point = &reference + &delta * alpha;
                total += gradient(net, &point, target, &cls)?.0;
            }
            let ig = total / steps as f64 * &delta;
            let fx = tch::no_grad(|| selected(net, x, target, &cls));
            let fr = tch::no_grad(|| selected(net, &reference, target, &cls));
            let diff = tensor_to_vec(&(fx - fr))?;
            let sums = tensor_to_vec(&ig.sum_dim_intlist([1i64].as_slice(), false, Kind::Double))?;
            (ig, Some(diff.into_iter().zip(sums).collect()))
        }
    };
    Ok(Attributions {
        n,
        p,
        values: tensor_to_vec(&values)?,
        completeness,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Head;
    use headsweep_spec::{Architecture, Dtype, ModelConfig};
    use rand::SeedableRng;

    fn net(trunk: Vec<usize>) -> Net {
        let model = ModelConfig {
            architecture: Architecture::MultiHead,
            trunk,
            dtype: Dtype::F64,
            dropout: 0.0,
            ..Default::default()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        Net::single(
            &model,
            4,
            &[Head::logits(3), Head::logits(2)],
            &["a".into(), "b".into()],
            tch::Device::Cpu,
            &mut rng,
        )
    }

    fn inputs() -> (Tensor, Tensor) {
        let x = Tensor::from_slice(&[0.5f64, -1.0, 2.0, 0.1, 1.5, 0.3, -0.7, 0.0]).view([2, 4]);
        let r = Tensor::from_slice(&[0.2f64, 0.1, -0.3, 0.4]);
        (x, r)
    }

    /// For F(x) = w·x + b every method has a closed form.
    #[test]
    fn a_linear_model_has_exact_attributions() {
        let net = net(vec![]);
        let (x, r) = inputs();
        let w: Vec<f64> = tensor_to_vec(
            &net.member(0)
                .into_iter()
                .find(|(n, _)| n == "b.out.weight")
                .unwrap()
                .1
                .select(1, 1),
        )
        .unwrap();
        let xs = tensor_to_vec(&x).unwrap();
        let rs = tensor_to_vec(&r).unwrap();
        // Head b starts at output 3; its class 1 for both samples.
        let target = Target::ClassLogit {
            offset: 3,
            classes: vec![1, 1],
        };
        for steps in [1, 7] {
            let a =
                attribute(&net, &x, &r, &target, Method::IntegratedGradients { steps }).unwrap();
            for i in 0..2 {
                for j in 0..4 {
                    let want = (xs[i * 4 + j] - rs[j]) * w[j];
                    assert!(
                        (a.values[i * 4 + j] - want).abs() < 1e-12,
                        "IG {steps}: {} vs {want}",
                        a.values[i * 4 + j]
                    );
                }
            }
            let (gap, _) = a.completeness_gap().unwrap();
            assert!(
                gap < 1e-12,
                "completeness is exact for a linear model: {gap}"
            );
        }
        let s = attribute(&net, &x, &r, &target, Method::Saliency).unwrap();
        assert!((0..8).all(|k| (s.values[k] - w[k % 4].abs()).abs() < 1e-12));
    }

    /// Head a's class 2 for sample 0 and class 0 for sample 1.
    fn first_head() -> Target {
        Target::ClassLogit {
            offset: 0,
            classes: vec![2, 0],
        }
    }

    #[test]
    fn ig_with_one_step_is_gradient_times_input() {
        let net = net(vec![8, 5]);
        let (x, r) = inputs();
        for reference in [r, Tensor::zeros([4], (Kind::Double, tch::Device::Cpu))] {
            let with = |method| attribute(&net, &x, &reference, &first_head(), method).unwrap();
            let ig = with(Method::IntegratedGradients { steps: 1 });
            let gi = with(Method::GradInput);
            assert_eq!(ig.values, gi.values);
        }
    }

    #[test]
    fn completeness_gap_shrinks_with_steps() {
        let net = net(vec![8, 5]);
        let (x, r) = inputs();
        let gap = |steps| {
            attribute(
                &net,
                &x,
                &r,
                &first_head(),
                Method::IntegratedGradients { steps },
            )
            .unwrap()
            .completeness_gap()
            .unwrap()
        };
        let (g1, scale) = gap(1);
        let (g200, _) = gap(200);
        assert!(g200 < g1 || g1 < 1e-12, "{g200} vs {g1}");
        assert!(
            g200 <= 0.01 * scale.max(1e-9),
            "Σ IG ≈ F(x) − F(x′): gap {g200}, scale {scale}"
        );
    }

    /// A regression head's value and an ordinal head's expected class: the
    /// numbers attributed are what they say, and IG keeps completeness.
    #[test]
    fn values_and_expected_classes_are_attributed() {
        use headsweep_spec::Output;
        let model = ModelConfig {
            architecture: Architecture::MultiHead,
            trunk: vec![],
            dtype: Dtype::F64,
            dropout: 0.0,
            ..Default::default()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let heads = [
            Head {
                output: Output::Value,
                classes: 4,
            },
            Head {
                output: Output::Thresholds,
                classes: 4,
            },
        ];
        let net = Net::single(
            &model,
            4,
            &heads,
            &["v".into(), "o".into()],
            tch::Device::Cpu,
            &mut rng,
        );
        let (x, r) = inputs();
        // Linear value head: IG = sd·(x − x′)·w exactly, for any step count.
        let w = tensor_to_vec(
            &net.member(0)
                .into_iter()
                .find(|(n, _)| n == "v.out.weight")
                .unwrap()
                .1,
        )
        .unwrap();
        let value = Target::Value {
            offset: 0,
            mean: 40.0,
            sd: 12.0,
        };
        let a = attribute(
            &net,
            &x,
            &r,
            &value,
            Method::IntegratedGradients { steps: 3 },
        )
        .unwrap();
        let (xs, rs) = (tensor_to_vec(&x).unwrap(), tensor_to_vec(&r).unwrap());
        for k in 0..8 {
            let want = 12.0 * (xs[k] - rs[k % 4]) * w[k % 4];
            assert!(
                (a.values[k] - want).abs() < 1e-12,
                "{} vs {want}",
                a.values[k]
            );
        }
        // The expected class from the three threshold logits, by hand.
        let out = tensor_to_vec(&net.forward_one(&x)).unwrap();
        let s = |z: f64| 1.0 / (1.0 + (-z).exp());
        let empty = Tensor::from_slice::<i64>(&[]);
        for cumulative in [false, true] {
            let t = Target::ExpectedClass {
                offset: 1,
                thresholds: 3,
                cumulative,
            };
            let f = tensor_to_vec(&selected(&net, &x, &t, &empty)).unwrap();
            for i in 0..2 {
                let z = &out[i * 4 + 1..i * 4 + 4];
                let want = if cumulative {
                    s(z[0]) + s(z[0]) * s(z[1]) + s(z[0]) * s(z[1]) * s(z[2])
                } else {
                    s(z[0]) + s(z[1]) + s(z[2])
                };
                assert!((f[i] - want).abs() < 1e-12);
            }
            let (gap, scale) =
                attribute(&net, &x, &r, &t, Method::IntegratedGradients { steps: 200 })
                    .unwrap()
                    .completeness_gap()
                    .unwrap();
            assert!(gap <= 0.01 * scale.max(1e-9), "gap {gap}, scale {scale}");
        }
    }
}
