//! Class probabilities and a predicted class from the outputs of ordinal
//! and regression heads, so that every per-head metric stays defined
//! whatever the loss (definitions: docs/losses.md, "Decoding").

use statrs::function::erf::erfc;

/// One sample decoded: class probabilities summing to 1, the mass before
/// renormalisation, and the predicted class.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub probs: Vec<f64>,
    pub mass: f64,
    pub predicted: usize,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// CORAL: P(y > k) = sigmoid(z_k).
pub fn coral_exceedance(z: &[f64]) -> Vec<f64> {
    z.iter().map(|&v| sigmoid(v)).collect()
}

/// CORN: threshold k models P(y > k | y > k − 1), so
/// P(y > k) = Π_{j ≤ k} sigmoid(z_j).
pub fn corn_exceedance(z: &[f64]) -> Vec<f64> {
    let mut p = 1.0;
    z.iter()
        .map(|&v| {
            p *= sigmoid(v);
            p
        })
        .collect()
}

/// Class probabilities from the K − 1 exceedance probabilities
/// e_k = P(y > k): P(y = 0) = 1 − e_0, P(y = k) = e_{k−1} − e_k,
/// P(y = K − 1) = e_{K−2}, each clipped at 0, then renormalised (the mass
/// is their sum before, 1 when the e_k do not increase). The predicted
/// class is the number of thresholds with e_k > ½ (Cao et al.'s rank).
pub fn from_exceedance(e: &[f64]) -> Decoded {
    let k = e.len() + 1;
    let above = |j: usize| if j == 0 { 1.0 } else { e[j - 1] };
    let below = |j: usize| if j + 1 == k { 0.0 } else { e[j] };
    let raw: Vec<f64> = (0..k).map(|j| (above(j) - below(j)).max(0.0)).collect();
    let mass: f64 = raw.iter().sum();
    Decoded {
        probs: raw.iter().map(|p| p / mass).collect(),
        mass,
        predicted: e.iter().filter(|&&p| p > 0.5).count(),
    }
}

/// The class of a predicted value: the bin among `inner` edges (the bin
/// edges without the two ends, increasing) that holds it, the end bins
/// reaching to ±∞; bins are `[e_j, e_{j+1})` as when binning labels.
pub fn bin_of_value(value: f64, inner: &[f64]) -> usize {
    inner.partition_point(|&e| e <= value)
}

/// Φ(b) − Φ(a) for a ≤ b, from the tail that keeps its precision.
fn normal_mass(a: f64, b: f64) -> f64 {
    let cdf = |x: f64| 0.5 * erfc(-x / std::f64::consts::SQRT_2);
    let upper = |x: f64| 0.5 * erfc(x / std::f64::consts::SQRT_2);
    if a >= 0.0 {
        upper(a) - upper(b)
    } else if b <= 0.0 {
        cdf(b) - cdf(a)
    } else {
        1.0 - cdf(a) - upper(b)
    }
}

/// A regression head's prediction `value`: class probabilities are the
/// mass of N(value, spread²) in each bin (the end bins reaching to ±∞),
/// the predicted class the bin holding `value`.
pub fn from_value(value: f64, spread: f64, inner: &[f64]) -> Decoded {
    let k = inner.len() + 1;
    let probs: Vec<f64> = (0..k)
        .map(|j| {
            let lo = if j == 0 {
                f64::NEG_INFINITY
            } else {
                (inner[j - 1] - value) / spread
            };
            let hi = if j + 1 == k {
                f64::INFINITY
            } else {
                (inner[j] - value) / spread
            };
            normal_mass(lo, hi).max(0.0)
        })
        .collect();
    let mass: f64 = probs.iter().sum();
    Decoded {
        probs: probs.iter().map(|p| p / mass).collect(),
        mass: 1.0,
        predicted: bin_of_value(value, inner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn exceedance_to_classes_by_hand() {
        // e = 0.9, 0.6, 0.2: classes 0.1, 0.3, 0.4, 0.2; two above ½.
        let d = from_exceedance(&[0.9, 0.6, 0.2]);
        for (p, want) in d.probs.iter().zip([0.1, 0.3, 0.4, 0.2]) {
            close(*p, want);
        }
        close(d.mass, 1.0);
        assert_eq!(d.predicted, 2);
        // An inconsistent e (0.3 then 0.5): class 1 clipped to 0, the rest
        // 0.7, 0 → 0, 0.5 renormalised over mass 1.2.
        let d = from_exceedance(&[0.3, 0.5]);
        close(d.mass, 1.2);
        close(d.probs[0], 0.7 / 1.2);
        close(d.probs[1], 0.0);
        close(d.probs[2], 0.5 / 1.2);
        assert_eq!(d.predicted, 0);
    }

    #[test]
    fn coral_and_corn_exceedance() {
        let z = [0.0, (3.0f64).ln()];
        let coral = coral_exceedance(&z);
        close(coral[0], 0.5);
        close(coral[1], 0.75);
        // CORN multiplies: 0.5, then 0.5 · 0.75.
        let corn = corn_exceedance(&z);
        close(corn[0], 0.5);
        close(corn[1], 0.375);
    }

    #[test]
    fn gaussian_bins_by_hand() {
        // Value 10 with spread 5 between edges 0, 10, 20 (ends open):
        // Φ(−2), Φ(0) − Φ(−2), Φ(2) − Φ(0), 1 − Φ(2).
        // (statrs's erfc is good to about 1e-10 relative.)
        let phi2 = 0.977_249_868_051_820_8; // Φ(2)
        let d = from_value(10.0, 5.0, &[0.0, 10.0, 20.0]);
        for (p, want) in d
            .probs
            .iter()
            .zip([1.0 - phi2, phi2 - 0.5, phi2 - 0.5, 1.0 - phi2])
        {
            assert!((p - want).abs() < 1e-11, "{p} != {want}");
        }
        // The value lies on edge 10: bins are [lo, hi), so bin 2.
        assert_eq!(d.predicted, 2);
        assert_eq!(bin_of_value(-100.0, &[0.0, 10.0]), 0);
        assert_eq!(bin_of_value(9.99, &[0.0, 10.0]), 1);
        assert_eq!(bin_of_value(1e9, &[0.0, 10.0]), 2);
        // Far in a tail the mass keeps its precision: 1 − Φ(30) ≈ 4.9e-198
        // is 0 as a difference of CDFs, not as a tail.
        let d = from_value(0.0, 1.0, &[30.0]);
        assert!(
            d.probs[1] > 4.8e-198 && d.probs[1] < 5.0e-198,
            "{}",
            d.probs[1]
        );
    }
}
