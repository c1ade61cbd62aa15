//! The three architectures as one structure: shared layers, then branches,
//! each branch ending in an output layer that serves one or more tasks.
//!
//! - `multi_label`: shared = trunk + head_depth dense layers; one branch
//!   whose output layer spans every class of every task.
//! - `multi_head`: shared = trunk; one branch per task, a tower of
//!   head_depth dense layers then its output layer.
//! - `separate`: nothing shared; one branch per task holding its own trunk
//!   and tower.
//!
//! Layers compute `x·W + b` with `W` stored as `[in, out]`, so the single
//! output layer of `multi_label` is literally the per-task output layers
//! stacked column-wise, and initialising it block by block from the same
//! random stream gives the same initial function as `multi_head`.

use headsweep_spec::{Activation, Architecture, Dtype, ModelConfig};
use rand_chacha::ChaCha8Rng;
use tch::{nn, Device, Kind, Tensor};

use crate::init;

struct Layer {
    w: Tensor,
    b: Tensor,
}

impl Layer {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.matmul(&self.w) + &self.b
    }
}

struct Branch {
    hidden: Vec<Layer>,
    out: Layer,
}

/// A network and its parameters.
pub struct Net {
    pub vs: nn::VarStore,
    shared: Vec<Layer>,
    branches: Vec<Branch>,
    activation: Activation,
    dropout: f64,
    kind: Kind,
    /// Classes of each task, in task order; outputs are concatenated so.
    pub classes: Vec<usize>,
}

pub fn kind_of(dtype: Dtype) -> Kind {
    match dtype {
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
    }
}

/// Creates a layer under `path` from freshly drawn values.
fn make_layer(
    path: &nn::Path,
    rng: &mut ChaCha8Rng,
    fan_in: usize,
    fan_out: usize,
    kind: Kind,
) -> Layer {
    let (w, b) = init::linear(rng, fan_in, fan_out);
    from_values(path, &w, &b, fan_in, fan_out, kind)
}

fn from_values(
    path: &nn::Path,
    w: &[f64],
    b: &[f64],
    fan_in: usize,
    fan_out: usize,
    kind: Kind,
) -> Layer {
    let device = path.device();
    Layer {
        w: path.var_copy(
            "weight",
            &init::tensor(w, &[fan_in as i64, fan_out as i64], kind, device),
        ),
        b: path.var_copy("bias", &init::tensor(b, &[fan_out as i64], kind, device)),
    }
}

fn stack(
    path: &nn::Path,
    rng: &mut ChaCha8Rng,
    mut width: usize,
    widths: &[usize],
    kind: Kind,
) -> (Vec<Layer>, usize) {
    let layers = widths
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let l = make_layer(&(path / i), rng, width, w, kind);
            width = w;
            l
        })
        .collect();
    (layers, width)
}

impl Net {
    /// Builds the network of `model` for `inputs` features and tasks with
    /// `classes` classes each, drawing every initial value from `rng`.
    pub fn new(
        model: &ModelConfig,
        inputs: usize,
        classes: &[usize],
        task_names: &[String],
        device: Device,
        rng: &mut ChaCha8Rng,
    ) -> Net {
        let kind = kind_of(model.dtype);
        let mut vs = nn::VarStore::new(device);
        // New variables take this kind, so f64 initial values are never rounded to f32.
        vs.set_kind(kind);
        let root = vs.root();
        let tower = vec![model.head_width; model.head_depth];
        let (shared, branches) = match model.architecture {
            Architecture::MultiLabel => {
                let widths: Vec<usize> = model.trunk.iter().copied().chain(tower).collect();
                let (shared, width) = stack(&(&root / "trunk"), rng, inputs, &widths, kind);
                // Block by block, in task order, then stacked.
                let (mut w, mut b) = (vec![Vec::new(); width], Vec::new());
                for &k in classes {
                    let (wt, bt) = init::linear(rng, width, k);
                    for (row, chunk) in w.iter_mut().zip(wt.chunks(k)) {
                        row.extend_from_slice(chunk);
                    }
                    b.extend(bt);
                }
                let total: usize = classes.iter().sum();
                let out = from_values(
                    &(&root / "head" / "out"),
                    &w.concat(),
                    &b,
                    width,
                    total,
                    kind,
                );
                (
                    shared,
                    vec![Branch {
                        hidden: Vec::new(),
                        out,
                    }],
                )
            }
            Architecture::MultiHead => {
                let (shared, width) = stack(&(&root / "trunk"), rng, inputs, &model.trunk, kind);
                let branches = classes
                    .iter()
                    .zip(task_names)
                    .map(|(&k, name)| {
                        let p = &root / name.as_str();
                        let (hidden, w) = stack(&(&p / "tower"), rng, width, &tower, kind);
                        Branch {
                            hidden,
                            out: make_layer(&(&p / "out"), rng, w, k, kind),
                        }
                    })
                    .collect();
                (shared, branches)
            }
            Architecture::Separate => {
                let widths: Vec<usize> = model.trunk.iter().copied().chain(tower).collect();
                let branches = classes
                    .iter()
                    .zip(task_names)
                    .map(|(&k, name)| {
                        let p = &root / name.as_str();
                        let (hidden, w) = stack(&(&p / "net"), rng, inputs, &widths, kind);
                        Branch {
                            hidden,
                            out: make_layer(&(&p / "out"), rng, w, k, kind),
                        }
                    })
                    .collect();
                (Vec::new(), branches)
            }
        };
        Net {
            vs,
            shared,
            branches,
            activation: model.activation,
            dropout: model.dropout,
            kind,
            classes: classes.to_vec(),
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Trainable parameters.
    pub fn parameter_count(&self) -> usize {
        self.vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel())
            .sum()
    }

    fn hidden(
        &self,
        layer: &Layer,
        x: &Tensor,
        masks: &mut Option<(&mut ChaCha8Rng, usize)>,
    ) -> Tensor {
        let h = layer.forward(x);
        let h = match self.activation {
            Activation::Relu => h.relu(),
            Activation::Gelu => h.gelu("none"),
            Activation::Tanh => h.tanh(),
            Activation::Silu => h.silu(),
        };
        match masks {
            Some((rng, rows)) if self.dropout > 0.0 => {
                let cols = h.size()[1] as usize;
                h * init::dropout_mask(rng, *rows, cols, self.dropout, self.kind, x.device())
            }
            _ => h,
        }
    }

    /// Raw outputs (logits) `[rows, Σ classes]`, tasks concatenated in
    /// order. With `dropout` (training), masks are drawn from that
    /// generator: shared layers first, then each branch's layers in order.
    pub fn forward(&self, x: &Tensor, dropout: Option<&mut ChaCha8Rng>) -> Tensor {
        let rows = x.size()[0] as usize;
        let mut masks = dropout.map(|r| (r, rows));
        let mut h = x.shallow_clone();
        for l in &self.shared {
            h = self.hidden(l, &h, &mut masks);
        }
        let outs: Vec<Tensor> = self
            .branches
            .iter()
            .map(|b| {
                let mut g = h.shallow_clone();
                for l in &b.hidden {
                    g = self.hidden(l, &g, &mut masks);
                }
                b.out.forward(&g)
            })
            .collect();
        if outs.len() == 1 {
            outs.into_iter().next().expect("one branch")
        } else {
            Tensor::cat(&outs, 1)
        }
    }
}
