//! A sweep's results as plain rows.

use std::collections::HashMap;

use headsweep_spec::{Role, RunStatus};

/// `(split, head, metric)`.
pub type MetricKey = (String, String, String);

/// One run with its axis values and stored metrics.
#[derive(Debug, Clone, Default)]
pub struct RunData {
    pub id: String,
    pub seed: i64,
    /// The grid point the run belongs to (its position among the sweep's
    /// points).
    pub point: i64,
    pub status: RunStatus,
    /// What the run is in the sweep (a search's trials are listed by
    /// `runs` but never compared).
    pub role: Role,
    /// A trial run at which pruning stopped its trial (`runs` shows it as
    /// `pruned`; the run itself is complete, its status `done`).
    pub pruned: bool,
    /// `(axis, value)` in the sweep's axis order.
    pub axes: Vec<(String, String)>,
    pub metrics: HashMap<MetricKey, f64>,
}

impl RunData {
    pub fn axis(&self, name: &str) -> Option<&str> {
        self.axes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn metric(&self, split: &str, head: &str, metric: &str) -> Option<f64> {
        self.metrics
            .get(&(split.to_string(), head.to_string(), metric.to_string()))
            .copied()
    }
}

/// One value of a run's learning curves.
#[derive(Debug, Clone, PartialEq)]
pub struct CurvePoint {
    /// 1-based.
    pub epoch: i64,
    pub split: String,
    pub head: String,
    pub metric: String,
    pub value: Option<f64>,
}

/// Every run of a sweep, in sweep order.
#[derive(Debug, Clone, Default)]
pub struct SweepData {
    pub name: String,
    pub axes: Vec<String>,
    pub runs: Vec<RunData>,
}

impl SweepData {
    /// An error naming the nearest head unless `head` is one of this
    /// sweep's (or `joint`).
    pub fn check_head(&self, flag: &'static str, head: &str) -> Result<(), crate::ReportError> {
        let heads = self.heads();
        if heads.iter().any(|h| h == head) {
            Ok(())
        } else {
            Err(crate::ReportError::UnknownHead {
                flag,
                head: head.to_string(),
                heads,
            })
        }
    }

    /// An error naming the nearest axis unless `axis` is one of this
    /// sweep's.
    pub fn check_axis(&self, flag: &'static str, axis: &str) -> Result<(), crate::ReportError> {
        if self.axes.iter().any(|a| a == axis) {
            Ok(())
        } else {
            Err(crate::ReportError::NotAnAxis {
                flag,
                axis: axis.to_string(),
                sweep: self.name.clone(),
                axes: self.axes.clone(),
            })
        }
    }

    /// Axes that take more than one value among the runs.
    pub fn varying_axes(&self) -> Vec<String> {
        self.axes
            .iter()
            .filter(|a| {
                let mut values = self.runs.iter().filter_map(|r| r.axis(a));
                let first = values.next();
                values.any(|v| Some(v) != first)
            })
            .cloned()
            .collect()
    }

    /// Heads with metrics, `joint` last, in first-seen order.
    pub fn heads(&self) -> Vec<String> {
        let mut heads: Vec<String> = Vec::new();
        for r in &self.runs {
            let mut keys: Vec<&MetricKey> = r.metrics.keys().collect();
            keys.sort();
            for (_, h, _) in keys {
                if h != "joint" && !heads.contains(h) {
                    heads.push(h.clone());
                }
            }
        }
        heads.push("joint".to_string());
        heads
    }
}
