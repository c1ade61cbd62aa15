//! libtorch's fused optimiser kernels, reached through `csrc/fused.cpp`
//! (tch does not wrap them): one call updates a list of tensors in a few
//! kernel launches. On a GPU a fused group's step is bound by launches,
//! and the same update as tensor operations costs about fifteen of them per
//! parameter.

use std::ffi::{c_char, c_int, CStr};

use tch::Tensor;
use torch_sys::C_tensor;

extern "C" {
    #[allow(clippy::too_many_arguments)]
    fn hs_fused_adam(
        params: *const *mut C_tensor,
        grads: *const *mut C_tensor,
        exp_avgs: *const *mut C_tensor,
        exp_avg_sqs: *const *mut C_tensor,
        n: usize,
        step: *mut C_tensor,
        lr: f64,
        beta1: f64,
        beta2: f64,
        weight_decay: f64,
        eps: f64,
        decoupled: c_int,
    ) -> *mut c_char;
    #[allow(clippy::too_many_arguments)]
    fn hs_fused_sgd(
        params: *const *mut C_tensor,
        grads: *const *mut C_tensor,
        momentum_buffers: *const *mut C_tensor,
        n: usize,
        lr: f64,
        weight_decay: f64,
        momentum: f64,
        first: c_int,
    ) -> *mut c_char;
    fn hs_free_error(message: *mut c_char);
}

/// One Adam or AdamW setting.
pub(crate) struct AdamSettings {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub weight_decay: f64,
    pub eps: f64,
    pub decoupled: bool,
}

/// The tensors of one update, as lists of equal length.
pub(crate) struct Lists<'a> {
    pub params: Vec<&'a Tensor>,
    pub grads: Vec<&'a Tensor>,
    pub first: Vec<&'a Tensor>,
    pub second: Vec<&'a Tensor>,
}

fn handles(tensors: &[&Tensor]) -> Vec<*mut C_tensor> {
    tensors
        .iter()
        .map(|t| t.as_ptr() as *mut C_tensor)
        .collect()
}

fn checked(message: *mut c_char) -> Result<(), tch::TchError> {
    if message.is_null() {
        return Ok(());
    }
    // SAFETY: a non-null result is a NUL-terminated string the shim
    // allocated; it is read once and freed by the shim's own function.
    let text = unsafe { CStr::from_ptr(message) }
        .to_string_lossy()
        .into_owned();
    unsafe { hs_free_error(message) };
    Err(tch::TchError::Torch(text))
}

/// One Adam (or AdamW) step of every tensor in `lists`; `step` is a float
/// scalar tensor on their device holding this step's number.
pub(crate) fn adam(lists: &Lists, step: &Tensor, s: &AdamSettings) -> Result<(), tch::TchError> {
    let n = lists.params.len();
    assert!(lists.grads.len() == n && lists.first.len() == n && lists.second.len() == n);
    let (p, g, m, v) = (
        handles(&lists.params),
        handles(&lists.grads),
        handles(&lists.first),
        handles(&lists.second),
    );
    // SAFETY: every handle is a live tch tensor borrowed for the call; the
    // shim copies them into its own lists (reference counts) and catches
    // every C++ exception.
    checked(unsafe {
        hs_fused_adam(
            p.as_ptr(),
            g.as_ptr(),
            m.as_ptr(),
            v.as_ptr(),
            n,
            step.as_ptr() as *mut C_tensor,
            s.lr,
            s.beta1,
            s.beta2,
            s.weight_decay,
            s.eps,
            c_int::from(s.decoupled),
        )
    })
}

/// One SGD step of `lists.params`; `lists.first` holds the momentum buffers
/// (empty without momentum), set to the gradient when `first`.
pub(crate) fn sgd(
    lists: &Lists,
    lr: f64,
    weight_decay: f64,
    momentum: f64,
    first: bool,
) -> Result<(), tch::TchError> {
    let n = lists.params.len();
    assert!(lists.grads.len() == n && (lists.first.is_empty() || lists.first.len() == n));
    let (p, g, b) = (
        handles(&lists.params),
        handles(&lists.grads),
        handles(&lists.first),
    );
    // SAFETY: as in `adam`; a null buffer list means no momentum.
    checked(unsafe {
        hs_fused_sgd(
            p.as_ptr(),
            g.as_ptr(),
            if b.is_empty() {
                std::ptr::null()
            } else {
                b.as_ptr()
            },
            n,
            lr,
            weight_decay,
            momentum,
            c_int::from(first),
        )
    })
}
