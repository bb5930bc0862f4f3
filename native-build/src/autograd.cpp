// Autograd entry points and the thread-local grad / inference-mode / autocast guards.
#include <ATen/autocast_mode.h>
#include <c10/core/InferenceMode.h>

#include "common.h"
#include "compat.h"

struct xft_guard {
  virtual ~xft_guard() = default;
};

namespace {

struct GradModeGuard final : xft_guard {
  explicit GradModeGuard(bool enabled) : guard(enabled) {}
  at::AutoGradMode guard;
};

struct InferenceModeGuard final : xft_guard {
  c10::InferenceMode guard;
};

// Mirrors torch.autocast's __enter__/__exit__: remember the previous state, bump the
// nesting count, and clear the cast cache when the outermost autocast region ends.
struct AutocastGuard final : xft_guard {
  AutocastGuard(at::DeviceType device, at::ScalarType dtype) : device(device), previous(xft::compat::autocast_get(device)) {
    xft::compat::autocast_set(device, {true, dtype});
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() override {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    xft::compat::autocast_set(device, previous);
  }
  at::DeviceType device;
  xft::compat::AutocastState previous;
};

struct IdsCheckedOnHostGuard final : xft_guard {
  IdsCheckedOnHostGuard() { ++xft::ids_checked_on_host; }
  ~IdsCheckedOnHostGuard() override { --xft::ids_checked_on_host; }
};

}  // namespace

using namespace xft;

extern "C" {

int xft_set_requires_grad(xft_tensor* t, int requires_grad) {
  return status_call([&] { get_mut(t).set_requires_grad(requires_grad != 0); });
}
int xft_requires_grad(const xft_tensor* t) { return value_call<int>(-1, [&] { return get(t).requires_grad() ? 1 : 0; }); }
int xft_is_leaf(const xft_tensor* t) { return value_call<int>(-1, [&] { return get(t).is_leaf() ? 1 : 0; }); }

int xft_backward(const xft_tensor* t, const xft_tensor* grad, int retain_graph) {
  return status_call([&] {
    const auto& x = get(t);
    if (!x.requires_grad())
      throw std::invalid_argument("backward: tensor does not require grad and has no grad_fn");
    x.backward(grad == nullptr ? at::Tensor() : grad->t, retain_graph != 0, false);
  });
}

int xft_grad(const xft_tensor* t, xft_tensor** out) {
  return status_call([&] {
    if (out == nullptr) throw std::invalid_argument("grad: null output pointer");
    const at::Tensor& g = get(t).grad();
    *out = g.defined() ? wrap(g) : nullptr;
  });
}

int xft_zero_grad(xft_tensor* t) {
  return status_call([&] {
    at::Tensor& g = get_mut(t).mutable_grad();
    if (g.defined()) {
      at::NoGradGuard no_grad;
      g.zero_();
    }
  });
}

int xft_set_grad_none(xft_tensor* t) { return status_call([&] { get_mut(t).mutable_grad().reset(); }); }

int xft_has_grad(const xft_tensor* t) { return value_call<int>(-1, [&] { return get(t).grad().defined() ? 1 : 0; }); }

int xft_set_grads_none(xft_tensor* const* ts, int64_t n) {
  return status_call([&] {
    if (n > 0 && ts == nullptr) throw std::invalid_argument("set_grads_none: null handle array");
    for (int64_t i = 0; i < n; ++i) get_mut(ts[i]).mutable_grad().reset();
  });
}

xft_tensor* xft_detach(const xft_tensor* t) { return tensor_call([&] { return get(t).detach(); }); }

xft_guard* xft_no_grad_enter(void) { return value_call<xft_guard*>(nullptr, [] { return new GradModeGuard(false); }); }
xft_guard* xft_enable_grad_enter(void) { return value_call<xft_guard*>(nullptr, [] { return new GradModeGuard(true); }); }
xft_guard* xft_inference_mode_enter(void) { return value_call<xft_guard*>(nullptr, [] { return new InferenceModeGuard(); }); }

xft_guard* xft_ids_checked_on_host_enter(void) {
  return value_call<xft_guard*>(nullptr, [] { return new IdsCheckedOnHostGuard(); });
}

xft_guard* xft_autocast_enter(int device_type, int dtype) {
  return value_call<xft_guard*>(nullptr, [&] {
    at::ScalarType st = scalar_type(dtype);
    if (st != at::kBFloat16 && st != at::kHalf) throw std::invalid_argument("autocast dtype must be bf16 or f16");
    at::DeviceType dev = device(device_type, -1).type();
    if (dev == at::kCUDA && !at::hasCUDA()) throw std::invalid_argument("CUDA autocast requested but CUDA is not available");
    return new AutocastGuard(dev, st);
  });
}

void xft_guard_exit(xft_guard* g) {
  try {
    delete g;
  } catch (...) {
    store_current_exception();
  }
}

int xft_is_grad_enabled(void) { return at::GradMode::is_enabled() ? 1 : 0; }
int xft_is_inference_mode(void) { return c10::InferenceMode::is_enabled() ? 1 : 0; }
int xft_is_autocast_enabled(int device_type) {
  return value_call<int>(-1, [&] { return compat::autocast_get(device(device_type, -1).type()).enabled ? 1 : 0; });
}

}  // extern "C"
