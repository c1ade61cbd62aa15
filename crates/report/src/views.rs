//! Shaping sweep data for listings and charts.

use headsweep_metrics::summarize;

use crate::data::SweepData;
use crate::filter::Filter;
use crate::plot::{Curve, ErrorBar, MetricPoint};
use crate::table::{Table, Value};

/// One row per run (those `filter` keeps): identity (its first 12 hex
/// digits when `short_ids`), seed, axis values, status, and each
/// `(split, head, metric)` asked for.
pub fn runs_table(
    data: &SweepData,
    metrics: &[(String, String, String)],
    filter: Option<&Filter>,
    short_ids: bool,
) -> Table {
    let mut columns = vec!["run".to_string(), "seed".into()];
    columns.extend(data.axes.iter().cloned());
    columns.push("status".into());
    columns.extend(metrics.iter().map(|(s, h, m)| {
        if s == "test" {
            format!("{h}.{m}")
        } else {
            format!("{s}.{h}.{m}")
        }
    }));
    let rows = data
        .runs
        .iter()
        .filter(|r| filter.is_none_or(|f| f.matches(r)))
        .map(|r| {
            let id = if short_ids {
                r.id.chars().take(12).collect()
            } else {
                r.id.clone()
            };
            let mut row = vec![Value::Text(id), Value::Int(r.seed)];
            row.extend(data.axes.iter().map(|a| {
                r.axis(a)
                    .map_or(Value::Null, |v| Value::Text(v.to_string()))
            }));
            row.push(Value::Text(r.status.clone()));
            row.extend(
                metrics
                    .iter()
                    .map(|(s, h, m)| r.metric(s, h, m).map_or(Value::Null, Value::Real)),
            );
            row
        })
        .collect();
    Table { columns, rows }
}

/// Means with error bars of one metric per value of `x` (and `hue`), over
/// the done runs.
pub fn metric_points(
    data: &SweepData,
    key: (&str, &str, &str),
    x: &str,
    hue: Option<&str>,
    bar: ErrorBar,
) -> Vec<MetricPoint> {
    let (split, head, metric) = key;
    let mut groups: Vec<(String, Option<String>, Vec<f64>)> = Vec::new();
    for r in data.runs.iter().filter(|r| r.status == "done") {
        let Some(v) = r.metric(split, head, metric) else {
            continue;
        };
        let gx = r.axis(x).unwrap_or("").to_string();
        let gh = hue.map(|h| r.axis(h).unwrap_or("").to_string());
        match groups.iter_mut().find(|(a, b, _)| *a == gx && *b == gh) {
            Some((_, _, vals)) => vals.push(v),
            None => groups.push((gx, gh, vec![v])),
        }
    }
    groups
        .into_iter()
        .filter_map(|(x, hue, vals)| {
            let s = summarize(&vals);
            let mean = s.mean?;
            let bar = match bar {
                ErrorBar::Std => s.std.map(|sd| (mean - sd, mean + sd)),
                ErrorBar::Ci => s.ci95,
            };
            Some(MetricPoint {
                x,
                hue,
                mean,
                bar,
                n: s.n,
            })
        })
        .collect()
}

/// Learning-curve panels from stored `(epoch, split, head, metric, value)`
/// rows: losses (training dashed), then validation balanced accuracy.
pub fn curve_panels(
    rows: &[(i64, String, String, String, Option<f64>)],
) -> Vec<(String, Vec<Curve>)> {
    let series = |split: &str, head: &str, metric: &str| -> Vec<(f64, f64)> {
        rows.iter()
            .filter(|r| r.1 == split && r.2 == head && r.3 == metric)
            .filter_map(|r| r.4.map(|v| (r.0 as f64, v)))
            .collect()
    };
    let mut heads: Vec<String> = rows
        .iter()
        .filter(|r| r.2 != "joint")
        .map(|r| r.2.clone())
        .collect();
    heads.sort();
    heads.dedup();
    let mut loss = vec![
        Curve {
            label: "train loss (all heads)".into(),
            points: series("train", "joint", "loss"),
            dashed: true,
        },
        Curve {
            label: "val loss (all heads)".into(),
            points: series("val", "joint", "loss"),
            dashed: false,
        },
    ];
    let mut acc = Vec::new();
    for h in &heads {
        loss.push(Curve {
            label: format!("val loss, {h}"),
            points: series("val", h, "loss"),
            dashed: false,
        });
        acc.push(Curve {
            label: format!("val {h}"),
            points: series("val", h, "balanced_accuracy"),
            dashed: false,
        });
    }
    acc.push(Curve {
        label: "val exact match (joint)".into(),
        points: series("val", "joint", "exact_match"),
        dashed: true,
    });
    vec![("loss".into(), loss), ("balanced accuracy".into(), acc)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::tests::fixture;

    #[test]
    fn points_average_done_runs() {
        let pts = metric_points(
            &fixture(),
            ("test", "age", "accuracy"),
            "model.head_depth",
            Some("model.architecture"),
            ErrorBar::Std,
        );
        assert_eq!(pts.len(), 4);
        let p = pts
            .iter()
            .find(|p| p.x == "1" && p.hue.as_deref() == Some("multi_label"))
            .unwrap();
        assert_eq!(p.n, 2, "the failed run is left out");
        assert!((p.mean - 0.655).abs() < 1e-12);
    }

    #[test]
    fn runs_table_filters() {
        let f = Filter::parse("model.architecture = multi_head AND age.accuracy > 0.75").unwrap();
        let t = runs_table(
            &fixture(),
            &[("test".into(), "age".into(), "accuracy".into())],
            Some(&f),
            false,
        );
        assert_eq!(t.rows.len(), 2);
        assert_eq!(
            t.columns,
            [
                "run",
                "seed",
                "model.architecture",
                "model.head_depth",
                "status",
                "age.accuracy"
            ]
        );
    }
}
