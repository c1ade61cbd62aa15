//! Expected calibration error.

/// Number of equal-width confidence bins.
pub const ECE_BINS: usize = 15;

/// One confidence bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ReliabilityBin {
    /// The bin is `(lo, hi]` (the first also holds 0).
    pub lo: f64,
    pub hi: f64,
    pub count: usize,
    /// Mean confidence of its samples; `None` when empty.
    pub confidence: Option<f64>,
    /// Fraction of its samples predicted correctly; `None` when empty.
    pub accuracy: Option<f64>,
}

/// The [`ECE_BINS`] bins of top-1 confidences: sample `i` with confidence
/// `c_i` (its predicted class's probability) falls in bin `ceil(15·c) − 1`,
/// computed in f64 and clamped to `[0, 14]`, so bins are `(b/15, (b+1)/15]`
/// and a confidence of exactly `b/15` belongs to the lower bin.
pub fn reliability(confidence: &[f64], correct: &[bool]) -> Vec<ReliabilityBin> {
    let mut count = [0usize; ECE_BINS];
    let mut conf_sum = [0.0f64; ECE_BINS];
    let mut hits = [0usize; ECE_BINS];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let b = ((ECE_BINS as f64 * c).ceil() - 1.0).clamp(0.0, (ECE_BINS - 1) as f64) as usize;
        count[b] += 1;
        conf_sum[b] += c;
        hits[b] += usize::from(ok);
    }
    (0..ECE_BINS)
        .map(|b| {
            let m = count[b] as f64;
            ReliabilityBin {
                lo: b as f64 / ECE_BINS as f64,
                hi: (b + 1) as f64 / ECE_BINS as f64,
                count: count[b],
                confidence: (count[b] > 0).then(|| conf_sum[b] / m),
                accuracy: (count[b] > 0).then(|| hits[b] as f64 / m),
            }
        })
        .collect()
}

/// ECE over the [`reliability`] bins: Σ_b (n_b/n)·|acc_b − conf_b| with
/// `acc_b` the fraction correct and `conf_b` the mean confidence in bin b.
/// Returns `None` for no samples.
pub fn expected_calibration_error(confidence: &[f64], correct: &[bool]) -> Option<f64> {
    let n = confidence.len();
    if n == 0 {
        return None;
    }
    let ece = reliability(confidence, correct)
        .iter()
        .filter_map(|b| Some((b.count as f64 / n as f64) * (b.accuracy? - b.confidence?).abs()))
        .sum();
    Some(ece)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_two_bins() {
        // Bin 14 (c in (14/15, 1]): 1.0 correct, 0.95 wrong → acc ½, conf 0.975.
        // Bin 7 (c in (7/15, 8/15]): 0.5 correct → acc 1, conf 0.5.
        let e = expected_calibration_error(&[1.0, 0.95, 0.5], &[true, false, true]).unwrap();
        let want = (2.0 / 3.0) * (0.5f64 - 0.975).abs() + (1.0 / 3.0) * 0.5;
        assert!((e - want).abs() < 1e-15, "{e} vs {want}");
    }

    #[test]
    fn confidence_on_a_bin_edge_goes_to_the_lower_bin() {
        // c = 8/15 exactly: ceil(8) − 1 = 7, the same bin as 0.5. Both correct
        // → one bin, acc 1, conf mean (0.5 + 8/15)/2.
        let edge = 8.0 / 15.0;
        let e = expected_calibration_error(&[0.5, edge], &[true, true]).unwrap();
        assert!((e - (1.0 - (0.5 + edge) / 2.0)).abs() < 1e-15);
        // A wrong edge sample distinguishes the bins: lower bin → |½ − mean conf|.
        let e2 = expected_calibration_error(&[0.5, edge], &[true, false]).unwrap();
        assert!((e2 - (0.5 - (0.5 + edge) / 2.0).abs()).abs() < 1e-15);
    }

    #[test]
    fn reliability_bins_by_hand() {
        let bins = reliability(&[1.0, 0.95, 0.5], &[true, false, true]);
        assert_eq!(bins.len(), ECE_BINS);
        assert_eq!((bins[14].count, bins[14].accuracy), (2, Some(0.5)));
        assert!((bins[14].confidence.unwrap() - 0.975).abs() < 1e-15);
        assert_eq!((bins[7].count, bins[7].accuracy), (1, Some(1.0)));
        assert_eq!((bins[0].count, bins[0].confidence), (0, None));
        assert!((bins[7].lo - 7.0 / 15.0).abs() < 1e-15 && (bins[7].hi - 8.0 / 15.0).abs() < 1e-15);
    }

    #[test]
    fn zero_confidence_is_clamped_into_the_first_bin() {
        let e = expected_calibration_error(&[0.0], &[false]).unwrap();
        assert_eq!(e, 0.0);
        assert_eq!(expected_calibration_error(&[], &[]), None);
    }
}
