//! Confusion matrix and the per-class counts derived from it.

use serde::Serialize;

/// A `K × K` confusion matrix: `cells[t][p]` counts samples of true class `t`
/// predicted as `p`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confusion {
    pub cells: Vec<Vec<u64>>,
}

/// One class seen one-vs-rest. Precision, recall and F1 are `None` where their
/// denominator is zero (scikit-learn's "ill-defined" case).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassCounts {
    pub class: usize,
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
    pub tn: u64,
    /// Samples whose true class is this one (`tp + fn`).
    pub support: u64,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

impl Confusion {
    pub fn new(n_classes: usize, pairs: impl IntoIterator<Item = (usize, usize)>) -> Self {
        let mut cells = vec![vec![0u64; n_classes]; n_classes];
        for (t, p) in pairs {
            cells[t][p] += 1;
        }
        Confusion { cells }
    }

    pub fn n_classes(&self) -> usize {
        self.cells.len()
    }

    pub fn total(&self) -> u64 {
        self.cells.iter().flatten().sum()
    }

    /// Counts for every class `0..K`, present in the data or not.
    pub fn class_counts(&self) -> Vec<ClassCounts> {
        let n = self.total();
        (0..self.n_classes())
            .map(|k| {
                let tp = self.cells[k][k];
                let support: u64 = self.cells[k].iter().sum();
                let predicted: u64 = self.cells.iter().map(|row| row[k]).sum();
                let fn_ = support - tp;
                let fp = predicted - tp;
                let tn = n - tp - fn_ - fp;
                let precision = ratio(tp, tp + fp);
                let recall = ratio(tp, tp + fn_);
                // F1 = 2TP / (2TP + FP + FN): defined whenever the class occurs
                // in the truth or the predictions, 0 when TP = 0 there.
                let f1 = ratio(2 * tp, 2 * tp + fp + fn_);
                ClassCounts {
                    class: k,
                    tp,
                    fp,
                    fn_,
                    tn,
                    support,
                    precision,
                    recall,
                    f1,
                }
            })
            .collect()
    }
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_a_hand_made_matrix() {
        // truth:     0 0 0 1 1 2
        // predicted: 0 0 1 1 0 1
        let c = Confusion::new(3, [(0, 0), (0, 0), (0, 1), (1, 1), (1, 0), (2, 1)]);
        assert_eq!(c.cells, vec![vec![2, 1, 0], vec![1, 1, 0], vec![0, 1, 0]]);
        let k = c.class_counts();
        assert_eq!(
            (k[0].tp, k[0].fp, k[0].fn_, k[0].tn, k[0].support),
            (2, 1, 1, 2, 3)
        );
        assert_eq!(k[0].precision, Some(2.0 / 3.0));
        assert_eq!(k[0].recall, Some(2.0 / 3.0));
        assert_eq!((k[1].tp, k[1].fp, k[1].fn_, k[1].tn), (1, 2, 1, 2));
        assert_eq!(k[1].f1, Some(2.0 / 5.0));
        // Class 2 is never predicted: precision undefined, recall 0, F1 0.
        assert_eq!((k[2].tp, k[2].fp, k[2].fn_, k[2].tn), (0, 0, 1, 5));
        assert_eq!(k[2].precision, None);
        assert_eq!(k[2].recall, Some(0.0));
        assert_eq!(k[2].f1, Some(0.0));
    }

    #[test]
    fn a_class_absent_everywhere_has_no_defined_ratio() {
        let c = Confusion::new(3, [(0, 0), (1, 1)]);
        let k = &c.class_counts()[2];
        assert_eq!((k.tp, k.fp, k.fn_, k.tn, k.support), (0, 0, 0, 2, 0));
        assert_eq!((k.precision, k.recall, k.f1), (None, None, None));
    }
}
