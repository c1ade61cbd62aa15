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

/// Per member, the cosine between each pair of tasks' loss gradients on
/// the parameters marked in `shared` (the last shared layer: the gradient
/// stops there, so measuring costs little beyond a forward pass), on up to
/// [`COSINE_ROWS`] validation samples.
pub(crate) fn grad_cosines(
    net: &Net,
    val: &SplitInput,
    specs: &[&LossSpec],
    shared: &[bool],
) -> Result<Vec<Vec<f64>>, TrainError> {
    let tasks = specs[0].tasks.len();
    if tasks < 2 || !shared.iter().any(|&s| s) || val.ids.is_empty() {
        return Ok(Vec::new());
    }
    let real = val.ids.len().min(COSINE_ROWS) as i64;
    let rows = padded(real as usize) as i64;
    let k = specs.len() as i64;
    let logits = net.forward(&val.x.narrow(0, 0, rows), None);
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
    let ml = loss::compute_members(specs, &logits, &targets)?;
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
