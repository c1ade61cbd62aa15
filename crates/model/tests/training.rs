//! Training end to end on small synthetic data, on CPU.

use headsweep_data::{load, Dataset, Part};
use headsweep_model::{
    train, train_group, Checkpoints, Device, GroupOptions, Member, RunOutput, TrainError,
    TrainOptions,
};
use headsweep_spec::{Architecture, Dtype, Loss, Optimizer, RunConfig, SweepFile};

const SWEEP: &str = r#"
[sweep]
name = "t"
[data]
synthetic = { preset = "methylation", samples = 300, features = 60 }
[[tasks]]
name = "age"
bins = [0, 30, 60, 90]
[[tasks]]
name = "sex"
[model]
trunk = [32]
head_width = 16
dropout = 0.2
[train]
epochs = 15
batch_size = 32
lr = 0.003
patience = 5
"#;

fn config(edit: impl FnOnce(&mut RunConfig)) -> (RunConfig, Dataset) {
    let mut c = SweepFile::parse(std::path::Path::new("t.toml"), SWEEP)
        .unwrap()
        .first_run();
    edit(&mut c);
    let data = load(&c.data, &c.tasks).unwrap();
    (c, data)
}

fn run(c: &RunConfig, d: &Dataset) -> RunOutput {
    train(c, d, &TrainOptions::default()).unwrap()
}

fn test_probs(out: &RunOutput) -> Vec<f64> {
    out.split(Part::Test)
        .heads
        .iter()
        .flat_map(|h| h.predictions.probs.clone())
        .collect()
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn every_architecture_and_loss_trains_and_learns_sex() {
    for arch in [
        Architecture::MultiLabel,
        Architecture::MultiHead,
        Architecture::Separate,
    ] {
        for loss in [Loss::Bce, Loss::BceTask, Loss::Ce] {
            let (c, d) = config(|c| {
                c.model.architecture = arch;
                c.model.head_depth = 1;
                c.train.loss = loss;
            });
            let out = run(&c, &d);
            let test = out.split(Part::Test);
            let sex = test.heads[1].metrics.as_ref().unwrap();
            assert!(
                sex.accuracy > 0.85,
                "{arch:?} {loss:?}: sex accuracy {}",
                sex.accuracy
            );
            assert!(out.best_epoch >= 1 && out.best_epoch <= out.epochs_run);
            for h in &test.heads {
                let m = h.metrics.as_ref().unwrap();
                if loss == Loss::Ce {
                    assert!((m.mass - 1.0).abs() < 1e-6);
                }
                for row in h.predictions.probs.chunks(h.classes.len()) {
                    assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9);
                }
            }
        }
    }
}

#[test]
fn the_same_seed_gives_identical_results_and_another_seed_does_not() {
    let (c, d) = config(|_| {});
    let a = run(&c, &d);
    let b = run(&c, &d);
    assert_eq!(test_probs(&a), test_probs(&b));
    assert_eq!(a.curves, b.curves);
    let (c2, _) = config(|c| c.seed = 1);
    assert_ne!(test_probs(&a), test_probs(&run(&c2, &d)));
}

#[test]
fn parameter_counts_match_the_architecture() {
    // 60 inputs, trunk [32], head tower [16], classes 3 + 2.
    let count = |arch, depth| {
        let (mut c, d) = config(|c| {
            c.model.architecture = arch;
            c.model.head_depth = depth;
        });
        c.train.epochs = 1;
        run(&c, &d).parameters
    };
    let trunk = 60 * 32 + 32;
    assert_eq!(count(Architecture::MultiLabel, 0), trunk + 32 * 5 + 5);
    assert_eq!(count(Architecture::MultiHead, 0), trunk + 32 * 5 + 5);
    assert_eq!(
        count(Architecture::MultiLabel, 1),
        trunk + 32 * 16 + 16 + 16 * 5 + 5
    );
    assert_eq!(
        count(Architecture::MultiHead, 1),
        trunk + 2 * (32 * 16 + 16) + 16 * 3 + 3 + 16 * 2 + 2
    );
    assert_eq!(count(Architecture::Separate, 0), 2 * trunk + 32 * 5 + 5);
}

/// One Linear over all classes is the heads' Linears stacked: with the same
/// initial weights and batches, multi_label + ce and multi_head + ce (linear
/// heads) train the same function.
#[test]
fn multi_label_ce_equals_multi_head_ce_with_linear_heads() {
    let pair_at_depth = |depth, dtype, epochs, batch| {
        let setup = |arch| {
            config(|c| {
                c.model.architecture = arch;
                c.model.head_depth = depth;
                c.model.dropout = 0.0;
                c.model.dtype = dtype;
                c.train.loss = Loss::Ce;
                c.train.lr = 1e-3;
                c.train.epochs = epochs;
                c.train.batch_size = batch;
                c.train.patience = 0;
            })
        };
        let (a, d) = setup(Architecture::MultiLabel);
        let (b, _) = setup(Architecture::MultiHead);
        max_abs_diff(&test_probs(&run(&a, &d)), &test_probs(&run(&b, &d)))
    };
    let pair = |dtype, epochs, batch| pair_at_depth(0, dtype, epochs, batch);
    // With a hidden head layer the two are different networks, and the
    // comparison must see it.
    let deep = pair_at_depth(1, Dtype::F64, 5, 32);
    assert!(deep > 1e-3, "depth-1 heads should differ: {deep:e}");
    let f64_diff = pair(Dtype::F64, 40, 32);
    println!("f64, 40 epochs: max |Δp| = {f64_diff:e}");
    assert!(f64_diff <= 1e-9, "{f64_diff:e}");
    let f32_diff = pair(Dtype::F32, 1, 100_000);
    println!("f32, one step: max |Δp| = {f32_diff:e}");
    assert!(f32_diff <= 1e-6, "{f32_diff:e}");
}

#[test]
fn a_non_finite_loss_stops_the_run_with_its_reason() {
    let (c, d) = config(|c| {
        c.train.optimizer = headsweep_spec::Optimizer::Sgd;
        c.train.lr = 1e30;
    });
    match train(&c, &d, &TrainOptions::default()) {
        Err(e @ TrainError::NonFinite { .. }) => {
            assert!(e.to_string().contains("non-finite training loss"))
        }
        other => panic!("expected a non-finite loss, got {other:?}"),
    }
}

#[test]
fn early_stopping_keeps_the_best_epoch_and_saves_its_weights() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run/best.safetensors");
    let (c, d) = config(|c| {
        c.train.epochs = 200;
        c.train.patience = 3;
        c.train.lr = 0.01;
    });
    let opts = TrainOptions {
        weights: Some(path.clone()),
        ..Default::default()
    };
    let out = train(&c, &d, &opts).unwrap();
    assert!(
        out.stopped_early,
        "200 epochs at lr 0.01 should overfit and stop"
    );
    assert_eq!(out.epochs_run, out.best_epoch + 3);
    let best = out.curves[out.best_epoch - 1].val_loss;
    assert!(out.curves.iter().all(|e| e.val_loss >= best));
    // The final validation loss is the best epoch's: its weights were restored.
    assert!(
        (out.split(Part::Val).loss - best).abs() < 1e-6,
        "{} vs {best}",
        out.split(Part::Val).loss
    );
    assert!(std::fs::metadata(&path).unwrap().len() > 1000);
    let tensors = tch::Tensor::read_safetensors(&path).unwrap();
    assert!(
        tensors.iter().any(|(name, _)| name.contains("trunk")),
        "{:?}",
        tensors.iter().map(|t| &t.0).collect::<Vec<_>>()
    );
}

#[test]
fn trains_on_cuda_when_a_gpu_is_present() {
    if no_cuda() {
        return;
    }
    let (c, d) = config(|c| c.train.epochs = 3);
    let opts = TrainOptions {
        device: tch::Device::Cuda(0),
        ..Default::default()
    };
    let out = train(&c, &d, &opts).unwrap();
    assert!(
        out.split(Part::Test).heads[1]
            .metrics
            .as_ref()
            .unwrap()
            .accuracy
            > 0.5
    );
}

/// Whether no CUDA device is visible (then the caller skips, as printed).
fn no_cuda() -> bool {
    let none = headsweep_model::cuda_device_count() == 0;
    if none {
        println!("skipped: no CUDA device visible to libtorch");
    }
    none
}

/// Trains `configs` as one fused group on CUDA and each alone on CUDA,
/// asserts that every member's test probabilities stay within 1e-4 of its
/// run alone, and returns the fused outputs in order.
fn fused_on_cuda_close_to_alone(configs: &[RunConfig], d: &Dataset, case: &str) -> Vec<RunOutput> {
    let gpu = GroupOptions {
        device: tch::Device::Cuda(0),
        threads: 1,
        stop: None,
    };
    let fused = train_group(configs.iter().map(member).collect(), d, &gpu);
    configs
        .iter()
        .zip(fused)
        .map(|(c, f)| {
            let f = f.unwrap();
            let alone = train_group(vec![member(c)], d, &gpu)
                .pop()
                .unwrap()
                .unwrap();
            let diff = max_abs_diff(&test_probs(&f), &test_probs(&alone));
            println!(
                "cuda {case}, {:?} seed {}: fused vs alone max |Δp| {diff:e}",
                c.train.loss, c.seed
            );
            assert!(
                diff < 1e-4,
                "{case}, {:?} seed {}: {diff:e}",
                c.train.loss,
                c.seed
            );
            f
        })
        .collect()
}

/// On a GPU a fused group goes through libtorch's fused optimiser kernels
/// and batched products on the device. Bit-identity is promised on CPU only;
/// on CUDA a fused run must stay within 1e-4 of the run alone (f64, a few
/// epochs; on an H200 the difference measured 0 for every loss here).
#[test]
fn a_fused_group_trains_on_cuda_close_to_runs_alone() {
    if no_cuda() {
        return;
    }
    let (base, d) = config(|c| {
        c.train.epochs = 3;
        c.model.dtype = Dtype::F64;
    });
    for pair in [
        [Loss::Ce, Loss::Bce],
        [Loss::Coral, Loss::Coral],
        [Loss::Corn, Loss::Corn],
        [Loss::Mse, Loss::Huber],
    ] {
        let configs: Vec<RunConfig> = [(0, 0.003), (1, 0.01)]
            .iter()
            .zip(pair)
            .map(|(&(seed, lr), loss)| {
                let mut c = base.clone();
                c.seed = seed;
                c.train.lr = lr;
                c.train.loss = loss;
                if loss.is_ordinal() {
                    c.tasks[1].loss = Some(Loss::Ce);
                }
                c
            })
            .collect();
        let fused = fused_on_cuda_close_to_alone(&configs, &d, "fixed weights");
        for (c, f) in configs.iter().zip(fused) {
            // And the CUDA run learns what the CPU run learns.
            let cpu_run = run(c, &d);
            let acc = |o: &RunOutput| {
                o.split(Part::Test).heads[1]
                    .metrics
                    .as_ref()
                    .unwrap()
                    .accuracy
            };
            assert!(acc(&f) > 0.8 && (acc(&f) - acc(&cpu_run)).abs() < 0.1);
        }
    }
}

/// Task weightings on CUDA: the same group trained fused and alone on the
/// device agrees within 1e-4 (f64), and records finite positive weights and
/// cosines in [−1, 1].
#[test]
fn task_weightings_train_fused_on_cuda() {
    use headsweep_spec::TaskWeighting;
    if no_cuda() {
        return;
    }
    for weighting in [
        TaskWeighting::Uncertainty,
        TaskWeighting::Dwa,
        TaskWeighting::Pcgrad,
        TaskWeighting::Gradnorm,
    ] {
        let configs: Vec<RunConfig> = [(0, Loss::Ce), (1, Loss::Focal)]
            .iter()
            .map(|&(seed, loss)| {
                config(|c| {
                    c.seed = seed;
                    c.train.epochs = 4;
                    c.train.loss = loss;
                    c.train.task_weighting = weighting;
                    c.model.dtype = Dtype::F64;
                })
                .0
            })
            .collect();
        let d = config(|_| {}).1;
        for f in fused_on_cuda_close_to_alone(&configs, &d, &format!("{weighting:?}")) {
            for e in &f.curves {
                assert!(e.task_weights.iter().all(|w| w.is_finite() && *w > 0.0));
                assert!(e.grad_cosine.iter().all(|c| (-1.0..=1.0).contains(c)));
            }
        }
    }
}

#[test]
fn a_stop_request_cancels_between_batches_and_epochs_are_reported() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let (c, d) = config(|c| c.train.patience = 0);
    let epochs = Arc::new(AtomicUsize::new(0));
    let seen = epochs.clone();
    let opts = TrainOptions {
        on_epoch: Some(Arc::new(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        })),
        stop: Some({
            let epochs = epochs.clone();
            Arc::new(move || epochs.load(Ordering::SeqCst) >= 2)
        }),
        ..Default::default()
    };
    assert!(matches!(train(&c, &d, &opts), Err(TrainError::Cancelled)));
    assert_eq!(epochs.load(Ordering::SeqCst), 2);
}

/// On synthetic methylation, the features that drive each head are the
/// generator's own: precision@20 against its ground truth.
#[test]
fn attributions_find_the_generators_signal_features() {
    use headsweep_model::{explain, ClassChoice, ExplainOptions, Method, Reference};
    let text = SWEEP
        .replace(
            "samples = 300, features = 60",
            "samples = 900, features = 1000",
        )
        .replace(
            "bins = [0, 30, 60, 90]",
            "bins = [0, 15, 30, 45, 60, 75, 90]",
        );
    let c = SweepFile::parse(std::path::Path::new("t.toml"), &text)
        .unwrap()
        .first_run();
    let d = load(&c.data, &c.tasks).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("best.safetensors");
    let out = train(
        &c,
        &d,
        &TrainOptions {
            weights: Some(weights.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    println!(
        "test age accuracy {:.3}",
        out.split(Part::Test).heads[0]
            .metrics
            .as_ref()
            .unwrap()
            .accuracy
    );
    for (head, target) in [("sex", "sex"), ("age", "age")] {
        let opts = ExplainOptions {
            head: head.into(),
            class: ClassChoice::True,
            method: Method::IntegratedGradients { steps: 32 },
            reference: Reference::Mean,
            device: tch::Device::Cpu,
        };
        let e = explain(&c, &d, &weights, &opts).unwrap();
        let p20 = e.precision_at(20, target).unwrap();
        let (gap, scale) = e.completeness_gap.unwrap();
        println!("{head}: precision@20 = {p20:.2}, completeness gap {gap:.2e} of {scale:.2e}");
        assert!(p20 > 0.5, "{head}: precision@20 = {p20}");
        assert!(gap < 0.05 * scale, "{head}: gap {gap} vs {scale}");
    }
}

#[test]
fn binned_heads_get_ordinal_metrics() {
    let (c, d) = config(|c| c.train.epochs = 3);
    let out = run(&c, &d);
    let test = out.split(Part::Test);
    let age = test.heads[0].metrics.as_ref().unwrap();
    let sex = test.heads[1].metrics.as_ref().unwrap();
    let (mae, off) = (age.mae.unwrap(), age.off_by_one.unwrap());
    assert!(
        (0.0..=2.0).contains(&mae) && off >= age.accuracy,
        "mae {mae}, off-by-one {off}"
    );
    assert_eq!(
        (sex.mae, sex.off_by_one),
        (None, None),
        "categories have no order"
    );
}

fn member(c: &RunConfig) -> Member {
    Member {
        config: c.clone(),
        weights: None,
        stop: None,
        on_epoch: None,
        checkpoints: None,
    }
}

fn cpu() -> GroupOptions {
    GroupOptions {
        device: Device::Cpu,
        threads: 1,
        stop: None,
    }
}

/// A mixed group: different seeds, learning rates, weight decays, losses
/// and dropout rates, with early stopping so that members leave at
/// different epochs. Each member's every number equals that of the same run
/// trained alone, bit for bit.
#[test]
fn a_fused_run_is_bit_identical_to_the_run_alone() {
    for arch in [
        Architecture::MultiLabel,
        Architecture::MultiHead,
        Architecture::Separate,
    ] {
        let (base, d) = config(|c| {
            c.model.architecture = arch;
            c.model.head_depth = 1;
            c.train.epochs = 12;
            c.train.patience = 2;
        });
        let settings = [
            (0, 0.003, 0.0, Loss::Ce, 0.2),
            (1, 0.01, 0.01, Loss::Bce, 0.0),
            (2, 0.001, 0.0, Loss::BceTask, 0.5),
            (3, 0.03, 0.001, Loss::Ce, 0.1),
            (4, 0.003, 0.0, Loss::Bce, 0.2),
        ];
        let configs: Vec<RunConfig> = settings
            .iter()
            .map(|&(seed, lr, wd, loss, dropout)| {
                let mut c = base.clone();
                c.seed = seed;
                c.train.lr = lr;
                c.train.weight_decay = wd;
                c.train.loss = loss;
                c.model.dropout = dropout;
                c
            })
            .collect();
        let fused = train_group(configs.iter().map(member).collect(), &d, &cpu());
        let mut epochs = std::collections::BTreeSet::new();
        for (c, f) in configs.iter().zip(fused) {
            let f = f.unwrap();
            let alone = run(c, &d);
            assert_eq!(f.fused, configs.len());
            assert_eq!(alone.fused, 1);
            assert_eq!(f.epochs_run, alone.epochs_run, "{arch:?} seed {}", c.seed);
            assert_eq!(f.best_epoch, alone.best_epoch);
            assert_eq!(f.flops, alone.flops);
            epochs.insert(f.epochs_run);
            let (a, b) = (test_probs(&f), test_probs(&alone));
            let differ = a
                .iter()
                .zip(&b)
                .filter(|(x, y)| x.to_bits() != y.to_bits())
                .count();
            assert_eq!(
                differ,
                0,
                "{arch:?} seed {}: {differ} of {} test probabilities differ, by up to {:e}",
                c.seed,
                a.len(),
                max_abs_diff(&a, &b)
            );
            let curve = |o: &RunOutput| -> Vec<u64> {
                o.curves.iter().map(|e| e.val_loss.to_bits()).collect()
            };
            assert_eq!(curve(&f), curve(&alone));
        }
        assert!(
            epochs.len() > 1,
            "{arch:?}: members should stop at different epochs: {epochs:?}"
        );
    }
}

/// f64 networks and the other optimisers fuse the same way.
#[test]
fn fusion_is_exact_in_f64_and_with_sgd_and_adamw() {
    for (optimizer, dtype) in [(Optimizer::Sgd, Dtype::F64), (Optimizer::Adamw, Dtype::F32)] {
        let (base, d) = config(|c| {
            c.model.dtype = dtype;
            c.train.optimizer = optimizer;
            c.train.momentum = 0.9;
            c.train.epochs = 4;
        });
        let configs: Vec<RunConfig> = [(5, 0.01, 0.0), (6, 0.02, 0.05)]
            .iter()
            .map(|&(seed, lr, wd)| {
                let mut c = base.clone();
                c.seed = seed;
                c.train.lr = lr;
                c.train.weight_decay = wd;
                c
            })
            .collect();
        let fused = train_group(configs.iter().map(member).collect(), &d, &cpu());
        for (c, f) in configs.iter().zip(fused) {
            assert_eq!(
                test_probs(&f.unwrap()),
                test_probs(&run(c, &d)),
                "{optimizer:?}"
            );
        }
    }
}

/// A member whose loss is not finite fails alone; one told to stop is
/// cancelled alone; the others finish as they would alone.
#[test]
fn a_failing_or_stopped_member_leaves_the_others_unchanged() {
    let (base, d) = config(|c| c.train.epochs = 5);
    let mut blow_up = base.clone();
    blow_up.train.lr = 1e30;
    blow_up.seed = 1;
    let mut keep = base.clone();
    keep.seed = 2;
    let stopped = Member {
        stop: Some(std::sync::Arc::new(|| true)),
        ..member(&base)
    };
    let out = train_group(vec![member(&blow_up), stopped, member(&keep)], &d, &cpu());
    let mut out = out.into_iter();
    // Adam's first step moves every weight by about the learning rate, so
    // the second batch's loss is the first that is not finite; the step's
    // values are read back after the epoch, and still name that batch.
    assert!(matches!(
        out.next().unwrap(),
        Err(TrainError::NonFinite {
            epoch: 1,
            batch: 2,
            ..
        })
    ));
    assert!(matches!(out.next().unwrap(), Err(TrainError::Cancelled)));
    assert_eq!(
        test_probs(&out.next().unwrap().unwrap()),
        test_probs(&run(&keep, &d))
    );
}

#[test]
fn runs_that_differ_in_shape_are_refused_as_a_group() {
    let (a, d) = config(|_| {});
    let (b, _) = config(|c| c.model.trunk = vec![8]);
    // A loss whose output layer has another width: K − 1 thresholds.
    let (corn, _) = config(|c| {
        c.train.loss = Loss::Corn;
        c.tasks[1].loss = Some(Loss::Ce);
    });
    for other in [b, corn] {
        let out = train_group(vec![member(&a), member(&other)], &d, &cpu());
        for r in out {
            let e = r.unwrap_err().to_string();
            assert!(e.contains("cannot train as one model"), "{e}");
        }
    }
}

/// FLOPs per sample for a known network, by hand: 60 inputs → 32 → heads
/// of 4 and 2 classes (multi_head, no tower).
#[test]
fn training_flops_follow_the_documented_count() {
    let (c, d) = config(|c| {
        c.model.architecture = Architecture::MultiHead;
        c.model.head_depth = 0;
        c.train.epochs = 2;
        c.train.patience = 0;
    });
    let out = run(&c, &d);
    let classes: Vec<usize> = d.tasks.iter().map(|t| t.classes.len()).collect();
    let first = 2.0 * 60.0 * 32.0;
    let heads: f64 = classes.iter().map(|&k| 2.0 * 32.0 * k as f64).sum();
    // The first layer: forward + weight gradient; the heads: forward +
    // weight gradient + input gradient.
    let per_sample = 2.0 * first + 3.0 * heads;
    let n_train = d.indices(Part::Train).len() as f64;
    assert_eq!(out.flops, per_sample * n_train * 2.0);
}

#[test]
fn shapes_whose_slices_are_misaligned_are_refused_as_a_group() {
    let (a, d) = config(|c| c.model.trunk = vec![33]);
    let mut b = a.clone();
    b.seed = 1;
    for r in train_group(vec![member(&a), member(&b)], &d, &cpu()) {
        let e = r.unwrap_err().to_string();
        assert!(e.contains("16-byte aligned"), "{e}");
    }
    // Alone, the same run trains.
    assert!(train(&a, &d, &TrainOptions::default()).is_ok());
}

/// Every task weighting trains fused exactly as alone, and records its task
/// weights and the gradient cosine each epoch.
#[test]
fn task_weightings_fuse_exactly_and_record_weights_and_cosines() {
    use headsweep_spec::TaskWeighting;
    for weighting in [
        TaskWeighting::Uncertainty,
        TaskWeighting::Dwa,
        TaskWeighting::Pcgrad,
        TaskWeighting::Gradnorm,
    ] {
        let (base, d) = config(|c| {
            c.train.epochs = 4;
            c.train.task_weighting = weighting;
        });
        let configs: Vec<RunConfig> = [(0, Loss::Ce), (1, Loss::Focal), (2, Loss::BceTask)]
            .iter()
            .map(|&(seed, loss)| {
                let mut c = base.clone();
                c.seed = seed;
                c.train.loss = loss;
                if seed == 0 {
                    c.train.class_weights = headsweep_spec::ClassWeighting::Balanced;
                    c.train.label_smoothing = 0.1;
                }
                c
            })
            .collect();
        let fused = train_group(configs.iter().map(member).collect(), &d, &cpu());
        for (c, f) in configs.iter().zip(fused) {
            let f = f.unwrap();
            let alone = run(c, &d);
            assert_eq!(
                test_probs(&f),
                test_probs(&alone),
                "{weighting:?} {:?}",
                c.train.loss
            );
            for e in &f.curves {
                assert_eq!(e.task_weights.len(), 2);
                assert!(e.task_weights.iter().all(|w| w.is_finite() && *w > 0.0));
                assert_eq!(e.grad_cosine.len(), 1, "one pair of tasks");
                assert!((-1.0..=1.0).contains(&e.grad_cosine[0]));
            }
            if weighting == TaskWeighting::Gradnorm {
                for e in &f.curves {
                    let sum: f64 = e.task_weights.iter().sum();
                    assert!((sum - 2.0).abs() < 1e-5, "GradNorm weights sum to 2: {sum}");
                }
                assert_ne!(
                    f.curves[3].task_weights,
                    vec![1.0, 1.0],
                    "GradNorm moves the weights"
                );
            }
            if weighting == TaskWeighting::Dwa {
                assert_eq!(f.curves[0].task_weights, vec![1.0, 1.0], "DWA starts at 1");
                let w = &f.curves[3].task_weights;
                assert!(
                    (w[0] + w[1] - 2.0).abs() < 1e-12,
                    "DWA weights sum to the task count"
                );
            }
        }
    }
    // Nothing shared: no cosine.
    let (c, d) = config(|c| {
        c.model.architecture = Architecture::Separate;
        c.train.epochs = 2;
    });
    assert!(run(&c, &d).curves.iter().all(|e| e.grad_cosine.is_empty()));
}

/// Uncertainty weighting on two binary tasks with known label noise. At
/// its optimum e^(s_t) = 2·L_t, so the learned σ_a/σ_b tends to
/// √(L_a/L_b), and a model that learns each rule leaves the Bayes loss —
/// the entropy H(ρ_t) of the flip rate — as L_t.
#[test]
fn uncertainty_weighting_recovers_the_noise_ratio() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let (n, p) = (4000, 6);
    let (flip_a, flip_b) = (0.05, 0.3);
    let mut features = String::from("id");
    for j in 0..p {
        features += &format!(",x{j}");
    }
    features += "\n";
    let mut labels = String::from("id,a,b\n");
    for i in 0..n {
        let x: Vec<f64> = (0..p).map(|_| rng.gen::<f64>() * 2.0 - 1.0).collect();
        features += &format!("s{i}");
        for v in &x {
            features += &format!(",{v}");
        }
        features += "\n";
        let flip = |y: bool, rho: f64, r: &mut rand_chacha::ChaCha8Rng| y ^ (r.gen::<f64>() < rho);
        let a = flip(x[0] > 0.0, flip_a, &mut rng) as u8;
        let b = flip(x[1] > 0.0, flip_b, &mut rng) as u8;
        labels += &format!("s{i},{a},{b}\n");
    }
    std::fs::write(dir.path().join("x.csv"), features).unwrap();
    std::fs::write(dir.path().join("y.csv"), labels).unwrap();
    let text = r#"
[sweep]
name = "u"
[data]
features = "x.csv"
labels = "y.csv"
split = { train = 0.8, val = 0.1, test = 0.1 }
[[tasks]]
name = "a"
[[tasks]]
name = "b"
[model]
trunk = [16]
dropout = 0.0
dtype = "f64"
[train]
loss = "ce"
epochs = 60
batch_size = 100
lr = 0.01
patience = 0
task_weighting = "uncertainty"
"#;
    let path = dir.path().join("u.toml");
    std::fs::write(&path, text).unwrap();
    let c = SweepFile::parse(&path, text).unwrap().first_run();
    let d = load(&c.data, &c.tasks).unwrap();
    let out = run(&c, &d);
    let w = &out.curves.last().unwrap().task_weights;
    // task weight e^(−s_t), so σ_a/σ_b = √(w_b / w_a).
    let learned = (w[1] / w[0]).sqrt();
    let h = |r: f64| -(r * r.ln() + (1.0 - r) * (1.0 - r).ln());
    let truth = (h(flip_a) / h(flip_b)).sqrt();
    println!("uncertainty: learned σ_a/σ_b {learned:.4}, true {truth:.4}");
    assert!(
        (learned / truth - 1.0).abs() < 0.15,
        "learned σ ratio {learned:.3}, true {truth:.3}, weights {w:?}"
    );
}

/// The age task (3 bins) with each ordinal and regression loss, sex with
/// cross-entropy: the age head learns, its outputs decode into
/// probabilities and a class, and regression reports its error.
#[test]
fn ordinal_and_regression_heads_learn_and_decode() {
    let (ce, d) = config(|c| c.train.epochs = 20);
    let ce_age = run(&ce, &d).split(Part::Test).heads[0]
        .metrics
        .clone()
        .unwrap();
    for loss in [Loss::Coral, Loss::Corn, Loss::Mse, Loss::Huber] {
        let (c, _) = config(|c| {
            c.train.epochs = 20;
            c.train.loss = loss;
            c.tasks[1].loss = Some(Loss::Ce);
        });
        let out = run(&c, &d);
        let test = out.split(Part::Test);
        let age = &test.heads[0];
        let m = age.metrics.as_ref().unwrap();
        assert!(
            m.accuracy > 0.6 && m.accuracy > ce_age.accuracy - 0.15,
            "{loss:?}: age accuracy {} (ce {})",
            m.accuracy,
            ce_age.accuracy
        );
        assert!(m.mae.unwrap() < 0.5, "{loss:?}: mae {:?}", m.mae);
        let n = test.ids.len();
        let width = age.raw.len() / n;
        assert_eq!(
            width,
            if matches!(loss, Loss::Mse | Loss::Huber) {
                1
            } else {
                2
            }
        );
        for (i, row) in age.predictions.probs.chunks(3).enumerate() {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            assert!(row.iter().all(|p| (0.0..=1.0).contains(p)));
            let predicted = age.predictions.predicted(i);
            match loss {
                // The rank: how many P(y > k) exceed ½.
                Loss::Coral | Loss::Corn => {
                    let z = &age.raw[i * 2..i * 2 + 2];
                    let s = |v: f64| 1.0 / (1.0 + (-v).exp());
                    let e = if loss == Loss::Coral {
                        [s(z[0]), s(z[1])]
                    } else {
                        [s(z[0]), s(z[0]) * s(z[1])]
                    };
                    assert_eq!(predicted, e.iter().filter(|&&p| p > 0.5).count());
                    assert!((row[0] - (1.0 - e[0])).abs() < 1e-9 || e[1] > e[0]);
                }
                // The bin of the predicted age, ends open.
                _ => {
                    let v = age.raw[i];
                    let bin = usize::from(v >= 30.0) + usize::from(v >= 60.0);
                    assert_eq!(predicted, bin, "age {v}");
                }
            }
        }
        let val = out.split(Part::Val);
        if matches!(loss, Loss::Mse | Loss::Huber) {
            let rmse = test.heads[0].rmse.unwrap();
            assert!(rmse > 0.0 && rmse < 30.0, "{loss:?}: rmse {rmse} years");
            // Every split's probabilities use the validation RMSE.
            let spread = val.heads[0].rmse.unwrap();
            for s in &out.splits {
                assert_eq!(s.heads[0].spread, Some(spread));
            }
        } else {
            assert_eq!((test.heads[0].rmse, test.heads[0].spread), (None, None));
        }
        assert_eq!(
            test.heads[1].raw.len(),
            n * 2,
            "sex keeps a logit per class"
        );
    }
}

/// CORAL's output layer: one weight column and K − 1 biases.
#[test]
fn a_coral_head_has_one_weight_column() {
    let (ce, d) = config(|c| c.train.epochs = 1);
    let (coral, _) = config(|c| {
        c.train.epochs = 1;
        c.train.loss = Loss::Coral;
        c.tasks[1].loss = Some(Loss::Ce);
    });
    // trunk 32 → age: 32·3 + 3 with ce, 32 + 2 with coral.
    assert_eq!(
        run(&ce, &d).parameters - run(&coral, &d).parameters,
        (32 * 3 + 3) - (32 + 2)
    );
}

/// Ordinal and regression losses fuse: runs whose output layers match
/// (coral with coral, corn with corn, mse with huber) train together with
/// every number equal to the run alone.
#[test]
fn ordinal_and_regression_losses_fuse_exactly() {
    for arch in [
        Architecture::MultiHead,
        Architecture::Separate,
        Architecture::MultiLabel,
    ] {
        for losses in [
            [Loss::Corn, Loss::Corn],
            [Loss::Mse, Loss::Huber],
            [Loss::Coral, Loss::Coral],
        ] {
            if arch == Architecture::MultiLabel && losses[0] == Loss::Coral {
                continue; // refused by validation
            }
            let configs: Vec<RunConfig> = losses
                .iter()
                .enumerate()
                .map(|(i, &loss)| {
                    config(|c| {
                        c.model.architecture = arch;
                        c.model.head_depth = 1;
                        c.train.epochs = 4;
                        c.seed = i as u64;
                        c.train.lr = [0.003, 0.01][i];
                        c.train.loss = loss;
                        c.tasks[1].loss = Some(Loss::Ce);
                        if i == 1 {
                            c.train.class_weights = headsweep_spec::ClassWeighting::Balanced;
                        }
                    })
                    .0
                })
                .collect();
            let d = config(|_| {}).1;
            let fused = train_group(configs.iter().map(member).collect(), &d, &cpu());
            for (c, f) in configs.iter().zip(fused) {
                let f = f.unwrap();
                let alone = run(c, &d);
                assert_eq!(f.fused, 2);
                assert_eq!(
                    test_probs(&f),
                    test_probs(&alone),
                    "{arch:?} {:?}",
                    c.train.loss
                );
                let raw = |o: &RunOutput| o.split(Part::Test).heads[0].raw.clone();
                assert_eq!(raw(&f), raw(&alone));
            }
        }
    }
}

/// A task ordered by name (`order`, no numbers): regression fits the class
/// index and decodes around it, thresholds work as with bins.
#[test]
fn an_ordered_task_without_numbers_regresses_its_class_index() {
    for loss in [Loss::Mse, Loss::Corn] {
        let (c, d) = config(|c| {
            c.train.epochs = 10;
            c.tasks[1].order = Some(vec!["F".into(), "M".into()]);
            c.tasks[1].loss = Some(loss);
        });
        assert!(d.tasks[1].ordered && d.tasks[1].edges.is_none());
        let out = run(&c, &d);
        let sex = &out.split(Part::Test).heads[1];
        let m = sex.metrics.as_ref().unwrap();
        assert!(m.accuracy > 0.85, "{loss:?}: sex accuracy {}", m.accuracy);
        assert!(m.mae.is_some(), "an ordered task gets ordinal metrics");
        if loss == Loss::Mse {
            // The value is on the index scale: the prediction is the index
            // it rounds to, 0.5 going up.
            for (i, v) in sex.raw.iter().enumerate() {
                assert_eq!(sex.predictions.predicted(i), usize::from(*v >= 0.5));
            }
            assert!(sex.rmse.unwrap() < 0.5);
        }
    }
}

/// Explain reloads a network whose heads have other widths (thresholds or
/// a value before sex's logits) and attributes each head: a class logit,
/// the expected class, the predicted value — the latter two without a class.
#[test]
fn explain_attributes_class_ordinal_and_regression_heads() {
    use headsweep_model::{explain, ClassChoice, ExplainOptions, Method, Reference};
    for (loss, what) in [
        (Loss::Coral, "expected class"),
        (Loss::Corn, "expected class"),
        (Loss::Huber, "predicted value"),
    ] {
        let (c, d) = config(|c| {
            c.train.epochs = 5;
            c.train.loss = loss;
            c.tasks[1].loss = Some(Loss::Ce);
        });
        let dir = tempfile::tempdir().unwrap();
        let weights = dir.path().join("best.safetensors");
        let opts = TrainOptions {
            weights: Some(weights.clone()),
            ..Default::default()
        };
        train(&c, &d, &opts).unwrap();
        let ask = |head: &str, class: ClassChoice| ExplainOptions {
            head: head.into(),
            class,
            method: Method::IntegratedGradients { steps: 64 },
            reference: Reference::Mean,
            device: tch::Device::Cpu,
        };
        let sex = explain(&c, &d, &weights, &ask("sex", ClassChoice::True)).unwrap();
        assert!(sex.target.contains("logit"), "{}", sex.target);
        let age = explain(&c, &d, &weights, &ask("age", ClassChoice::True)).unwrap();
        assert!(age.target.contains(what), "{loss:?}: {}", age.target);
        let (gap, scale) = age.completeness_gap.unwrap();
        assert!(gap < 0.05 * scale, "{loss:?}: gap {gap} of {scale}");
        // The generator's age CpGs drive the age head.
        let p = age.precision_at(10, "age").unwrap();
        assert!(p >= 0.5, "{loss:?}: precision@10 {p}");
        let e = explain(
            &c,
            &d,
            &weights,
            &ask("age", ClassChoice::Named("0".into())),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("does not apply") && e.contains(loss.name()),
            "{e}"
        );
    }
}

/// A disk that is full when the weights are written (a temporary file that
/// leads to /dev/full, whose writes fail with ENOSPC): the run reports the
/// path and the cause, and no partial file stays.
#[test]
fn weights_that_cannot_be_written_leave_no_partial_file() {
    if !std::path::Path::new("/dev/full").exists() {
        eprintln!("skipped: this system has no /dev/full");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("best.safetensors");
    let partial = dir.path().join("best.partial.safetensors");
    std::os::unix::fs::symlink("/dev/full", &partial).unwrap();
    let (c, d) = config(|c| c.train.epochs = 2);
    let opts = TrainOptions {
        weights: Some(weights.clone()),
        ..Default::default()
    };
    match train(&c, &d, &opts) {
        Err(TrainError::Save { path, source }) => {
            assert_eq!(path, weights);
            assert_eq!(source.kind(), std::io::ErrorKind::StorageFull, "{source}");
        }
        other => panic!("expected a save error, got {other:?}"),
    }
    assert!(!weights.exists());
    assert!(
        std::fs::symlink_metadata(&partial).is_err(),
        "the partial file is removed"
    );
}

/// Every number of a run that a continued run must reproduce, as bits.
fn fingerprint(o: &RunOutput) -> Vec<u64> {
    let mut v: Vec<u64> = test_probs(o).iter().map(|x| x.to_bits()).collect();
    for e in &o.curves {
        v.extend([e.train_loss, e.val_loss, e.monitor].map(f64::to_bits));
        v.extend(
            e.task_weights
                .iter()
                .chain(&e.grad_cosine)
                .map(|x| x.to_bits()),
        );
    }
    v.extend([
        o.best_epoch as u64,
        o.epochs_run as u64,
        o.stopped_early as u64,
    ]);
    v
}

/// A run continued from a shorter run's saved state gets, bit for bit, the
/// result it gets from scratch: across optimisers, element types, task
/// weightings and dropout, with members that early stopping ends before
/// the shorter run's last epoch, trained fused. The shorter run's state is
/// replaced by the longer run's, and a run counts only the epochs it
/// trained in its FLOPs.
#[test]
fn a_run_continued_from_a_saved_state_is_bit_identical_to_one_from_scratch() {
    use headsweep_spec::TaskWeighting;
    let cases = [
        (Optimizer::Adam, Dtype::F32, TaskWeighting::Fixed, 1),
        (Optimizer::Adam, Dtype::F32, TaskWeighting::Uncertainty, 0),
        (Optimizer::Adam, Dtype::F32, TaskWeighting::Dwa, 0),
        (Optimizer::Adam, Dtype::F32, TaskWeighting::Gradnorm, 2),
        (Optimizer::Adamw, Dtype::F32, TaskWeighting::Pcgrad, 0),
        (Optimizer::Sgd, Dtype::F64, TaskWeighting::Fixed, 1),
    ];
    let (short, long) = (3, 8);
    let (mut ended_early, mut ended_later) = (0, 0);
    for (optimizer, dtype, weighting, patience) in cases {
        let case = format!("{optimizer:?} {dtype:?} {weighting:?} patience {patience}");
        let (base, d) = config(|c| {
            c.model.dtype = dtype;
            c.train.optimizer = optimizer;
            c.train.task_weighting = weighting;
            c.train.patience = patience;
            c.train.epochs = long;
        });
        let configs: Vec<RunConfig> = [(0, 0.003, 0.2), (1, 0.05, 0.0), (2, 0.01, 0.5)]
            .iter()
            .map(|&(seed, lr, dropout)| {
                let mut c = base.clone();
                c.seed = seed;
                c.train.lr = lr;
                c.model.dropout = dropout;
                c
            })
            .collect();
        let dirs: Vec<tempfile::TempDir> = configs
            .iter()
            .map(|_| tempfile::tempdir().unwrap())
            .collect();
        let with = |c: &RunConfig, epochs: usize, dir: &tempfile::TempDir| {
            let mut c = c.clone();
            c.train.epochs = epochs;
            Member {
                checkpoints: Some(Checkpoints {
                    dir: dir.path().to_path_buf(),
                    save: true,
                }),
                ..member(&c)
            }
        };
        let first = train_group(
            configs
                .iter()
                .zip(&dirs)
                .map(|(c, d)| with(c, short, d))
                .collect(),
            &d,
            &cpu(),
        );
        assert!(first
            .iter()
            .all(|r| r.as_ref().is_ok_and(|o| o.resumed_epochs == 0)));
        let continued = train_group(
            configs
                .iter()
                .zip(&dirs)
                .map(|(c, d)| with(c, long, d))
                .collect(),
            &d,
            &cpu(),
        );
        for ((c, cont), dir) in configs.iter().zip(continued).zip(&dirs) {
            let cont = cont.unwrap();
            let scratch = run(c, &d);
            assert_eq!(scratch.resumed_epochs, 0);
            let (a, b) = (fingerprint(&cont), fingerprint(&scratch));
            let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
            assert!(
                a.len() == b.len() && differ == 0,
                "{case}, seed {}: {differ} of {} numbers differ",
                c.seed,
                b.len()
            );
            if scratch.epochs_run <= short {
                ended_early += 1;
                assert_eq!(cont.flops, 0.0, "{case}: ended before the state was saved");
            } else {
                ended_later += usize::from(scratch.stopped_early);
                assert_eq!(cont.resumed_epochs, short, "{case}");
                let per_epoch = scratch.flops / scratch.epochs_run as f64;
                assert_eq!(cont.flops, per_epoch * (scratch.epochs_run - short) as f64);
            }
            let files: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            assert_eq!(files, [format!("epochs-{long}.safetensors")], "{case}");
        }
    }
    assert!(
        ended_early > 0 && ended_later > 0,
        "early stopping should end some member by epoch {short} ({ended_early}) and some after ({ended_later})"
    );
}

/// Members of one group that continue from different epochs, or from none,
/// each get their result from scratch; a state that does not fit (another
/// configuration's, or not a state at all) is passed over.
#[test]
fn states_that_differ_or_do_not_fit_still_give_the_result_from_scratch() {
    let (base, d) = config(|c| {
        c.train.epochs = 6;
        c.train.patience = 0;
    });
    let dirs: Vec<tempfile::TempDir> = (0..5).map(|_| tempfile::tempdir().unwrap()).collect();
    let configs: Vec<RunConfig> = (0..5)
        .map(|seed| RunConfig {
            seed,
            ..base.clone()
        })
        .collect();
    let at = |c: &RunConfig, epochs: usize, dir: &tempfile::TempDir, save: bool| {
        let mut c = c.clone();
        c.train.epochs = epochs;
        Member {
            checkpoints: Some(Checkpoints {
                dir: dir.path().to_path_buf(),
                save,
            }),
            ..member(&c)
        }
    };
    // Seed 0 saved at 2 epochs, seed 1 at 4; seed 2's folder holds seed 3's
    // state; seed 3's a file that is not one; seed 4's a state with a part
    // missing.
    train_group(vec![at(&configs[0], 2, &dirs[0], true)], &d, &cpu());
    train_group(vec![at(&configs[1], 4, &dirs[1], true)], &d, &cpu());
    train_group(vec![at(&configs[3], 2, &dirs[2], true)], &d, &cpu());
    std::fs::write(dirs[3].path().join("epochs-3.safetensors"), b"not a state").unwrap();
    // Seed 4's own state, its weights taken out.
    train_group(vec![at(&configs[4], 2, &dirs[4], true)], &d, &cpu());
    let path = dirs[4].path().join("epochs-2.safetensors");
    let mut kept = tch::Tensor::read_safetensors(&path).unwrap();
    kept.retain(|(name, _)| !name.starts_with("weights."));
    tch::Tensor::write_safetensors(&kept, &path).unwrap();
    let out = train_group(
        configs
            .iter()
            .zip(&dirs)
            .map(|(c, dir)| at(c, 6, dir, false))
            .collect(),
        &d,
        &cpu(),
    );
    let resumed: Vec<usize> = out
        .iter()
        .map(|o| o.as_ref().unwrap().resumed_epochs)
        .collect();
    assert_eq!(resumed, [2, 4, 0, 0, 0]);
    for (c, o) in configs.iter().zip(out) {
        assert_eq!(
            fingerprint(&o.unwrap()),
            fingerprint(&run(c, &d)),
            "seed {}",
            c.seed
        );
    }
    // Not asked to save: the states stay as they were.
    assert!(dirs[0].path().join("epochs-2.safetensors").exists());
}
