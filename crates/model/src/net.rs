//! The three architectures as one structure: shared layers, then branches,
//! each branch ending in an output layer that serves one or more tasks —
//! for `K` members (runs) at once.
//!
//! - `multi_label`: shared = trunk + head_depth dense layers; one branch
//!   whose output layer spans every class of every task.
//! - `multi_head`: shared = trunk; one branch per task, a tower of
//!   head_depth dense layers then its output layer.
//! - `separate`: nothing shared; one branch per task holding its own trunk
//!   and tower.
//!
//! Every layer holds its members' weights stacked, `W` as `[K, in, out]` and
//! `b` as `[K, 1, out]`, and computes `b + x·W` with one batched matrix
//! multiply. A single run is a network of one member, so a run trained alone
//! and the same run trained beside others go through the same operations;
//! batched-matmul slices equal plain matrix products bit for bit on CPU
//! (tested in `train.rs`), so its numbers do not depend on its neighbours.
//!
//! `W` is `[in, out]` per member, so the single output layer of
//! `multi_label` is literally the per-task output layers stacked
//! column-wise, and initialising it block by block from the same random
//! stream gives the same initial function as `multi_head`.
//!
//! A task's output layer is as wide as its loss needs ([`Head`]): one
//! logit per class, K − 1 threshold logits, or one value. CORAL's K − 1
//! thresholds share one weight column, so its layer holds `W` as
//! `[K, in, 1]` and `b` as `[K, 1, K − 1]`, and `x·W + b` broadcasts.

use headsweep_spec::{Activation, Architecture, Dtype, ModelConfig, Output};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

use crate::init;
use crate::WeightsError;

/// One dense layer of every member.
pub(crate) struct Layer {
    /// Saved-weights name, e.g. `trunk.0` or `age.out`.
    name: String,
    pub(crate) w: Tensor,
    pub(crate) b: Tensor,
}

impl Layer {
    /// A layer of one weight column (a regression output, or CORAL's column
    /// shared by its K − 1 biases, which the sum broadcasts to) multiplies
    /// and sums instead of calling a batched product: MKL's batched product
    /// with one output column rounds differently for several members than
    /// for one, and a fused run must give the numbers it gives alone.
    fn forward(&self, x: &Tensor) -> Tensor {
        if self.w.size()[2] == 1 {
            (x * self.w.transpose(1, 2)).sum_dim_intlist(&[2i64][..], true, self.kind()) + &self.b
        } else {
            self.b.baddbmm(x, &self.w, 1.0, 1.0)
        }
    }

    fn kind(&self) -> Kind {
        self.w.kind()
    }

    fn fan(&self) -> (usize, usize) {
        let s = self.w.size();
        (s[1] as usize, s[2] as usize)
    }

    /// Parameters of one member.
    fn size(&self) -> usize {
        let per = |t: &Tensor| t.size()[1..].iter().product::<i64>() as usize;
        per(&self.w) + per(&self.b)
    }
}

/// One task's output layer: what its loss reads, and the task's classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub output: Output,
    pub classes: usize,
}

impl Head {
    /// One logit per class.
    pub fn logits(classes: usize) -> Head {
        Head {
            output: Output::Classes,
            classes,
        }
    }

    /// Outputs of the layer.
    pub fn width(&self) -> usize {
        self.output.width(self.classes)
    }
}

struct Branch {
    hidden: Vec<usize>,
    out: usize,
}

/// A network of `K` members and their parameters.
pub struct Net {
    layers: Vec<Layer>,
    shared: Vec<usize>,
    branches: Vec<Branch>,
    activation: Activation,
    /// Each member's dropout rate.
    dropout: Vec<f64>,
    kind: Kind,
    device: Device,
    /// Each task's output layer, in task order; outputs are concatenated so.
    pub heads: Vec<Head>,
}

pub fn kind_of(dtype: Dtype) -> Kind {
    match dtype {
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
    }
}

/// Per member, values `[in, out]` (row-major) and `[out]`.
type Draws = Vec<(Vec<f64>, Vec<f64>)>;

/// Stacks each member's values into one trainable layer.
fn layer(
    name: String,
    draws: Draws,
    fan_in: usize,
    fan_out: usize,
    kind: Kind,
    device: Device,
) -> Layer {
    let k = draws.len() as i64;
    let (mut w, mut b) = (
        Vec::with_capacity(draws.len() * fan_in * fan_out),
        Vec::with_capacity(draws.len() * fan_out),
    );
    for (dw, db) in draws {
        w.extend(dw);
        b.extend(db);
    }
    Layer {
        name,
        w: init::tensor(&w, &[k, fan_in as i64, fan_out as i64], kind, device)
            .set_requires_grad(true),
        b: init::tensor(&b, &[k, 1, fan_out as i64], kind, device).set_requires_grad(true),
    }
}

/// A CORAL output layer of `thresholds` biases after an input of `fan_in`:
/// one weight column drawn like a one-output layer, and biases
/// (K − 1 − k)/(K − 1) for threshold k, decreasing as P(y > k) must
/// (coral-pytorch's starting point).
fn coral_layer(
    name: String,
    rngs: &mut [ChaCha8Rng],
    fan_in: usize,
    thresholds: usize,
    kind: Kind,
    device: Device,
) -> Layer {
    let bias: Vec<f64> = (0..thresholds)
        .map(|k| (thresholds - k) as f64 / thresholds as f64)
        .collect();
    let draws: Draws = rngs
        .iter_mut()
        .map(|r| (init::linear(r, fan_in, 1).0, bias.clone()))
        .collect();
    let k = draws.len() as i64;
    let w: Vec<f64> = draws.iter().flat_map(|d| d.0.iter().copied()).collect();
    let b: Vec<f64> = draws.iter().flat_map(|d| d.1.iter().copied()).collect();
    Layer {
        name,
        w: init::tensor(&w, &[k, fan_in as i64, 1], kind, device).set_requires_grad(true),
        b: init::tensor(&b, &[k, 1, thresholds as i64], kind, device).set_requires_grad(true),
    }
}

/// Layers `name.0`, `name.1`, … of `widths` after an input of `width`,
/// each member's values drawn from its own generator.
fn stack(
    layers: &mut Vec<Layer>,
    name: &str,
    rngs: &mut [ChaCha8Rng],
    mut width: usize,
    widths: &[usize],
    kind: Kind,
    device: Device,
) -> (Vec<usize>, usize) {
    let mut ids = Vec::new();
    for (i, &w) in widths.iter().enumerate() {
        let draws = rngs.iter_mut().map(|r| init::linear(r, width, w)).collect();
        layers.push(layer(format!("{name}.{i}"), draws, width, w, kind, device));
        ids.push(layers.len() - 1);
        width = w;
    }
    (ids, width)
}

impl Net {
    /// Builds the network of `model` for `inputs` features and tasks with
    /// output layers `heads`, with one member per generator, drawing each
    /// member's initial values from its own generator in the order a
    /// network of one would. `dropout` is each member's rate.
    pub fn new(
        model: &ModelConfig,
        inputs: usize,
        heads: &[Head],
        task_names: &[String],
        device: Device,
        rngs: &mut [ChaCha8Rng],
        dropout: &[f64],
    ) -> Net {
        assert_eq!(rngs.len(), dropout.len(), "a dropout rate per member");
        let kind = kind_of(model.dtype);
        let mut layers = Vec::new();
        let tower = vec![model.head_width; model.head_depth];
        let (shared, branches) = match model.architecture {
            Architecture::MultiLabel => {
                let widths: Vec<usize> = model.trunk.iter().copied().chain(tower).collect();
                let (shared, width) =
                    stack(&mut layers, "trunk", rngs, inputs, &widths, kind, device);
                // Block by block, in task order, then stacked column-wise.
                let draws = rngs
                    .iter_mut()
                    .map(|rng| {
                        let (mut w, mut b) = (vec![Vec::new(); width], Vec::new());
                        for head in heads {
                            assert!(
                                head.output != Output::SharedThresholds,
                                "multi_label has no output layer of a task's own (refused by validation)"
                            );
                            let k = head.width();
                            let (wt, bt) = init::linear(rng, width, k);
                            for (row, chunk) in w.iter_mut().zip(wt.chunks(k)) {
                                row.extend_from_slice(chunk);
                            }
                            b.extend(bt);
                        }
                        (w.concat(), b)
                    })
                    .collect();
                let total: usize = heads.iter().map(Head::width).sum();
                layers.push(layer("head.out".into(), draws, width, total, kind, device));
                let out = layers.len() - 1;
                (
                    shared,
                    vec![Branch {
                        hidden: Vec::new(),
                        out,
                    }],
                )
            }
            Architecture::MultiHead | Architecture::Separate => {
                let separate = model.architecture == Architecture::Separate;
                let (shared, width) = if separate {
                    (Vec::new(), inputs)
                } else {
                    stack(
                        &mut layers,
                        "trunk",
                        rngs,
                        inputs,
                        &model.trunk,
                        kind,
                        device,
                    )
                };
                let widths: Vec<usize> = if separate {
                    model.trunk.iter().copied().chain(tower).collect()
                } else {
                    tower
                };
                let part = if separate { "net" } else { "tower" };
                // Task by task: a member's draws follow the order of a
                // network of one (each tower, then its output layer).
                let mut branches = Vec::new();
                for (head, name) in heads.iter().zip(task_names) {
                    let (hidden, w) = stack(
                        &mut layers,
                        &format!("{name}.{part}"),
                        rngs,
                        width,
                        &widths,
                        kind,
                        device,
                    );
                    let out = format!("{name}.out");
                    layers.push(if head.output == Output::SharedThresholds {
                        coral_layer(out, rngs, w, head.width(), kind, device)
                    } else {
                        let k = head.width();
                        let draws = rngs.iter_mut().map(|r| init::linear(r, w, k)).collect();
                        layer(out, draws, w, k, kind, device)
                    });
                    branches.push(Branch {
                        hidden,
                        out: layers.len() - 1,
                    });
                }
                (shared, branches)
            }
        };
        Net {
            layers,
            shared,
            branches,
            activation: model.activation,
            dropout: dropout.to_vec(),
            kind,
            device,
            heads: heads.to_vec(),
        }
    }

    /// Outputs of every task together.
    pub fn width(&self) -> usize {
        self.heads.iter().map(Head::width).sum()
    }

    /// A network of one member.
    pub fn single(
        model: &ModelConfig,
        inputs: usize,
        heads: &[Head],
        task_names: &[String],
        device: Device,
        rng: &mut ChaCha8Rng,
    ) -> Net {
        let mut rngs = [rng.clone()];
        let net = Net::new(
            model,
            inputs,
            heads,
            task_names,
            device,
            &mut rngs,
            &[model.dropout],
        );
        *rng = rngs[0].clone();
        net
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// How many members the network holds.
    pub fn members(&self) -> usize {
        self.layers.first().map_or(0, |l| l.w.size()[0] as usize)
    }

    /// Trainable parameters of one member.
    pub fn parameter_count(&self) -> usize {
        self.layers.iter().map(Layer::size).sum()
    }

    /// A layer whose members' weight-gradient slices would not all start on
    /// a 16-byte boundary (see `headsweep_spec::fusion_blockers`).
    pub fn misaligned_layer(&self) -> Option<String> {
        let bytes = self.kind.elt_size_in_bytes();
        self.layers.iter().find_map(|l| {
            let (i, o) = l.fan();
            (!(i * o * bytes).is_multiple_of(16)).then(|| format!("layer {} is {i} × {o}", l.name))
        })
    }

    /// Every stacked parameter tensor, weights and biases layer by layer.
    pub(crate) fn parameters(&self) -> Vec<&Tensor> {
        self.layers.iter().flat_map(|l| [&l.w, &l.b]).collect()
    }

    /// Whether each of [`Net::parameters`] belongs to the last shared layer
    /// (the layer closest to the heads that every task's loss reaches).
    pub(crate) fn last_shared_mask(&self) -> Vec<bool> {
        let last = self.shared.last().copied();
        (0..self.layers.len())
            .flat_map(|i| [Some(i) == last, Some(i) == last])
            .collect()
    }

    /// Bytes of every layer's outputs for `rows` rows of every member: what a
    /// forward pass kept for its backward pass holds beyond the weights.
    pub(crate) fn activation_bytes(&self, rows: usize) -> usize {
        let widths: usize = self.layers.iter().map(|l| l.fan().1).sum();
        widths * rows * self.members() * self.kind.elt_size_in_bytes()
    }

    /// Whether each of [`Net::parameters`] belongs to the shared layers
    /// (every task's loss reaches it) rather than to one branch.
    pub(crate) fn shared_mask(&self) -> Vec<bool> {
        (0..self.layers.len())
            .flat_map(|i| {
                let shared = self.shared.contains(&i);
                [shared, shared]
            })
            .collect()
    }

    /// Training FLOPs of one sample's forward and backward pass: each dense
    /// layer costs 2·in·out forward and twice that backward (gradients of
    /// its weights and of its input), except that no gradient is computed
    /// for the data itself, so the layers that read the input save 2·in·out.
    pub fn train_flops_per_sample(&self) -> f64 {
        let first: Vec<usize> = match self.shared.first() {
            Some(&l) => vec![l],
            None => self
                .branches
                .iter()
                .map(|b| *b.hidden.first().unwrap_or(&b.out))
                .collect(),
        };
        self.layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let (a, b) = l.fan();
                let mm = 2.0 * a as f64 * b as f64;
                if first.contains(&i) {
                    2.0 * mm
                } else {
                    3.0 * mm
                }
            })
            .sum()
    }

    fn hidden(
        &self,
        layer: usize,
        x: &Tensor,
        masks: &mut Option<(&mut [ChaCha8Rng], usize)>,
    ) -> Tensor {
        let h = self.layers[layer].forward(x);
        let h = match self.activation {
            Activation::Relu => h.relu(),
            Activation::Gelu => h.gelu("none"),
            Activation::Tanh => h.tanh(),
            Activation::Silu => h.silu(),
        };
        match masks {
            Some((rngs, rows)) if self.dropout.iter().any(|&p| p > 0.0) => {
                let s = h.size();
                let (rows, all, cols) = (*rows, s[1] as usize, s[2] as usize);
                let masks: Vec<Tensor> = rngs
                    .iter_mut()
                    .zip(&self.dropout)
                    .map(|(rng, &p)| {
                        let ones = |r: usize| {
                            Tensor::ones([r as i64, cols as i64], (self.kind, self.device))
                        };
                        if p == 0.0 {
                            return ones(all);
                        }
                        let mask = init::dropout_mask(rng, rows, cols, p, self.kind, self.device);
                        if all > rows {
                            Tensor::cat(&[mask, ones(all - rows)], 0)
                        } else {
                            mask
                        }
                    })
                    .collect();
                h * Tensor::stack(&masks, 0)
            }
            _ => h,
        }
    }

    /// Raw outputs `[K, rows, Σ widths]`, tasks concatenated in
    /// order. `x` is `[rows, in]` (every member sees the same rows) or
    /// `[K, rows, in]`. With `dropout` (training; one generator per
    /// member, and how many leading rows are real rather than padding),
    /// each member's masks are drawn from its generator in the order a
    /// network of one draws them: shared layers first, then each branch's
    /// layers in order, for the real rows only. A member whose rate is 0
    /// draws nothing.
    pub fn forward(&self, x: &Tensor, mut dropout: Option<(&mut [ChaCha8Rng], usize)>) -> Tensor {
        let k = self.members() as i64;
        let mut h = if x.dim() == 2 {
            x.unsqueeze(0).expand([k, -1, -1], false)
        } else {
            x.shallow_clone()
        };
        for &l in &self.shared {
            h = self.hidden(l, &h, &mut dropout);
        }
        let outs: Vec<Tensor> = self
            .branches
            .iter()
            .map(|b| {
                let mut g = h.shallow_clone();
                for &l in &b.hidden {
                    g = self.hidden(l, &g, &mut dropout);
                }
                self.layers[b.out].forward(&g)
            })
            .collect();
        if outs.len() == 1 {
            outs.into_iter().next().expect("one branch")
        } else {
            Tensor::cat(&outs, 2)
        }
    }

    /// Raw outputs `[rows, Σ widths]` of a network of one member.
    pub fn forward_one(&self, x: &Tensor) -> Tensor {
        assert_eq!(self.members(), 1, "forward_one needs a network of one");
        self.forward(x, None).squeeze_dim(0)
    }

    /// Member `k`'s parameters by name (`trunk.0.weight`, `age.out.bias`,
    /// …), each `[in, out]` or `[out]`, detached copies.
    pub fn member(&self, k: usize) -> Vec<(String, Tensor)> {
        let k = k as i64;
        tch::no_grad(|| {
            self.layers
                .iter()
                .flat_map(|l| {
                    [
                        (format!("{}.weight", l.name), l.w.get(k).copy()),
                        (format!("{}.bias", l.name), l.b.get(k).squeeze_dim(0).copy()),
                    ]
                })
                .collect()
        })
    }

    /// Overwrites member `k`'s parameters with `values` (as [`Net::member`]
    /// returns them). Names must match the architecture.
    pub fn set_member(&self, k: usize, values: &[(String, Tensor)]) -> Result<(), WeightsError> {
        let k = k as i64;
        tch::no_grad(|| {
            for l in &self.layers {
                for (suffix, target) in [("weight", &l.w), ("bias", &l.b)] {
                    let name = format!("{}.{suffix}", l.name);
                    let v = values
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, t)| t)
                        .ok_or_else(|| WeightsError::Missing(name.clone()))?;
                    let mut slot = target.get(k);
                    if suffix == "bias" {
                        slot = slot.squeeze_dim(0);
                    }
                    if slot.size() != v.size() {
                        return Err(WeightsError::Shape {
                            name,
                            found: v.size(),
                            expected: slot.size(),
                        });
                    }
                    slot.copy_(&v.to_kind(self.kind).to_device(self.device));
                }
            }
            Ok(())
        })
    }

    /// Keeps only the members `keep` (in that order), dropping the rest.
    pub(crate) fn retain(&mut self, keep: &[usize]) {
        let idx = Tensor::from_slice(&keep.iter().map(|&k| k as i64).collect::<Vec<_>>())
            .to_device(self.device);
        for l in &mut self.layers {
            l.w = l.w.detach().index_select(0, &idx).set_requires_grad(true);
            l.b = l.b.detach().index_select(0, &idx).set_requires_grad(true);
        }
        self.dropout = keep.iter().map(|&k| self.dropout[k]).collect();
    }
}
