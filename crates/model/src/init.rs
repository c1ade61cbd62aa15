//! Parameter initialisation and dropout masks from the run's own generator.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

/// PyTorch's default `Linear` initialisation: weight and bias uniform on
/// `[−1/√fan_in, 1/√fan_in)`. Values are drawn row-major over `[in, out]`
/// (weights, then bias) in f64 and cast to the model's dtype.
pub fn linear(rng: &mut ChaCha8Rng, fan_in: usize, fan_out: usize) -> (Vec<f64>, Vec<f64>) {
    let bound = 1.0 / (fan_in as f64).sqrt();
    let mut draw = |n: usize| {
        (0..n)
            .map(|_| (rng.gen::<f64>() * 2.0 - 1.0) * bound)
            .collect::<Vec<f64>>()
    };
    let w = draw(fan_in * fan_out);
    let b = draw(fan_out);
    (w, b)
}

/// Turns f64 values into a tensor of `kind` on `device`.
pub fn tensor(values: &[f64], shape: &[i64], kind: Kind, device: Device) -> Tensor {
    let t = match kind {
        Kind::Double => Tensor::from_slice(values),
        _ => Tensor::from_slice(&values.iter().map(|&v| v as f32).collect::<Vec<f32>>()),
    };
    t.view(shape).to_device(device)
}

/// An inverted-dropout mask: each element kept with probability `1 − p` and
/// scaled by `1/(1 − p)`, zero otherwise.
pub fn dropout_mask(
    rng: &mut ChaCha8Rng,
    rows: usize,
    cols: usize,
    p: f64,
    kind: Kind,
    device: Device,
) -> Tensor {
    let keep = 1.0 / (1.0 - p);
    let values: Vec<f64> = (0..rows * cols)
        .map(|_| if rng.gen::<f64>() < p { 0.0 } else { keep })
        .collect();
    tensor(&values, &[rows as i64, cols as i64], kind, device)
}
