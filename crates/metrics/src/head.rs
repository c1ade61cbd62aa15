//! Metrics of one head over one split.

use serde::Serialize;

use crate::{
    auroc::macro_auroc_ovr, calibration::expected_calibration_error, ClassCounts, Confusion, Metric,
};

/// One head's predictions over one split.
///
/// `probs` holds, row-major, `n × n_classes` class probabilities that sum to 1
/// per sample (a sigmoid head's outputs renormalised); `mass` holds each
/// sample's probability mass before renormalisation (1 for a softmax head).
/// `truth` is `None` for a sample without this head's label: every metric of
/// the head counts labelled samples only.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadPredictions {
    pub n_classes: usize,
    pub truth: Vec<Option<usize>>,
    pub probs: Vec<f64>,
    pub mass: Vec<f64>,
    /// Whether class indices are ordered (binned values): then the ordinal
    /// metrics are defined.
    pub ordered: bool,
    /// Each sample's predicted class where the head decodes its own rather
    /// than taking the most probable one (ordinal and regression heads).
    pub decoded: Option<Vec<usize>>,
}

/// Scalar metrics of one head, plus its per-class counts and confusion matrix.
/// Definitions: docs/metrics.md.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadMetrics {
    /// Labelled samples.
    pub n: usize,
    pub accuracy: f64,
    pub balanced_accuracy: f64,
    pub macro_precision: f64,
    pub macro_recall: f64,
    pub macro_f1: f64,
    pub weighted_f1: f64,
    pub log_loss: f64,
    pub brier: f64,
    pub ece: f64,
    pub auroc: Option<f64>,
    pub mass: f64,
    /// Ordered heads only: mean |predicted − true| in classes (bins).
    pub mae: Option<f64>,
    /// Ordered heads only: fraction predicted within one class of the truth.
    pub off_by_one: Option<f64>,
    pub classes: Vec<ClassCounts>,
    pub confusion: Confusion,
}

/// Predictions whose shapes disagree, or that hold a class index or
/// probability that cannot be.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid predictions: {0}")]
pub struct InvalidPredictions(pub String);

impl HeadPredictions {
    pub fn len(&self) -> usize {
        self.truth.len()
    }

    pub fn is_empty(&self) -> bool {
        self.truth.is_empty()
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.probs[i * self.n_classes..(i + 1) * self.n_classes]
    }

    /// The predicted class: the decoded one where the head has its own
    /// decoding, else the argmax of the sample's probabilities, the lowest
    /// index among equal maxima (NumPy's `argmax`).
    pub fn predicted(&self, i: usize) -> usize {
        match &self.decoded {
            Some(d) => d[i],
            None => argmax(self.row(i)),
        }
    }

    fn check(&self) -> Result<(), InvalidPredictions> {
        let n = self.truth.len();
        let bad = |m: String| Err(InvalidPredictions(m));
        if self.n_classes == 0 {
            return bad("a head needs at least one class".into());
        }
        if self.probs.len() != n * self.n_classes || self.mass.len() != n {
            return bad(format!(
                "{n} samples need {} probabilities and {n} masses, got {} and {}",
                n * self.n_classes,
                self.probs.len(),
                self.mass.len()
            ));
        }
        if let Some(t) = self.truth.iter().flatten().find(|&&t| t >= self.n_classes) {
            return bad(format!("true class {t} outside 0..{}", self.n_classes));
        }
        if let Some(p) = self.probs.iter().find(|p| !p.is_finite()) {
            return bad(format!("non-finite probability {p}"));
        }
        if let Some(d) = &self.decoded {
            if d.len() != n {
                return bad(format!(
                    "{n} samples need {n} decoded classes, got {}",
                    d.len()
                ));
            }
            if let Some(c) = d.iter().find(|&&c| c >= self.n_classes) {
                return bad(format!("decoded class {c} outside 0..{}", self.n_classes));
            }
        }
        Ok(())
    }

    /// Every metric of this head; `Ok(None)` when no sample is labelled.
    pub fn metrics(&self) -> Result<Option<HeadMetrics>, InvalidPredictions> {
        self.check()?;
        let k = self.n_classes;
        let labelled: Vec<usize> = (0..self.len())
            .filter(|&i| self.truth[i].is_some())
            .collect();
        if labelled.is_empty() {
            return Ok(None);
        }
        let n = labelled.len();
        let nf = n as f64;
        let truth: Vec<usize> = labelled.iter().map(|&i| self.truth[i].unwrap()).collect();
        let pred: Vec<usize> = labelled.iter().map(|&i| self.predicted(i)).collect();
        let confusion = Confusion::new(k, truth.iter().copied().zip(pred.iter().copied()));
        let classes = confusion.class_counts();

        let correct: Vec<bool> = truth.iter().zip(&pred).map(|(t, p)| t == p).collect();
        let accuracy = correct.iter().filter(|&&c| c).count() as f64 / nf;

        // Balanced accuracy: mean recall over classes present in the truth.
        let in_truth: Vec<&ClassCounts> = classes.iter().filter(|c| c.support > 0).collect();
        let balanced_accuracy = in_truth
            .iter()
            .map(|c| c.recall.unwrap_or(0.0))
            .sum::<f64>()
            / in_truth.len() as f64;

        // Macro averages over classes present in the truth or the predictions,
        // an undefined ratio counting 0.
        let seen: Vec<&ClassCounts> = classes.iter().filter(|c| c.support + c.fp > 0).collect();
        let macro_avg = |f: fn(&ClassCounts) -> Option<f64>| {
            seen.iter().map(|c| f(c).unwrap_or(0.0)).sum::<f64>() / seen.len() as f64
        };
        let macro_precision = macro_avg(|c| c.precision);
        let macro_recall = macro_avg(|c| c.recall);
        let macro_f1 = macro_avg(|c| c.f1);
        let weighted_f1 = classes
            .iter()
            .map(|c| c.support as f64 * c.f1.unwrap_or(0.0))
            .sum::<f64>()
            / nf;

        let mut log_loss = 0.0;
        let mut brier = 0.0;
        let mut confidence = Vec::with_capacity(n);
        let mut probs = Vec::with_capacity(n * k);
        let mut mass = 0.0;
        for ((&i, &t), &p) in labelled.iter().zip(&truth).zip(&pred) {
            let row = self.row(i);
            log_loss -= row[t].clamp(f64::EPSILON, 1.0 - f64::EPSILON).ln();
            brier += row
                .iter()
                .enumerate()
                .map(|(c, &p)| (p - if c == t { 1.0 } else { 0.0 }).powi(2))
                .sum::<f64>();
            // The probability of the predicted class (its maximum, unless
            // the head decodes its own prediction).
            confidence.push(row[p]);
            probs.extend_from_slice(row);
            mass += self.mass[i];
        }
        let ece = expected_calibration_error(&confidence, &correct).expect("n > 0");
        let distance: Vec<usize> = truth
            .iter()
            .zip(&pred)
            .map(|(t, p)| t.abs_diff(*p))
            .collect();
        let mae = self
            .ordered
            .then(|| distance.iter().sum::<usize>() as f64 / nf);
        let off_by_one = self
            .ordered
            .then(|| distance.iter().filter(|&&d| d <= 1).count() as f64 / nf);
        let auroc = macro_auroc_ovr(k, &truth, &probs);

        Ok(Some(HeadMetrics {
            n,
            accuracy,
            balanced_accuracy,
            macro_precision,
            macro_recall,
            macro_f1,
            weighted_f1,
            log_loss: log_loss / nf,
            brier: brier / nf,
            ece,
            auroc,
            mass: mass / nf,
            mae,
            off_by_one,
            classes,
            confusion,
        }))
    }
}

impl HeadMetrics {
    /// The scalar metrics by their stored names, in a fixed order; the
    /// ordinal ones only for an ordered head.
    pub fn scalars(&self) -> Vec<(Metric, Option<f64>)> {
        let mut out = vec![
            (Metric::N, Some(self.n as f64)),
            (Metric::Accuracy, Some(self.accuracy)),
            (Metric::BalancedAccuracy, Some(self.balanced_accuracy)),
            (Metric::MacroPrecision, Some(self.macro_precision)),
            (Metric::MacroRecall, Some(self.macro_recall)),
            (Metric::MacroF1, Some(self.macro_f1)),
            (Metric::WeightedF1, Some(self.weighted_f1)),
            (Metric::LogLoss, Some(self.log_loss)),
            (Metric::Brier, Some(self.brier)),
            (Metric::Ece, Some(self.ece)),
            (Metric::Auroc, self.auroc),
            (Metric::Mass, Some(self.mass)),
        ];
        if let (Some(mae), Some(off)) = (self.mae, self.off_by_one) {
            out.push((Metric::Mae, Some(mae)));
            out.push((Metric::OffByOne, Some(off)));
        }
        out
    }
}

/// Joint exact match: over the samples labelled in every head, the fraction
/// whose every head predicts its true class. `None` when no sample is
/// labelled in every head.
pub fn exact_match(heads: &[&HeadPredictions]) -> Option<f64> {
    let n = heads.first()?.len();
    let mut total = 0usize;
    let mut hits = 0usize;
    for i in 0..n {
        if heads.iter().all(|h| h.truth[i].is_some()) {
            total += 1;
            hits += usize::from(heads.iter().all(|h| h.truth[i] == Some(h.predicted(i))));
        }
    }
    (total > 0).then(|| hits as f64 / total as f64)
}

fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    fn head(k: usize, truth: &[Option<usize>], probs: &[f64]) -> HeadPredictions {
        HeadPredictions {
            n_classes: k,
            truth: truth.to_vec(),
            probs: probs.to_vec(),
            mass: vec![1.0; truth.len()],
            ordered: false,
            decoded: None,
        }
    }

    /// Three classes, five samples, one unlabelled. Hand-computed:
    /// truth 0 0 1 2, predicted 0 1 1 1 (the unlabelled sample is ignored).
    fn three_class() -> HeadPredictions {
        head(
            3,
            &[Some(0), Some(0), Some(1), None, Some(2)],
            &[
                0.7, 0.2, 0.1, //
                0.4, 0.5, 0.1, //
                0.1, 0.8, 0.1, //
                0.0, 0.0, 1.0, //
                0.2, 0.5, 0.3, //
            ],
        )
    }

    #[test]
    fn scalar_metrics_by_hand() {
        let m = three_class().metrics().unwrap().unwrap();
        assert_eq!(m.n, 4);
        close(m.accuracy, 0.5);
        // Recalls: class 0 1/2, class 1 1/1, class 2 0/1.
        close(m.balanced_accuracy, 0.5);
        // Precisions: class 0 1/1, class 1 1/3, class 2 undefined → 0.
        close(m.macro_precision, (1.0 + 1.0 / 3.0) / 3.0);
        close(m.macro_recall, (0.5 + 1.0) / 3.0);
        // F1 = 2TP/(2TP+FP+FN): class 0 2/3, class 1 2/4, class 2 0.
        close(m.macro_f1, (2.0 / 3.0 + 0.5) / 3.0);
        close(m.weighted_f1, (2.0 * 2.0 / 3.0 + 0.5) / 4.0);
        close(
            m.log_loss,
            -(0.7f64.ln() + 0.4f64.ln() + 0.8f64.ln() + 0.3f64.ln()) / 4.0,
        );
        let brier = (0.09 + 0.04 + 0.01)
            + (0.36 + 0.25 + 0.01)
            + (0.01 + 0.04 + 0.01)
            + (0.04 + 0.25 + 0.49);
        close(m.brier, brier / 4.0);
        close(m.mass, 1.0);
        assert_eq!(
            m.confusion.cells,
            vec![vec![1, 1, 0], vec![0, 1, 0], vec![0, 1, 0]]
        );
    }

    #[test]
    fn ordinal_metrics_for_ordered_heads_only() {
        // truth 0 0 1 2, predicted 0 1 1 1 → distances 0 1 0 1.
        let mut h = three_class();
        assert_eq!(h.metrics().unwrap().unwrap().mae, None);
        assert!(!h
            .metrics()
            .unwrap()
            .unwrap()
            .scalars()
            .iter()
            .any(|(k, _)| *k == Metric::Mae));
        h.ordered = true;
        let m = h.metrics().unwrap().unwrap();
        close(m.mae.unwrap(), 2.0 / 4.0);
        close(m.off_by_one.unwrap(), 1.0);
        // A prediction two bins off.
        let far = HeadPredictions {
            ordered: true,
            ..head(3, &[Some(0)], &[0.1, 0.2, 0.7])
        };
        let m = far.metrics().unwrap().unwrap();
        assert_eq!((m.mae, m.off_by_one), (Some(2.0), Some(0.0)));
        assert!(m
            .scalars()
            .iter()
            .any(|(k, v)| *k == Metric::OffByOne && *v == Some(0.0)));
    }

    #[test]
    fn macro_averages_include_classes_only_predicted() {
        // Truth has only class 0; class 1 is predicted once. sklearn's macro
        // F1 over labels {0, 1}: class 0 F1 = 2/3, class 1 F1 = 0 → 1/3.
        let h = head(3, &[Some(0), Some(0)], &[0.9, 0.1, 0.0, 0.2, 0.8, 0.0]);
        let m = h.metrics().unwrap().unwrap();
        close(m.macro_f1, (2.0 / 3.0) / 2.0);
        // Balanced accuracy looks at classes in the truth only: recall(0) = ½.
        close(m.balanced_accuracy, 0.5);
        // A single class in the truth: no AUROC.
        assert_eq!(m.auroc, None);
    }

    /// A head's own decoding replaces the argmax everywhere: accuracy,
    /// confusion, and the confidence ECE reads.
    #[test]
    fn decoded_classes_replace_the_argmax() {
        let h = HeadPredictions {
            decoded: Some(vec![1, 2]),
            ..head(3, &[Some(0), Some(2)], &[0.45, 0.35, 0.2, 0.1, 0.3, 0.6])
        };
        assert_eq!((h.predicted(0), h.predicted(1)), (1, 2));
        let m = h.metrics().unwrap().unwrap();
        close(m.accuracy, 0.5);
        assert_eq!(m.confusion.cells[0][1], 1);
        // Confidences 0.35 (wrong) and 0.6 (right) in different bins.
        close(m.ece, 0.5 * 0.35 + 0.5 * 0.4);
        let bad = HeadPredictions {
            decoded: Some(vec![3, 0]),
            ..h.clone()
        };
        assert!(bad
            .metrics()
            .unwrap_err()
            .to_string()
            .contains("decoded class 3"));
    }

    #[test]
    fn ties_predict_the_lowest_class() {
        let h = head(2, &[Some(1)], &[0.5, 0.5]);
        assert_eq!(h.predicted(0), 0);
        close(h.metrics().unwrap().unwrap().accuracy, 0.0);
    }

    #[test]
    fn log_loss_clips_at_float_epsilon() {
        let h = head(2, &[Some(1)], &[1.0, 0.0]);
        close(h.metrics().unwrap().unwrap().log_loss, -f64::EPSILON.ln());
    }

    #[test]
    fn two_class_brier_is_not_halved() {
        let h = head(2, &[Some(0)], &[0.25, 0.75]);
        close(h.metrics().unwrap().unwrap().brier, 0.75f64.powi(2) * 2.0);
    }

    #[test]
    fn mass_is_the_mean_over_labelled_samples() {
        let mut h = head(
            2,
            &[Some(0), None, Some(1)],
            &[0.6, 0.4, 0.5, 0.5, 0.3, 0.7],
        );
        h.mass = vec![1.4, 9.0, 0.6];
        close(h.metrics().unwrap().unwrap().mass, 1.0);
    }

    #[test]
    fn no_labelled_sample_gives_no_metrics() {
        let h = head(2, &[None], &[0.5, 0.5]);
        assert_eq!(h.metrics().unwrap(), None);
    }

    #[test]
    fn shape_and_range_errors() {
        assert!(head(2, &[Some(0)], &[1.0]).metrics().is_err());
        assert!(head(2, &[Some(2)], &[0.5, 0.5]).metrics().is_err());
        assert!(head(2, &[Some(0)], &[f64::NAN, 0.5]).metrics().is_err());
    }

    #[test]
    fn joint_exact_match_over_fully_labelled_samples() {
        let age = head(
            2,
            &[Some(0), Some(1), Some(1), Some(0)],
            &[0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.7, 0.3],
        );
        let sex = head(
            2,
            &[Some(1), Some(1), Some(1), None],
            &[0.1, 0.9, 0.7, 0.3, 0.2, 0.8, 0.5, 0.5],
        );
        // Sample 3 lacks a sex label; of 0..3, only sample 0 has both right.
        close(exact_match(&[&age, &sex]).unwrap(), 1.0 / 3.0);
        assert_eq!(exact_match(&[]), None);
    }
}
