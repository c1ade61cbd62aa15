//! Optimisers over the members' stacked parameters, each member with its own
//! learning rate, weight decay and momentum.
//!
//! The update follows PyTorch's single-tensor `Adam`, `AdamW` and `SGD`
//! (β₁ = 0.9, β₂ = 0.999, ε = 1e−8, no dampening, no Nesterov):
//!
//! - Adam: g ← g + λ·θ; m ← m + (1−β₁)(g − m); v ← β₂·v + (1−β₂)·g·g;
//!   θ ← θ − (η / (1−β₁ᵗ))· m / (√v / √(1−β₂ᵗ) + ε).
//! - AdamW: θ ← θ·(1 − η·λ) first, and g unchanged.
//! - SGD: g ← g + λ·θ; with momentum μ, b ← g at the first step and
//!   b ← μ·b + g after, g ← b; θ ← θ − η·g.
//!
//! On CPU the whole update is one pass over each member's slice of memory
//! (libtorch would make seven passes, one per operation, and the
//! optimiser's memory traffic, not arithmetic, is what limits small
//! networks). Elsewhere libtorch's fused optimiser kernels make it, a few
//! launches per step (`kernels.rs`). Each element's
//! arithmetic is the same whatever the slice's position, so a member's
//! update does not depend on the other members.

use headsweep_spec::Optimizer;
use tch::{Device, Kind, Tensor};

use crate::kernels::{self, AdamSettings, Lists};
use crate::TrainError;

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

/// One member's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Hyper {
    pub lr: f64,
    pub weight_decay: f64,
    pub momentum: f64,
}

pub(crate) struct Optim {
    kind: Optimizer,
    hyper: Vec<Hyper>,
    step: u64,
    /// Per parameter: first moment (or momentum buffer), second moment.
    state: Vec<(Tensor, Tensor)>,
    /// Parameters from this index on take no weight decay (learned loss
    /// weights, not network weights).
    decayed: usize,
}

/// The floating-point types parameters come in.
trait Real:
    Copy
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
{
    fn of(v: f64) -> Self;
    fn sqrt(self) -> Self;
}

impl Real for f32 {
    fn of(v: f64) -> f32 {
        v as f32
    }
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }
}

impl Real for f64 {
    fn of(v: f64) -> f64 {
        v
    }
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
}

/// The step's scalars for one member, in f64.
struct Scalars {
    lr: f64,
    wd: f64,
    momentum: f64,
    step_size: f64,
    bc2_sqrt: f64,
    first: bool,
}

/// How weight decay enters Adam: not at all, added to the gradient (Adam),
/// or decoupled (AdamW).
const PLAIN: u8 = 0;
const COUPLED: u8 = 1;
const DECOUPLED: u8 = 2;

/// The Adam constants of one member's step, in its element type.
#[derive(Clone, Copy)]
struct AdamConsts<T> {
    wd: T,
    b1c: T,
    b2: T,
    b2c: T,
    bc2_sqrt: T,
    eps: T,
    neg_step: T,
    decay: T,
}

/// One member's slice, element by element; written with iterators so that
/// the compiler vectorises it (the same IEEE operations per element either
/// way, so vectorising changes no result).
#[inline(always)]
fn adam_loop<T: Real, const MODE: u8>(
    c: AdamConsts<T>,
    p: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
) {
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let mut theta = *p;
        let mut grad = g;
        if MODE == DECOUPLED {
            theta = theta * c.decay;
        } else if MODE == COUPLED {
            grad = grad + c.wd * theta;
        }
        let mi = *m + c.b1c * (grad - *m);
        let vi = *v * c.b2 + c.b2c * grad * grad;
        let denom = vi.sqrt() / c.bc2_sqrt + c.eps;
        *m = mi;
        *v = vi;
        *p = theta + c.neg_step * (mi / denom);
    }
}

#[inline(always)]
fn adam_modes<T: Real>(mode: u8, c: AdamConsts<T>, p: &mut [T], g: &[T], m: &mut [T], v: &mut [T]) {
    match mode {
        DECOUPLED => adam_loop::<T, DECOUPLED>(c, p, g, m, v),
        COUPLED => adam_loop::<T, COUPLED>(c, p, g, m, v),
        _ => adam_loop::<T, PLAIN>(c, p, g, m, v),
    }
}

/// The same loops compiled for AVX2 (8 floats per instruction instead of
/// SSE2's 4). No fused multiply-add is used, so results are identical.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn adam_avx2<T: Real>(
    mode: u8,
    c: AdamConsts<T>,
    p: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
) {
    adam_modes(mode, c, p, g, m, v)
}

fn adam<T: Real>(kind: Optimizer, s: &Scalars, p: &mut [T], g: &[T], m: &mut [T], v: &mut [T]) {
    let c = AdamConsts {
        wd: T::of(s.wd),
        b1c: T::of(1.0 - BETA1),
        b2: T::of(BETA2),
        b2c: T::of(1.0 - BETA2),
        bc2_sqrt: T::of(s.bc2_sqrt),
        eps: T::of(EPS),
        neg_step: T::of(-s.step_size),
        decay: T::of(1.0 - s.lr * s.wd),
    };
    let mode = if kind == Optimizer::Adamw {
        DECOUPLED
    } else if s.wd != 0.0 {
        COUPLED
    } else {
        PLAIN
    };
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        return unsafe { adam_avx2(mode, c, p, g, m, v) };
    }
    adam_modes(mode, c, p, g, m, v)
}

fn sgd<T: Real>(s: &Scalars, p: &mut [T], g: &[T], buf: &mut [T]) {
    let (wd, mu, neg_lr) = (T::of(s.wd), T::of(s.momentum), T::of(-s.lr));
    for i in 0..p.len() {
        let mut grad = g[i];
        if s.wd != 0.0 {
            grad = grad + wd * p[i];
        }
        if s.momentum != 0.0 {
            grad = if s.first { grad } else { mu * buf[i] + grad };
            buf[i] = grad;
        }
        p[i] = p[i] + neg_lr * grad;
    }
}

/// A contiguous CPU tensor's elements.
///
/// # Safety
/// `t` must be contiguous, on the CPU, of element type `T`, outlive the
/// slice, and not be read or written through any other handle while the
/// slice lives.
unsafe fn elements<'a, T>(t: &Tensor) -> &'a mut [T] {
    std::slice::from_raw_parts_mut(t.data_ptr() as *mut T, t.numel())
}

impl Optim {
    pub fn new(kind: Optimizer, hyper: Vec<Hyper>, params: &[&Tensor]) -> Optim {
        let state = params
            .iter()
            .map(|p| {
                let z = || tch::no_grad(|| p.zeros_like());
                (z(), z())
            })
            .collect();
        Optim {
            kind,
            hyper,
            step: 0,
            decayed: params.len(),
            state,
        }
    }

    /// Steps taken so far (the bias corrections' t).
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// Member `k`'s state per parameter: copies of its first and second
    /// moments (or momentum buffer and an unused zero tensor).
    pub fn member_state(&self, k: usize) -> Vec<(Tensor, Tensor)> {
        let k = k as i64;
        tch::no_grad(|| {
            self.state
                .iter()
                .map(|(m, v)| (m.get(k).copy(), v.get(k).copy()))
                .collect()
        })
    }

    /// Continues from a saved state: `steps` taken, and each member's
    /// moments as [`Optim::member_state`] gave them (`None` for a member
    /// starting fresh, which a group resumed at step t must not have).
    pub fn resume(
        &mut self,
        steps: u64,
        members: &[(usize, &[(Tensor, Tensor)])],
    ) -> Result<(), crate::WeightsError> {
        self.step = steps;
        tch::no_grad(|| {
            for &(k, saved) in members {
                if saved.len() != self.state.len() {
                    return Err(crate::WeightsError::Missing(format!(
                        "optimiser state: {} parameters saved, {} in the network",
                        saved.len(),
                        self.state.len()
                    )));
                }
                for (j, ((m, v), (sm, sv))) in self.state.iter().zip(saved).enumerate() {
                    for (target, value, what) in [(m, sm, "first"), (v, sv, "second")] {
                        let slot = target.get(k as i64);
                        if slot.size() != value.size() {
                            return Err(crate::WeightsError::Shape {
                                name: format!("optimiser {what} moment {j}"),
                                found: value.size(),
                                expected: slot.size(),
                            });
                        }
                        let mut slot = slot;
                        slot.copy_(&value.to_kind(slot.kind()).to_device(slot.device()));
                    }
                }
            }
            Ok(())
        })
    }

    /// Exempts the last `n` parameters from weight decay.
    pub fn exempt_last(&mut self, n: usize) {
        self.decayed = self.state.len().saturating_sub(n);
    }

    fn scalars(&self, h: &Hyper) -> Scalars {
        let t = self.step as i32;
        Scalars {
            lr: h.lr,
            wd: h.weight_decay,
            momentum: h.momentum,
            step_size: h.lr / (1.0 - BETA1.powi(t)),
            bc2_sqrt: (1.0 - BETA2.powi(t)).sqrt(),
            first: self.step == 1,
        }
    }

    /// One update of `params` (stacked `[K, …]`) with their gradients.
    pub fn step(&mut self, params: &[&Tensor], grads: &[Tensor]) -> Result<(), TrainError> {
        self.step += 1;
        // All parameters one way or all the other: the kernels update every
        // parameter they are given.
        if params
            .iter()
            .any(|p| p.device() != Device::Cpu || !p.is_contiguous())
        {
            return self.kernels(params, grads);
        }
        let k = self.hyper.len();
        let decayed: Vec<Scalars> = self.hyper.iter().map(|h| self.scalars(h)).collect();
        let plain: Vec<Scalars> = self
            .hyper
            .iter()
            .map(|h| {
                self.scalars(&Hyper {
                    weight_decay: 0.0,
                    ..*h
                })
            })
            .collect();
        for (i, ((p, g), (m, v))) in params.iter().zip(grads).zip(&self.state).enumerate() {
            let scalars = if i < self.decayed { &decayed } else { &plain };
            let g = g.contiguous();
            let per = p.numel() / k;
            match p.kind() {
                // SAFETY: all four are contiguous CPU tensors of this kind,
                // distinct, and used through no other handle here.
                Kind::Float => unsafe {
                    self.cpu(
                        scalars,
                        per,
                        elements::<f32>(p),
                        elements(&g),
                        elements(m),
                        elements(v),
                    )
                },
                Kind::Double => unsafe {
                    self.cpu(
                        scalars,
                        per,
                        elements::<f64>(p),
                        elements(&g),
                        elements(m),
                        elements(v),
                    )
                },
                other => return Err(TrainError::UnsupportedKind(other)),
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn cpu<T: Real>(
        &self,
        s: &[Scalars],
        per: usize,
        p: &mut [T],
        g: &[T],
        m: &mut [T],
        v: &mut [T],
    ) {
        for (k, s) in s.iter().enumerate() {
            let r = k * per..(k + 1) * per;
            match self.kind {
                Optimizer::Adam | Optimizer::Adamw => adam(
                    self.kind,
                    s,
                    &mut p[r.clone()],
                    &g[r.clone()],
                    &mut m[r.clone()],
                    &mut v[r],
                ),
                Optimizer::Sgd => sgd(s, &mut p[r.clone()], &g[r.clone()], &mut m[r]),
            }
        }
    }

    /// The same update with libtorch's fused kernels, for devices whose
    /// memory Rust cannot address: one call per distinct setting, over the
    /// slices of every parameter held by the members with that setting (the
    /// whole stacked tensors when all members share it), so a step costs a
    /// few kernel launches instead of some fifteen per parameter. Slices,
    /// copies and updates alike are made without autograd.
    fn kernels(&self, params: &[&Tensor], grads: &[Tensor]) -> Result<(), TrainError> {
        tch::no_grad(|| self.kernel_calls(params, grads))
    }

    fn kernel_calls(&self, params: &[&Tensor], grads: &[Tensor]) -> Result<(), TrainError> {
        let k = self.hyper.len() as i64;
        // Runs of consecutive members with equal settings, by setting.
        let mut calls: Vec<(Hyper, Vec<(i64, i64)>)> = Vec::new();
        let mut start = 0;
        for i in 1..=self.hyper.len() {
            if i < self.hyper.len() && self.hyper[i] == self.hyper[start] {
                continue;
            }
            let run = (start as i64, (i - start) as i64);
            match calls.iter_mut().find(|(h, _)| *h == self.hyper[start]) {
                Some((_, runs)) => runs.push(run),
                None => calls.push((self.hyper[start], vec![run])),
            }
            start = i;
        }
        let Some(first) = params.first() else {
            return Ok(());
        };
        let step = Tensor::full(
            [0i64; 0].as_slice(),
            self.step as f64,
            (Kind::Float, first.device()),
        );
        let slice = |t: &Tensor, (s, n): (i64, i64)| {
            if n == k {
                t.shallow_clone()
            } else {
                t.narrow(0, s, n)
            }
        };
        // The kernels walk each tensor's memory in order, so a gradient
        // must be laid out like its parameter (the moments are made so).
        let grads: Vec<Tensor> = params
            .iter()
            .zip(grads)
            .map(|(p, g)| {
                if g.stride() == p.stride() {
                    g.shallow_clone()
                } else {
                    let mut laid = p.empty_like();
                    laid.copy_(g);
                    laid
                }
            })
            .collect();
        for (h, runs) in &calls {
            for (range, wd) in [
                (0..self.decayed, h.weight_decay),
                (self.decayed..params.len(), 0.0),
            ] {
                if range.is_empty() {
                    continue;
                }
                let momentum = self.kind != Optimizer::Sgd || h.momentum != 0.0;
                let (mut p, mut g, mut m, mut v) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for j in range {
                    for &run in runs {
                        p.push(slice(params[j], run));
                        g.push(slice(&grads[j], run));
                        if momentum {
                            m.push(slice(&self.state[j].0, run));
                        }
                        v.push(slice(&self.state[j].1, run));
                    }
                }
                let lists = Lists {
                    params: p.iter().collect(),
                    grads: g.iter().collect(),
                    first: m.iter().collect(),
                    second: v.iter().collect(),
                };
                match self.kind {
                    Optimizer::Adam | Optimizer::Adamw => kernels::adam(
                        &lists,
                        &step,
                        &AdamSettings {
                            lr: h.lr,
                            beta1: BETA1,
                            beta2: BETA2,
                            weight_decay: wd,
                            eps: EPS,
                            decoupled: self.kind == Optimizer::Adamw,
                        },
                    ),
                    Optimizer::Sgd => kernels::sgd(&lists, h.lr, wd, h.momentum, self.step == 1),
                }?;
            }
        }
        Ok(())
    }

    /// Keeps only the members `keep`, in that order.
    pub fn retain(&mut self, keep: &[usize]) {
        if keep.is_empty() {
            self.hyper.clear();
            self.state.clear();
            return;
        }
        let dev = self.state.first().map_or(Device::Cpu, |(m, _)| m.device());
        let idx =
            Tensor::from_slice(&keep.iter().map(|&k| k as i64).collect::<Vec<_>>()).to_device(dev);
        for (m, v) in &mut self.state {
            *m = m.index_select(0, &idx);
            *v = v.index_select(0, &idx);
        }
        self.hyper = keep.iter().map(|&k| self.hyper[k]).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: Optimizer, hyper: Vec<Hyper>, device_path: bool) -> Vec<f64> {
        let k = hyper.len() as i64;
        let p = Tensor::from_slice(&[0.5f64, -1.0, 2.0, 0.25, 1.5, -0.75])
            .view([k, 6 / k])
            .set_requires_grad(true);
        let mut o = Optim::new(kind, hyper, &[&p]);
        for t in 0..3 {
            let g = Tensor::from_slice(&[0.1f64, -0.2, 0.3, -0.4, 0.5, 0.05 * t as f64])
                .view(p.size().as_slice());
            if device_path {
                o.step += 1;
                o.kernels(&[&p], &[g]).unwrap();
            } else {
                o.step(&[&p], &[g]).unwrap();
            }
        }
        Vec::<f64>::try_from(p.detach().flatten(0, -1)).unwrap()
    }

    /// Members 0 and 2 share settings (one kernel call over two slices),
    /// member 1 differs, and the last parameter takes no weight decay: each
    /// member's result equals its own optimiser's alone.
    #[test]
    fn kernels_group_members_by_setting() {
        let a = Hyper {
            lr: 0.05,
            weight_decay: 0.1,
            momentum: 0.9,
        };
        let b = Hyper {
            lr: 0.2,
            weight_decay: 0.0,
            momentum: 0.0,
        };
        let values = |k: i64, n: i64, shift: f64| {
            Tensor::from_slice(
                &(0..k * n)
                    .map(|i| ((i as f64) * 0.37 + shift).sin())
                    .collect::<Vec<f64>>(),
            )
            .view([k, n])
        };
        for kind in [Optimizer::Adam, Optimizer::Adamw, Optimizer::Sgd] {
            let train = |hyper: Vec<Hyper>, members: &[i64]| {
                let k = members.len() as i64;
                let pick = |t: Tensor| t.index_select(0, &Tensor::from_slice(members)).contiguous();
                // Leaves that require gradients, as a network's are.
                let w = pick(values(3, 4, 0.0)).set_requires_grad(true);
                let l = pick(values(3, 2, 1.0)).set_requires_grad(true);
                let mut o = Optim::new(kind, hyper, &[&w, &l]);
                o.exempt_last(1);
                for t in 0..3 {
                    let gw = pick(values(3, 4, 2.0 + t as f64));
                    let gl = pick(values(3, 2, 3.0 + t as f64));
                    o.step += 1;
                    o.kernels(&[&w, &l], &[gw, gl]).unwrap();
                }
                (0..k)
                    .map(|i| {
                        let mut v = Vec::<f64>::try_from(w.get(i).detach()).unwrap();
                        v.extend(Vec::<f64>::try_from(l.get(i).detach()).unwrap());
                        v
                    })
                    .collect::<Vec<_>>()
            };
            let together = train(vec![a, b, a], &[0, 1, 2]);
            for (i, h) in [a, b, a].into_iter().enumerate() {
                let alone = train(vec![h], &[i as i64]);
                assert_eq!(together[i], alone[0], "{kind:?}, member {i}");
            }
            // Weight decay reaches the first parameter, not the exempt one.
            let undecayed = train(
                vec![Hyper {
                    weight_decay: 0.0,
                    ..a
                }],
                &[0],
            );
            assert_ne!(together[0][..4], undecayed[0][..4], "{kind:?}");
            assert_eq!(together[0][4..], undecayed[0][4..], "{kind:?}");
        }
    }

    /// A parameter the one-pass loop cannot address (not contiguous) sends
    /// the whole step to the kernels, and every parameter moves once.
    #[test]
    fn a_non_contiguous_parameter_updates_every_parameter_once() {
        let h = Hyper {
            lr: 0.1,
            weight_decay: 0.01,
            momentum: 0.0,
        };
        let w = || Tensor::from_slice(&[0.5f64, -1.0, 2.0, 0.25]).view([2, 2]);
        let l = || {
            Tensor::from_slice(&[0.3f64, -0.6, 0.9, 1.2, -1.5, 0.1])
                .view([3, 2])
                .transpose(0, 1)
        };
        let grads = || {
            [
                Tensor::from_slice(&[0.1f64, -0.2, 0.3, -0.4]).view([2, 2]),
                Tensor::from_slice(&[0.05f64, 0.1, -0.15, 0.2, -0.25, 0.3]).view([2, 3]),
            ]
        };
        let train = |w: Tensor, l: Tensor| {
            let mut o = Optim::new(Optimizer::Adam, vec![h, h], &[&w, &l]);
            for _ in 0..2 {
                o.step(&[&w, &l], &grads()).unwrap();
            }
            let mut v = Vec::<f64>::try_from(w.flatten(0, -1)).unwrap();
            v.extend(Vec::<f64>::try_from(l.contiguous().flatten(0, -1)).unwrap());
            v
        };
        let mixed = train(w(), l());
        assert!(!l().is_contiguous());
        let one_pass = train(w(), l().contiguous());
        for (a, b) in mixed.iter().zip(&one_pass) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    /// Three Adam steps on one element, by hand.
    #[test]
    fn adam_by_hand() {
        let h = Hyper {
            lr: 0.1,
            weight_decay: 0.01,
            momentum: 0.0,
        };
        let got = run(Optimizer::Adam, vec![h], false);
        let grads = |t: usize| [0.1f64, -0.2, 0.3, -0.4, 0.5, 0.05 * t as f64];
        let init = [0.5f64, -1.0, 2.0, 0.25, 1.5, -0.75];
        for (i, &x0) in init.iter().enumerate() {
            let (mut x, mut m, mut v) = (x0, 0.0, 0.0);
            for t in 0..3 {
                let g = grads(t)[i] + 0.01 * x;
                m = 0.9 * m + 0.1 * g;
                v = 0.999 * v + 0.001 * g * g;
                let step = (t + 1) as i32;
                let mh = m / (1.0 - 0.9f64.powi(step));
                let vh = v / (1.0 - 0.999f64.powi(step));
                x -= 0.1 * mh / (vh.sqrt() + 1e-8);
            }
            assert!((got[i] - x).abs() < 1e-12, "element {i}: {} vs {x}", got[i]);
        }
    }

    #[test]
    fn sgd_with_momentum_by_hand() {
        let h = Hyper {
            lr: 0.5,
            weight_decay: 0.0,
            momentum: 0.9,
        };
        let got = run(Optimizer::Sgd, vec![h], false);
        // Element 0: gradients 0.1 each step; b = 0.1, 0.19, 0.271.
        let want = 0.5 - 0.5 * (0.1 + 0.19 + 0.271);
        assert!((got[0] - want).abs() < 1e-12);
    }

    /// The one-pass CPU update and libtorch's fused kernels (the update on
    /// a GPU) agree, with members of different settings.
    #[test]
    fn cpu_pass_matches_libtorchs_fused_kernels() {
        for kind in [Optimizer::Adam, Optimizer::Adamw, Optimizer::Sgd] {
            let hyper = vec![
                Hyper {
                    lr: 0.1,
                    weight_decay: 0.0,
                    momentum: 0.9,
                },
                Hyper {
                    lr: 0.03,
                    weight_decay: 0.2,
                    momentum: 0.5,
                },
            ];
            let a = run(kind, hyper.clone(), false);
            let b = run(kind, hyper, true);
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() < 1e-12, "{kind:?}: {x} vs {y}");
            }
        }
    }
}
