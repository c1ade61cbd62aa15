use std::io::Write;

use headsweep_report::{aligned, text_table, Align};
use headsweep_runner::{group_size, Fuse};
use headsweep_spec::{display_value, fusion_blockers, fusion_key};
use headsweep_store::{redact, Access, RunStatus, StatusCounts, Store};

use crate::args::PlanArgs;

pub fn run(a: PlanArgs, torch: &dyn crate::Torch) -> anyhow::Result<()> {
    let (sweep, runs, data, _) = super::prepare(&a.file)?;
    let slots = super::slots(&a.devices, torch)?;
    let mut header = vec!["#".to_string(), "run".into(), "seed".into()];
    if sweep.search.is_some() {
        header.extend(["role".into(), "trial".into()]);
    }
    header.extend(sweep.all_axes());
    let rows: Vec<Vec<String>> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut row = vec![
                (i + 1).to_string(),
                headsweep_spec::short_id(&r.id).to_string(),
                r.config.seed.to_string(),
            ];
            if sweep.search.is_some() {
                row.push(r.role.to_string());
                row.push(r.trial.map_or(String::new(), |t| t.to_string()));
            }
            row.extend(r.axes.iter().map(|(_, v)| display_value(v)));
            row
        })
        .collect();
    let mut out = format!("sweep {} ({})\n", sweep.name(), a.file.display());
    out += &aligned(&header, &rows);
    let slots = &slots[..slots.len().min(runs.len().max(1))];
    match (&sweep.search, &sweep.sequential) {
        (Some(s), _) => out += &describe_search(s, &sweep),
        (None, Some(q)) => out += &super::seeds::describe(q, sweep.points.len()),
        (None, None) => {
            out += &format!(
                "\n{} runs: {} grid point(s) × {} seed(s)\n",
                runs.len(),
                sweep.points.len(),
                sweep.seeds.len(),
            );
        }
    }
    out += &format!("device plan: {}\n", super::describe_slots(slots));
    out += &fusion_plan(&runs, slots);
    for d in &data {
        out += d;
    }
    match (&sweep.search, &sweep.sequential) {
        (Some(s), _) => out += &search_standing(&a.store.db, &sweep, s)?,
        (None, Some(q)) => out += &seeds_standing(&a.store.db, &sweep, q)?,
        (None, None) => out += &progress(&a.store.db, &sweep, &runs, slots.len())?,
    }
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(())
}

/// Per grid point: done, failed, running and left in the store (when it
/// exists; nothing is created), and the time left estimated from the
/// done runs' mean training time over the workers.
fn progress(
    db: &str,
    sweep: &headsweep_spec::SweepFile,
    runs: &[headsweep_runner::PlannedRun],
    workers: usize,
) -> anyhow::Result<String> {
    if headsweep_store::sqlite_path(db).is_some_and(|p| !p.exists()) {
        return Ok(String::new());
    }
    let ids: Vec<String> = runs.iter().map(|r| r.id.clone()).collect();
    let states = super::runtime()?.block_on(async {
        let store = Store::open_with(db, Access::Read).await?;
        anyhow::Ok(store.run_states(&ids).await?)
    })?;
    let mut header: Vec<String> = sweep.axes.clone();
    header.extend(["done", "failed", "running", "left"].map(String::from));
    let mut rows = Vec::new();
    let (mut total, mut durations) = (StatusCounts::default(), Vec::new());
    for (point, p) in sweep.points.iter().enumerate() {
        let mut n = StatusCounts::default();
        for r in runs.iter().filter(|r| r.point == point) {
            // A run the store does not hold yet is left to train.
            let state = states.get(&r.id);
            let status = state.map_or(RunStatus::Pending, |s| s.status);
            n.add(status);
            total.add(status);
            durations.extend(state.and_then(|s| s.duration_s));
        }
        let mut row: Vec<String> = p.values.iter().map(|(_, v)| display_value(v)).collect();
        row.extend([n.done, n.failed, n.running, n.pending].map(|v| v.to_string()));
        rows.push(row);
    }
    let mut out = format!(
        "\nin {}: {} done, {} failed, {} running, {} left",
        redact(db),
        total.done,
        total.failed,
        total.running,
        total.pending
    );
    if !durations.is_empty() && total.pending + total.running > 0 {
        let mean = durations.iter().sum::<f64>() / durations.len() as f64;
        let left = mean * (total.pending + total.running) as f64 / workers.max(1) as f64;
        out += &format!(
            "; about {left:.0} s of training left at {workers} worker(s) ({mean:.2} s per done run, fused groups train faster)"
        );
    }
    out.push('\n');
    let align: Vec<Align> = (0..header.len())
        .map(|j| {
            if j < sweep.axes.len() {
                Align::Left
            } else {
                Align::Right
            }
        })
        .collect();
    out += &text_table(&header, &rows, &align);
    Ok(out)
}

/// How `--fuse auto` would group the runs: sets of mutually fusable runs,
/// the group size workers would claim, and the runs that train alone.
fn fusion_plan(runs: &[headsweep_runner::PlannedRun], slots: &[headsweep_runner::Slot]) -> String {
    let mut sets: std::collections::BTreeMap<String, usize> = Default::default();
    let mut alone = Vec::new();
    for r in runs {
        let why = fusion_blockers(&r.config);
        if why.is_empty() {
            *sets.entry(fusion_key(&r.config)).or_default() += 1;
        } else {
            alone.push(why.join("; "));
        }
    }
    let gpu = slots.iter().any(|s| s.device.starts_with("cuda"));
    let k = group_size(Fuse::Auto, runs, slots.len(), gpu).unwrap_or(1);
    let mut out = format!(
        "fusion (--fuse auto): {} set(s) of compatible runs, the largest {}; groups of up to {k}\n",
        sets.len(),
        sets.values().max().copied().unwrap_or(0)
    );
    alone.sort();
    alone.dedup();
    for why in alone {
        out += &format!("trained alone: {why}\n");
    }
    out
}

/// The space, the budget and how trials are proposed.
fn describe_search(s: &headsweep_spec::Search, sweep: &headsweep_spec::SweepFile) -> String {
    use headsweep_spec::Method;
    let designs = sweep.points.len();
    let seeds = sweep.seeds.len();
    let mut out = format!(
        "\nsearch: {} over {} setting(s); each of {designs} design(s) gets {} trial(s) × {seeds} seed(s), ranked by {} (mean over the seeds), then its best trial is trained on {} fresh evaluation seed(s) [{}]\n",
        s.method.name(),
        s.space.len(),
        s.trials,
        s.objective,
        s.evaluate_seeds.len(),
        s.evaluate_seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(q) = &s.evaluate_rounds {
        out += &format!(
            "evaluation seeds in rounds of {}: once every design's search has ended, the chosen settings are compared on {} after each round, and one settled below the best gets no more (level {} over the designs; none can be settled before {} seeds; the evaluation runs below are at most)\n",
            q.rounds.iter().map(usize::to_string).collect::<Vec<_>>().join(" + "),
            q.objective,
            q.level,
            headsweep_metrics::fewest_to_settle(q.pair_level(designs))
        );
    }
    for p in &s.space {
        out += &format!("  {} ~ {}\n", p.key, p.distribution.describe());
    }
    let (trial_runs, spent): (usize, usize) = sweep
        .points
        .iter()
        .map(|p| trial_budget(s, p.config.train.epochs, seeds))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let total = trial_runs + designs * s.evaluate_seeds.len();
    out += &format!(
        "budget: {total} runs in all ({trial_runs} trial runs, {} evaluation runs)\n",
        designs * s.evaluate_seeds.len()
    );
    if let Some(prune) = s.prune {
        let first = &sweep.points[0];
        let rungs = s.rungs(first.config.train.epochs);
        let full: usize = sweep
            .points
            .iter()
            .map(|p| p.config.train.epochs * s.trials * seeds)
            .sum();
        out += &format!(
            "pruning: {} — each round's trials train {} epochs first; {} go on to each next rung, continuing where they stopped; only the last rung trains in full (rungs of {}: {} epochs). Trial epochs: {spent} of {full} without pruning ({:.0}%)\n",
            prune.name(),
            rungs[0],
            match prune {
                headsweep_spec::Prune::Sha => format!("the best 1/{}", s.eta),
                headsweep_spec::Prune::Median => "those at or above the round's median".into(),
            },
            match first.label() {
                l if l.is_empty() => "the design".to_string(),
                l => l,
            },
            rungs.iter().map(usize::to_string).collect::<Vec<_>>().join(", "),
            100.0 * spent as f64 / full.max(1) as f64
        );
    }
    out += &match s.method {
        Method::Grid => "every combination is a trial; all train at once; the runs above are all of them\n".to_string(),
        Method::Random => format!("trials drawn with search seed {}; all train at once; the runs above are all of them\n", s.seed),
        Method::Tpe => format!(
            "tpe: {} random trial(s) first (listed above), then rounds of {} proposed from every earlier round's results ({} candidates each; search seed {}); {} round(s) per design\n",
            s.startup.min(s.trials),
            s.round,
            s.candidates,
            s.seed,
            s.rounds().len()
        ),
    };
    out
}

/// One design's trial runs and the epochs they train: per round, each rung
/// trains the trials the rung before promoted, on every search seed, each
/// for the epochs beyond that rung's (it continues that rung's state).
fn trial_budget(s: &headsweep_spec::Search, epochs: usize, seeds: usize) -> (usize, usize) {
    let rungs = s.rungs(epochs);
    let (mut runs, mut spent) = (0, 0);
    for round in s.rounds() {
        let mut n = round.len();
        let mut before = 0;
        for (k, &e) in rungs.iter().enumerate() {
            runs += n * seeds;
            // A promoted trial continues its last rung's state.
            spent += n * (e - before) * seeds;
            before = e;
            if k + 1 < rungs.len() {
                n = s.promoted(n);
            }
        }
    }
    (runs, spent)
}

/// The store's status and objective of `sweep`'s runs, or `None` when
/// the store does not exist (nothing is created).
fn stored_known(
    db: &str,
    sweep: &headsweep_spec::SweepFile,
    objective: &headsweep_spec::Objective,
) -> anyhow::Result<Option<headsweep_runner::Known>> {
    if headsweep_store::sqlite_path(db).is_some_and(|p| !p.exists()) {
        return Ok(None);
    }
    super::runtime()?.block_on(async {
        let store = Store::open_with(db, Access::Read).await?;
        Ok(Some(
            headsweep_runner::known(&store, sweep.name(), objective).await?,
        ))
    })
}

/// Where each design's search stands in the store (when it exists).
fn search_standing(
    db: &str,
    sweep: &headsweep_spec::SweepFile,
    s: &headsweep_spec::Search,
) -> anyhow::Result<String> {
    let Some(known) = stored_known(db, sweep, &s.objective)? else {
        return Ok(String::new());
    };
    let plan = headsweep_runner::plan_search(sweep, &known)?;
    let mut out = format!("\nin {}: {}\n", redact(db), search_progress(&plan, s));
    out += &design_table(&plan, s);
    if let (Some(evaluated), Some(q)) = (&plan.evaluation, &s.evaluate_rounds) {
        let labels: Vec<String> = evaluated
            .iter()
            .map(|(p, _)| plan.designs[*p].design.clone())
            .collect();
        let arms: Vec<_> = evaluated.iter().map(|(_, a)| *a).collect();
        out += &format!("\n{}\n", super::seeds::evaluation_progress(evaluated, q));
        out += &super::seeds::table(&labels, &arms, q);
    }
    Ok(out)
}

/// Where each design's seeds stand in the store (when it exists).
fn seeds_standing(
    db: &str,
    sweep: &headsweep_spec::SweepFile,
    q: &headsweep_spec::Sequential,
) -> anyhow::Result<String> {
    let Some(known) = stored_known(db, sweep, &q.objective)? else {
        return Ok(String::new());
    };
    let plan = headsweep_runner::plan_seeds(sweep, &known)?;
    let labels: Vec<String> = plan.designs.iter().map(|d| d.design.clone()).collect();
    let arms: Vec<_> = plan.designs.iter().map(|d| d.arm).collect();
    let mut out = format!(
        "\nin {}: {}\n",
        redact(db),
        super::seeds::progress(&plan, q)
    );
    out += &super::seeds::table(&labels, &arms, q);
    Ok(out)
}

/// One line: trials ended of the budget, designs chosen.
pub fn search_progress(plan: &headsweep_runner::SearchPlan, s: &headsweep_spec::Search) -> String {
    let ended: usize = plan.designs.iter().map(|d| d.ended).sum();
    let failed: usize = plan.designs.iter().map(|d| d.failed).sum();
    let chosen = plan.designs.iter().filter(|d| d.chosen.is_some()).count();
    let mut line = format!(
        "search: {ended} of {} trial(s) ended",
        s.trials * plan.designs.len()
    );
    if failed > 0 {
        line += &format!(" ({failed} without a value of {})", s.objective);
    }
    let pruned: usize = plan.designs.iter().map(|d| d.pruned).sum();
    if s.prune.is_some() {
        line += &format!(", {pruned} pruned");
    }
    line += &format!(", {chosen} of {} design(s) chosen", plan.designs.len());
    let empty = plan.designs.iter().filter(|d| d.nothing_chosen).count();
    if empty > 0 {
        line += &format!(", {empty} with no trial to choose (every trial failed)");
    }
    if let (Some(arms), Some(q)) = (&plan.evaluation, &s.evaluate_rounds) {
        line += &format!("; {}", super::seeds::evaluation_progress(arms, q));
    }
    line
}

/// Per design: trials ended, rounds, and the chosen trial with its values.
pub fn design_table(plan: &headsweep_runner::SearchPlan, s: &headsweep_spec::Search) -> String {
    let mut header = vec!["design".to_string(), "trials ended".into()];
    if s.prune.is_some() {
        header.push("pruned".into());
    }
    header.extend(["round".into(), "chosen".into(), s.objective.to_string()]);
    header.extend(s.space.iter().map(|p| p.key.clone()));
    let rows: Vec<Vec<String>> = plan
        .designs
        .iter()
        .map(|d| {
            let mut row = vec![d.design.clone(), format!("{}/{}", d.ended, s.trials)];
            if s.prune.is_some() {
                row.push(d.pruned.to_string());
            }
            row.push(format!("{}/{}", d.rounds, s.rounds().len()));
            match &d.chosen {
                Some(c) => {
                    row.push(format!("trial {}", c.trial));
                    row.push(format!("{:.4}", c.value));
                    row.extend(c.values.iter().map(|(_, v)| display_value(v)));
                }
                None => {
                    row.push(if d.nothing_chosen {
                        "none".into()
                    } else {
                        String::new()
                    });
                    row.push(String::new());
                    row.extend(s.space.iter().map(|_| String::new()));
                }
            }
            row
        })
        .collect();
    let align: Vec<Align> = (0..header.len())
        .map(|j| if j == 0 { Align::Left } else { Align::Right })
        .collect();
    text_table(&header, &rows, &align)
}
