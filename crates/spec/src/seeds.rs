//! `sweep.seeds`: a list of seeds every design runs on, or seeds spent in
//! rounds, where a design whose validation metric is settled below the
//! best design's gets no more (`{ rounds = [3, 3, 4], stop = "settled" }`).

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::locate::Step;
use crate::objective::{objective, Objective, DEFAULT_OBJECTIVE};

/// `sweep.seeds` as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Seeds {
    /// Every design runs on each of these seeds.
    List(Vec<u64>),
    /// Seeds `first, first + 1, …` spent in rounds.
    Rounds(SeedRounds),
}

impl Default for Seeds {
    fn default() -> Self {
        Seeds::List(vec![0])
    }
}

impl Seeds {
    /// Every seed a design can get, in the order they are spent.
    pub fn all(&self) -> Vec<u64> {
        match self {
            Seeds::List(s) => s.clone(),
            Seeds::Rounds(r) => {
                let total: usize = r.rounds.iter().sum();
                (0..total as u64).map(|i| r.first + i).collect()
            }
        }
    }
}

/// When a design stops getting seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stop {
    /// Once its difference to the best design is settled on validation.
    #[default]
    Settled,
}

/// `sweep.seeds = { rounds = […], … }` as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRounds {
    /// Seeds added to every design still running, round by round.
    pub rounds: Vec<usize>,
    #[serde(default)]
    pub stop: Stop,
    /// The first seed; the others follow it.
    #[serde(default)]
    pub first: u64,
    /// The validation metric designs are compared on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// The probability of ever stopping the truly best design.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<f64>,
}

impl<'de> Deserialize<'de> for Seeds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> Visitor<'de> for Either {
            type Value = Seeds;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a list of seeds, e.g. [1, 2, 3], or rounds, e.g. { rounds = [3, 3, 4], stop = \"settled\" }",
                )
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Seeds, A::Error> {
                Vec::<u64>::deserialize(SeqAccessDeserializer::new(seq)).map(Seeds::List)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Seeds, A::Error> {
                SeedRounds::deserialize(MapAccessDeserializer::new(map)).map(Seeds::Rounds)
            }
        }
        d.deserialize_any(Either)
    }
}

/// The default level: the truly best design is stopped with probability
/// at most 5%.
pub const DEFAULT_LEVEL: f64 = 0.05;

/// Resolved sequential seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequential {
    /// Seeds per round.
    pub rounds: Vec<usize>,
    pub first: u64,
    /// Compared on validation only.
    pub objective: Objective,
    /// Family-wise: each of the designs' comparisons with the best runs at
    /// `level / (designs − 1)`.
    pub level: f64,
}

impl Sequential {
    /// Every seed, in the order they are spent.
    pub fn seeds(&self) -> Vec<u64> {
        let total: usize = self.rounds.iter().sum();
        (0..total as u64).map(|i| self.first + i).collect()
    }

    /// The level of each pairwise comparison among `designs`.
    pub fn pair_level(&self, designs: usize) -> f64 {
        self.level / designs.saturating_sub(1).max(1) as f64
    }
}

fn at(keys: &[&str]) -> Vec<Step> {
    keys.iter().map(|k| Step::from(*k)).collect()
}

/// Checks `sweep.seeds` as rounds against the sweep's heads.
pub(crate) fn resolve(
    seeds: &Seeds,
    heads: &[String],
    searched: bool,
) -> Result<Option<Sequential>, (Vec<Step>, String)> {
    let Seeds::Rounds(r) = seeds else {
        return Ok(None);
    };
    if searched {
        return Err((
            at(&["sweep", "seeds"]),
            "seeds in rounds compare a sweep's designs; with [search], give the rounds to [evaluate] seeds, the seeds designs are compared on".into(),
        ));
    }
    rounds(r, heads, DEFAULT_OBJECTIVE, &["sweep", "seeds"]).map(Some)
}

/// Checks seeds in rounds written at `path` (`metric` defaulting to
/// `default_metric`).
pub(crate) fn rounds(
    r: &SeedRounds,
    heads: &[String],
    default_metric: &str,
    path: &[&str],
) -> Result<Sequential, (Vec<Step>, String)> {
    let key = path.join(".");
    let here = |k: &str| {
        let mut p = at(path);
        p.push(k.into());
        p
    };
    for (i, &n) in r.rounds.iter().enumerate() {
        if n == 0 {
            let mut p = here("rounds");
            p.push(i.into());
            return Err((
                p,
                "each round adds at least one seed; a round of 0 adds nothing".into(),
            ));
        }
    }
    let total: usize = r.rounds.iter().sum();
    if total == 0 {
        return Err((
            here("rounds"),
            format!("{key}.rounds must list at least one round of seeds, e.g. [3, 3, 4]"),
        ));
    }
    if total > 10_000 || r.first.checked_add(total as u64).is_none() {
        return Err((
            here("rounds"),
            format!(
                "{total} seeds from {} is more than a sweep can run",
                r.first
            ),
        ));
    }
    let level = r.level.unwrap_or(DEFAULT_LEVEL);
    if !(level > 0.0 && level <= 0.5) {
        return Err((
            here("level"),
            format!("{key}.level must be in (0, 0.5], the chance of stopping the best design; got {level}"),
        ));
    }
    let objective = objective(r.metric.as_deref().unwrap_or(default_metric), heads)
        .map_err(|m| (here("metric"), format!("{key}.metric {m}")))?;
    Ok(Sequential {
        rounds: r.rounds.clone(),
        first: r.first,
        objective,
        level,
    })
}
