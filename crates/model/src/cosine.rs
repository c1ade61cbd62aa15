//! The per-epoch gradient cosine between tasks: whether two heads pull the
//! shared layers the same way.

use tch::Tensor;

use crate::batch::{padded, SplitInput};
use crate::eval::tensor_to_vec;
use crate::loss::{self, LossSpec, Targets};
use crate::net::Net;
use crate::weighting::dot;
use crate::TrainError;

/// Validation samples the gradient cosine is measured on.
pub const COSINE_ROWS: usize = 256;

/// Whether [`grad_cosines`] has anything to measure: two tasks or more,
/// a shared layer, and validation samples.
pub(crate) fn measured(specs: &[&LossSpec], shared: &[bool], val: &SplitInput) -> bool {
    specs[0].tasks.len() >= 2 && shared.iter().any(|&s| s) && !val.ids.is_empty()
}

/// Per member, the cosine between each pair of tasks' loss gradients on
/// the parameters marked in `shared` (the last shared layer), on up to
/// [`COSINE_ROWS`] validation samples. `pass` is the validation pass's
/// [`crate::eval::forward`], taken with its graph: the pass that gives the
/// epoch's validation metrics serves here too (its rows past the first
/// [`COSINE_ROWS`] take no part). Without one, the cosine makes a forward
/// pass of its own over those rows. The gradient stops at the last shared
/// layer, so measuring costs a backward pass through the heads.
pub(crate) fn grad_cosines(
    net: &Net,
    pass: Option<&Tensor>,
    val: &SplitInput,
    specs: &[&LossSpec],
    shared: &[bool],
) -> Result<Vec<Vec<f64>>, TrainError> {
    if !measured(specs, shared, val) {
        return Ok(Vec::new());
    }
    let tasks = specs[0].tasks.len();
    let real = val.ids.len().min(COSINE_ROWS);
    let own;
    let logits = match pass {
        Some(logits) => logits,
        None => {
            own = net.forward(&val.x.narrow(0, 0, padded(real) as i64), None);
            &own
        }
    };
    let real = real as i64;
    let rows = logits.size()[1];
    let k = specs.len() as i64;
    let t = val.targets.narrow(rows);
    // Rows past the first `real` are other samples or padding: unlabelled here.
    let keep = Tensor::arange(rows, (tch::Kind::Int64, logits.device()))
        .lt(real)
        .to_kind(t.mask.kind())
        .unsqueeze(1);
    let targets = Targets {
        labels: t.labels.shallow_clone(),
        onehot: t.onehot.shallow_clone(),
        mask: &t.mask * keep,
        values: t.values.shallow_clone(),
    }
    .expand(k);
    let ml = loss::compute_members(specs, logits, &targets)?;
    let params: Vec<&Tensor> = net
        .parameters()
        .into_iter()
        .zip(shared)
        .filter(|(_, &s)| s)
        .map(|(p, _)| p)
        .collect();
    let all = vec![true; params.len()];
    let mut grads = Vec::with_capacity(tasks);
    for (i, term) in ml.terms.iter().enumerate() {
        grads.push(Tensor::f_run_backward(
            &[term.sum(term.kind())],
            &params,
            i + 1 < tasks,
            false,
        )?);
    }
    let mut per_pair = Vec::new();
    for i in 0..tasks {
        for j in i + 1..tasks {
            let d = dot(&grads[i], &grads[j], &all);
            let n = (dot(&grads[i], &grads[i], &all) * dot(&grads[j], &grads[j], &all)).sqrt();
            per_pair.push(tensor_to_vec(&(d / n.clamp_min(1e-30)))?);
        }
    }
    Ok((0..k as usize)
        .map(|m| per_pair.iter().map(|p| p[m]).collect())
        .collect())
}

#[cfg(test)]
mod tests {
    use headsweep_data::{load, Part};
    use headsweep_spec::SweepFile;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use tch::Device;

    use super::*;
    use crate::eval::{evaluate, forward, outputs};
    use crate::loss::loss_spec;

    // 2000 samples: 300 in validation, more than the cosine reads.
    const SWEEP: &str = r#"
[sweep]
name = "t"
[data]
synthetic = { preset = "methylation", samples = 2000, features = 20 }
[[tasks]]
name = "age"
bins = [0, 30, 60, 90]
[[tasks]]
name = "sex"
[model]
architecture = "multi_head"
trunk = [16]
head_width = 8
head_depth = 1
"#;

    #[test]
    fn the_validation_pass_gives_the_metrics_and_the_cosine_of_the_first_rows() {
        let c = SweepFile::parse(std::path::Path::new("t.toml"), SWEEP)
            .unwrap()
            .first_run();
        let data = load(&c.data, &c.tasks).unwrap();
        let spec = loss_spec(&c, &data).unwrap();
        let names: Vec<String> = data.tasks.iter().map(|t| t.name.clone()).collect();
        let mut rngs: Vec<ChaCha8Rng> = (0..2).map(ChaCha8Rng::seed_from_u64).collect();
        let net = Net::new(
            &c.model,
            data.n_features(),
            &spec.heads(),
            &names,
            Device::Cpu,
            &mut rngs,
            &[0.0, 0.0],
        );
        let val = SplitInput::new(&data, Part::Val, &net, Device::Cpu);
        assert!(
            val.ids.len() > COSINE_ROWS,
            "{} validation samples",
            val.ids.len()
        );
        let specs = vec![&spec, &spec];
        let shared = net.last_shared_mask();
        assert!(measured(&specs, &shared, &val));

        let logits = forward(&net, &val);
        // Kept with its graph, the pass gives the numbers a pass without one does.
        let with = outputs(&net, &logits, &val, &specs, &data.tasks, None).unwrap();
        let without = evaluate(&net, &val, &specs, &data.tasks, None).unwrap();
        for (a, b) in with.iter().zip(&without) {
            assert_eq!(a.loss.to_bits(), b.loss.to_bits());
            for (ha, hb) in a.heads.iter().zip(&b.heads) {
                assert_eq!(ha.raw, hb.raw);
                assert_eq!(ha.predictions.probs, hb.predictions.probs);
            }
        }

        // The cosine from the whole pass is the cosine from its own pass
        // over the first COSINE_ROWS rows: the rows after them take no part.
        let got = grad_cosines(&net, Some(&logits), &val, &specs, &shared).unwrap();
        let want = grad_cosines(&net, None, &val, &specs, &shared).unwrap();
        assert_eq!(got.len(), 2, "a cosine list per member");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.len(), 1, "one pair of tasks");
            assert!((g[0] - w[0]).abs() < 1e-5, "{g:?} vs {w:?}");
            assert!((-1.0..=1.0).contains(&g[0]) && g[0] != 0.0);
        }
        // Two members with their own weights measure their own cosines.
        assert_ne!(got[0][0], got[1][0]);
    }
}
