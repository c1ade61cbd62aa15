//! Runs headsweep's searches on an objective known everywhere: a table of
//! real runs' validation values over a grid, one row per point, read from
//! standard input as CSV — a column per setting holding the value's index
//! along its axis, then the value (higher is better). Each setting becomes
//! `{ int = [0, n − 1] }`, so a proposal is a grid point and its value is
//! looked up.
//!
//! Prints one CSV line per search: method, round, search seed, the best
//! value found. Used by scripts/bench/search against Optuna on the same
//! table.
//!
//!     lookup TRIALS SEEDS ROUND... < table.csv

use std::collections::HashMap;
use std::io::Read;

use headsweep_search::{best, propose, Observation};
use headsweep_spec::{Distribution, Method, Objective, Param, Search};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: lookup TRIALS SEEDS ROUND... < table.csv";
    let trials: usize = args.get(1).and_then(|a| a.parse().ok()).expect(usage);
    let seeds: u64 = args.get(2).and_then(|a| a.parse().ok()).expect(usage);
    let rounds: Vec<usize> = args[3..].iter().map(|a| a.parse().expect(usage)).collect();
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let d = header.len() - 1;
    let mut table: HashMap<Vec<i64>, f64> = HashMap::new();
    for l in lines {
        let cells: Vec<&str> = l.split(',').collect();
        let key: Vec<i64> = cells[..d].iter().map(|c| c.parse().unwrap()).collect();
        table.insert(key, cells[d].parse().unwrap());
    }
    let space: Vec<Param> = (0..d)
        .map(|j| Param {
            key: format!("model.{}", header[j]),
            distribution: Distribution::Int {
                low: 0,
                high: table.keys().map(|k| k[j]).max().unwrap(),
                step: 1,
            },
        })
        .collect();
    let run = |method: Method, round: usize, seed: u64| -> f64 {
        let s = Search {
            method,
            trials,
            seed,
            objective: Objective {
                split: "val".into(),
                head: "joint".into(),
                metric: "exact_match".parse().unwrap(),
            },
            round,
            startup: 10,
            candidates: 24,
            space: space.clone(),
            evaluate_seeds: vec![],
            evaluate_rounds: None,
            prune: None,
            eta: 3,
            min_epochs: None,
        };
        let mut history: Vec<Observation> = Vec::new();
        for (r, range) in s.rounds().into_iter().enumerate() {
            for (trial, values) in range.clone().zip(propose(&s, "lookup", r, range, &history)) {
                let key: Vec<i64> = values.iter().map(|v| v.as_i64().unwrap()).collect();
                history.push(Observation {
                    trial,
                    score: Some(table[&key]),
                    values,
                });
            }
        }
        best(&history).unwrap().score.unwrap()
    };
    println!("method,round,seed,best");
    for seed in 0..seeds {
        println!("random,1,{seed},{}", run(Method::Random, 1, seed));
        for &round in &rounds {
            println!("tpe,{round},{seed},{}", run(Method::Tpe, round, seed));
        }
    }
}
