//! Stratified train/validation/test splits and k-fold assignment.

use std::collections::BTreeMap;

use headsweep_spec::Split;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Which part of the data a sample belongs to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Part {
    Train,
    Val,
    Test,
}

impl Part {
    pub const ALL: [Part; 3] = [Part::Train, Part::Val, Part::Test];

    pub fn name(self) -> &'static str {
        match self {
            Part::Train => "train",
            Part::Val => "val",
            Part::Test => "test",
        }
    }
}

/// The split's random stream: the data seed on a stream of its own, so that
/// the split does not reuse the generator's numbers.
fn rng(seed: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(1);
    r
}

/// Strata in a fixed order, each shuffled.
fn strata<K: Ord + Clone>(keys: &[K], seed: u64) -> Vec<Vec<usize>> {
    let mut groups: BTreeMap<K, Vec<usize>> = BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        groups.entry(k.clone()).or_default().push(i);
    }
    let mut r = rng(seed);
    groups
        .into_values()
        .map(|mut g| {
            g.shuffle(&mut r);
            g
        })
        .collect()
}

/// Splits samples stratified by `keys` (the joint label). Counts are
/// rounded cumulatively over the strata, so the overall fractions are met
/// to within one sample, and every stratum keeps at least one training
/// sample.
pub fn stratified(keys: &[impl Ord + Clone], split: Split, seed: u64) -> Vec<Part> {
    let mut parts = vec![Part::Train; keys.len()];
    let (mut want_test, mut want_val) = (0.0f64, 0.0f64);
    let (mut got_test, mut got_val) = (0usize, 0usize);
    for group in strata(keys, seed) {
        let n = group.len();
        want_test += n as f64 * split.test;
        want_val += n as f64 * split.val;
        let mut n_test = ((want_test + 0.5).floor() as usize).saturating_sub(got_test);
        let mut n_val = ((want_val + 0.5).floor() as usize).saturating_sub(got_val);
        while n_test + n_val >= n && n_test + n_val > 0 {
            if n_test >= n_val {
                n_test -= 1
            } else {
                n_val -= 1
            }
        }
        got_test += n_test;
        got_val += n_val;
        for (pos, &i) in group.iter().enumerate() {
            parts[i] = if pos < n_test {
                Part::Test
            } else if pos < n_test + n_val {
                Part::Val
            } else {
                Part::Train
            };
        }
    }
    parts
}

/// Makes every class of every task appear in the test and validation parts
/// where it can: a class absent from one of them but with at least two
/// training samples gives it one (the first in a seeded order whose other
/// labels also keep a training sample), so every class keeps one in
/// training. Stratifying
/// by the joint label alone can leave a rare class out of a small test set,
/// which changes what balanced accuracy means there (its chance level is
/// 1/classes present).
pub fn cover(parts: &mut [Part], tasks: &[Vec<Option<usize>>], seed: u64) {
    let mut r = rng(seed);
    r.set_stream(2);
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.shuffle(&mut r);
    for part in [Part::Test, Part::Val] {
        for labels in tasks {
            let classes = labels.iter().flatten().max().map_or(0, |m| m + 1);
            for c in 0..classes {
                let count = |p: Part, parts: &[Part]| {
                    (0..parts.len())
                        .filter(|&i| parts[i] == p && labels[i] == Some(c))
                        .count()
                };
                if count(part, parts) == 0 && count(Part::Train, parts) >= 2 {
                    // A sample whose every label keeps another training sample.
                    let spare = |i: usize, parts: &[Part]| {
                        tasks.iter().all(|t| {
                            t[i].is_none_or(|k| {
                                (0..parts.len())
                                    .filter(|&j| parts[j] == Part::Train && t[j] == Some(k))
                                    .count()
                                    >= 2
                            })
                        })
                    };
                    if let Some(&i) = order.iter().find(|&&i| {
                        parts[i] == Part::Train && labels[i] == Some(c) && spare(i, parts)
                    }) {
                        parts[i] = part;
                    }
                }
            }
        }
    }
}

/// Stratified k-fold: fold `fold` is the test part, fold `fold + 1 (mod k)`
/// the validation part, the rest training. Samples are dealt to folds in
/// turn, stratum after stratum, so fold sizes differ by at most one.
pub fn k_fold(keys: &[impl Ord + Clone], folds: u32, fold: u32, seed: u64) -> Vec<Part> {
    let k = folds as usize;
    let mut parts = vec![Part::Train; keys.len()];
    let mut next = 0usize;
    for group in strata(keys, seed) {
        for i in group {
            let f = next % k;
            next += 1;
            parts[i] = if f == fold as usize {
                Part::Test
            } else if f == (fold as usize + 1) % k {
                Part::Val
            } else {
                Part::Train
            };
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(parts: &[Part], p: Part) -> usize {
        parts.iter().filter(|&&x| x == p).count()
    }

    #[test]
    fn fractions_hold_overall_and_per_stratum() {
        let keys: Vec<u8> = (0..1000).map(|i| (i % 4) as u8).collect();
        let s = Split {
            train: 0.7,
            val: 0.15,
            test: 0.15,
        };
        let parts = stratified(&keys, s, 7);
        assert_eq!(count(&parts, Part::Test), 150);
        assert_eq!(count(&parts, Part::Val), 150);
        for k in 0..4u8 {
            let n_test = keys
                .iter()
                .zip(&parts)
                .filter(|&(&key, &p)| key == k && p == Part::Test)
                .count();
            assert!((37..=38).contains(&n_test), "stratum {k}: {n_test}");
        }
        assert_eq!(parts, stratified(&keys, s, 7), "same seed, same split");
        assert_ne!(parts, stratified(&keys, s, 8));
    }

    #[test]
    fn tiny_strata_keep_a_training_sample() {
        let keys = [0u8, 1, 1, 2, 2, 2];
        let parts = stratified(
            &keys,
            Split {
                train: 0.4,
                val: 0.3,
                test: 0.3,
            },
            0,
        );
        for k in 0..3u8 {
            assert!(keys
                .iter()
                .zip(&parts)
                .any(|(&key, &p)| key == k && p == Part::Train));
        }
    }

    #[test]
    fn cover_puts_every_class_in_test_and_val() {
        // Class 2 of task 0 has 4 samples, all in one tiny stratum that the
        // split leaves in training.
        let task: Vec<Option<usize>> = (0..40)
            .map(|i| Some(if i < 4 { 2 } else { i % 2 }))
            .collect();
        let keys: Vec<Vec<Option<usize>>> = task.iter().map(|l| vec![*l]).collect();
        let mut parts = stratified(
            &keys,
            Split {
                train: 0.8,
                val: 0.1,
                test: 0.1,
            },
            0,
        );
        let in_part = |parts: &[Part], p: Part| {
            (0..40)
                .filter(|&i| parts[i] == p && task[i] == Some(2))
                .count()
        };
        assert_eq!(
            in_part(&parts, Part::Test),
            0,
            "the joint stratification alone leaves class 2 out"
        );
        cover(&mut parts, std::slice::from_ref(&task), 0);
        assert_eq!(in_part(&parts, Part::Test), 1);
        assert_eq!(in_part(&parts, Part::Val), 1);
        assert_eq!(in_part(&parts, Part::Train), 2);
        // A class with a single sample stays in training.
        let lone: Vec<Option<usize>> = (0..10).map(|i| Some(usize::from(i == 0))).collect();
        let mut parts = vec![Part::Train; 10];
        parts[5] = Part::Test;
        cover(&mut parts, &[lone], 0);
        assert_eq!(parts[0], Part::Train);
    }

    #[test]
    fn k_fold_parts_rotate() {
        let keys: Vec<u8> = (0..50).map(|i| (i % 2) as u8).collect();
        let mut tested = vec![0; 50];
        for f in 0..5 {
            let parts = k_fold(&keys, 5, f, 1);
            assert_eq!(count(&parts, Part::Test), 10);
            assert_eq!(count(&parts, Part::Val), 10);
            for (i, p) in parts.iter().enumerate() {
                tested[i] += usize::from(*p == Part::Test);
            }
        }
        assert!(
            tested.iter().all(|&t| t == 1),
            "each sample is tested exactly once"
        );
    }
}
