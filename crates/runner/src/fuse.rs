//! How many runs a worker trains together as one fused model.

use std::collections::HashMap;

use headsweep_spec::{fusion_blockers, fusion_key};

use crate::{PlannedRun, RunnerError};

/// `--fuse`: `auto`, `off`, or a group size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fuse {
    Auto,
    Off,
    Size(usize),
}

/// A `--fuse` value that is neither `auto`, `off` nor a size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected auto, off or a group size of at least 1, not {0:?}")]
pub struct BadFuse(pub String);

impl std::str::FromStr for Fuse {
    type Err = BadFuse;
    fn from_str(s: &str) -> Result<Fuse, BadFuse> {
        match s {
            "auto" => Ok(Fuse::Auto),
            "off" => Ok(Fuse::Off),
            n => match n.parse::<usize>() {
                Ok(0) | Err(_) => Err(BadFuse(n.to_string())),
                Ok(1) => Ok(Fuse::Off),
                Ok(k) => Ok(Fuse::Size(k)),
            },
        }
    }
}

/// Largest group `auto` forms on a CPU worker and on a GPU worker. On CPU,
/// enough to amortise per-operation overhead and small enough that a
/// group's parameters and optimiser state stay in cache. On a GPU a step of
/// these small networks costs kernel launches, not arithmetic, so a group
/// of 64 takes about as long as a group of one, and its members need a few
/// megabytes of device memory each (B1's network: about 5 MB).
pub const AUTO_MAX_CPU: usize = 8;
pub const AUTO_MAX_GPU: usize = 64;

/// The group size workers claim. `auto` spreads the fusable runs evenly
/// over `workers` (no worker should wait while another trains a large
/// group), up to the largest set of mutually fusable runs and
/// [`AUTO_MAX_CPU`] or [`AUTO_MAX_GPU`]. An explicit size is refused when a
/// run cannot be fused, naming the run and why; `auto` trains such runs
/// alone.
pub fn group_size(
    fuse: Fuse,
    runs: &[PlannedRun],
    workers: usize,
    gpu: bool,
) -> Result<usize, RunnerError> {
    match fuse {
        Fuse::Off => Ok(1),
        Fuse::Size(k) => {
            for r in runs {
                let why = fusion_blockers(&r.config);
                if !why.is_empty() {
                    let at = r
                        .axes
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(RunnerError::NotFusable {
                        size: k,
                        seed: r.config.seed,
                        at: if at.is_empty() {
                            String::new()
                        } else {
                            format!(" at {at}")
                        },
                        why: why.join("; "),
                    });
                }
            }
            Ok(k)
        }
        Fuse::Auto => {
            let mut groups: HashMap<String, usize> = HashMap::new();
            for r in runs
                .iter()
                .filter(|r| fusion_blockers(&r.config).is_empty())
            {
                *groups.entry(fusion_key(&r.config)).or_default() += 1;
            }
            let total: usize = groups.values().sum();
            let largest = groups.values().copied().max().unwrap_or(1);
            let cap = if gpu { AUTO_MAX_GPU } else { AUTO_MAX_CPU };
            Ok(total.div_ceil(workers.max(1)).min(largest).clamp(1, cap))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use headsweep_spec::SweepFile;

    fn runs(extra: &str) -> Vec<PlannedRun> {
        let text = format!(
            r#"
            [sweep]
            name = "f"
            seeds = [0, 1, 2]
            [data]
            synthetic = {{ preset = "methylation", samples = 100, features = 20 }}
            [[tasks]]
            name = "sex"
            [model]
            trunk = [8]
            [grid]
            {extra}
            "#
        );
        crate::runs_of(&SweepFile::parse(std::path::Path::new("f.toml"), &text).unwrap()).unwrap()
    }

    #[test]
    fn parses_the_three_forms() {
        assert_eq!("auto".parse::<Fuse>(), Ok(Fuse::Auto));
        assert_eq!("off".parse::<Fuse>(), Ok(Fuse::Off));
        assert_eq!("1".parse::<Fuse>(), Ok(Fuse::Off));
        assert_eq!("6".parse::<Fuse>(), Ok(Fuse::Size(6)));
        assert!("0".parse::<Fuse>().is_err() && "many".parse::<Fuse>().is_err());
    }

    #[test]
    fn auto_spreads_fusable_runs_over_workers() {
        // 2 losses × 2 depths × 3 seeds: groups of 6 (loss may differ), 12 runs.
        let r = runs(
            r#""train.loss" = ["ce", "bce"]
            "model.head_depth" = [0, 1]"#,
        );
        assert_eq!(group_size(Fuse::Auto, &r, 2, false).unwrap(), 6);
        assert_eq!(group_size(Fuse::Auto, &r, 4, false).unwrap(), 3);
        assert_eq!(
            group_size(Fuse::Auto, &r, 1, false).unwrap(),
            6,
            "never beyond the largest group"
        );
        assert_eq!(group_size(Fuse::Off, &r, 2, false).unwrap(), 1);
    }

    #[test]
    fn an_explicit_size_refuses_runs_that_cannot_fuse() {
        let r = runs(r#""model.trunk" = [[8], [9]]"#);
        let e = group_size(Fuse::Size(4), &r, 1, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("model.trunk=[9]") && e.contains("width 9"),
            "{e}"
        );
        // auto fuses the runs that can fuse and leaves the others alone.
        assert_eq!(group_size(Fuse::Auto, &r, 1, false).unwrap(), 3);
    }
}
