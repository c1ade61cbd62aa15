//! Feature attributions for one head of a trained network: integrated
//! gradients (Sundararajan et al. 2017), saliency, gradient × input.
//!
//! Every method attributes one class logit per sample (the raw output of
//! that class in that head), in model input space (standardised features).
//! The reference x′ is given in that space; callers build it from a raw
//! feature vector transformed like the inputs.

use tch::{Kind, Tensor};

use crate::eval::tensor_to_vec;
use crate::net::Net;
use crate::TrainError;

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

/// The selected class logit of each sample: `[n]`.
fn selected(net: &Net, x: &Tensor, offset: i64, classes: &Tensor) -> Tensor {
    let logits = net.forward_one(x);
    let k = net.width() as i64;
    debug_assert!(offset < k);
    let head = logits.narrow(1, offset, logits.size()[1] - offset);
    head.gather(1, &classes.unsqueeze(1), false).squeeze_dim(1)
}

fn gradient(
    net: &Net,
    x: &Tensor,
    offset: i64,
    classes: &Tensor,
) -> Result<(Tensor, Tensor), TrainError> {
    let xi = x.detach().set_requires_grad(true);
    let f = selected(net, &xi, offset, classes);
    let grads = Tensor::run_backward(&[f.sum(f.kind())], &[&xi], false, false);
    Ok((
        grads
            .into_iter()
            .next()
            .ok_or_else(|| TrainError::Invalid("no gradient".into()))?,
        f.detach(),
    ))
}

/// Attributes, for each row of `x` (`[n, p]`), the logit of class
/// `classes[i]` of the head whose outputs start at `offset`.
pub fn attribute(
    net: &Net,
    x: &Tensor,
    reference: &Tensor,
    offset: usize,
    classes: &[usize],
    method: Method,
) -> Result<Attributions, TrainError> {
    let (n, p) = (x.size()[0] as usize, x.size()[1] as usize);
    let device = x.device();
    let cls = Tensor::from_slice(&classes.iter().map(|&c| c as i64).collect::<Vec<_>>())
        .to_device(device);
    let offset = offset as i64;
    let reference = reference
        .view([1, p as i64])
        .expand([n as i64, p as i64], false);
    let delta = x - &reference;
    let (values, completeness) = match method {
        Method::Saliency => (gradient(net, x, offset, &cls)?.0.abs(), None),
        Method::GradInput => (gradient(net, x, offset, &cls)?.0 * &delta, None),
        Method::IntegratedGradients { steps } => {
            let steps = steps.max(1);
            let mut total = Tensor::zeros([n as i64, p as i64], (x.kind(), device));
            for k in 1..=steps {
                let alpha = k as f64 / steps as f64;
                let point = &reference + &delta * alpha;
                total += gradient(net, &point, offset, &cls)?.0;
            }
            let ig = total / steps as f64 * &delta;
            let fx = tch::no_grad(|| selected(net, x, offset, &cls));
            let fr = tch::no_grad(|| selected(net, &reference, offset, &cls));
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
        // Head b starts at output 3; attribute its class 1.
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
        for steps in [1, 7] {
            let a = attribute(
                &net,
                &x,
                &r,
                3,
                &[1, 1],
                Method::IntegratedGradients { steps },
            )
            .unwrap();
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
        let s = attribute(&net, &x, &r, 3, &[1, 1], Method::Saliency).unwrap();
        assert!((0..8).all(|k| (s.values[k] - w[k % 4].abs()).abs() < 1e-12));
    }

    #[test]
    fn ig_with_one_step_is_gradient_times_input() {
        let net = net(vec![8, 5]);
        let (x, r) = inputs();
        for reference in [r, Tensor::zeros([4], (Kind::Double, tch::Device::Cpu))] {
            let ig = attribute(
                &net,
                &x,
                &reference,
                0,
                &[2, 0],
                Method::IntegratedGradients { steps: 1 },
            )
            .unwrap();
            let gi = attribute(&net, &x, &reference, 0, &[2, 0], Method::GradInput).unwrap();
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
                0,
                &[2, 0],
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
}
