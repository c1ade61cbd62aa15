//! Loading a sweep file and expanding its `[grid]` into runs.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::{Document, RunConfig};
use crate::error::SpecError;
use crate::locate::{self, Step};
use crate::validate;

/// A parsed, validated sweep file.
#[derive(Debug, Clone)]
pub struct SweepFile {
    pub path: PathBuf,
    pub text: String,
    /// The grid's axes in file order: dotted setting and its values.
    pub axes: Vec<(String, Vec<toml::Value>)>,
    /// Every grid point, validated, in expansion order (the last axis varies
    /// fastest).
    pub points: Vec<GridPoint>,
    pub seeds: Vec<u64>,
}

/// One setting of every axis, and the configuration it resolves to.
#[derive(Debug, Clone)]
pub struct GridPoint {
    pub values: Vec<(String, toml::Value)>,
    /// The resolved configuration, with the first seed.
    pub config: RunConfig,
}

impl GridPoint {
    /// `axis=value` pairs, space-separated.
    pub fn label(&self) -> String {
        self.values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl SweepFile {
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses `text` as the file at `path`: relative data paths resolve
    /// against the file's folder.
    pub fn parse(path: &Path, text: &str) -> Result<Self, SpecError> {
        let at_offset = |offset: usize, message: String| {
            let (line, column) = locate::line_col(text, offset);
            SpecError::At {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        };
        let toml_error = |e: toml::de::Error| {
            let message = with_suggestion(e.message());
            match e.span() {
                Some(span) => at_offset(span.start, message),
                None => SpecError::File {
                    path: path.to_path_buf(),
                    message,
                },
            }
        };
        let raw: toml::Table = toml::from_str(text).map_err(toml_error)?;
        let doc: Document = toml::from_str(text).map_err(toml_error)?;
        let at_path = |p: &[Step], message: String| match locate::offset(text, p) {
            Some(offset) => at_offset(offset, message),
            None => SpecError::File {
                path: path.to_path_buf(),
                message,
            },
        };
        if let Some(first) = validate::check(&doc).into_iter().next() {
            return Err(at_path(
                &first.path,
                format!("{}: {}", locate::render(&first.path), first.message),
            ));
        }

        let mut base = raw;
        base.remove("grid");
        let mut axes = Vec::new();
        for (key, values) in doc.grid.iter().flatten() {
            let grid_key = [Step::from("grid"), Step::from(key.as_str())];
            let values = match values {
                toml::Value::Array(v) if !v.is_empty() => v.clone(),
                _ => {
                    return Err(at_path(
                        &grid_key,
                        format!("grid axis \"{key}\" must be a non-empty array of values"),
                    ))
                }
            };
            let parts: Vec<&str> = key.split('.').collect();
            if parts.len() < 2
                || !["sweep", "data", "model", "train"].contains(&parts[0])
                || parts.iter().any(|p| p.is_empty())
            {
                return Err(at_path(
                    &grid_key,
                    format!("grid axis \"{key}\" must name a setting as section.key, e.g. \"model.head_depth\""),
                ));
            }
            if key == "sweep.seeds" || key == "sweep.name" {
                return Err(at_path(
                    &grid_key,
                    format!("\"{key}\" cannot be a grid axis; list seeds in sweep.seeds"),
                ));
            }
            axes.push((key.clone(), values));
        }

        // Each value alone first, so that an error names the axis and value
        // that caused it; combinations are checked after.
        let resolve = |table: toml::Table| -> Result<Document, String> {
            let d = Document::deserialize(toml::Value::Table(table))
                .map_err(|e| with_suggestion(e.message()))?;
            match validate::check(&d).into_iter().next() {
                Some(p) => Err(format!("{}: {}", locate::render(&p.path), p.message)),
                None => Ok(d),
            }
        };
        for (key, vals) in &axes {
            for (i, value) in vals.iter().enumerate() {
                let mut table = base.clone();
                let at = [Step::from("grid"), Step::from(key.as_str()), Step::Index(i)];
                set_dotted(&mut table, key, value.clone())
                    .and_then(|_| resolve(table).map(|_| ()))
                    .map_err(|m| at_path(&at, format!("grid axis \"{key}\" value {value}: {m}")))?;
            }
        }

        let dir = path.parent().unwrap_or(Path::new("."));
        let mut points = Vec::new();
        for combo in cartesian(&axes) {
            let mut table = base.clone();
            let mut values = Vec::new();
            for ((key, vals), idx) in axes.iter().zip(&combo) {
                let value = vals[*idx].clone();
                set_dotted(&mut table, key, value.clone()).expect("checked per value above");
                values.push((key.clone(), value));
            }
            let point_doc = resolve(table).map_err(|m| {
                at_path(
                    &[Step::from("grid")],
                    format!("grid point {}: {m}", label(&values)),
                )
            })?;
            let mut config = RunConfig {
                sweep: point_doc.sweep.name.clone(),
                seed: point_doc.sweep.seeds[0],
                data: point_doc.data,
                tasks: point_doc.tasks,
                model: point_doc.model,
                train: point_doc.train,
            };
            for p in [
                &mut config.data.features,
                &mut config.data.labels,
                &mut config.data.ids,
            ]
            .into_iter()
            .flatten()
            {
                if p.is_relative() {
                    *p = dir.join(&*p);
                }
            }
            points.push(GridPoint { values, config });
        }
        if points.is_empty() {
            return Err(SpecError::File {
                path: path.to_path_buf(),
                message: "the grid expands to no run".into(),
            });
        }
        Ok(SweepFile {
            path: path.to_path_buf(),
            text: text.to_string(),
            axes,
            points,
            seeds: doc.sweep.seeds,
        })
    }

    pub fn name(&self) -> &str {
        &self.points[0].config.sweep
    }

    /// Every run: each grid point once per seed, points outermost.
    pub fn runs(&self) -> impl Iterator<Item = (&GridPoint, RunConfig)> + '_ {
        self.points.iter().flat_map(move |p| {
            self.seeds.iter().map(move |&seed| {
                (
                    p,
                    RunConfig {
                        seed,
                        ..p.config.clone()
                    },
                )
            })
        })
    }

    /// The first grid point with the first seed.
    pub fn first_run(&self) -> RunConfig {
        self.points[0].config.clone()
    }
}

fn label(values: &[(String, toml::Value)]) -> String {
    values
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every combination of axis indices, the last axis varying fastest. No axes
/// give one empty combination: the base configuration.
fn cartesian(axes: &[(String, Vec<toml::Value>)]) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new()];
    for (_, values) in axes {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                (0..values.len()).map(move |i| {
                    let mut c = prefix.clone();
                    c.push(i);
                    c
                })
            })
            .collect();
    }
    out
}

/// Sets `a.b.c = value` in `table`, creating intermediate tables.
fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), String> {
    let mut parts = key.split('.').peekable();
    let mut cur = table;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(part.to_string(), value);
            return Ok(());
        }
        let entry = cur
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = match entry {
            toml::Value::Table(t) => t,
            _ => return Err(format!("\"{part}\" is not a table")),
        };
    }
    Ok(())
}

/// Adds "did you mean" to serde's unknown-field and unknown-variant messages,
/// which already list the valid names.
fn with_suggestion(message: &str) -> String {
    let message = message.trim_end().to_string();
    let (Some(start), true) = (message.find('`'), message.starts_with("unknown ")) else {
        return message;
    };
    let rest = &message[start + 1..];
    let Some(end) = rest.find('`') else {
        return message;
    };
    let given = &rest[..end];
    let valid: Vec<&str> = rest[end + 1..].split('`').skip(1).step_by(2).collect();
    let best = valid
        .iter()
        .map(|v| (strsim::levenshtein(given, v), *v))
        .min()
        .filter(|(d, v)| *d <= (v.len().max(given.len()) / 3).max(2));
    match best {
        Some((_, v)) => format!("{message}; did you mean `{v}`?"),
        None => message,
    }
}

#[cfg(test)]
mod tests;
