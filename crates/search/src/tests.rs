use headsweep_spec::{Distribution, Method, Objective, Param, Search};
use serde_json::{json, Value};

use super::*;

fn space() -> Vec<Param> {
    let p = |key: &str, distribution| Param {
        key: key.into(),
        distribution,
    };
    vec![
        p(
            "model.x",
            Distribution::Uniform {
                low: -5.0,
                high: 5.0,
            },
        ),
        p(
            "train.lr",
            Distribution::LogUniform {
                low: 1e-4,
                high: 1.0,
            },
        ),
        p(
            "train.k",
            Distribution::Int {
                low: 1,
                high: 10,
                step: 1,
            },
        ),
        p(
            "model.c",
            Distribution::Choice(vec![json!("a"), json!("b"), json!("c")]),
        ),
    ]
}

fn search(method: Method, trials: usize) -> Search {
    Search {
        method,
        trials,
        seed: 0,
        objective: Objective {
            split: "val".into(),
            head: "joint".into(),
            metric: "exact_match".parse().unwrap(),
        },
        round: 4,
        startup: 10,
        candidates: 24,
        space: space(),
        evaluate_seeds: vec![100],
        evaluate_rounds: None,
        prune: None,
        eta: 3,
        min_epochs: None,
    }
}

/// A known objective with its optimum at x = 1.3, lr = 0.01, k = 7, c = b.
fn objective(v: &[Value]) -> f64 {
    let x = v[0].as_f64().unwrap();
    let lr = v[1].as_f64().unwrap();
    let k = v[2].as_i64().unwrap() as f64;
    let c = if v[3] == json!("b") { 0.0 } else { 2.0 };
    -((x - 1.3).powi(2) + (lr.ln() - 0.01f64.ln()).powi(2) + 0.3 * (k - 7.0).powi(2) + c)
}

/// Runs a whole search of one design against [`objective`], round by
/// round as the runner does; returns every trial.
fn run(s: &Search, design: &str) -> Vec<Observation> {
    let mut history = Vec::new();
    for (r, trials) in s.rounds().into_iter().enumerate() {
        let proposed = propose(s, design, r, trials.clone(), &history);
        assert_eq!(proposed.len(), trials.len());
        for (i, values) in trials.zip(proposed) {
            history.push(Observation {
                trial: i,
                score: Some(objective(&values)),
                values,
            });
        }
    }
    history
}

fn in_space(v: &[Value]) {
    let x = v[0].as_f64().unwrap();
    assert!((-5.0..=5.0).contains(&x), "{x}");
    let lr = v[1].as_f64().unwrap();
    assert!((1e-4..=1.0).contains(&lr), "{lr}");
    assert!((1..=10).contains(&v[2].as_i64().unwrap()), "{}", v[2]);
    assert!(["a", "b", "c"].contains(&v[3].as_str().unwrap()));
}

#[test]
fn random_trials_depend_on_seed_design_and_index_alone() {
    let s = search(Method::Random, 50);
    let a = propose(&s, "d1", 0, 0..50, &[]);
    assert_eq!(a, propose(&s, "d1", 0, 0..50, &[]));
    // A trial is the same whichever range asks for it.
    assert_eq!(a[20..30], propose(&s, "d1", 0, 20..30, &[])[..]);
    assert_ne!(a, propose(&s, "d2", 0, 0..50, &[]));
    let mut other = s.clone();
    other.seed = 1;
    assert_ne!(a, propose(&other, "d1", 0, 0..50, &[]));
    for v in &a {
        in_space(v);
    }
    // Four significant digits.
    assert!(a.iter().all(|v| {
        let x = v[1].as_f64().unwrap();
        round_significant(x) == x
    }));
}

#[test]
fn random_draws_cover_the_space_as_distributed() {
    let s = search(Method::Random, 4000);
    let a = propose(&s, "d", 0, 0..4000, &[]);
    let frac = |f: &dyn Fn(&Vec<Value>) -> bool| a.iter().filter(|v| f(v)).count() as f64 / 4000.0;
    // Uniform in the logarithm: a quarter of draws per decade of four.
    let decade = frac(&|v| v[1].as_f64().unwrap() < 1e-3);
    assert!((decade - 0.25).abs() < 0.03, "{decade}");
    let low_x = frac(&|v| v[0].as_f64().unwrap() < 0.0);
    assert!((low_x - 0.5).abs() < 0.03, "{low_x}");
    for k in 1..=10 {
        let f = frac(&|v| v[2] == json!(k));
        assert!((f - 0.1).abs() < 0.025, "k={k}: {f}");
    }
    let b = frac(&|v| v[3] == json!("b"));
    assert!((b - 1.0 / 3.0).abs() < 0.03, "{b}");
}

#[test]
fn gamma_and_weights_are_optunas() {
    assert_eq!(gammas(), vec![0, 1, 1, 1, 2, 10, 25, 25]);
    assert_eq!(tpe::weights(3), vec![1.0; 3]);
    let w = tpe::weights(27);
    assert_eq!(w.len(), 27);
    assert_eq!(w[0], 1.0 / 27.0);
    assert_eq!(w[1], 1.0);
    assert!(w[2..].iter().all(|x| *x == 1.0));
    let w = tpe::weights(35);
    assert!((w[0] - 1.0 / 35.0).abs() < 1e-15 && (w[9] - 1.0).abs() < 1e-15);
    assert!(w[0] < w[5] && w[5] < w[9]);
}

fn gammas() -> Vec<usize> {
    [0, 1, 9, 10, 11, 100, 250, 1000]
        .iter()
        .map(|&n| tpe::gamma(n))
        .collect()
}

#[test]
fn tpe_proposals_stay_in_the_space_and_repeat_exactly() {
    let s = search(Method::Tpe, 30);
    let h = run(&s, "d");
    assert_eq!(h.len(), 30);
    for o in &h {
        in_space(&o.values);
    }
    assert_eq!(h, run(&s, "d"));
    // The first round is the random trials.
    let r = propose(&search(Method::Random, 10), "d", 0, 0..10, &[]);
    let first: Vec<Vec<Value>> = h[..10].iter().map(|o| o.values.clone()).collect();
    assert_eq!(first, r);
}

#[test]
fn tpe_finds_better_trials_than_random_on_a_known_objective() {
    // 20 searches of 30 trials each; the median best score.
    let median_best = |method: Method, round: usize| {
        let mut best: Vec<f64> = (0..20)
            .map(|seed| {
                let mut s = search(method, 30);
                s.seed = seed;
                s.round = round;
                let h = run(&s, "d");
                crate::best(&h).unwrap().score.unwrap()
            })
            .collect();
        best.sort_by(f64::total_cmp);
        (best[9] + best[10]) / 2.0
    };
    let random = median_best(Method::Random, 1);
    // The regret (distance below the optimum, 0) at least a third smaller,
    // one trial per round and in rounds of four.
    for round in [1, 4] {
        let tpe = median_best(Method::Tpe, round);
        assert!(
            -tpe < 0.67 * -random,
            "round {round}: tpe {tpe} vs random {random}"
        );
    }
}

#[test]
fn tpe_with_every_earlier_trial_failed_draws_at_random() {
    let s = search(Method::Tpe, 14);
    let failed: Vec<Observation> = propose(&s, "d", 0, 0..10, &[])
        .into_iter()
        .enumerate()
        .map(|(trial, values)| Observation {
            trial,
            values,
            score: None,
        })
        .collect();
    let next = propose(&s, "d", 1, 10..14, &failed);
    assert_eq!(
        next,
        propose(&search(Method::Random, 14), "d", 0, 10..14, &[])
    );
}

#[test]
fn best_takes_the_highest_score_and_the_earliest_among_equals() {
    let o = |trial, score| Observation {
        trial,
        values: vec![],
        score,
    };
    let h = vec![
        o(0, Some(0.5)),
        o(1, None),
        o(2, Some(0.7)),
        o(3, Some(0.7)),
    ];
    assert_eq!(best(&h).unwrap().trial, 2);
    assert!(best(&[o(0, None)]).is_none());
}

#[test]
fn grid_method_enumerates_in_order() {
    let mut s = search(Method::Grid, 6);
    s.space = vec![
        Param {
            key: "train.k".into(),
            distribution: Distribution::Int {
                low: 1,
                high: 3,
                step: 1,
            },
        },
        Param {
            key: "model.c".into(),
            distribution: Distribution::Choice(vec![json!("a"), json!("b")]),
        },
    ];
    let all = propose(&s, "d", 0, 0..6, &[]);
    assert_eq!(all[0], vec![json!(1), json!("a")]);
    assert_eq!(all[5], vec![json!(3), json!("b")]);
    assert_eq!(propose(&s, "d", 0, 2..4, &[]), all[2..4].to_vec());
}

#[test]
fn four_significant_digits() {
    assert_eq!(round_significant(0.0031415926), 0.003142);
    assert_eq!(round_significant(123456.0), 123500.0);
    assert_eq!(round_significant(-2.5e-7), -2.5e-7);
    assert_eq!(round_significant(0.0), 0.0);
}
