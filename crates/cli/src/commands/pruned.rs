//! Which of a search's trial runs pruning stopped at, read back from the
//! store: each rung is a complete run of its own (kept, reusable by other
//! sweeps, status `done`), so that a trial was pruned there is a decision
//! of the sweep, recomputed here from the stored file and runs.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use headsweep_spec::{Role, Search, SweepFile};
use headsweep_store::{RunRow, Store};

use super::report::stored_sweep_file;

/// One of a search's trial runs as the store lists it.
#[derive(Debug, Clone, Copy)]
pub struct TrialRun<'a> {
    /// The design (grid point).
    pub point: usize,
    /// The trial's index within its design.
    pub trial: usize,
    /// The epochs it trained: its rung.
    pub epochs: usize,
    pub id: &'a str,
}

/// The runs at which a trial stopped because a rung decided against it: a
/// trial of a round with a run at rung k and none at rung k + 1, once some
/// trial of that round has runs at rung k + 1 (a rung's promotions are
/// registered together, so that is when the rung decided). A trial still
/// waiting for its rung's decision is not pruned. `epochs(point)` is the
/// design's full training length, whose rungs the search defines.
pub fn pruned<'a>(
    search: &Search,
    epochs: impl Fn(usize) -> Option<usize>,
    runs: &[TrialRun<'a>],
) -> HashSet<&'a str> {
    let mut out = HashSet::new();
    if search.prune.is_none() {
        return out;
    }
    // (point, trial) → rung epochs → the runs (one per search seed).
    let mut trials: BTreeMap<(usize, usize), HashMap<usize, Vec<&'a str>>> = BTreeMap::new();
    for r in runs {
        trials
            .entry((r.point, r.trial))
            .or_default()
            .entry(r.epochs)
            .or_default()
            .push(r.id);
    }
    let points: BTreeSet<usize> = trials.keys().map(|&(p, _)| p).collect();
    for point in points {
        let Some(full) = epochs(point) else { continue };
        let rungs = search.rungs(full);
        for round in search.rounds() {
            let members: Vec<&HashMap<usize, Vec<&str>>> = round
                .clone()
                .filter_map(|t| trials.get(&(point, t)))
                .collect();
            for pair in rungs.windows(2) {
                let (here, next) = (pair[0], pair[1]);
                if !members.iter().any(|m| m.contains_key(&next)) {
                    break;
                }
                for m in &members {
                    if let (Some(ids), false) = (m.get(&here), m.contains_key(&next)) {
                        out.extend(ids.iter().copied());
                    }
                }
            }
        }
    }
    out
}

/// [`pruned`] for sweep `sweep` of `store`, from its stored file: empty
/// where it has no search with pruning (or its file no longer parses).
pub async fn stored(store: &Store, sweep: &str) -> anyhow::Result<HashSet<String>> {
    match stored_sweep_file(store, sweep).await? {
        Some(file) if file.search.as_ref().is_some_and(|s| s.prune.is_some()) => {
            Ok(of_rows(&file, &store.runs(sweep).await?))
        }
        _ => Ok(HashSet::new()),
    }
}

/// [`pruned`] over a sweep's stored runs, by its file's search.
fn of_rows(file: &SweepFile, rows: &[RunRow]) -> HashSet<String> {
    let Some(search) = file.search.as_ref() else {
        return HashSet::new();
    };
    let runs: Vec<TrialRun> = rows
        .iter()
        .filter(|r| r.role == Role::Trial)
        .filter_map(|r| {
            Some(TrialRun {
                point: usize::try_from(r.point).ok()?,
                trial: usize::try_from(r.trial?).ok()?,
                epochs: r
                    .axes
                    .iter()
                    .find(|(k, _)| k == "train.epochs")?
                    .1
                    .parse()
                    .ok()?,
                id: &r.id,
            })
        })
        .collect();
    let epochs = |p: usize| file.points.get(p).map(|g| g.config.train.epochs);
    pruned(search, epochs, &runs)
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// What `compare` leaves out of a search's comparison, in a sentence:
/// its trial runs, of them how many pruning stopped at. `None` for a
/// sweep without a search.
pub async fn left_out_of_compare(store: &Store, sweep: &str) -> anyhow::Result<Option<String>> {
    let Some(file) = stored_sweep_file(store, sweep)
        .await?
        .filter(|f| f.search.is_some())
    else {
        return Ok(None);
    };
    let rows = store.runs(sweep).await?;
    let trials = rows.iter().filter(|r| r.role == Role::Trial).count();
    let pruned = of_rows(&file, &rows).len();
    let of_them = if pruned > 0 {
        format!(", {pruned} of them where pruning stopped a trial")
    } else {
        String::new()
    };
    Ok(Some(format!(
        "not compared: the search's {trials} trial run(s){of_them}; each row is a design's chosen setting trained on the evaluation seeds"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search() -> Search {
        let text = r#"
[sweep]
name = "s"
seeds = [0]
[data]
synthetic = { preset = "methylation", samples = 100, features = 40 }
[[tasks]]
name = "sex"
[train]
epochs = 9
[search]
method = "random"
trials = 9
prune = "sha"
[search.space]
"train.lr" = { log_uniform = [1e-3, 1e-1] }
[evaluate]
seeds = [1]
"#;
        let file = SweepFile::parse(std::path::Path::new("s.toml"), text).unwrap();
        assert_eq!(file.search.as_ref().unwrap().rungs(9), [1, 3, 9]);
        file.search.unwrap()
    }

    fn ids(trials: &[(usize, usize)]) -> Vec<String> {
        trials.iter().map(|(t, e)| format!("t{t}e{e}")).collect()
    }

    fn runs<'a>(trials: &[(usize, usize)], ids: &'a [String]) -> Vec<TrialRun<'a>> {
        trials
            .iter()
            .zip(ids)
            .map(|(&(trial, epochs), id)| TrialRun {
                point: 0,
                trial,
                epochs,
                id,
            })
            .collect()
    }

    fn sorted(s: HashSet<&str>) -> Vec<&str> {
        let mut v: Vec<&str> = s.into_iter().collect();
        v.sort_unstable();
        v
    }

    /// 9 trials at 1 epoch, the best 3 (2, 5, 7) at 3, the best of those
    /// (5) at 9: 6 trials stop at 1 epoch and 2 at 3.
    #[test]
    fn a_trial_is_pruned_at_the_last_rung_it_reached_once_that_rung_decided() {
        let s = search();
        let mut trials: Vec<(usize, usize)> = (0..9).map(|t| (t, 1)).collect();
        trials.extend([(2, 3), (5, 3), (7, 3)]);
        let rung_two = ids(&trials);
        // The second rung has not decided yet: nothing is pruned there.
        assert_eq!(
            sorted(pruned(&s, |_| Some(9), &runs(&trials, &rung_two))),
            ["t0e1", "t1e1", "t3e1", "t4e1", "t6e1", "t8e1"]
        );
        trials.push((5, 9));
        let all = ids(&trials);
        assert_eq!(
            sorted(pruned(&s, |_| Some(9), &runs(&trials, &all))),
            ["t0e1", "t1e1", "t2e3", "t3e1", "t4e1", "t6e1", "t7e3", "t8e1"]
        );
        // Before the first rung decided, and without pruning, none is.
        let first: Vec<(usize, usize)> = (0..9).map(|t| (t, 1)).collect();
        let first_ids = ids(&first);
        assert!(pruned(&s, |_| Some(9), &runs(&first, &first_ids)).is_empty());
        let unpruned = Search { prune: None, ..s };
        assert!(pruned(&unpruned, |_| Some(9), &runs(&trials, &all)).is_empty());
    }
}
