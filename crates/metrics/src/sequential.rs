//! Anytime-valid confidence sequences for a mean of paired differences.
//!
//! A fixed-n interval or p-value is only valid when n was fixed in advance.
//! When seeds are spent in rounds and a design stops once it looks settled,
//! n depends on the data, and the fixed-n guarantees break. A confidence
//! sequence holds at every n at once: with probability ≥ 1 − α the true
//! mean is inside the interval at all sample sizes simultaneously, so it
//! stays valid at whatever n a data-dependent rule stopped.
//!
//! The one used here is Lai's (1976) mixture sequential t: for differences
//! `x_1 … x_n` drawn independently from a normal distribution with unknown
//! mean and variance, the likelihood ratio of "mean = m" against a normal
//! prior on the standardised effect `(mean − m)/σ ~ N(0, 1/c)`, integrated
//! over σ with the scale-invariant prior,
//!
//! ```text
//! E_n(m) = sqrt(c / (n + c)) · (Σ(x−m)² / (Σ(x−m)² − (Σ(x−m))² / (n + c)))^(n/2),
//! ```
//!
//! is a nonnegative martingale under the null, so by Ville's inequality it
//! ever exceeds 1/α with probability ≤ α. The confidence sequence is every
//! m with `E_n(m) < 1/α`, which is the closed interval
//!
//! ```text
//! x̄ ± sqrt((B − 1) · SS / K),  B = ((n + c) / (c α²))^(1/n),  K = n (1 − B c / (n + c)),
//! ```
//!
//! with `SS = Σ(x − x̄)²`; when `K ≤ 0` the interval is the whole line (too
//! few observations to exclude anything). `c = 0.1` puts the prior's mass
//! on standardised effects of a few units, the differences a handful of
//! seeds can settle (docs/statistics.md has the trade-off).

/// The prior precision `c` of the standardised effect.
pub const PRIOR_PRECISION: f64 = 0.1;

/// A confidence sequence's interval at the current n.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
    /// How many differences it rests on.
    pub n: usize,
}

/// Lai's mixture e-value `E_n(m)` of the differences against mean `m`;
/// `None` below two differences (one says nothing about the variance).
pub fn mixture_t_evalue(diffs: &[f64], m: f64) -> Option<f64> {
    let n = diffs.len();
    if n < 2 {
        return None;
    }
    let c = PRIOR_PRECISION;
    let nf = n as f64;
    let squares: f64 = diffs.iter().map(|x| (x - m) * (x - m)).sum();
    let sum: f64 = diffs.iter().map(|x| x - m).sum();
    if squares == 0.0 {
        // Every difference equals m: no evidence against it.
        return Some((c / (nf + c)).sqrt());
    }
    let rest = squares - sum * sum / (nf + c);
    Some((c / (nf + c)).sqrt() * (squares / rest).powf(nf / 2.0))
}

/// The level-`alpha` confidence sequence's interval for the mean of
/// `diffs` at n = `diffs.len()`; `None` below two differences. Infinite
/// bounds mean nothing can be excluded yet.
pub fn confidence_sequence(diffs: &[f64], alpha: f64) -> Option<Interval> {
    let n = diffs.len();
    if n < 2 || !(alpha > 0.0 && alpha < 1.0) {
        return None;
    }
    let c = PRIOR_PRECISION;
    let nf = n as f64;
    let mean = diffs.iter().sum::<f64>() / nf;
    let ss: f64 = diffs.iter().map(|x| (x - mean) * (x - mean)).sum();
    let b = ((nf + c) / (c * alpha * alpha)).powf(1.0 / nf);
    let k = nf * (1.0 - b * c / (nf + c));
    let half = if k > 0.0 {
        ((b - 1.0) * ss / k).sqrt()
    } else {
        f64::INFINITY
    };
    Some(Interval {
        low: mean - half,
        high: mean + half,
        n,
    })
}

/// The fewest differences at which a level-`alpha` confidence sequence can
/// exclude anything (its interval is finite).
pub fn fewest_to_settle(alpha: f64) -> usize {
    let c = PRIOR_PRECISION;
    (2..10_000)
        .find(|&n| {
            let nf = n as f64;
            let b = ((nf + c) / (c * alpha * alpha)).powf(1.0 / nf);
            b * c < nf + c
        })
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    #[test]
    fn the_evalue_matches_a_hand_computation() {
        // x = [1, 2, 3], m = 0, c = 0.1: Σx² = 14, Σx = 6,
        // E = sqrt(0.1/3.1) · (14 / (14 − 36/3.1))^1.5.
        let by_hand = (0.1f64 / 3.1).sqrt() * (14.0f64 / (14.0 - 36.0 / 3.1)).powf(1.5);
        let e = mixture_t_evalue(&[1.0, 2.0, 3.0], 0.0).unwrap();
        assert!((e - by_hand).abs() < 1e-12, "{e} vs {by_hand}");
        assert!((e - 2.550975).abs() < 1e-6, "{e}");
        assert_eq!(mixture_t_evalue(&[1.0], 0.0), None);
    }

    #[test]
    fn the_interval_is_where_the_evalue_is_below_one_over_alpha() {
        let diffs = [0.31, 0.12, 0.25, 0.4, 0.18, 0.22, 0.35, 0.09];
        let alpha = 0.05;
        let i = confidence_sequence(&diffs, alpha).unwrap();
        assert!(i.low.is_finite() && i.low > 0.0, "{i:?}");
        let e = |m: f64| mixture_t_evalue(&diffs, m).unwrap();
        // At the bounds E = 1/α; inside below, outside above.
        assert!(
            (e(i.low) - 1.0 / alpha).abs() < 1e-6 * (1.0 / alpha),
            "{}",
            e(i.low)
        );
        assert!((e(i.high) - 1.0 / alpha).abs() < 1e-6 * (1.0 / alpha));
        assert!(e((i.low + i.high) / 2.0) < 1.0 / alpha);
        assert!(e(i.low - 0.01) > 1.0 / alpha);
        assert!(e(i.high + 0.01) > 1.0 / alpha);
        // Wider than the fixed-n t interval: the price of holding at every n.
        let t = 2.3646; // t_{0.975, 7}
        let s = summarize_sd(&diffs);
        let fixed = t * s / (diffs.len() as f64).sqrt();
        assert!(i.high - i.low > 2.0 * fixed);
    }

    fn summarize_sd(x: &[f64]) -> f64 {
        let m = x.iter().sum::<f64>() / x.len() as f64;
        (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
    }

    #[test]
    fn too_few_differences_exclude_nothing() {
        let i = confidence_sequence(&[0.5, 0.6], 0.05).unwrap();
        assert!(i.low == f64::NEG_INFINITY && i.high == f64::INFINITY);
        assert_eq!(fewest_to_settle(0.05), 3);
        assert_eq!(fewest_to_settle(0.01), 4);
        assert!(fewest_to_settle(0.05 / 26.0) > fewest_to_settle(0.05));
        let n = fewest_to_settle(0.01);
        let at: Vec<f64> = (0..n).map(|i| [0.1, 0.2][i % 2]).collect();
        assert!(confidence_sequence(&at, 0.01).unwrap().low.is_finite());
        assert!(!confidence_sequence(&at[..n - 1], 0.01)
            .unwrap()
            .low
            .is_finite());
    }

    /// Time-uniform coverage: over many sequences of 60 normal differences,
    /// the share whose interval ever misses the true mean stays below α.
    #[test]
    fn coverage_holds_at_every_n_at_once() {
        let alpha = 0.1;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let normal = Normal::new(0.3, 2.0).unwrap();
        let trials = 2000;
        let mut ever_missed = 0;
        for _ in 0..trials {
            let mut x = Vec::new();
            let mut missed = false;
            for _ in 0..60 {
                x.push(normal.sample(&mut rng));
                if let Some(i) = confidence_sequence(&x, alpha) {
                    missed |= !(i.low <= 0.3 && 0.3 <= i.high);
                }
            }
            ever_missed += missed as usize;
        }
        let rate = ever_missed as f64 / trials as f64;
        assert!(rate <= alpha, "missed at some n in {rate} of sequences");
        // …whereas a fixed-n 90% t interval checked at every n misses far
        // more often: the reason fixed-n p-values are not shown after
        // optional stopping.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        let mut naive = 0;
        for _ in 0..trials {
            let mut x = Vec::new();
            let mut missed = false;
            for n in 1..=60 {
                x.push(normal.sample(&mut rng));
                if n >= 5 {
                    let m = x.iter().sum::<f64>() / n as f64;
                    let se = summarize_sd(&x) / (n as f64).sqrt();
                    missed |= (m - 0.3).abs() > 1.7 * se;
                }
            }
            naive += missed as usize;
        }
        assert!(naive as f64 / trials as f64 > 2.0 * alpha, "{naive}");
    }
}
