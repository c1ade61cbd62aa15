//! Expected calibration error.

/// Number of equal-width confidence bins.
pub const ECE_BINS: usize = 15;

/// ECE over top-1 confidences: sample `i` with confidence `c_i` (its largest
/// class probability) falls in bin `ceil(15·c) − 1`, computed in f64 and
/// clamped to `[0, 14]`, so bins are `(b/15, (b+1)/15]` and a confidence of
/// exactly `b/15` belongs to the lower bin. ECE = Σ_b (n_b/n)·|acc_b − conf_b|
/// with `acc_b` the fraction correct and `conf_b` the mean confidence in bin b.
/// Returns `None` for no samples.
pub fn expected_calibration_error(confidence: &[f64], correct: &[bool]) -> Option<f64> {
    let n = confidence.len();
    if n == 0 {
        return None;
    }
    let mut count = [0usize; ECE_BINS];
    let mut conf_sum = [0.0f64; ECE_BINS];
    let mut hits = [0usize; ECE_BINS];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let b = ((ECE_BINS as f64 * c).ceil() - 1.0).clamp(0.0, (ECE_BINS - 1) as f64) as usize;
        count[b] += 1;
        conf_sum[b] += c;
        hits[b] += usize::from(ok);
    }
    let mut ece = 0.0;
    for b in 0..ECE_BINS {
        if count[b] > 0 {
            let m = count[b] as f64;
            ece += (m / n as f64) * (hits[b] as f64 / m - conf_sum[b] / m).abs();
        }
    }
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
    fn zero_confidence_is_clamped_into_the_first_bin() {
        let e = expected_calibration_error(&[0.0], &[false]).unwrap();
        assert_eq!(e, 0.0);
        assert_eq!(expected_calibration_error(&[], &[]), None);
    }
}
