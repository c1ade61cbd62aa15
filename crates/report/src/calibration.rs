//! Reliability diagrams from stored test predictions: the confidence of a
//! prediction is its predicted class's probability (what ECE bins), and
//! unlabelled samples are left out.

use headsweep_metrics::{reliability, ReliabilityBin};

use crate::ReportError;

/// One stored prediction: the true class (if labelled), the predicted
/// class and the class probabilities as a JSON array.
pub struct PredictionRef<'a> {
    pub true_class: Option<i64>,
    pub predicted_class: i64,
    pub probabilities: &'a str,
}

/// The reliability bins of `predictions` (pooled: every sample of every
/// run given counts once).
pub fn reliability_of<'a>(
    predictions: impl IntoIterator<Item = PredictionRef<'a>>,
) -> Result<Vec<ReliabilityBin>, ReportError> {
    let mut confidence = Vec::new();
    let mut correct = Vec::new();
    for p in predictions {
        let Some(truth) = p.true_class else {
            continue;
        };
        let probs: Vec<f64> = serde_json::from_str(p.probabilities).map_err(|e| {
            ReportError::Predictions(format!("probabilities {:?}: {e}", p.probabilities))
        })?;
        let c = usize::try_from(p.predicted_class)
            .ok()
            .and_then(|i| probs.get(i))
            .ok_or_else(|| {
                ReportError::Predictions(format!(
                    "predicted class {} is outside {} probabilities",
                    p.predicted_class,
                    probs.len()
                ))
            })?;
        confidence.push(*c);
        correct.push(truth == p.predicted_class);
    }
    Ok(reliability(&confidence, &correct))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_is_the_predicted_classs_probability() {
        let rows = [
            (Some(1), 1, "[0.1,0.9]"),
            (Some(0), 1, "[0.4,0.6]"),
            (None, 0, "[0.7,0.3]"),
            // An ordinal head may predict a class that is not the most probable.
            (Some(2), 2, "[0.5,0.2,0.3]"),
        ];
        let bins = reliability_of(rows.iter().map(|(t, p, j)| PredictionRef {
            true_class: *t,
            predicted_class: *p,
            probabilities: j,
        }))
        .unwrap();
        let n: usize = bins.iter().map(|b| b.count).sum();
        assert_eq!(n, 3, "the unlabelled sample is left out");
        // 0.9 → bin 13, 0.6 → bin 8, 0.3 → bin 4.
        assert_eq!(bins[13].accuracy, Some(1.0));
        assert_eq!(bins[8].accuracy, Some(0.0));
        assert_eq!(bins[4].confidence, Some(0.3));
        let bad = reliability_of([PredictionRef {
            true_class: Some(0),
            predicted_class: 3,
            probabilities: "[0.5,0.5]",
        }]);
        assert!(bad.unwrap_err().to_string().contains("outside 2"));
    }
}
