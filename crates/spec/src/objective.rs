//! The validation metric a search ranks trials by and seeds in rounds
//! compare designs on: `val.HEAD.METRIC`, never the test split.

/// A validation metric that ranks trials or designs.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    pub split: String,
    pub head: String,
    pub metric: headsweep_metrics::Metric,
}

impl std::fmt::Display for Objective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.split, self.head, self.metric.name())
    }
}

/// What ranks and compares when the file names nothing.
pub const DEFAULT_OBJECTIVE: &str = "val.joint.exact_match";

/// A validation metric to rank or stop by: `val.HEAD.METRIC`.
pub(crate) fn objective(text: &str, heads: &[String]) -> Result<Objective, String> {
    let parts: Vec<&str> = text.split('.').collect();
    let [split, head, metric] = parts.as_slice() else {
        return Err(format!(
            "\"{text}\" is not SPLIT.HEAD.METRIC, e.g. \"{DEFAULT_OBJECTIVE}\""
        ));
    };
    if *split != "val" {
        return Err(format!(
            "\"{text}\": designs and trials are ranked on the validation split (\"val\"); the test split is never read to choose or to stop"
        ));
    }
    if *head != headsweep_metrics::JOINT && !heads.iter().any(|h| h == head) {
        return Err(format!(
            "\"{text}\": no head named \"{head}\"; the heads are {} and {}",
            heads.join(", "),
            headsweep_metrics::JOINT
        ));
    }
    let metric: headsweep_metrics::Metric =
        metric.parse().map_err(|e| format!("\"{text}\": {e}"))?;
    if metric.direction().score(0.0).is_none() {
        return Err(format!(
            "\"{text}\": {} is a count, not a quality to rank by",
            metric.name()
        ));
    }
    Ok(Objective {
        split: split.to_string(),
        head: head.to_string(),
        metric,
    })
}
