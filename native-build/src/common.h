// Shared plumbing of libxft: the handle type, the exception barrier and code mappings.
#pragma once

#include <ATen/ATen.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "xft.h"

struct xft_tensor {
  at::Tensor t;
};

namespace xft {

extern std::atomic<int64_t> live_tensors;
// device-to-host reads (values copied out of a tensor: each waits for the device); xft_d2h_reads()
extern std::atomic<int64_t> d2h_reads;
// > 0 while the caller vouches that every embedding index was checked on the host (or built in
// range): xft_embedding then skips its device-side check, which is a host sync on CUDA
extern thread_local int ids_checked_on_host;
inline void count_d2h() { d2h_reads.fetch_add(1, std::memory_order_relaxed); }

// Stores the message of the exception being handled in the thread-local error buffer.
void store_current_exception() noexcept;
void store_error(const std::string& message) noexcept;

inline xft_tensor* wrap(at::Tensor t) {
  auto* h = new xft_tensor{std::move(t)};
  live_tensors.fetch_add(1, std::memory_order_relaxed);
  return h;
}

inline const at::Tensor& get(const xft_tensor* h, const char* what = "tensor") {
  if (h == nullptr) throw std::invalid_argument(std::string("null handle passed as ") + what);
  return h->t;
}
inline at::Tensor& get_mut(xft_tensor* h, const char* what = "tensor") {
  if (h == nullptr) throw std::invalid_argument(std::string("null handle passed as ") + what);
  return h->t;
}
inline c10::optional<at::Tensor> opt(const xft_tensor* h) {
  if (h == nullptr) return c10::nullopt;
  return h->t;
}

at::ScalarType scalar_type(int code);
int dtype_code(at::ScalarType st);
at::Device device(int type, int index);
at::IntArrayRef dims_ref(const int64_t* dims, int64_t ndim);
std::vector<at::Tensor> tensor_list(const xft_tensor* const* ts, int64_t n);
c10::optional<at::Generator> generator(xft_generator* g);

// The exception barrier: every extern "C" function body runs inside one of these.
template <class F>
xft_tensor* tensor_call(F&& f) noexcept {
  try {
    return wrap(f());
  } catch (...) {
    store_current_exception();
    return nullptr;
  }
}

template <class F>
int status_call(F&& f) noexcept {
  try {
    f();
    return 0;
  } catch (...) {
    store_current_exception();
    return 1;
  }
}

template <class R, class F>
R value_call(R on_error, F&& f) noexcept {
  try {
    return f();
  } catch (...) {
    store_current_exception();
    return on_error;
  }
}

}  // namespace xft
