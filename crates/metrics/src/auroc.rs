//! Area under the ROC curve, one class against the rest.

/// AUROC of `scores` for the samples where `positive` is true against those
/// where it is false: the probability that a random positive scores higher
/// than a random negative, ties counting ½ (the Mann–Whitney U statistic over
/// `P·N`). `None` unless both positives and negatives exist.
pub fn auroc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    // Ties are counted as groups, so their order within a group does not
    // matter: an unstable sort of the pairs gives the same sums.
    let mut pairs: Vec<(f64, bool)> = scores
        .iter()
        .copied()
        .zip(positive.iter().copied())
        .collect();
    pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    // Sum of the positives' ranks, tied scores sharing their mean rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j + 1 < pairs.len() && pairs[j + 1].0 == pairs[i].0 {
            j += 1;
        }
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mean_rank * pairs[i..=j].iter().filter(|p| p.1).count() as f64;
        i = j + 1;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Macro one-vs-rest AUROC: the unweighted mean of [`auroc`] of each class's
/// probability column over the classes that have both positives and
/// negatives among `truth`. `probs` is row-major `n × n_classes`.
pub fn macro_auroc_ovr(n_classes: usize, truth: &[usize], probs: &[f64]) -> Option<f64> {
    let mut sum = 0.0;
    let mut count = 0usize;
    for k in 0..n_classes {
        let scores: Vec<f64> = probs.chunks(n_classes).map(|row| row[k]).collect();
        let positive: Vec<bool> = truth.iter().map(|&t| t == k).collect();
        if let Some(a) = auroc(&scores, &positive) {
            sum += a;
            count += 1;
        }
    }
    (count > 0).then(|| sum / count as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_inverted_and_tied() {
        assert_eq!(
            auroc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]),
            Some(1.0)
        );
        assert_eq!(
            auroc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]),
            Some(0.0)
        );
        assert_eq!(auroc(&[0.5, 0.5, 0.5], &[true, false, false]), Some(0.5));
    }

    #[test]
    fn hand_counted_pairs_with_a_tie() {
        // Positives 0.8, 0.4; negatives 0.4, 0.3, 0.9.
        // Pairs: (0.8>0.4)=1 (0.8>0.3)=1 (0.8<0.9)=0 (0.4=0.4)=½ (0.4>0.3)=1 (0.4<0.9)=0
        // → 3.5 / 6.
        let a = auroc(
            &[0.8, 0.4, 0.4, 0.3, 0.9],
            &[true, true, false, false, false],
        )
        .unwrap();
        assert!((a - 3.5 / 6.0).abs() < 1e-15);
    }

    #[test]
    fn undefined_without_both_kinds() {
        assert_eq!(auroc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(auroc(&[], &[]), None);
    }

    #[test]
    fn macro_skips_classes_without_positives() {
        // Three classes, class 2 never true: only classes 0 and 1 count.
        let probs = [0.7, 0.2, 0.1, 0.6, 0.3, 0.1, 0.2, 0.7, 0.1, 0.3, 0.3, 0.4];
        let truth = [0, 0, 1, 1];
        // Class 0 scores: pos {0.7, 0.6}, neg {0.2, 0.3} → 1.
        // Class 1 scores: pos {0.7, 0.3}, neg {0.2, 0.3} → (1+1+1+½)/4 = 0.875.
        let m = macro_auroc_ovr(3, &truth, &probs).unwrap();
        assert!((m - (1.0 + 0.875) / 2.0).abs() < 1e-15);
        assert_eq!(macro_auroc_ovr(3, &[0, 0], &probs[..6]), None);
    }
}
