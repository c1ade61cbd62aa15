//! The tree-structured Parzen estimator (Bergstra et al. 2011), with the
//! parameters modelled jointly (Falkner et al. 2018; Optuna's
//! `multivariate=True`) and Optuna's defaults otherwise. The definition is
//! in docs/search.md; in short:
//!
//! - the finished trials are split into the best `γ(n) = min(⌈0.1 n⌉, 25)`
//!   ("below") and the rest ("above");
//! - each part is a mixture with one component per trial and one prior
//!   component; a component is a product over dimensions of a truncated
//!   normal (a bin of one for integers) or a categorical kernel;
//! - `candidates` points are drawn from the below mixture and the one with
//!   the largest `log l(x) − log g(x)` is proposed.

use headsweep_spec::Param;
use rand::Rng;
use serde_json::Value;
use statrs::distribution::{Continuous, ContinuousCDF, Normal};

use crate::space::{self, Dim};
use crate::Observation;

/// Optuna's `default_gamma`: how many trials count as good.
pub(crate) fn gamma(n: usize) -> usize {
    n.div_ceil(10).min(25)
}

/// Optuna's `default_weights`: equal weights, older trials ramped down
/// once there are more than 25.
pub(crate) fn weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let ramp = n - 25;
    let mut w: Vec<f64> = (0..ramp)
        .map(|i| {
            if ramp == 1 {
                1.0 / n as f64
            } else {
                1.0 / n as f64 + (1.0 - 1.0 / n as f64) * i as f64 / (ramp - 1) as f64
            }
        })
        .collect();
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

const PRIOR_WEIGHT: f64 = 1.0;
/// Optuna's `SIGMA0_MAGNITUDE` for the multivariate bandwidth.
const SIGMA0: f64 = 0.2;

/// One dimension of a mixture: each component's kernel.
enum Kernels {
    Num {
        low: f64,
        high: f64,
        step: Option<f64>,
        mu: Vec<f64>,
        sigma: Vec<f64>,
    },
    /// Each component's probability of each category.
    Cat { p: Vec<Vec<f64>> },
}

/// A Parzen estimator over the whole space: components are the given
/// points (in trial order) and the prior, last.
struct Mixture {
    log_w: Vec<f64>,
    w: Vec<f64>,
    dims: Vec<Kernels>,
}

fn std_normal() -> Normal {
    Normal::standard()
}

impl Mixture {
    fn new(dims: &[Dim], points: &[Vec<f64>]) -> Mixture {
        let n = points.len();
        let mut w = weights(n);
        w.push(PRIOR_WEIGHT);
        let total: f64 = w.iter().sum();
        let w: Vec<f64> = w.iter().map(|x| x / total).collect();
        let d = dims.len() as f64;
        let kernels = dims
            .iter()
            .enumerate()
            .map(|(j, dim)| match *dim {
                Dim::Num { low, high, step } => {
                    let range = high - low;
                    let mut mu: Vec<f64> = points.iter().map(|p| p[j]).collect();
                    let bandwidth = SIGMA0 * (n.max(1) as f64).powf(-1.0 / (d + 4.0)) * range;
                    let mut sigma = vec![bandwidth; n];
                    mu.push((low + high) / 2.0);
                    sigma.push(range);
                    // Optuna's magic clip: no kernel narrower than the
                    // range over the number of kernels (at most 100).
                    let min = range / (100f64).min(1.0 + mu.len() as f64);
                    for s in &mut sigma {
                        *s = s.clamp(min, range);
                    }
                    Kernels::Num {
                        low,
                        high,
                        step,
                        mu,
                        sigma,
                    }
                }
                Dim::Cat { n: k } => {
                    let mut p: Vec<Vec<f64>> = points
                        .iter()
                        .map(|pt| {
                            let mut row = vec![PRIOR_WEIGHT / k as f64; k];
                            row[pt[j] as usize] += 1.0;
                            let s: f64 = row.iter().sum();
                            row.iter().map(|x| x / s).collect()
                        })
                        .collect();
                    p.push(vec![1.0 / k as f64; k]);
                    Kernels::Cat { p }
                }
            })
            .collect();
        Mixture {
            log_w: w.iter().map(|x| x.ln()).collect(),
            w,
            dims: kernels,
        }
    }

    /// A draw: a component by weight, then each dimension from its kernel.
    fn sample(&self, rng: &mut impl Rng) -> Vec<f64> {
        let c = draw_index(&self.w, rng.gen());
        let normal = std_normal();
        self.dims
            .iter()
            .map(|k| match k {
                Kernels::Num {
                    low,
                    high,
                    mu,
                    sigma,
                    ..
                } => {
                    // Inverse CDF of the normal truncated to [low, high].
                    let (m, s) = (mu[c], sigma[c]);
                    let a = normal.cdf((low - m) / s);
                    let b = normal.cdf((high - m) / s);
                    let u: f64 = rng.gen();
                    if b - a < 1e-12 {
                        // All its mass is beyond the bounds' precision.
                        return low + u * (high - low);
                    }
                    (m + s * normal.inverse_cdf(a + u * (b - a))).clamp(*low, *high)
                }
                Kernels::Cat { p } => draw_index(&p[c], rng.gen()) as f64,
            })
            .collect()
    }

    /// `ln` of the mixture's density (a probability for integer and
    /// categorical dimensions) at `x`.
    fn log_density(&self, x: &[f64]) -> f64 {
        let normal = std_normal();
        let terms: Vec<f64> = (0..self.w.len())
            .map(|c| {
                let mut lp = self.log_w[c];
                for (k, &xj) in self.dims.iter().zip(x) {
                    lp += match k {
                        Kernels::Num {
                            low,
                            high,
                            step,
                            mu,
                            sigma,
                        } => {
                            let (m, s) = (mu[c], sigma[c]);
                            let mass = (normal.cdf((high - m) / s) - normal.cdf((low - m) / s))
                                .max(f64::MIN_POSITIVE);
                            let p = match step {
                                None => normal.pdf((xj - m) / s) / s,
                                Some(st) => {
                                    normal.cdf((xj + st / 2.0 - m) / s)
                                        - normal.cdf((xj - st / 2.0 - m) / s)
                                }
                            };
                            p.max(f64::MIN_POSITIVE).ln() - mass.ln()
                        }
                        Kernels::Cat { p } => p[c][xj as usize].ln(),
                    };
                }
                lp
            })
            .collect();
        let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln()
    }
}

/// The index `u` (uniform on [0, 1)) falls in when `weights`, summing to
/// one, are laid end to end; the last one when rounding leaves `u` beyond
/// their sum.
fn draw_index(weights: &[f64], u: f64) -> usize {
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w;
        if u < acc {
            return i;
        }
    }
    weights.len() - 1
}

/// One proposal from the scored trials `history` (at least one), with
/// `pending` — the proposals of this round so far — counted among the
/// worse trials (Optuna's constant liar), so that a round spreads out.
pub(crate) fn propose(
    space: &[Param],
    history: &[&Observation],
    pending: &[Vec<Value>],
    candidates: usize,
    rng: &mut impl Rng,
) -> Vec<Value> {
    let dims: Vec<Dim> = space.iter().map(|p| space::dim(&p.distribution)).collect();
    // Trials whose values this space cannot hold are left out.
    let mut points: Vec<(f64, usize, Vec<f64>)> = history
        .iter()
        .filter_map(|o| {
            let x: Option<Vec<f64>> = space
                .iter()
                .zip(&o.values)
                .map(|(p, v)| space::coordinate(&p.distribution, v))
                .collect();
            Some((o.score?, o.trial, x.filter(|x| x.len() == space.len())?))
        })
        .collect();
    // Best first; equal scores in trial order.
    points.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let n_below = gamma(points.len());
    let (mut below, mut above) = (points[..n_below].to_vec(), points[n_below..].to_vec());
    // Each part's components in trial order, as their weights assume.
    below.sort_by_key(|p| p.1);
    above.sort_by_key(|p| p.1);
    for v in pending {
        let x: Vec<f64> = space
            .iter()
            .zip(v)
            .map(|(p, v)| space::coordinate(&p.distribution, v).expect("proposed in the space"))
            .collect();
        above.push((f64::NEG_INFINITY, usize::MAX, x));
    }
    let l = Mixture::new(&dims, &below.into_iter().map(|p| p.2).collect::<Vec<_>>());
    let g = Mixture::new(&dims, &above.into_iter().map(|p| p.2).collect::<Vec<_>>());
    let mut best: Option<(f64, Vec<f64>)> = None;
    for _ in 0..candidates {
        let x = l.sample(rng);
        // Integer coordinates are scored at the value they become.
        let x: Vec<f64> = x
            .iter()
            .zip(space.iter().zip(&dims))
            .map(|(&xj, (p, d))| match d {
                Dim::Num { step: Some(_), .. } => {
                    let v = space::value(&p.distribution, xj);
                    space::coordinate(&p.distribution, &v).expect("a value of the space")
                }
                _ => xj,
            })
            .collect();
        let score = l.log_density(&x) - g.log_density(&x);
        if best.as_ref().is_none_or(|(b, _)| score > *b) {
            best = Some((score, x));
        }
    }
    let (_, x) = best.expect("candidates ≥ 1");
    space
        .iter()
        .zip(&x)
        .map(|(p, &xj)| space::value(&p.distribution, xj))
        .collect()
}
