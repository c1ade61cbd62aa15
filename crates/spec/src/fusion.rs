//! Which runs can train together as one fused model.
//!
//! Runs fuse when their networks have the same layer shapes and they step
//! through the same data in lockstep: same data and split, tasks, layers,
//! activation, dtype, optimiser, task weighting, epochs and batch size.
//! What only changes
//! the numbers inside — seed, learning rate, weight decay, momentum, loss
//! (with its focal γ, label smoothing and class weights) as long as each
//! task's output layer keeps its shape, DWA temperature,
//! dropout rate, patience and the monitored quantity — may differ between
//! members.

use serde::Serialize;

use crate::RunConfig;

#[derive(Serialize)]
struct Shape<'a> {
    data: &'a crate::DataConfig,
    tasks: &'a [crate::TaskConfig],
    /// Each task's output layer, which the loss decides.
    outputs: Vec<crate::Output>,
    architecture: crate::Architecture,
    trunk: &'a [usize],
    head_depth: usize,
    head_width: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<usize>,
    activation: crate::Activation,
    dtype: crate::Dtype,
    optimizer: crate::Optimizer,
    task_weighting: crate::TaskWeighting,
    epochs: usize,
    batch_size: usize,
}

/// Runs with equal keys can be trained as one fused model (64 hex digits).
pub fn fusion_key(c: &RunConfig) -> String {
    let m = &c.model;
    let shape = Shape {
        data: &c.data,
        tasks: &c.tasks,
        outputs: c
            .tasks
            .iter()
            .map(|t| c.train.task_loss(t).output())
            .collect(),
        architecture: m.architecture,
        trunk: &m.trunk,
        head_depth: m.head_depth,
        head_width: m.head_width,
        params: m.params,
        activation: m.activation,
        dtype: m.dtype,
        optimizer: c.train.optimizer,
        task_weighting: c.train.task_weighting,
        epochs: c.train.epochs,
        batch_size: c.train.batch_size,
    };
    let json = serde_json::to_string(&shape).expect("configurations serialise");
    blake3::hash(json.as_bytes()).to_hex().to_string()
}

/// Why `c` cannot train fused with any other run (empty when it can).
///
/// A fused run must give the numbers it gives alone, and MKL's matrix
/// multiply rounds differently into an output that does not start on a
/// 16-byte boundary. Each member's slice of a weight gradient `[in, out]`
/// starts at a multiple of `in·out` elements, so every layer needs `in·out`
/// to be a multiple of 4 (f32) or 2 (f64) elements. Hidden widths that are
/// multiples of that make every layer so; a network without hidden layers
/// has the one shape features × classes, known only from the data.
pub fn fusion_blockers(c: &RunConfig) -> Vec<String> {
    let m = &c.model;
    let unit = match m.dtype {
        crate::Dtype::F32 => 4,
        crate::Dtype::F64 => 2,
    };
    let mut widths: Vec<(&str, usize)> = m.trunk.iter().map(|&w| ("model.trunk", w)).collect();
    if m.head_depth > 0 {
        widths.push(("model.head_width", m.head_width));
    }
    if widths.is_empty() {
        return vec![
            "the network has no hidden layer (empty model.trunk and model.head_depth = 0), so its layer's shape comes from the data and may not split into 16-byte aligned slices".into(),
        ];
    }
    widths
        .iter()
        .filter(|(_, w)| w % unit != 0)
        .map(|(key, w)| {
            format!(
                "{key} has width {w}, not a multiple of {unit}: fused runs' slices would not be 16-byte aligned and would round differently from the run alone"
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RunConfig {
        let text = r#"
            [sweep]
            name = "f"
            [data]
            synthetic = { preset = "methylation", samples = 100, features = 20 }
            [[tasks]]
            name = "sex"
            column = "sex"
            [model]
            trunk = [8]
        "#;
        crate::SweepFile::parse(std::path::Path::new("f.toml"), text)
            .expect("valid")
            .points[0]
            .config
            .clone()
    }

    #[test]
    fn values_inside_the_network_do_not_change_the_key() {
        let a = config();
        let mut b = a.clone();
        b.seed = 7;
        b.train.lr = 0.5;
        b.train.weight_decay = 0.1;
        b.train.loss = crate::Loss::Bce;
        b.model.dropout = 0.3;
        b.train.patience = 3;
        assert_eq!(fusion_key(&a), fusion_key(&b));
    }

    #[test]
    fn widths_that_break_alignment_block_fusion() {
        let mut c = config();
        assert!(fusion_blockers(&c).is_empty());
        c.model.trunk = vec![8, 33];
        let b = fusion_blockers(&c);
        assert_eq!(b.len(), 1);
        assert!(b[0].contains("model.trunk has width 33"), "{b:?}");
        c.model.dtype = crate::Dtype::F64;
        c.model.trunk = vec![6];
        assert!(fusion_blockers(&c).is_empty());
        c.model.trunk = vec![];
        assert!(fusion_blockers(&c)[0].contains("no hidden layer"));
    }

    #[test]
    fn shapes_and_schedules_change_the_key() {
        let a = config();
        let changes: [fn(&mut RunConfig); 8] = [
            |c| c.train.loss = crate::Loss::Corn,
            |c| c.train.loss = crate::Loss::Mse,
            |c| c.model.trunk = vec![16],
            |c| c.model.head_depth = 2,
            |c| c.train.batch_size = 7,
            |c| c.train.epochs = 3,
            |c| c.data.seed = 9,
            |c| c.train.optimizer = crate::Optimizer::Sgd,
        ];
        for change in changes {
            let mut b = a.clone();
            change(&mut b);
            assert_ne!(fusion_key(&a), fusion_key(&b));
        }
    }
}
