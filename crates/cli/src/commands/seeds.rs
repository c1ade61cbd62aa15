//! Seeds spent in rounds, as `plan`, `run`, `slurm` and `compare` show
//! them: the rule, and where each design stands.

use headsweep_report::{aligned, level_text, SeedRounds};
use headsweep_runner::{Known, SeedPlan};
use headsweep_search::seeds::{allocate, in_metric_units, Arm, Outcome, Stopped};
use headsweep_spec::{Role, Sequential};
use headsweep_store::Store;

/// The rule in one sentence, with this sweep's numbers.
pub fn rule(q: &Sequential, designs: usize) -> String {
    let rounds: Vec<String> = q.rounds.iter().map(usize::to_string).collect();
    let seeds = q.seeds();
    format!(
        "Seeds were spent in rounds of {} (seeds {}–{}): after each round, a design whose paired difference in {} to the best design's is settled below 0 — its anytime-valid confidence sequence at level {} (the truly best design is stopped with probability ≤ {}, over {designs} designs) lies below 0 — gets no more seeds.",
        rounds.join(" + "),
        seeds.first().copied().unwrap_or(0),
        seeds.last().copied().unwrap_or(0),
        q.objective,
        level_text(q.pair_level(designs)),
        level_text(q.level),
    )
}

/// Why a design got no more seeds, or that it still may.
pub fn why(arm: &Arm, labels: &[String], q: &Sequential) -> String {
    match arm.stopped {
        None => "running".into(),
        Some(Stopped::Budget) => "every round".into(),
        Some(Stopped::Best) => "best: every other design settled below it".into(),
        Some(Stopped::Settled { best, interval }) => {
            let i = in_metric_units(q.objective.metric.direction(), interval);
            let best = match labels[best].as_str() {
                "" => format!("design {best}"),
                l => l.to_string(),
            };
            format!(
                "settled below {best} after {} seeds: Δ {} in [{:+.4}, {:+.4}]",
                i.n, q.objective, i.low, i.high
            )
        }
    }
}

/// How a stored sweep spent its seeds in rounds: the rule, and per design
/// compared (a grid point, or with `[search]` a design whose setting was
/// chosen) its point, label and standing.
pub struct Standing {
    pub rounds: Sequential,
    pub points: Vec<usize>,
    pub labels: Vec<String>,
    pub arms: Vec<Arm>,
}

/// Where each design of `sweep` stands by the store, computed from the
/// stored file, runs and validation values the way `run` decided.
pub async fn stored(store: &Store, sweep: &str) -> anyhow::Result<Option<Standing>> {
    let Some(file) = super::report::stored_sweep_file(store, sweep).await? else {
        return Ok(None);
    };
    let evaluated = file.search.as_ref().and_then(|s| s.evaluate_rounds.clone());
    let (q, role) = match (file.sequential.clone(), evaluated) {
        (Some(q), _) => (q, Role::Run),
        (None, Some(q)) => (q, Role::Evaluate),
        (None, None) => return Ok(None),
    };
    let runs: Vec<_> = store
        .runs(sweep)
        .await?
        .into_iter()
        .filter(|r| r.role == role)
        .collect();
    // A search's designs are compared once chosen: those evaluated.
    let mut points: Vec<usize> = match role {
        Role::Run => (0..file.points.len()).collect(),
        _ => runs.iter().map(|r| r.point as usize).collect(),
    };
    points.sort_unstable();
    points.dedup();
    let ids: Vec<String> = runs.iter().map(|r| r.id.clone()).collect();
    let values: std::collections::HashMap<String, f64> = store
        .run_values(
            &ids,
            &q.objective.split,
            &q.objective.head,
            q.objective.metric.name(),
        )
        .await?
        .into_iter()
        .collect();
    // What `run` planned from: each run's status and value.
    let known = Known(
        runs.iter()
            .map(|r| (r.id.clone(), (r.status, values.get(&r.id).copied())))
            .collect(),
    );
    let seeds = q.seeds();
    let arms = allocate(&q, points.len(), |d, s| {
        runs.iter()
            .find(|r| r.point == points[d] as i64 && r.seed == seeds[s] as i64)
            .map_or(Outcome::Pending, |r| known.outcome(&r.id))
    });
    let labels = points
        .iter()
        .map(|&p| file.points.get(p).map_or_else(String::new, |g| g.label()))
        .collect();
    Ok(Some(Standing {
        rounds: q,
        points,
        labels,
        arms,
    }))
}

/// What `compare` needs to show each row's seeds and anytime intervals.
pub async fn for_compare(store: &Store, sweep: &str) -> anyhow::Result<Option<SeedRounds>> {
    let Some(st) = stored(store, sweep).await? else {
        return Ok(None);
    };
    let q = &st.rounds;
    let designs = st.arms.len();
    Ok(Some(SeedRounds {
        designs: st
            .points
            .iter()
            .zip(&st.arms)
            .map(|(&p, a)| (p as i64, (a.seeds, why(a, &st.labels, q))))
            .collect(),
        total: q.seeds().len(),
        level: q.level,
        pair_level: q.pair_level(designs),
        rule: rule(q, designs),
    }))
}

/// `plan`'s description of the rule and the budget.
pub fn describe(q: &Sequential, designs: usize) -> String {
    let total = q.seeds().len();
    let first = q.rounds[0];
    let mut out = format!(
        "\nseeds in rounds of {}: every design gets round 1's {first} seed(s); after each round, designs settled below the best on {} get no more.\n",
        q.rounds
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" + "),
        q.objective
    );
    let fewest = headsweep_metrics::fewest_to_settle(q.pair_level(designs));
    out += &format!(
        "level {} over {designs} design(s) ({} per comparison): no design can be settled before {fewest} seeds",
        level_text(q.level),
        level_text(q.pair_level(designs))
    );
    if fewest > total {
        out +=
            &format!(", more than the {total} the rounds give: every design will get every seed");
    }
    out += ".\n";
    out += &format!(
        "budget: at most {} runs ({designs} design(s) × {total} seeds), at least {} (round 1); the runs above are round 1's\n",
        designs * total,
        designs * first
    );
    out
}

/// One line: how many designs are still getting seeds.
pub fn progress(plan: &SeedPlan, q: &Sequential) -> String {
    let arms: Vec<Arm> = plan.designs.iter().map(|d| d.arm).collect();
    format!("seeds: {}", standing_line(&arms, plan.runs.len(), q))
}

/// Per design: seeds given and why no more.
pub fn table(labels: &[String], arms: &[Arm], q: &Sequential) -> String {
    let total = q.seeds().len();
    let rows: Vec<Vec<String>> = labels
        .iter()
        .zip(arms)
        .map(|(l, a)| vec![l.clone(), format!("{}/{total}", a.seeds), why(a, labels, q)])
        .collect();
    aligned(&["design".into(), "seeds".into(), "standing".into()], &rows)
}

/// One line: how many designs are still getting seeds, of `runs` run(s)
/// registered.
fn standing_line(arms: &[Arm], runs: usize, q: &Sequential) -> String {
    let running = arms.iter().filter(|a| a.stopped.is_none()).count();
    let settled = arms
        .iter()
        .filter(|a| matches!(a.stopped, Some(Stopped::Settled { .. })))
        .count();
    format!(
        "{runs} run(s) of at most {}; {running} design(s) running, {settled} settled below the best",
        arms.len() * q.seeds().len()
    )
}

/// A search's evaluation seeds in rounds, once every search has ended.
pub fn evaluation_progress(arms: &[(usize, Arm)], q: &Sequential) -> String {
    let a: Vec<Arm> = arms.iter().map(|(_, a)| *a).collect();
    let runs = a.iter().map(|a| a.seeds).sum();
    format!("evaluation seeds: {}", standing_line(&a, runs, q))
}
