// Errors, version, seeds, generators, CUDA queries and the native per-op benchmark.
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <chrono>
#include <sstream>

#include <dlfcn.h>

#include "common.h"
#include "compat.h"

struct xft_generator {
  at::Generator gen;
};

namespace xft {

std::atomic<int64_t> live_tensors{0};
thread_local int ids_checked_on_host = 0;
static thread_local std::string last_error;
static thread_local std::string last_string;

void store_error(const std::string& message) noexcept {
  try {
    last_error = message;
  } catch (...) {
  }
}

void store_current_exception() noexcept {
  try {
    throw;
  } catch (const c10::Error& e) {
    store_error(e.what_without_backtrace());
  } catch (const std::exception& e) {
    store_error(e.what());
  } catch (...) {
    store_error("unknown C++ exception");
  }
}

at::ScalarType scalar_type(int code) {
  switch (code) {
    case XFT_F32: return at::kFloat;
    case XFT_F64: return at::kDouble;
    case XFT_F16: return at::kHalf;
    case XFT_BF16: return at::kBFloat16;
    case XFT_I64: return at::kLong;
    case XFT_I32: return at::kInt;
    case XFT_I16: return at::kShort;
    case XFT_I8: return at::kChar;
    case XFT_U8: return at::kByte;
    case XFT_BOOL: return at::kBool;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(code));
}

int dtype_code(at::ScalarType st) {
  switch (st) {
    case at::kFloat: return XFT_F32;
    case at::kDouble: return XFT_F64;
    case at::kHalf: return XFT_F16;
    case at::kBFloat16: return XFT_BF16;
    case at::kLong: return XFT_I64;
    case at::kInt: return XFT_I32;
    case at::kShort: return XFT_I16;
    case at::kChar: return XFT_I8;
    case at::kByte: return XFT_U8;
    case at::kBool: return XFT_BOOL;
    default: throw std::invalid_argument(std::string("dtype not supported by xft: ") + c10::toString(st));
  }
}

at::Device device(int type, int index) {
  if (index < -1) throw std::invalid_argument("invalid device index " + std::to_string(index));
  switch (type) {
    case XFT_CPU: return at::Device(at::kCPU);
    case XFT_CUDA: return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw std::invalid_argument("unknown device type code " + std::to_string(type));
}

at::IntArrayRef dims_ref(const int64_t* dims, int64_t ndim) {
  if (ndim < 0) throw std::invalid_argument("negative number of dimensions " + std::to_string(ndim));
  if (ndim > 0 && dims == nullptr) throw std::invalid_argument("null dims pointer");
  return at::IntArrayRef(dims, static_cast<size_t>(ndim));
}

std::vector<at::Tensor> tensor_list(const xft_tensor* const* ts, int64_t n) {
  if (n < 0) throw std::invalid_argument("negative tensor count " + std::to_string(n));
  if (n > 0 && ts == nullptr) throw std::invalid_argument("null tensor array");
  std::vector<at::Tensor> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.push_back(get(ts[i], "tensor list element"));
  return out;
}

c10::optional<at::Generator> generator(xft_generator* g) {
  if (g == nullptr) return c10::nullopt;
  return g->gen;
}

}  // namespace xft

using namespace xft;

extern "C" {

const char* xft_last_error(void) { return last_error.c_str(); }

const char* xft_version(void) {
  return value_call<const char*>("", [] {
    std::ostringstream s;
    s << "libtorch " << TORCH_VERSION_MAJOR << "." << TORCH_VERSION_MINOR << "." << TORCH_VERSION_PATCH
      << "; cuda " << (at::hasCUDA() ? "yes" : "no");
    if (at::hasCUDA()) s << "; devices " << at::detail::getCUDAHooks().getNumGPUs();
    last_string = s.str();
    return last_string.c_str();
  });
}

int64_t xft_live_tensors(void) { return live_tensors.load(std::memory_order_relaxed); }

void xft_tensor_free(xft_tensor* t) {
  if (t == nullptr) return;
  try {
    delete t;
  } catch (...) {
    store_current_exception();
  }
  live_tensors.fetch_sub(1, std::memory_order_relaxed);
}

void xft_tensor_free_many(xft_tensor* const* ts, int64_t n) {
  if (ts == nullptr) return;
  for (int64_t i = 0; i < n; ++i) xft_tensor_free(ts[i]);
}

int xft_manual_seed(uint64_t seed) {
  return status_call([&] { at::manual_seed(seed); });
}

xft_generator* xft_generator_new(uint64_t seed, int device_type) {
  return value_call<xft_generator*>(nullptr, [&] {
    auto dev = device(device_type, -1);
    if (dev.is_cuda() && !at::hasCUDA()) throw std::invalid_argument("CUDA generator requested but CUDA is not available");
    at::Generator g = at::globalContext().defaultGenerator(dev).clone();
    {
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_current_seed(seed);
    }
    return new xft_generator{std::move(g)};
  });
}

void xft_generator_free(xft_generator* g) { delete g; }

int xft_set_num_threads(int n) {
  return status_call([&] {
    if (n < 1) throw std::invalid_argument("thread count must be >= 1, got " + std::to_string(n));
    at::set_num_threads(n);
  });
}

int xft_get_num_threads(void) {
  return value_call<int>(-1, [] { return at::get_num_threads(); });
}

int xft_set_num_interop_threads(int n) {
  return status_call([&] {
    if (n < 1) throw std::invalid_argument("inter-op thread count must be >= 1, got " + std::to_string(n));
    if (static_cast<int64_t>(at::get_num_interop_threads()) == n) return;
    at::set_num_interop_threads(n);  // throws once inter-op work has started
  });
}

int xft_get_num_interop_threads(void) {
  return value_call<int>(-1, [] { return at::get_num_interop_threads(); });
}

// Debian's libtorch calls the system BLAS; when that is OpenBLAS it runs its own thread pool,
// which at::set_num_threads does not reach.
int xft_blas_threads(int n) {
  return value_call<int>(-1, [&] {
    using get_fn = int (*)();
    using set_fn = void (*)(int);
    auto get = reinterpret_cast<get_fn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    auto set = reinterpret_cast<set_fn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (get == nullptr || set == nullptr) return 0;
    if (n >= 1) set(n);
    return get();
  });
}

int xft_cuda_is_available(void) {
  return value_call<int>(0, [] { return at::hasCUDA() ? 1 : 0; });
}

int xft_cuda_device_count(void) {
  return value_call<int>(-1, [] { return at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0; });
}

int xft_cuda_synchronize(int device) {
  return status_call([&] { compat::cuda_synchronize(device); });
}

int xft_cuda_memory_stats(int device, int64_t* out) {
  return status_call([&] {
    if (out == nullptr) throw std::invalid_argument("null output array");
    compat::cuda_memory_stats(device, out);
  });
}

int xft_cuda_reset_peak_memory(int device) {
  return status_call([&] { compat::cuda_reset_peak_memory(device); });
}

int xft_cuda_empty_cache(void) {
  return status_call([] { compat::cuda_empty_cache(); });
}

int xft_bench_add(int64_t iters, double* us_per_iter) {
  return status_call([&] {
    if (iters <= 0 || us_per_iter == nullptr) throw std::invalid_argument("iters must be > 0 and the output non-null");
    const int64_t dims[1] = {16};
    xft_tensor* a = xft_full(dims, 1, 1.0, XFT_F32, XFT_CPU, -1);
    xft_tensor* b = xft_full(dims, 1, 2.0, XFT_F32, XFT_CPU, -1);
    for (int64_t i = 0; i < iters / 10 + 1; ++i) xft_tensor_free(xft_binary(XFT_ADD, a, b));
    auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < iters; ++i) {
      xft_tensor* r = xft_binary(XFT_ADD, a, b);
      xft_tensor_free(r);
    }
    auto end = std::chrono::steady_clock::now();
    xft_tensor_free(a);
    xft_tensor_free(b);
    *us_per_iter = std::chrono::duration<double, std::micro>(end - start).count() / static_cast<double>(iters);
  });
}

}  // extern "C"
