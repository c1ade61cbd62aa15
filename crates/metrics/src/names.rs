//! The stored metrics by name, and which way each improves.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// Which way a metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Higher,
    Lower,
    /// Probability mass: 1 is ideal.
    ClosestToOne,
    /// A count, not a quality (`n`).
    None,
}

impl Direction {
    /// A score where larger is better; `None` for a metric that is not a
    /// quality.
    pub fn score(self, v: f64) -> Option<f64> {
        match self {
            Direction::Higher => Some(v),
            Direction::Lower => Some(-v),
            Direction::ClosestToOne => Some(-(v - 1.0).abs()),
            Direction::None => None,
        }
    }
}

/// Every scalar metric the store holds per run, split and head
/// (docs/metrics.md defines each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    N,
    Accuracy,
    BalancedAccuracy,
    MacroPrecision,
    MacroRecall,
    MacroF1,
    WeightedF1,
    LogLoss,
    Brier,
    Ece,
    Auroc,
    Mass,
    Mae,
    OffByOne,
    Rmse,
    /// The training loss on a split (a head's own term, or the total).
    Loss,
    /// Joint: every head right.
    ExactMatch,
}

impl Metric {
    pub const ALL: [Metric; 17] = [
        Metric::N,
        Metric::Accuracy,
        Metric::BalancedAccuracy,
        Metric::MacroPrecision,
        Metric::MacroRecall,
        Metric::MacroF1,
        Metric::WeightedF1,
        Metric::LogLoss,
        Metric::Brier,
        Metric::Ece,
        Metric::Auroc,
        Metric::Mass,
        Metric::Mae,
        Metric::OffByOne,
        Metric::Rmse,
        Metric::Loss,
        Metric::ExactMatch,
    ];

    /// Whether the metric is a fraction of test samples (its differences
    /// compared as counts) or a measurement.
    pub fn scale(self) -> crate::Scale {
        match self {
            Metric::N | Metric::Accuracy | Metric::ExactMatch | Metric::OffByOne | Metric::Mae => {
                crate::Scale::Count
            }
            _ => crate::Scale::Continuous,
        }
    }

    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Metric::N => "n",
            Metric::Accuracy => "accuracy",
            Metric::BalancedAccuracy => "balanced_accuracy",
            Metric::MacroPrecision => "macro_precision",
            Metric::MacroRecall => "macro_recall",
            Metric::MacroF1 => "macro_f1",
            Metric::WeightedF1 => "weighted_f1",
            Metric::LogLoss => "log_loss",
            Metric::Brier => "brier",
            Metric::Ece => "ece",
            Metric::Auroc => "auroc",
            Metric::Mass => "mass",
            Metric::Mae => "mae",
            Metric::OffByOne => "off_by_one",
            Metric::Rmse => "rmse",
            Metric::Loss => "loss",
            Metric::ExactMatch => "exact_match",
        }
    }

    pub fn direction(self) -> Direction {
        match self {
            Metric::Loss
            | Metric::LogLoss
            | Metric::Brier
            | Metric::Ece
            | Metric::Mae
            | Metric::Rmse => Direction::Lower,
            Metric::Mass => Direction::ClosestToOne,
            Metric::N => Direction::None,
            _ => Direction::Higher,
        }
    }

    /// Every name, comma-separated, for messages.
    pub fn names() -> String {
        Metric::ALL.map(Metric::name).join(", ")
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The candidate closest to `name` by edit distance, if it is close enough
/// to be a likely misspelling: at most a third of the longer name (at least
/// 2 edits allowed), and fewer edits than `name` has characters.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let here = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb))
                    .min(row[j] + 1)
                    .min(here + 1);
                prev = here;
            }
        }
        row[b.len()]
    }
    candidates
        .into_iter()
        .map(|c| (distance(name, c), c))
        .min()
        .filter(|(d, c)| {
            let n = name.chars().count();
            *d < n && *d <= (c.chars().count().max(n) / 3).max(2)
        })
        .map(|(_, c)| c)
}

/// `; did you mean "X"?` when a close name exists, else nothing.
pub fn suggestion<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(name, candidates).map_or_else(String::new, |c| format!("; did you mean {c:?}?"))
}

/// A metric name this version does not store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no metric {name:?}{}; the metrics are {}", suggestion(name, Metric::ALL.map(Metric::name)), Metric::names())]
pub struct UnknownMetric {
    pub name: String,
}

impl FromStr for Metric {
    type Err = UnknownMetric;

    fn from_str(s: &str) -> Result<Metric, UnknownMetric> {
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| UnknownMetric {
                name: s.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Metric::ALL {
            assert_eq!(m.name().parse::<Metric>(), Ok(m));
        }
        assert!("f1".parse::<Metric>().is_err());
    }

    #[test]
    fn misspellings_get_the_nearest_name() {
        let e = "balanced_acuracy"
            .parse::<Metric>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean \"balanced_accuracy\"?"), "{e}");
        let e = "f1".parse::<Metric>().unwrap_err().to_string();
        assert!(!e.contains("did you mean"), "{e}");
        assert_eq!(nearest("sx", ["age", "sex"]), Some("sex"));
        assert_eq!(nearest("zzzzzz", ["age", "sex"]), None);
        assert_eq!(nearest("X", ["F", "M"]), None);
        assert_eq!(nearest("aeg", ["age", "sex"]), Some("age"));
    }

    #[test]
    fn directions() {
        assert_eq!(Metric::Accuracy.direction().score(0.5), Some(0.5));
        assert_eq!(Metric::LogLoss.direction().score(0.5), Some(-0.5));
        assert_eq!(Metric::Mass.direction().score(1.25), Some(-0.25));
        assert_eq!(Metric::Mass.direction().score(0.75), Some(-0.25));
        assert_eq!(Metric::N.direction().score(3.0), None);
    }
}
