//! Loading a sweep file and expanding its grid into runs.
//!
//! Expansion: the cartesian product of the `[grid]` axes and `[[grid.zip]]`
//! groups (a group's axes vary together), in file order with the last
//! factor varying fastest; minus the points matching an `[[exclude]]`
//! pattern; plus each `[[include]]` point. Every value is checked on its own
//! first, so that an error points at the value that caused it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::{Document, RunConfig};
use crate::display::display_value;
use crate::error::SpecError;
use crate::locate::{self, Step};
use crate::validate;

/// A parsed, validated sweep file.
#[derive(Debug, Clone)]
pub struct SweepFile {
    pub path: PathBuf,
    pub text: String,
    /// Every dotted setting that some grid factor or include sets, in file
    /// order.
    pub axes: Vec<String>,
    /// Every grid point, validated, in expansion order.
    pub points: Vec<GridPoint>,
    /// Every seed a design can run on (with rounds, the whole budget).
    pub seeds: Vec<u64>,
    /// Settings tuned per grid point (design), when the file has `[search]`.
    pub search: Option<crate::search::Search>,
    /// Seeds spent in rounds, when `sweep.seeds` has `rounds`.
    pub sequential: Option<crate::seeds::Sequential>,
    /// Each point's settings as a table, for [`SweepFile::configure`].
    tables: Vec<toml::Table>,
    /// The folder relative data paths resolve against.
    dir: PathBuf,
}

/// One grid point: each axis's resolved value and the configuration.
#[derive(Debug, Clone)]
pub struct GridPoint {
    /// `(axis, value)` for every axis of the sweep, in axis order; the value
    /// is the resolved setting (a default where the point does not set it).
    pub values: Vec<(String, serde_json::Value)>,
    /// The resolved configuration, with the first seed.
    pub config: RunConfig,
}

impl GridPoint {
    /// `axis=value` pairs, space-separated, strings unquoted.
    pub fn label(&self) -> String {
        self.values
            .iter()
            .map(|(k, v)| format!("{k}={}", display_value(v)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One grid factor: a plain axis, or a zip group of axes varying together.
/// Each choice is a list of (dotted key, value) assignments plus where in
/// the file each value sits.
struct Factor {
    choices: Vec<Vec<(String, toml::Value, Vec<Step>)>>,
}

const SECTIONS: [&str; 4] = ["sweep", "data", "model", "train"];

impl SweepFile {
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let bytes = std::fs::read(path).map_err(|source| SpecError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            // Point at the first byte that is not UTF-8.
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let text = String::from_utf8_lossy(good);
            let (line, column) = locate::line_col(&text, text.len());
            SpecError::At {
                path: path.to_path_buf(),
                line,
                column,
                message: "the file is not UTF-8 text here; save it as UTF-8".into(),
            }
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
            let message = with_suggestion(&humane_types(e.message()));
            match e.span() {
                Some(span) => {
                    // Name the key a type error is about.
                    let message = match locate::path_at(text, span.start) {
                        Some(p) if !p.is_empty() && message.starts_with("invalid ") => {
                            format!("{}: {message}", locate::render(&p))
                        }
                        _ => message,
                    };
                    at_offset(span.start, message)
                }
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
        for k in ["grid", "include", "exclude", "search", "evaluate"] {
            base.remove(k);
        }
        let resolve = resolve_table;
        let check_key = |key: &str, at: &[Step]| -> Result<(), SpecError> {
            let parts: Vec<&str> = key.split('.').collect();
            if parts.len() < 2
                || !SECTIONS.contains(&parts[0])
                || parts.iter().any(|p| p.is_empty())
            {
                return Err(at_path(
                    at,
                    format!(
                        "\"{key}\" must name a setting as section.key, e.g. \"model.head_depth\""
                    ),
                ));
            }
            if key == "sweep.seeds" || key == "sweep.name" {
                return Err(at_path(
                    at,
                    format!("\"{key}\" cannot vary; list seeds in sweep.seeds"),
                ));
            }
            Ok(())
        };

        // Factors, in file order.
        let mut factors = Vec::new();
        let mut axes: Vec<String> = Vec::new();
        for (key, value) in doc.grid.iter().flatten() {
            if key == "zip" {
                let groups = match value {
                    toml::Value::Array(groups) => groups,
                    _ => {
                        return Err(at_path(
                            &["grid".into(), "zip".into()],
                            "grid.zip must be written [[grid.zip]]".into(),
                        ))
                    }
                };
                for (g, group) in groups.iter().enumerate() {
                    let gpath = vec![Step::from("grid"), "zip".into(), g.into()];
                    let Some(table) = group.as_table() else {
                        return Err(at_path(
                            &gpath,
                            "each [[grid.zip]] must be a table of axes".into(),
                        ));
                    };
                    let mut len = None;
                    let mut columns = Vec::new();
                    for (k, v) in table {
                        let mut at = gpath.clone();
                        at.push(k.as_str().into());
                        check_key(k, &at)?;
                        let values = non_empty_array(v).ok_or_else(|| {
                            at_path(&at, format!("zip axis \"{k}\" must be a non-empty array"))
                        })?;
                        if *len.get_or_insert(values.len()) != values.len() {
                            return Err(at_path(
                                &at,
                                format!("zip axis \"{k}\" has {} values; the axes of one [[grid.zip]] must have equally many ({})", values.len(), len.unwrap_or(0)),
                            ));
                        }
                        push_axis(&mut axes, k);
                        columns.push((k.clone(), values, at));
                    }
                    let n = len.ok_or_else(|| at_path(&gpath, "an empty [[grid.zip]]".into()))?;
                    let choices = (0..n)
                        .map(|i| {
                            columns
                                .iter()
                                .map(|(k, vals, at)| {
                                    let mut at = at.clone();
                                    at.push(i.into());
                                    (k.clone(), vals[i].clone(), at)
                                })
                                .collect()
                        })
                        .collect();
                    factors.push(Factor { choices });
                }
                continue;
            }
            let at = vec![Step::from("grid"), key.as_str().into()];
            check_key(key, &at)?;
            let values = non_empty_array(value).ok_or_else(|| {
                at_path(
                    &at,
                    format!("grid axis \"{key}\" must be a non-empty array of values"),
                )
            })?;
            push_axis(&mut axes, key);
            let choices = values
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let mut at = at.clone();
                    at.push(i.into());
                    vec![(key.clone(), v, at)]
                })
                .collect();
            factors.push(Factor { choices });
        }

        // Each value on its own.
        for f in &factors {
            for choice in &f.choices {
                for (key, value, at) in choice {
                    let mut table = base.clone();
                    set_dotted(&mut table, key, value.clone())
                        .map_err(|e| e.to_string())
                        .and_then(|_| resolve(table).map(|_| ()))
                        .map_err(|m| {
                            at_path(at, format!("grid axis \"{key}\" value {value}: {m}"))
                        })?;
                }
            }
        }
        for (i, pattern) in doc.exclude.iter().enumerate() {
            for k in pattern.keys() {
                check_key(k, &[Step::from("exclude"), i.into(), k.as_str().into()])?;
            }
        }
        let include_at = |i: usize| vec![Step::from("include"), i.into()];
        for (i, inc) in doc.include.iter().enumerate() {
            for k in inc.keys() {
                let mut at = include_at(i);
                at.push(k.as_str().into());
                check_key(k, &at)?;
                push_axis(&mut axes, k);
            }
        }

        let dir = path.parent().unwrap_or(Path::new("."));
        let finish = |d: Document| finish(d, dir);
        let axis_values = |config: &RunConfig| -> Vec<(String, serde_json::Value)> {
            let json = serde_json::to_value(config).expect("configs serialise");
            axes.iter()
                .map(|a| {
                    (
                        a.clone(),
                        lookup(&json, a).cloned().unwrap_or(serde_json::Value::Null),
                    )
                })
                .collect()
        };

        let mut points = Vec::new();
        let mut tables = Vec::new();
        for combo in cartesian(&factors) {
            let mut table = base.clone();
            let mut label = Vec::new();
            for (f, &c) in factors.iter().zip(&combo) {
                for (key, value, _) in &f.choices[c] {
                    set_dotted(&mut table, key, value.clone()).expect("checked per value above");
                    label.push(format!("{key}={value}"));
                }
            }
            let d = resolve(table.clone()).map_err(|m| {
                at_path(
                    &["grid".into()],
                    format!("grid point {}: {m}", label.join(" ")),
                )
            })?;
            let config = finish(d);
            let json = serde_json::to_value(&config).expect("configs serialise");
            if doc.exclude.iter().any(|pattern| matches(pattern, &json)) {
                continue;
            }
            points.push(GridPoint {
                values: axis_values(&config),
                config,
            });
            tables.push(table);
        }
        for (i, inc) in doc.include.iter().enumerate() {
            let mut table = base.clone();
            for (key, value) in inc {
                set_dotted(&mut table, key, value.clone())
                    .map_err(|e| at_path(&include_at(i), e.to_string()))?;
            }
            let d = resolve(table.clone())
                .map_err(|m| at_path(&include_at(i), format!("include: {m}")))?;
            let config = finish(d);
            points.push(GridPoint {
                values: axis_values(&config),
                config,
            });
            tables.push(table);
        }
        if points.is_empty() {
            return Err(SpecError::File {
                path: path.to_path_buf(),
                message: "the grid expands to no run: every point is excluded".into(),
            });
        }
        let heads: Vec<String> = doc.tasks.iter().map(|t| t.name.clone()).collect();
        let search = crate::search::resolve(
            doc.search.as_ref(),
            doc.evaluate.as_ref(),
            &axes,
            &heads,
            &doc.sweep.seeds.all(),
        )
        .map_err(|(p, m)| at_path(&p, m))?;
        let sequential = crate::seeds::resolve(&doc.sweep.seeds, &heads, search.is_some())
            .map_err(|(p, m)| at_path(&p, m))?;
        // Pruning needs a rung below every design's epochs.
        if let Some(s) = search.as_ref().filter(|s| s.prune.is_some()) {
            for point in &points {
                let epochs = point.config.train.epochs;
                if s.rungs(epochs).len() < 2 {
                    let design = match point.label() {
                        l if l.is_empty() => String::new(),
                        l => format!(" of design {l}"),
                    };
                    return Err(at_path(
                        &["search".into(), "min_epochs".into()],
                        format!("pruning needs a first rung below train.epochs = {epochs}{design}; lower search.min_epochs or train more epochs"),
                    ));
                }
            }
        }
        // Every tuned value's extremes must make a valid run of every design.
        for p in search.iter().flat_map(|s| &s.space) {
            for v in p.distribution.extremes() {
                for (point, table) in points.iter().zip(&tables) {
                    let mut table = table.clone();
                    let checked = toml::Value::try_from(&v)
                        .map_err(|e| e.to_string())
                        .and_then(|tv| {
                            set_dotted(&mut table, &p.key, tv).map_err(|e| e.to_string())
                        })
                        .and_then(|()| resolve(table).map(|_| ()));
                    if let Err(m) = checked {
                        let design = match point.label() {
                            l if l.is_empty() => String::new(),
                            l => format!(" in design {l}"),
                        };
                        return Err(at_path(
                            &["search".into(), "space".into(), p.key.as_str().into()],
                            format!(
                                "search.space.\"{}\" value {}{design}: {m}",
                                p.key,
                                display_value(&v)
                            ),
                        ));
                    }
                }
            }
        }
        Ok(SweepFile {
            path: path.to_path_buf(),
            text: text.to_string(),
            axes,
            points,
            seeds: doc.sweep.seeds.all(),
            search,
            sequential,
            tables,
            dir: dir.to_path_buf(),
        })
    }

    /// Design `point` with tuned settings set to `values`: a search trial's
    /// (or its evaluation's) configuration, with the first seed. Its
    /// values are the design's followed by `values`.
    pub fn configure(
        &self,
        point: usize,
        values: &[(String, serde_json::Value)],
    ) -> Result<GridPoint, String> {
        let mut table = self.tables[point].clone();
        for (key, v) in values {
            let tv = toml::Value::try_from(v).map_err(|e| format!("{key} = {v}: {e}"))?;
            set_dotted(&mut table, key, tv).map_err(|e| e.to_string())?;
        }
        let config = finish(resolve_table(table)?, &self.dir);
        let mut all = self.points[point].values.clone();
        all.extend(values.iter().cloned());
        Ok(GridPoint {
            values: all,
            config,
        })
    }

    /// Whether the runs depend on stored results (a search, or seeds in
    /// rounds), so that registering and training alternate.
    pub fn adaptive(&self) -> bool {
        self.search.is_some() || self.sequential.is_some()
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

    /// The compared axes followed by the tuned settings (and with pruning,
    /// each rung's `train.epochs`): every setting that varies between the
    /// sweep's runs.
    pub fn all_axes(&self) -> Vec<String> {
        let mut out = self.axes.clone();
        out.extend(
            self.search
                .iter()
                .flat_map(|s| s.space.iter().map(|p| p.key.clone())),
        );
        let pruned = self.search.as_ref().is_some_and(|s| s.prune.is_some());
        if pruned && !out.iter().any(|a| a == "train.epochs") {
            out.push("train.epochs".into());
        }
        out
    }

    /// The first grid point with the first seed.
    pub fn first_run(&self) -> RunConfig {
        self.points[0].config.clone()
    }
}

/// Resolves a table into a checked document, or says what is wrong.
fn resolve_table(table: toml::Table) -> Result<Document, String> {
    let d = Document::deserialize(toml::Value::Table(table))
        .map_err(|e| with_suggestion(e.message()))?;
    match validate::check(&d).into_iter().next() {
        Some(p) => Err(format!("{}: {}", locate::render(&p.path), p.message)),
        None => Ok(d),
    }
}

/// A checked document as a run's configuration, with the first seed and
/// data paths resolved against `dir`.
fn finish(d: Document, dir: &Path) -> RunConfig {
    let mut config = RunConfig {
        sweep: d.sweep.name.clone(),
        seed: d.sweep.seeds.all()[0],
        data: d.data,
        tasks: d.tasks,
        model: d.model,
        train: d.train,
    };
    for p in config.data.paths_mut() {
        if p.is_relative() {
            *p = dir.join(&*p);
        }
    }
    config
}

fn push_axis(axes: &mut Vec<String>, key: &str) {
    if !axes.iter().any(|a| a == key) {
        axes.push(key.to_string());
    }
}

fn non_empty_array(v: &toml::Value) -> Option<Vec<toml::Value>> {
    match v {
        toml::Value::Array(a) if !a.is_empty() => Some(a.clone()),
        _ => None,
    }
}

/// The value at a dotted path of a serialised configuration.
fn lookup<'a>(json: &'a serde_json::Value, dotted: &str) -> Option<&'a serde_json::Value> {
    dotted.split('.').try_fold(json, |v, k| v.get(k))
}

/// Whether `json` matches every key of an exclude pattern. A pattern value
/// that is an array matches any of its elements.
fn matches(pattern: &toml::Table, json: &serde_json::Value) -> bool {
    pattern.iter().all(|(key, want)| {
        let have = lookup(json, key)
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        let eq = |w: &toml::Value| serde_json::to_value(w).is_ok_and(|w| json_eq(&w, &have));
        match want {
            toml::Value::Array(options) => options.iter().any(eq),
            w => eq(w),
        }
    })
}

/// Equality that treats 1 and 1.0 alike, as a sweep file's author would.
fn json_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Every combination of choice indices, the last factor varying fastest. No
/// factors give one empty combination: the base configuration.
fn cartesian(factors: &[Factor]) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new()];
    for f in factors {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                (0..f.choices.len()).map(move |i| {
                    let mut c = prefix.clone();
                    c.push(i);
                    c
                })
            })
            .collect();
    }
    out
}

/// A dotted key whose prefix names a value that is not a table.
#[derive(Debug)]
struct NotATable {
    part: String,
    key: String,
}

impl std::fmt::Display for NotATable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{}\" in \"{}\" is not a table", self.part, self.key)
    }
}

/// Sets `a.b.c = value` in `table`, creating intermediate tables.
fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), NotATable> {
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
            _ => {
                return Err(NotATable {
                    part: part.to_string(),
                    key: key.to_string(),
                })
            }
        };
    }
    Ok(())
}

/// Serde's Rust type names in words a user of the sweep file knows.
fn humane_types(message: &str) -> String {
    let mut m = message.to_string();
    for (rust, human) in [
        ("expected usize", "expected a whole number ≥ 0"),
        ("expected u64", "expected a whole number ≥ 0"),
        ("expected u32", "expected a whole number ≥ 0"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("expected a boolean", "expected true or false"),
        ("floating point", "the number"),
    ] {
        m = m.replace(rust, human);
    }
    m
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
