//! Statistics over seeds: summaries, paired tests, multiple-testing
//! adjustment. Definitions in docs/statistics.md; tests check them against
//! values computed independently with SciPy.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Mean, sample standard deviation and a 95% Student-t confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub n: usize,
    pub mean: Option<f64>,
    /// Sample standard deviation (n − 1 in the denominator); `None` for n < 2.
    pub std: Option<f64>,
    /// `mean ± t(0.975, n−1)·std/√n`; `None` for n < 2.
    pub ci95: Option<(f64, f64)>,
}

pub fn summarize(values: &[f64]) -> Summary {
    let n = values.len();
    if n == 0 {
        return Summary {
            n,
            mean: None,
            std: None,
            ci95: None,
        };
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Summary {
            n,
            mean: Some(mean),
            std: None,
            ci95: None,
        };
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let std = var.sqrt();
    let half = t_quantile(0.975, (n - 1) as f64) * std / (n as f64).sqrt();
    Summary {
        n,
        mean: Some(mean),
        std: Some(std),
        ci95: Some((mean - half, mean + half)),
    }
}

fn t_quantile(p: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).expect("df > 0").inverse_cdf(p)
}

/// Two-sided paired t-test on differences: `t = mean/(sd/√n)` with n − 1
/// degrees of freedom. `None` for n < 2 or zero variance (all differences
/// equal, tested exactly rather than on a rounded standard deviation).
pub fn paired_t(diffs: &[f64]) -> Option<f64> {
    let s = summarize(diffs);
    let (mean, sd) = (s.mean?, s.std?);
    if diffs.iter().all(|d| *d == diffs[0]) || sd == 0.0 {
        return None;
    }
    let t = mean / (sd / (s.n as f64).sqrt());
    let dist = StudentsT::new(0.0, 1.0, (s.n - 1) as f64).expect("df > 0");
    Some((2.0 * dist.cdf(-t.abs())).min(1.0))
}

/// Largest n for which the exact Wilcoxon distribution is used (when there
/// are no ties).
pub const WILCOXON_EXACT_MAX: usize = 25;

/// A Wilcoxon signed-rank test's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Wilcoxon {
    /// Non-zero differences used.
    pub n: usize,
    /// Sum of the ranks of the positive differences.
    pub w_plus: f64,
    pub p: f64,
    /// Exact null distribution (else the normal approximation).
    pub exact: bool,
}

/// Two-sided Wilcoxon signed-rank test. Zero differences are dropped;
/// |d| ranked with ties sharing their mean rank. Without ties and with
/// n ≤ 25, p = min(1, 2·min(P(W⁺ ≤ w), P(W⁺ ≥ w))) under the exact null
/// distribution; otherwise the normal approximation with tie correction
/// (no continuity correction): z = (W⁺ − n(n+1)/4)/σ,
/// σ² = n(n+1)(2n+1)/24 − Σ(t³ − t)/48. `None` when no difference is
/// non-zero (or σ = 0).
pub fn wilcoxon(diffs: &[f64]) -> Option<Wilcoxon> {
    let mut d: Vec<f64> = diffs.iter().copied().filter(|x| *x != 0.0).collect();
    let n = d.len();
    if n == 0 {
        return None;
    }
    d.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    let mut w_plus = 0.0;
    let mut tie_term = 0.0;
    let mut ties = false;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && d[j + 1].abs() == d[i].abs() {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        if t > 1.0 {
            ties = true;
            tie_term += t * t * t - t;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        w_plus += rank * d[i..=j].iter().filter(|x| **x > 0.0).count() as f64;
        i = j + 1;
    }
    let nf = n as f64;
    if !ties && n <= WILCOXON_EXACT_MAX {
        let counts = signed_rank_counts(n);
        let total = 2f64.powi(n as i32);
        let w = w_plus as usize;
        let le: f64 = counts[..=w].iter().sum::<f64>() / total;
        let ge: f64 = counts[w..].iter().sum::<f64>() / total;
        return Some(Wilcoxon {
            n,
            w_plus,
            p: (2.0 * le.min(ge)).min(1.0),
            exact: true,
        });
    }
    let mean = nf * (nf + 1.0) / 4.0;
    let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_term / 48.0;
    if var <= 0.0 {
        return None;
    }
    let z = (w_plus - mean) / var.sqrt();
    let normal = Normal::new(0.0, 1.0).expect("valid");
    Some(Wilcoxon {
        n,
        w_plus,
        p: (2.0 * normal.cdf(-z.abs())).min(1.0),
        exact: false,
    })
}

/// Number of sign assignments of ranks 1..n giving each W⁺ = 0..n(n+1)/2.
fn signed_rank_counts(n: usize) -> Vec<f64> {
    let max = n * (n + 1) / 2;
    let mut c = vec![0.0f64; max + 1];
    c[0] = 1.0;
    for r in 1..=n {
        for s in (r..=max).rev() {
            c[s] += c[s - r];
        }
    }
    c
}

/// The smallest two-sided p the exact Wilcoxon test can give with n pairs:
/// all differences of one sign, 2/2ⁿ.
pub fn wilcoxon_min_p(n: usize) -> f64 {
    (2.0 / 2f64.powi(n as i32)).min(1.0)
}

/// How a metric's differences are compared: as counts or as measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// A fraction k/N of test samples (accuracy, exact match, off-by-one,
    /// MAE in classes): two differences are the same when their counts are.
    Count,
    /// A measurement (log loss, F1, ECE…): equal within a relative tolerance.
    Continuous,
}

/// Differences of count metrics closer than this are one count: float
/// rounding leaves ~1e-16, while distinct counts differ by at least
/// 1/(m·N) (N test samples, m settings averaged), far above it.
pub const COUNT_TOLERANCE: f64 = 1e-12;

/// Differences of continuous metrics closer than this times the largest
/// |value| compared are equal: f32 training leaves ~1e-7 relative noise in
/// log loss between runs that made the same decisions.
pub const CONTINUOUS_TOLERANCE: f64 = 1e-6;

/// Paired differences `a − b` made exact where the metric's scale says
/// they are equal: a difference within the tolerance of zero becomes 0,
/// and magnitudes within the tolerance of the smallest magnitude of their
/// run (sorted ascending) take that magnitude, sign kept. Without this a
/// Wilcoxon test would see ties, or not, by the last rounding digit.
pub fn paired_differences(pairs: &[(f64, f64)], scale: Scale) -> Vec<f64> {
    let tol = match scale {
        Scale::Count => COUNT_TOLERANCE,
        Scale::Continuous => {
            let largest = pairs
                .iter()
                .flat_map(|(a, b)| [a.abs(), b.abs()])
                .fold(0.0f64, f64::max);
            CONTINUOUS_TOLERANCE * largest
        }
    };
    let mut d: Vec<f64> = pairs
        .iter()
        .map(|(a, b)| if (a - b).abs() <= tol { 0.0 } else { a - b })
        .collect();
    let mut order: Vec<usize> = (0..d.len()).collect();
    order.sort_by(|&i, &j| d[i].abs().total_cmp(&d[j].abs()));
    let mut start: Option<f64> = None;
    for i in order {
        let m = d[i].abs();
        match start {
            Some(s) if m - s <= tol => d[i] = s.copysign(d[i]),
            _ => start = Some(m),
        }
    }
    d
}

/// An equivalence test (two one-sided t-tests, TOST) of paired differences
/// against a margin δ: the effect is declared within ±δ when both
/// H₀: μ ≤ −δ and H₀: μ ≥ δ are rejected at α = 0.05, which is the same as
/// the 90% t interval lying inside (−δ, δ).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Equivalence {
    pub margin: f64,
    /// max of the two one-sided p-values.
    pub p: f64,
    /// The 90% Student-t interval of the mean difference.
    pub ci90: (f64, f64),
    /// p < 0.05.
    pub equivalent: bool,
}

/// TOST with margin δ > 0 over n ≥ 2 differences; `None` for n < 2. With
/// zero variance the interval is the one value d and p is 0 when |d| < δ,
/// else 1.
pub fn equivalence(diffs: &[f64], margin: f64) -> Option<Equivalence> {
    let s = summarize(diffs);
    let (mean, sd) = (s.mean?, s.std?);
    let n = s.n as f64;
    if sd == 0.0 || diffs.iter().all(|d| *d == diffs[0]) {
        let p = if mean.abs() < margin { 0.0 } else { 1.0 };
        return Some(Equivalence {
            margin,
            p,
            ci90: (mean, mean),
            equivalent: p < 0.05,
        });
    }
    let se = sd / n.sqrt();
    let dist = StudentsT::new(0.0, 1.0, n - 1.0).expect("df > 0");
    let p_lower = 1.0 - dist.cdf((mean + margin) / se);
    let p_upper = dist.cdf((mean - margin) / se);
    let p = p_lower.max(p_upper).min(1.0);
    let half = t_quantile(0.95, n - 1.0) * se;
    Some(Equivalence {
        margin,
        p,
        ci90: (mean - half, mean + half),
        equivalent: p < 0.05,
    })
}

/// Holm's step-down adjustment over the p-values present; `None`s stay.
/// With the m present p sorted ascending, adjusted p_(i) =
/// max_{j ≤ i} min(1, (m − j + 1)·p_(j)).
pub fn holm(p: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut present: Vec<(usize, f64)> = p
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    present.sort_by(|a, b| a.1.total_cmp(&b.1));
    let m = present.len();
    let mut out = vec![None; p.len()];
    let mut running = 0.0f64;
    for (j, (i, v)) in present.into_iter().enumerate() {
        running = running.max(((m - j) as f64 * v).min(1.0));
        out[i] = Some(running);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b}");
    }

    // Reference values from SciPy 1.x (numpy mean/std(ddof=1),
    // scipy.stats.t.interval, ttest_rel, wilcoxon), computed independently.
    const X: [f64; 5] = [0.61, 0.64, 0.59, 0.70, 0.66];

    #[test]
    fn summary_matches_reference() {
        let s = summarize(&X);
        close(s.mean.unwrap(), SCIPY_MEAN, 1e-12);
        close(s.std.unwrap(), SCIPY_STD, 1e-12);
        let (lo, hi) = s.ci95.unwrap();
        close(lo, SCIPY_CI_LO, 1e-9);
        close(hi, SCIPY_CI_HI, 1e-9);
        assert_eq!(summarize(&[]).mean, None);
        let one = summarize(&[0.5]);
        assert_eq!((one.mean, one.std, one.ci95), (Some(0.5), None, None));
    }

    #[test]
    fn paired_t_matches_reference() {
        close(paired_t(&D1).unwrap(), SCIPY_TTEST_P, 1e-9);
        assert_eq!(paired_t(&[0.1, 0.1, 0.1]), None, "zero variance");
        assert_eq!(paired_t(&[0.1]), None);
    }

    const D1: [f64; 10] = [
        0.012, -0.004, 0.020, 0.007, 0.015, 0.003, -0.001, 0.009, 0.018, 0.011,
    ];

    #[test]
    fn wilcoxon_exact_matches_reference() {
        let w = wilcoxon(&D1).unwrap();
        assert!(w.exact);
        assert_eq!(w.w_plus, SCIPY_W_PLUS);
        close(w.p, SCIPY_W_EXACT_P, 1e-12);
        // All positive: the smallest p there is.
        let all: Vec<f64> = (1..=10).map(|i| i as f64 * 0.01).collect();
        close(wilcoxon(&all).unwrap().p, wilcoxon_min_p(10), 1e-15);
        close(wilcoxon_min_p(10), 0.001953125, 1e-15);
    }

    /// Ties (and a zero, dropped) force the normal approximation.
    const D2: [f64; 9] = [0.02, -0.01, 0.02, 0.03, 0.0, 0.01, 0.02, -0.02, 0.04];

    #[test]
    fn wilcoxon_with_ties_uses_the_corrected_normal_approximation() {
        let w = wilcoxon(&D2).unwrap();
        assert!(!w.exact);
        assert_eq!(w.n, 8);
        assert_eq!(w.w_plus, SCIPY_W2_PLUS);
        // The normal CDF (erfc) agrees with SciPy's to about 1e-11.
        close(w.p, SCIPY_W2_APPROX_P, 1e-10);
        assert_eq!(wilcoxon(&[0.0, 0.0]), None, "all differences zero");
    }

    #[test]
    fn wilcoxon_above_25_pairs_is_approximate() {
        let d: Vec<f64> = (1..=30)
            .map(|i| if i % 3 == 0 { -(i as f64) } else { i as f64 })
            .collect();
        let w = wilcoxon(&d).unwrap();
        assert!(!w.exact);
        close(w.p, SCIPY_W3_APPROX_P, 1e-10);
    }

    #[test]
    fn holm_matches_reference() {
        let p = [Some(0.01), Some(0.04), None, Some(0.03), Some(0.005)];
        let adj = holm(&p);
        // By hand: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 → 0.02, 0.03,
        // 0.06, 0.04, made monotone → 0.02, 0.03, 0.06, 0.06.
        let want = [Some(0.03), Some(0.06), None, Some(0.06), Some(0.02)];
        for (a, w) in adj.iter().zip(want) {
            match (a, w) {
                (Some(a), Some(w)) => close(*a, w, 1e-12),
                (None, None) => {}
                _ => panic!("{adj:?}"),
            }
        }
        assert_eq!(holm(&[Some(0.6), Some(0.7)]), [Some(1.0), Some(1.0)]);
    }

    /// Counts of 150 test samples, as the accuracies a store holds: the
    /// test sees the ties of the integer count differences, as SciPy does
    /// on the integers.
    #[test]
    fn count_differences_tie_as_integers() {
        let a = [100, 103, 101, 99, 104, 102, 100, 105, 101, 103];
        let b = [98, 101, 101, 97, 102, 100, 99, 103, 98, 101];
        let pairs: Vec<(f64, f64)> = a
            .iter()
            .zip(b)
            .map(|(x, y)| (f64::from(*x) / 150.0, f64::from(y) / 150.0))
            .collect();
        let raw: Vec<f64> = pairs.iter().map(|(x, y)| x - y).collect();
        let twos: Vec<f64> = raw
            .iter()
            .copied()
            .filter(|d| (d * 150.0 - 2.0).abs() < 1e-6)
            .collect();
        assert!(
            twos.iter().any(|d| *d != twos[0]),
            "the raw float differences of equal counts differ: {twos:?}"
        );
        let d = paired_differences(&pairs, Scale::Count);
        let w = wilcoxon(&d).unwrap();
        assert!(!w.exact, "ties force the approximation");
        close(w.p, SCIPY_COUNT_W_P, 1e-10);
        close(paired_t(&d).unwrap(), SCIPY_COUNT_T_P, 1e-9);
        assert_eq!(d.iter().filter(|x| **x == 0.0).count(), 1);
    }

    /// Log losses whose differences carry f32-sized noise: within 1e-6 of
    /// the largest value they are the intended differences' ties and zero.
    #[test]
    fn continuous_differences_tie_within_the_relative_tolerance() {
        let want = [0.01, 0.01, -0.02, 0.0, 0.03, 0.01, 0.02, -0.01, 0.02, 0.01];
        let noise = [
            3e-8, -2e-8, 1e-8, 4e-8, -3e-8, 2e-8, 1.5e-8, 3e-8, 2.5e-8, -4e-8,
        ];
        let pairs: Vec<(f64, f64)> = want
            .iter()
            .zip(noise)
            .enumerate()
            .map(|(i, (d, e))| {
                let b = 0.6 + 0.01 * i as f64;
                (b + d + e, b)
            })
            .collect();
        let d = paired_differences(&pairs, Scale::Continuous);
        assert_eq!(d[3], 0.0);
        let w = wilcoxon(&d).unwrap();
        close(w.p, SCIPY_CONT_W_P, 1e-10);
        close(paired_t(&d).unwrap(), SCIPY_CONT_T_P, 1e-5);
        // Raw, the noise breaks every tie and the zero.
        let raw: Vec<f64> = pairs.iter().map(|(x, y)| x - y).collect();
        assert!(wilcoxon(&raw).unwrap().exact);
    }

    #[test]
    fn equivalence_matches_reference() {
        let d = [
            0.002, -0.003, 0.001, 0.004, -0.001, 0.0, 0.003, -0.002, 0.001, 0.002,
        ];
        let e = equivalence(&d, 0.01).unwrap();
        close(e.p, SCIPY_TOST_P, 1e-12);
        close(e.ci90.0, SCIPY_TOST_CI_LO, 1e-12);
        close(e.ci90.1, SCIPY_TOST_CI_HI, 1e-12);
        assert!(e.equivalent);
        // A margin inside the interval cannot be claimed.
        let narrow = equivalence(&d, 0.001).unwrap();
        assert!(!narrow.equivalent && narrow.p > 0.05);
        let same = equivalence(&[0.0, 0.0, 0.0], 0.01).unwrap();
        assert_eq!((same.p, same.ci90), (0.0, (0.0, 0.0)));
        assert_eq!(equivalence(&[0.1], 0.01), None);
    }

    include!("stats_reference.rs");
}
