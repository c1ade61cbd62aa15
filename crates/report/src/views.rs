//! Shaping sweep data for listings and charts.

use headsweep_metrics::{summarize, Metric, JOINT};
use headsweep_spec::{Role, RunStatus};

use crate::data::{CurvePoint, SweepData};
use crate::filter::Filter;
use crate::plot::{Curve, ErrorBar, MetricPoint};
use crate::table::{aligned, fixed4, Table, Value};

/// One row per run (those `filter` keeps): identity (its first 12 hex
/// digits when `short_ids`), seed, axis values, status, and each
/// `(split, head, metric)` asked for.
pub fn runs_table(
    data: &SweepData,
    metrics: &[(String, String, String)],
    filter: Option<&Filter>,
    short_ids: bool,
) -> Table {
    // A search's runs say what each is: trial or evaluation.
    let roles = data.runs.iter().any(|r| r.role != Role::Run);
    let mut columns = vec!["run".to_string(), "seed".into()];
    if roles {
        columns.push("role".into());
    }
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
            if roles {
                row.push(Value::Text(r.role.to_string()));
            }
            row.extend(data.axes.iter().map(|a| {
                r.axis(a)
                    .map_or(Value::Null, |v| Value::Text(v.to_string()))
            }));
            row.push(Value::Text(if r.pruned {
                "pruned".to_string()
            } else {
                r.status.to_string()
            }));
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

/// What `run` prints after a sweep: one row per grid point with its axis
/// values, runs done and failed, and the mean test accuracy and balanced
/// accuracy of each head and the joint exact match over its done seeds.
pub fn run_summary(data: &SweepData) -> String {
    let heads: Vec<String> = data.heads().into_iter().filter(|h| h != JOINT).collect();
    let mut header: Vec<String> = data.axes.clone();
    header.extend(["done".to_string(), "failed".to_string()]);
    for h in &heads {
        header.push(format!("{h} acc"));
        header.push(format!("{h} bal_acc"));
    }
    header.push("exact_match".into());
    let mut points: Vec<i64> = data.runs.iter().map(|r| r.point).collect();
    points.dedup();
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|&p| {
            let of_point: Vec<_> = data.runs.iter().filter(|r| r.point == p).collect();
            let done: Vec<_> = of_point
                .iter()
                .filter(|r| r.status == RunStatus::Done)
                .collect();
            let mean = |head: &str, metric: Metric| {
                let v: Vec<f64> = done
                    .iter()
                    .filter_map(|r| r.metric("test", head, metric.name()))
                    .collect();
                summarize(&v).mean
            };
            let mut row: Vec<String> = data
                .axes
                .iter()
                .map(|a| of_point[0].axis(a).unwrap_or("").to_string())
                .collect();
            row.push(done.len().to_string());
            row.push(
                of_point
                    .iter()
                    .filter(|r| r.status == RunStatus::Failed)
                    .count()
                    .to_string(),
            );
            for h in &heads {
                row.push(fixed4(mean(h, Metric::Accuracy)));
                row.push(fixed4(mean(h, Metric::BalancedAccuracy)));
            }
            row.push(fixed4(mean(JOINT, Metric::ExactMatch)));
            row
        })
        .collect();
    format!(
        "\ntest split, mean over done seeds\n{}\n",
        aligned(&header, &rows)
    )
}

/// Means with error bars of one metric per value of `x` (and `hue`), over
/// seeds: a seed's done runs in the group (other axes' settings) are
/// averaged first, as `compare` pools by seed, so `n` counts seeds (times
/// data sets, when `data.seed` varies: each is a replicate of its own).
pub fn metric_points(
    data: &SweepData,
    key: (&str, &str, &str),
    x: &str,
    hue: Option<&str>,
    bar: ErrorBar,
) -> Vec<MetricPoint> {
    let (split, head, metric) = key;
    type Seeds = std::collections::BTreeMap<(i64, String), (f64, usize)>;
    let mut groups: Vec<(String, Option<String>, Seeds)> = Vec::new();
    for r in data.runs.iter().filter(|r| r.status == RunStatus::Done) {
        let Some(v) = r.metric(split, head, metric) else {
            continue;
        };
        let gx = r.axis(x).unwrap_or("").to_string();
        let gh = hue.map(|h| r.axis(h).unwrap_or("").to_string());
        let i = match groups.iter().position(|(a, b, _)| *a == gx && *b == gh) {
            Some(i) => i,
            None => {
                groups.push((gx, gh, Seeds::new()));
                groups.len() - 1
            }
        };
        let data_set = r
            .axis(crate::compare::DATA_REPLICATE)
            .unwrap_or("")
            .to_string();
        let e = groups[i].2.entry((r.seed, data_set)).or_insert((0.0, 0));
        e.0 += v;
        e.1 += 1;
    }
    groups
        .into_iter()
        .filter_map(|(x, hue, seeds)| {
            let vals: Vec<f64> = seeds.values().map(|(s, n)| s / *n as f64).collect();
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
pub fn curve_panels(rows: &[CurvePoint]) -> Vec<(String, Vec<Curve>)> {
    let series = |split: &str, head: &str, metric: &str| -> Vec<(f64, f64)> {
        rows.iter()
            .filter(|r| r.split == split && r.head == head && r.metric == metric)
            .filter_map(|r| r.value.map(|v| (r.epoch as f64, v)))
            .collect()
    };
    let mut heads: Vec<String> = rows
        .iter()
        .filter(|r| r.head != JOINT)
        .map(|r| r.head.clone())
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
    // Only series with points: a pair of tasks' gradient cosine is stored
    // under a head "a|b" with no loss or accuracy of its own.
    let existing =
        |v: Vec<Curve>| -> Vec<Curve> { v.into_iter().filter(|c| !c.points.is_empty()).collect() };
    vec![
        ("loss".into(), existing(loss)),
        ("balanced accuracy".into(), existing(acc)),
    ]
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
    fn curve_legends_name_only_series_that_exist() {
        let point = |split: &str, head: &str, metric: &str| CurvePoint {
            epoch: 1,
            split: split.into(),
            head: head.into(),
            metric: metric.into(),
            value: Some(0.5),
        };
        let rows = vec![
            point("train", "joint", "loss"),
            point("val", "joint", "loss"),
            point("val", "age", "loss"),
            point("val", "age", "balanced_accuracy"),
            point("val", "sex", "loss"),
            point("val", "age|sex", "grad_cosine"),
        ];
        let panels = curve_panels(&rows);
        let labels: Vec<Vec<&str>> = panels
            .iter()
            .map(|(_, c)| c.iter().map(|c| c.label.as_str()).collect())
            .collect();
        assert_eq!(
            labels,
            [
                vec![
                    "train loss (all heads)",
                    "val loss (all heads)",
                    "val loss, age",
                    "val loss, sex"
                ],
                vec!["val age"],
            ]
        );
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
