// Multi-tensor optimiser steps: one call per parameter group instead of ~9 ops per tensor.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <string>
#include <vector>

#include "common.h"
#include "compat.h"

using namespace xft;

namespace {

std::vector<at::Tensor> list(xft_tensor* const* ts, int64_t n, const char* what) {
  std::vector<at::Tensor> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++) out.push_back(get(ts[i], what));
  return out;
}

// torch.optim.AdamW's single-tensor formula, op for op, on whole lists: the same arithmetic
// as the composed Java AdamW, so the two agree to the last bit on every libtorch.
void adamw_foreach(std::vector<at::Tensor>& p, const std::vector<at::Tensor>& g, std::vector<at::Tensor>& m,
                   std::vector<at::Tensor>& v, double lr, double beta1, double beta2, double eps, double wd,
                   int64_t step) {
  const double bc1 = 1 - std::pow(beta1, static_cast<double>(step));
  const double bc2 = 1 - std::pow(beta2, static_cast<double>(step));
  if (wd != 0) at::_foreach_mul_(p, 1 - lr * wd);
  at::_foreach_mul_(m, beta1);
  at::_foreach_add_(m, g, 1 - beta1);
  at::_foreach_mul_(v, beta2);
  at::_foreach_addcmul_(v, g, g, 1 - beta2);
  std::vector<at::Tensor> denom = at::_foreach_sqrt(v);
  at::_foreach_div_(denom, std::sqrt(bc2));
  at::_foreach_add_(denom, eps);
  at::_foreach_addcdiv_(p, m, denom, -lr / bc1);
}

}  // namespace

extern "C" {

int xft_adamw_step(xft_tensor* const* params, xft_tensor* const* exp_avgs, xft_tensor* const* exp_avg_sqs, int64_t n,
                   double lr, double beta1, double beta2, double eps, double weight_decay, int64_t step, int impl) {
  return status_call([&] {
    if (n < 0) throw std::invalid_argument("adamw_step: negative parameter count");
    if (step < 1) throw std::invalid_argument("adamw_step: step counts from 1, got " + std::to_string(step));
    if (n == 0) return;
    std::vector<at::Tensor> p = list(params, n, "parameter"), m = list(exp_avgs, n, "exp_avg"),
                            v = list(exp_avg_sqs, n, "exp_avg_sq"), g;
    g.reserve(p.size());
    for (size_t i = 0; i < p.size(); i++) {
      const at::Tensor& grad = p[i].grad();
      if (!grad.defined()) throw std::invalid_argument("adamw_step: parameter " + std::to_string(i) + " has no gradient");
      if (!m[i].sizes().equals(p[i].sizes()) || !v[i].sizes().equals(p[i].sizes()))
        throw std::invalid_argument("adamw_step: moments of parameter " + std::to_string(i) + " have shape " +
                                    c10::str(m[i].sizes()) + " / " + c10::str(v[i].sizes()) + ", parameter " +
                                    c10::str(p[i].sizes()));
      g.push_back(grad);
    }
    c10::NoGradGuard no_grad;
    if (impl == XFT_ADAMW_FUSED) {
      compat::fused_adamw(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step);
    } else if (impl == XFT_ADAMW_FOREACH) {
      adamw_foreach(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step);
    } else {
      throw std::invalid_argument("adamw_step: unknown implementation " + std::to_string(impl));
    }
  });
}

int xft_has_feature(const char* name) {
  return value_call<int>(-1, [&] { return compat::has_feature(name == nullptr ? "" : name) ? 1 : 0; });
}

xft_tensor* xft_attention_reference(const xft_tensor* q, const xft_tensor* k, const xft_tensor* v, const xft_tensor* mask,
                                    double dropout_p, int is_causal, double scale) {
  return tensor_call([&] {
    return compat::composed_attention(get(q, "query"), get(k, "key"), get(v, "value"), opt(mask), dropout_p,
                                      is_causal != 0, scale);
  });
}

}  // extern "C"
