//! Turning sample-sheet columns into class indices.

use headsweep_spec::TaskConfig;

use crate::error::DataError;
use crate::sheet::{list, Sheet};

/// One task's classes and each sample's class index (`None`: no label).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskLabels {
    pub name: String,
    /// Class names in index order: `[lo,hi)` intervals for binned tasks (the
    /// last closed), the given order for ordered tasks, else the column's
    /// distinct values sorted.
    pub classes: Vec<String>,
    pub labels: Vec<Option<usize>>,
    pub weight: f64,
    /// Classes are in order — bins of a number, or named in `order` — so
    /// ordinal metrics and losses apply.
    pub ordered: bool,
    /// The bin edges of a binned task.
    pub edges: Option<Vec<f64>>,
    /// Each sample's number before binning (`None` without a label, and for
    /// every sample of a task without bins): what regression losses fit.
    pub values: Vec<Option<f64>>,
}

impl TaskLabels {
    /// The number a regression loss fits for sample `i`: its value before
    /// binning, else its class index.
    pub fn target(&self, i: usize) -> Option<f64> {
        self.values[i].or(self.labels[i].map(|c| c as f64))
    }
}

/// Encodes `task` for every row of `sheet`.
pub fn encode(task: &TaskConfig, sheet: &Sheet) -> Result<TaskLabels, DataError> {
    let col = task.column();
    let j = sheet.column(col).ok_or_else(|| {
        DataError::file(
            &sheet.source,
            format!(
                "task {:?} needs column {col:?}, which the sheet lacks; its columns are {}",
                task.name,
                list(sheet.columns.iter().map(String::as_str))
            ),
        )
    })?;
    let cells = sheet.cells.iter().map(|row| row[j].as_deref());
    let mut values = vec![None; sheet.ids.len()];
    let (classes, labels) = match &task.bins {
        Some(edges) => {
            let classes = bin_names(edges);
            let mut labels = Vec::with_capacity(sheet.ids.len());
            for ((cell, &line), value) in cells.zip(&sheet.lines).zip(&mut values) {
                labels.push(match cell {
                    None => None,
                    Some(text) => {
                        let v: f64 = text.parse().ok().filter(|v: &f64| v.is_finite()).ok_or_else(|| {
                            DataError::at(&sheet.source, line, format!("column {col:?}: {text:?} is not a number, and task {:?} has bins", task.name))
                        })?;
                        *value = Some(v);
                        Some(bin_of(edges, v).ok_or_else(|| {
                            DataError::at(
                                &sheet.source,
                                line,
                                format!("column {col:?}: {v} lies outside the bins of task {:?} [{}, {}]", task.name, edges[0], edges[edges.len() - 1]),
                            )
                        })?)
                    }
                });
            }
            (classes, labels)
        }
        None if task.order.is_some() => {
            let order = task.order.clone().expect("matched");
            let mut labels = Vec::with_capacity(sheet.ids.len());
            for (cell, &line) in cells.zip(&sheet.lines) {
                labels.push(match cell {
                    None => None,
                    Some(text) => Some(order.iter().position(|c| c == text).ok_or_else(|| {
                        DataError::at(
                            &sheet.source,
                            line,
                            format!(
                                "column {col:?}: {text:?} is not in the order of task {:?} ({})",
                                task.name,
                                list(order.iter().map(String::as_str))
                            ),
                        )
                    })?),
                });
            }
            (order, labels)
        }
        None => {
            let mut classes: Vec<String> = cells.clone().flatten().map(str::to_string).collect();
            classes.sort();
            classes.dedup();
            let labels = cells
                .map(|c| {
                    c.map(|c| {
                        classes
                            .binary_search_by(|k| k.as_str().cmp(c))
                            .expect("collected above")
                    })
                })
                .collect();
            (classes, labels)
        }
    };
    Ok(TaskLabels {
        name: task.name.clone(),
        classes,
        labels,
        weight: task.weight,
        ordered: task.bins.is_some() || task.order.is_some(),
        edges: task.bins.clone(),
        values,
    })
}

/// The class of `v` among the bins `[e_i, e_{i+1})`, the last one closed.
fn bin_of(edges: &[f64], v: f64) -> Option<usize> {
    let last = edges.len() - 1;
    if v < edges[0] || v > edges[last] {
        return None;
    }
    if v == edges[last] {
        return Some(last - 1);
    }
    Some(edges.partition_point(|&e| e <= v) - 1)
}

fn bin_names(edges: &[f64]) -> Vec<String> {
    let n = edges.len() - 1;
    (0..n)
        .map(|i| {
            let close = if i + 1 == n { ']' } else { ')' };
            format!("[{},{}{close}", edges[i], edges[i + 1])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(values: &[Option<&str>]) -> Sheet {
        Sheet {
            ids: (0..values.len()).map(|i| format!("s{i}")).collect(),
            columns: vec!["v".into()],
            cells: values.iter().map(|v| vec![v.map(str::to_string)]).collect(),
            lines: (2..2 + values.len() as u64).collect(),
            source: "s.csv".into(),
        }
    }

    fn task(bins: Option<Vec<f64>>) -> TaskConfig {
        TaskConfig {
            name: "t".into(),
            column: Some("v".into()),
            bins,
            weight: 1.0,
            loss: None,
            class_weights: None,
            order: None,
        }
    }

    #[test]
    fn bins_are_half_open_except_the_last() {
        let s = sheet(&[Some("0"), Some("4.99"), Some("5"), Some("10"), None]);
        let t = encode(&task(Some(vec![0.0, 5.0, 10.0])), &s).unwrap();
        assert_eq!(t.classes, ["[0,5)", "[5,10]"]);
        assert_eq!(t.labels, [Some(0), Some(0), Some(1), Some(1), None]);
        assert_eq!(
            t.values,
            [Some(0.0), Some(4.99), Some(5.0), Some(10.0), None]
        );
    }

    #[test]
    fn a_value_outside_the_bins_names_its_line() {
        let s = sheet(&[Some("3"), Some("10.5")]);
        let e = encode(&task(Some(vec![0.0, 5.0, 10.0])), &s)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("s.csv:3: column \"v\": 10.5 lies outside the bins"),
            "{e}"
        );
        let s = sheet(&[Some("old")]);
        assert!(encode(&task(Some(vec![0.0, 5.0])), &s)
            .unwrap_err()
            .to_string()
            .contains("\"old\" is not a number"));
    }

    #[test]
    fn an_order_names_the_classes_and_refuses_other_values() {
        let mut t = task(None);
        t.order = Some(vec!["young".into(), "adult".into(), "old".into()]);
        let s = sheet(&[Some("old"), None, Some("young"), Some("adult")]);
        let e = encode(&t, &s).unwrap();
        assert_eq!(e.classes, ["young", "adult", "old"]);
        assert_eq!(e.labels, [Some(2), None, Some(0), Some(1)]);
        assert!(e.ordered && e.edges.is_none());
        // Regression fits the class index where there is no number.
        assert_eq!(e.target(0), Some(2.0));
        assert_eq!(e.target(1), None);
        let s = sheet(&[Some("young"), Some("elderly")]);
        let err = encode(&t, &s).unwrap_err().to_string();
        assert!(
            err.starts_with("s.csv:3: column \"v\": \"elderly\" is not in the order of task \"t\""),
            "{err}"
        );
    }

    #[test]
    fn categories_are_sorted() {
        let s = sheet(&[Some("M"), Some("F"), None, Some("M")]);
        let t = encode(&task(None), &s).unwrap();
        assert_eq!(t.classes, ["F", "M"]);
        assert_eq!(t.labels, [Some(1), Some(0), None, Some(1)]);
    }

    #[test]
    fn a_missing_column_lists_the_columns() {
        let mut t = task(None);
        t.column = Some("age".into());
        let e = encode(&t, &sheet(&[Some("1")])).unwrap_err().to_string();
        assert!(
            e.contains(
                "task \"t\" needs column \"age\", which the sheet lacks; its columns are \"v\""
            ),
            "{e}"
        );
    }
}
