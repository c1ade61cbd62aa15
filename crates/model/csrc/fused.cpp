// libtorch's fused optimiser kernels (`_fused_adam_`, `_fused_adamw_`,
// `_fused_sgd_`), which tch does not wrap. Each call updates a whole list of
// tensors in a few kernel launches, where the same update written as tensor
// operations costs about fifteen launches per parameter: on a GPU, where a
// fused group's step is bound by launches, that is most of the step.
//
// Tensors arrive as tch's handles (`torch::Tensor*`). Nothing here throws
// across the C boundary: an exception becomes a message that the caller
// frees with hs_free_error.
#include <ATen/core/Tensor.h>
#include <ATen/ops/_fused_adam.h>
#include <ATen/ops/_fused_adamw.h>
#include <ATen/ops/_fused_sgd.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <vector>

namespace {

std::vector<at::Tensor> list(at::Tensor **tensors, size_t n) {
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(*tensors[i]);
  return out;
}

char *error(const char *what) {
  size_t len = std::strlen(what);
  char *copy = static_cast<char *>(std::malloc(len + 1));
  if (copy != nullptr) std::memcpy(copy, what, len + 1);
  return copy;
}

}  // namespace

extern "C" {

// One Adam (decoupled == 0) or AdamW (decoupled != 0) step of `n` tensors
// with their gradients and moments; `step` is a float scalar tensor holding
// the step number (after this step's increment), read for the bias
// corrections. Returns null, or a message to free with hs_free_error.
char *hs_fused_adam(at::Tensor **params, at::Tensor **grads, at::Tensor **exp_avgs,
                    at::Tensor **exp_avg_sqs, size_t n, at::Tensor *step, double lr,
                    double beta1, double beta2, double weight_decay, double eps,
                    int decoupled) {
  try {
    auto p = list(params, n);
    auto g = list(grads, n);
    auto m = list(exp_avgs, n);
    auto v = list(exp_avg_sqs, n);
    std::vector<at::Tensor> steps(n, *step);
    std::vector<at::Tensor> none;
    if (decoupled != 0) {
      at::_fused_adamw_(p, g, m, v, none, steps, lr, beta1, beta2, weight_decay, eps,
                        false, false);
    } else {
      at::_fused_adam_(p, g, m, v, none, steps, lr, beta1, beta2, weight_decay, eps,
                       false, false);
    }
    return nullptr;
  } catch (const std::exception &e) {
    return error(e.what());
  } catch (...) {
    return error("unknown C++ exception in hs_fused_adam");
  }
}

// One SGD step; `momentum_buffers` is null (no momentum) or `n` buffers,
// which the first step (first != 0) sets to the gradient.
char *hs_fused_sgd(at::Tensor **params, at::Tensor **grads, at::Tensor **momentum_buffers,
                   size_t n, double lr, double weight_decay, double momentum, int first) {
  try {
    auto p = list(params, n);
    auto g = list(grads, n);
    std::vector<at::Tensor> b;
    if (momentum_buffers != nullptr) b = list(momentum_buffers, n);
    at::_fused_sgd_(p, g, b, weight_decay, momentum, lr, 0.0, false, false, first != 0);
    return nullptr;
  } catch (const std::exception &e) {
    return error(e.what());
  } catch (...) {
    return error("unknown C++ exception in hs_fused_sgd");
  }
}

void hs_free_error(char *message) { std::free(message); }

}  // extern "C"
