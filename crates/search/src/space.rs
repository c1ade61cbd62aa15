//! A tuned setting as the samplers see it: a coordinate on a line (the
//! logarithm for log_uniform; integers as bins of width `step`) or a
//! category index, and back.

use headsweep_spec::Distribution;
use rand::Rng;
use serde_json::Value;

/// One dimension of the space in the samplers' coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Dim {
    /// A coordinate in `[low, high]`; integers are bins of width `step`
    /// centred on each value, so `low` and `high` lie half a step outside
    /// the first and last value.
    Num {
        low: f64,
        high: f64,
        step: Option<f64>,
    },
    /// An index below `n`.
    Cat { n: usize },
}

pub(crate) fn dim(d: &Distribution) -> Dim {
    match d {
        Distribution::Uniform { low, high } => Dim::Num {
            low: *low,
            high: *high,
            step: None,
        },
        Distribution::LogUniform { low, high } => Dim::Num {
            low: low.ln(),
            high: high.ln(),
            step: None,
        },
        Distribution::Int { low, high, step } => {
            let half = *step as f64 / 2.0;
            Dim::Num {
                low: *low as f64 - half,
                high: *high as f64 + half,
                step: Some(*step as f64),
            }
        }
        Distribution::Choice(c) => Dim::Cat { n: c.len() },
    }
}

/// A proposed or stored value in the samplers' coordinate. A value the
/// distribution cannot have (a sweep file edited after trials ran) gives
/// `None`, and the trial is left out of the model.
pub(crate) fn coordinate(d: &Distribution, v: &Value) -> Option<f64> {
    match d {
        Distribution::Uniform { low, high } => v.as_f64().filter(|x| (*low..=*high).contains(x)),
        Distribution::LogUniform { low, high } => v
            .as_f64()
            .filter(|x| (*low..=*high).contains(x))
            .map(f64::ln),
        Distribution::Int { low, high, step } => v
            .as_i64()
            .filter(|x| (*low..=*high).contains(x) && (x - low) % step == 0)
            .map(|x| x as f64),
        Distribution::Choice(c) => c.iter().position(|c| c == v).map(|i| i as f64),
    }
}

/// The value at coordinate `x`: continuous values rounded to
/// [`round_significant`] and kept in bounds, integers snapped to their
/// grid, categories by index.
pub(crate) fn value(d: &Distribution, x: f64) -> Value {
    match d {
        Distribution::Uniform { low, high } => round_significant(x).clamp(*low, *high).into(),
        Distribution::LogUniform { low, high } => {
            round_significant(x.exp()).clamp(*low, *high).into()
        }
        Distribution::Int { low, high, step } => {
            let last = (high - low) / step;
            let k = ((x - *low as f64) / *step as f64)
                .round()
                .clamp(0.0, last as f64) as i64;
            (low + k * step).into()
        }
        Distribution::Choice(c) => c[(x as usize).min(c.len() - 1)].clone(),
    }
}

/// A draw from the distribution itself.
pub(crate) fn draw_prior(d: &Distribution, rng: &mut impl Rng) -> Value {
    match (d, dim(d)) {
        (Distribution::Int { low, high, step }, _) => {
            (low + step * rng.gen_range(0..=(high - low) / step)).into()
        }
        (Distribution::Choice(c), _) => c[rng.gen_range(0..c.len())].clone(),
        (_, Dim::Num { low, high, .. }) => value(d, low + rng.gen::<f64>() * (high - low)),
        (_, Dim::Cat { .. }) => unreachable!("only choice is categorical"),
    }
}

/// `x` to four significant digits: trials read `lr=0.003142`, not
/// seventeen digits, and the search loses a relative 5e-4 of resolution.
pub fn round_significant(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    format!("{x:.3e}")
        .parse()
        .expect("a formatted float parses")
}
