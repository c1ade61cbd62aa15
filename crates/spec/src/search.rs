//! The `[search]` and `[evaluate]` sections: settings tuned per design
//! rather than compared, the budget each design gets, the validation metric
//! a design's setting is chosen by, and the fresh seeds the chosen setting
//! is then evaluated on.
//!
//! The designs are the grid's points: every compared axis stays in
//! `[grid]`, and each of its points gets its own search of the same size.

use serde::{Deserialize, Serialize};

use crate::locate::Step;
use crate::objective::{objective, Objective, DEFAULT_OBJECTIVE};

/// How a design's trials are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Every combination of the space's values (`choice` and `int` only).
    Grid,
    /// Independent draws, all proposed at once.
    Random,
    /// Tree-structured Parzen estimator, proposed in rounds.
    Tpe,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Grid => "grid",
            Method::Random => "random",
            Method::Tpe => "tpe",
        }
    }
}

/// How a round's trials are cut short: trained first for a few epochs,
/// the better part promoted to more, until the survivors train in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prune {
    /// Synchronous successive halving: at each rung the best 1/eta of the
    /// round's trials (at least one) go on.
    Sha,
    /// At each rung the trials at or above the round's median go on (half,
    /// rounded up).
    Median,
}

impl Prune {
    pub fn name(self) -> &'static str {
        match self {
            Prune::Sha => "sha",
            Prune::Median => "median",
        }
    }
}

/// `[search]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchSection {
    pub method: Method,
    pub trials: Option<usize>,
    #[serde(default)]
    pub seed: u64,
    pub metric: Option<String>,
    pub round: Option<usize>,
    pub startup: Option<usize>,
    pub candidates: Option<usize>,
    pub prune: Option<Prune>,
    pub eta: Option<usize>,
    pub min_epochs: Option<usize>,
    pub space: toml::Table,
}

/// `[evaluate]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EvaluateSection {
    pub seeds: crate::seeds::Seeds,
}

/// Where one tuned setting's values come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// Uniform on `[low, high]`.
    Uniform { low: f64, high: f64 },
    /// Uniform in `ln x` on `[low, high]`, `0 < low`.
    LogUniform { low: f64, high: f64 },
    /// `low, low + step, …, high`, each equally likely.
    Int { low: i64, high: i64, step: i64 },
    /// One of the listed values, each equally likely.
    Choice(Vec<serde_json::Value>),
}

impl Distribution {
    /// Every value, for the grid method; `None` for a continuous range.
    pub fn values(&self) -> Option<Vec<serde_json::Value>> {
        match self {
            Distribution::Uniform { .. } | Distribution::LogUniform { .. } => None,
            Distribution::Int { low, high, step } => Some(
                (0..=(high - low) / step)
                    .map(|i| serde_json::Value::from(low + i * step))
                    .collect(),
            ),
            Distribution::Choice(c) => Some(c.clone()),
        }
    }

    /// The values that bound what can be drawn, checked against every
    /// design before anything runs.
    pub(crate) fn extremes(&self) -> Vec<serde_json::Value> {
        match self {
            Distribution::Uniform { low, high } | Distribution::LogUniform { low, high } => {
                vec![(*low).into(), (*high).into()]
            }
            Distribution::Int { low, high, .. } => vec![(*low).into(), (*high).into()],
            Distribution::Choice(c) => c.clone(),
        }
    }

    /// As written in a sweep file, for `plan`.
    pub fn describe(&self) -> String {
        match self {
            Distribution::Uniform { low, high } => format!("uniform [{low}, {high}]"),
            Distribution::LogUniform { low, high } => format!("log_uniform [{low}, {high}]"),
            Distribution::Int { low, high, step: 1 } => format!("int [{low}, {high}]"),
            Distribution::Int { low, high, step } => format!("int [{low}, {high}] step {step}"),
            Distribution::Choice(c) => format!(
                "choice [{}]",
                c.iter()
                    .map(crate::display::display_value)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// One tuned setting.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Dotted, as in `[grid]`: `train.lr`.
    pub key: String,
    pub distribution: Distribution,
}

/// A resolved `[search]` with its `[evaluate]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub method: Method,
    /// Trials per design (for the grid method, every combination).
    pub trials: usize,
    /// Seeds every random draw of the search.
    pub seed: u64,
    pub objective: Objective,
    /// TPE: trials proposed together from the results of earlier rounds.
    pub round: usize,
    /// TPE: trials drawn at random before the model is used.
    pub startup: usize,
    /// TPE: candidates drawn per proposal, the best by expected improvement kept.
    pub candidates: usize,
    pub space: Vec<Param>,
    /// Fresh seeds each design's chosen setting is trained with (with
    /// rounds, every seed a design can get).
    pub evaluate_seeds: Vec<u64>,
    /// Evaluation seeds spent in rounds, when `[evaluate] seeds` has them.
    pub evaluate_rounds: Option<crate::seeds::Sequential>,
    /// Cutting a round's trials short, with its reduction factor and the
    /// epochs of the first rung (`None`: a design's epochs / eta²).
    pub prune: Option<Prune>,
    pub eta: usize,
    pub min_epochs: Option<usize>,
}

/// The reduction factor of successive halving, Hyperband's default.
pub const DEFAULT_ETA: usize = 3;

/// TPE's defaults, Optuna's where it has one.
pub const DEFAULT_ROUND: usize = 1;
pub const DEFAULT_STARTUP: usize = 10;
pub const DEFAULT_CANDIDATES: usize = 24;

impl Search {
    /// The trial indices of each round, in order: every trial at once for
    /// grid and random; for TPE the startup trials, then rounds of `round`.
    pub fn rounds(&self) -> Vec<std::ops::Range<usize>> {
        let first = match self.method {
            Method::Tpe => 0..self.startup.min(self.trials),
            Method::Grid | Method::Random => 0..self.trials,
        };
        let mut at = first.end;
        let mut out = Vec::from([first]);
        while at < self.trials {
            let end = (at + self.round).min(self.trials);
            out.push(at..end);
            at = end;
        }
        out
    }

    /// The epochs of each rung for a design trained for `epochs`: the
    /// first rung's, times eta until `epochs`, then `epochs`; one rung
    /// (`epochs`) without pruning.
    pub fn rungs(&self, epochs: usize) -> Vec<usize> {
        if self.prune.is_none() {
            return vec![epochs];
        }
        let eta = self.eta;
        let first = self
            .min_epochs
            .unwrap_or_else(|| (epochs / (eta * eta)).max(1));
        let mut out = Vec::new();
        let mut r = first.max(1);
        while r < epochs {
            out.push(r);
            r = r.saturating_mul(eta);
        }
        out.push(epochs);
        out
    }

    /// How many of `n` trials at a rung go on to the next.
    pub fn promoted(&self, n: usize) -> usize {
        match self.prune {
            None => n,
            Some(Prune::Sha) => (n / self.eta).max(1),
            Some(Prune::Median) => n.div_ceil(2),
        }
    }

    /// The grid method's combinations, last parameter fastest.
    pub fn grid_trials(&self) -> Vec<Vec<serde_json::Value>> {
        let mut out = vec![Vec::new()];
        for p in &self.space {
            let values = p
                .distribution
                .values()
                .expect("checked: grid spaces are finite");
            out = out
                .into_iter()
                .flat_map(|prefix| {
                    values.iter().map(move |v| {
                        let mut c = prefix.clone();
                        c.push(v.clone());
                        c
                    })
                })
                .collect();
        }
        out
    }
}

/// A problem with `[search]` or `[evaluate]`, at a path.
pub(crate) type Problem = (Vec<Step>, String);

fn at(keys: &[&str]) -> Vec<Step> {
    keys.iter().map(|k| Step::from(*k)).collect()
}

/// Reads one distribution, `{ uniform = [a, b] }` and so on.
fn distribution(key: &str, v: &toml::Value) -> Result<Distribution, Problem> {
    let here = at(&["search", "space", key]);
    let fail = |m: String| (here.clone(), format!("search.space.\"{key}\": {m}"));
    let forms = "{ uniform = [LOW, HIGH] }, { log_uniform = [LOW, HIGH] }, { int = [LOW, HIGH], step = S } or { choice = [A, B, …] }";
    let Some(t) = v.as_table() else {
        return Err(fail(format!("expected one of {forms}")));
    };
    let kinds: Vec<&String> = t.keys().filter(|k| k.as_str() != "step").collect();
    let [kind] = kinds.as_slice() else {
        return Err(fail(format!("expected exactly one of {forms}")));
    };
    if t.contains_key("step") && kind.as_str() != "int" {
        return Err(fail("step applies to int only".into()));
    }
    let pair = |v: &toml::Value| -> Option<(f64, f64)> {
        let a = v.as_array().filter(|a| a.len() == 2)?;
        let num = |x: &toml::Value| x.as_float().or_else(|| x.as_integer().map(|i| i as f64));
        Some((num(&a[0])?, num(&a[1])?))
    };
    let value = &t[kind.as_str()];
    match kind.as_str() {
        "uniform" | "log_uniform" => {
            let (low, high) = pair(value)
                .ok_or_else(|| fail(format!("{kind} takes two numbers, [LOW, HIGH]")))?;
            if !(low.is_finite() && high.is_finite() && low < high) {
                return Err(fail(format!(
                    "{kind} needs finite bounds with LOW < HIGH, not [{low}, {high}]"
                )));
            }
            if kind.as_str() == "log_uniform" {
                if low <= 0.0 {
                    return Err(fail(format!(
                        "log_uniform needs LOW > 0 (the logarithm of {low} is not defined)"
                    )));
                }
                return Ok(Distribution::LogUniform { low, high });
            }
            Ok(Distribution::Uniform { low, high })
        }
        "int" => {
            let ints = value
                .as_array()
                .filter(|a| a.len() == 2)
                .and_then(|a| Some((a[0].as_integer()?, a[1].as_integer()?)));
            let (low, high) =
                ints.ok_or_else(|| fail("int takes two whole numbers, [LOW, HIGH]".into()))?;
            let step = match t.get("step") {
                None => 1,
                Some(s) => s
                    .as_integer()
                    .filter(|s| *s >= 1)
                    .ok_or_else(|| fail("step must be a whole number ≥ 1".into()))?,
            };
            if low >= high {
                return Err(fail(format!("int needs LOW < HIGH, not [{low}, {high}]")));
            }
            if (high - low) % step != 0 {
                return Err(fail(format!(
                    "int [{low}, {high}] with step {step}: HIGH − LOW must be a multiple of step (e.g. HIGH = {})",
                    low + (high - low) / step * step
                )));
            }
            Ok(Distribution::Int { low, high, step })
        }
        "choice" => {
            let a = value
                .as_array()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| fail("choice takes a non-empty array of values".into()))?;
            let mut out: Vec<serde_json::Value> = Vec::new();
            for v in a {
                let j = serde_json::to_value(v).map_err(|e| fail(e.to_string()))?;
                if out.contains(&j) {
                    return Err(fail(format!("choice lists {v} twice")));
                }
                out.push(j);
            }
            Ok(Distribution::Choice(out))
        }
        other => Err(fail(format!(
            "unknown distribution `{other}`; expected {forms}"
        ))),
    }
}

/// Resolves `[search]` and `[evaluate]`, checking what can be checked
/// without the designs (the caller checks each value against each design).
pub(crate) fn resolve(
    search: Option<&SearchSection>,
    evaluate: Option<&EvaluateSection>,
    axes: &[String],
    heads: &[String],
    seeds: &[u64],
) -> Result<Option<Search>, Problem> {
    let (s, e) = match (search, evaluate) {
        (None, None) => return Ok(None),
        (None, Some(_)) => {
            return Err((
                at(&["evaluate"]),
                "[evaluate] evaluates the settings a [search] chose; add a [search] section".into(),
            ))
        }
        (Some(_), None) => {
            return Err((
                at(&["search"]),
                "a [search] needs [evaluate] with seeds = [...]: each design's chosen setting is trained again on fresh seeds, and that is what compare reports".into(),
            ))
        }
        (Some(s), Some(e)) => (s, e),
    };
    if s.space.is_empty() {
        return Err((
            at(&["search", "space"]),
            "search.space names no setting to tune".into(),
        ));
    }
    let mut space = Vec::new();
    for (key, v) in &s.space {
        let here = at(&["search", "space", key]);
        let section = key.split('.').next().unwrap_or("");
        if key.split('.').count() < 2 || key.split('.').any(str::is_empty) {
            return Err((
                here,
                format!(
                    "search.space.\"{key}\" must name a setting as section.key, e.g. \"train.lr\""
                ),
            ));
        }
        if !["model", "train"].contains(&section) {
            return Err((here, format!("search.space.\"{key}\": only model.* and train.* settings can be tuned; a {section} setting cannot vary between the trials of one design (compare it in [grid])")));
        }
        if axes.iter().any(|a| a == key) {
            return Err((here, format!("search.space.\"{key}\" is also a compared axis ([grid] or [[include]]); a setting is either compared or tuned")));
        }
        space.push(Param {
            key: key.clone(),
            distribution: distribution(key, v)?,
        });
    }
    let positive = |v: Option<usize>, key: &str, default: usize| -> Result<usize, Problem> {
        match v {
            Some(0) => Err((
                at(&["search", key]),
                format!("search.{key} must be at least 1"),
            )),
            Some(n) => Ok(n),
            None => Ok(default),
        }
    };
    if s.method != Method::Tpe {
        for (key, v) in [
            ("round", s.round),
            ("startup", s.startup),
            ("candidates", s.candidates),
        ] {
            if v.is_some() {
                return Err((
                    at(&["search", key]),
                    format!("search.{key} applies to method = \"tpe\" only"),
                ));
            }
        }
    }
    let trials = match s.method {
        Method::Grid => {
            if s.trials.is_some() {
                return Err((at(&["search", "trials"]), "method = \"grid\" tries every combination of the space; remove trials, or use \"random\" or \"tpe\"".into()));
            }
            let mut n = 1usize;
            for p in &space {
                let Some(values) = p.distribution.values() else {
                    return Err((at(&["search", "space", &p.key]), format!("search.space.\"{}\": method = \"grid\" needs choice or int values, not a continuous range", p.key)));
                };
                n = n.saturating_mul(values.len());
            }
            n
        }
        Method::Random | Method::Tpe => match s.trials {
            None => {
                return Err((
                    at(&["search"]),
                    format!(
                        "method = \"{}\" needs trials = N, the number of trials per design",
                        s.method.name()
                    ),
                ))
            }
            Some(n) => positive(Some(n), "trials", 0)?,
        },
    };
    let objective = objective(s.metric.as_deref().unwrap_or(DEFAULT_OBJECTIVE), heads)
        .map_err(|m| (at(&["search", "metric"]), format!("search.metric {m}")))?;
    if s.prune.is_none() {
        for (key, set) in [
            ("eta", s.eta.is_some()),
            ("min_epochs", s.min_epochs.is_some()),
        ] {
            if set {
                return Err((
                    at(&["search", key]),
                    format!("search.{key} applies with prune = \"sha\" or \"median\""),
                ));
            }
        }
    }
    if s.prune == Some(Prune::Median) && s.eta.is_some() {
        return Err((
            at(&["search", "eta"]),
            "search.eta is successive halving's reduction factor; prune = \"median\" always keeps half".into(),
        ));
    }
    let eta = s.eta.unwrap_or(match s.prune {
        Some(Prune::Median) => 2,
        _ => DEFAULT_ETA,
    });
    if let Some(prune) = s.prune {
        if eta < 2 {
            return Err((
                at(&["search", "eta"]),
                format!(
                    "search.eta must be at least 2 (a rung keeps 1/eta of its trials); got {eta}"
                ),
            ));
        }
        if s.min_epochs == Some(0) {
            return Err((
                at(&["search", "min_epochs"]),
                "search.min_epochs must be at least 1".into(),
            ));
        }
        if space.iter().any(|p| p.key == "train.epochs") {
            return Err((
                at(&["search", "space", "train.epochs"]),
                format!(
                    "prune = \"{}\" sets train.epochs per rung; it cannot also be tuned",
                    prune.name()
                ),
            ));
        }
        let round = s.round.unwrap_or(DEFAULT_ROUND);
        if s.method == Method::Tpe && round < eta {
            return Err((at(&["search", "round"]), format!("prune = \"{}\" ranks each round's trials against each other: search.round must be at least {eta} (it is {round})", prune.name())));
        }
    }
    let evaluate_rounds = match &e.seeds {
        crate::seeds::Seeds::List(_) => None,
        crate::seeds::Seeds::Rounds(r)
            if r.metric.as_ref().is_some_and(|m| *m != objective.to_string()) =>
        {
            return Err((
                at(&["evaluate", "seeds", "metric"]),
                format!("evaluation seeds in rounds compare the chosen settings on the search's metric, {objective}; leave evaluate.seeds.metric out"),
            ))
        }
        crate::seeds::Seeds::Rounds(r) => Some(crate::seeds::rounds(
            r,
            heads,
            &objective.to_string(),
            &["evaluate", "seeds"],
        )?),
    };
    let evaluate_seeds = e.seeds.all();
    if evaluate_seeds.is_empty() {
        return Err((
            at(&["evaluate", "seeds"]),
            "evaluate.seeds must list at least one seed".into(),
        ));
    }
    for (i, seed) in evaluate_seeds.iter().enumerate() {
        let here = match evaluate_rounds {
            None => vec![Step::from("evaluate"), "seeds".into(), i.into()],
            Some(_) => at(&["evaluate", "seeds", "first"]),
        };
        if evaluate_seeds[..i].contains(seed) {
            return Err((here, format!("evaluate seed {seed} is listed twice")));
        }
        if seeds.contains(seed) {
            return Err((here, format!("evaluate seed {seed} is also a search seed (sweep.seeds); evaluation seeds must be fresh")));
        }
    }
    Ok(Some(Search {
        method: s.method,
        trials,
        seed: s.seed,
        objective,
        round: positive(s.round, "round", DEFAULT_ROUND)?,
        startup: positive(s.startup, "startup", DEFAULT_STARTUP)?,
        candidates: positive(s.candidates, "candidates", DEFAULT_CANDIDATES)?,
        space,
        evaluate_seeds,
        evaluate_rounds,
        prune: s.prune,
        eta,
        min_epochs: s.min_epochs,
    }))
}
