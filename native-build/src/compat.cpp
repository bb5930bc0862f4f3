#define XFT_COMPAT_DIST  // distributed block of compat.h (issue 10), defined at the end of this file
#include "compat.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cmath>
#include <stdexcept>

#ifdef XFT_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#endif

#define XFT_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace xft::compat {

// 1.13 has no public SDPA (and 2.0 has no scale argument): compose it as PyTorch's math
// reference does, so masks, causality and scaling mean the same on every version.
at::Tensor composed_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                     const c10::optional<at::Tensor>& mask, double dropout_p, bool is_causal,
                                     double scale) {
  const int64_t L = q.size(-2), S = k.size(-2);
  const double s = scale > 0 ? scale : 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) * s;
  if (is_causal) {
    at::Tensor keep = at::ones({L, S}, q.options().dtype(at::kBool)).tril();
    scores = scores.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
  }
  if (mask.has_value()) {
    if (mask->scalar_type() == at::kBool) {
      scores = scores.masked_fill(mask->logical_not(), -std::numeric_limits<double>::infinity());
    } else {
      scores = scores + *mask;
    }
  }
  at::Tensor attn = at::softmax(scores, -1);
  if (dropout_p > 0) attn = compat::dropout(attn, dropout_p, true);
  return at::matmul(attn, v);
}

at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                        const c10::optional<at::Tensor>& mask, double dropout_p, bool is_causal,
                                        double scale) {
  if (is_causal && mask.has_value())
    throw std::invalid_argument("scaled_dot_product_attention: pass either a mask or is_causal, not both");
  if (q.dim() < 2 || k.dim() < 2 || v.dim() < 2)
    throw std::invalid_argument("scaled_dot_product_attention: q, k, v need at least 2 dimensions");
  if (q.size(-1) != k.size(-1) || k.size(-2) != v.size(-2))
    throw std::invalid_argument("scaled_dot_product_attention: q/k feature sizes or k/v lengths differ: q " +
                                c10::str(q.sizes()) + ", k " + c10::str(k.sizes()) + ", v " + c10::str(v.sizes()));
#if XFT_TORCH_AT_LEAST(2, 1)
  // With dropout on CPU the public function takes its math path (its CPU flash kernel has no
  // dropout); for fp32 with an additive mask or none that path is the composed one with
  // at::dropout, so compose it here with the cheaper mask. Bool masks (the math path's safe
  // softmax gives fully masked rows 0, not NaN) and half types (it upcasts) stay with libtorch.
  if (dropout_p > 0 && q.is_cpu() && q.scalar_type() == at::kFloat && k.scalar_type() == at::kFloat &&
      v.scalar_type() == at::kFloat && (!mask.has_value() || mask->scalar_type() == at::kFloat))
    return composed_attention(q, k, v, mask, dropout_p, is_causal, scale);
  c10::optional<double> sc = scale > 0 ? c10::optional<double>(scale) : c10::nullopt;
  return at::scaled_dot_product_attention(q, k, v, mask, dropout_p, is_causal, sc);
#else
  return composed_attention(q, k, v, mask, dropout_p, is_causal, scale);
#endif
}

at::Tensor dropout(const at::Tensor& x, double p, bool train) {
  if (!train || p == 0) return x;
  const auto dt = x.scalar_type();
  // the float mask serves fp32 and the half types; f64 keeps a double draw, other dtypes libtorch's checks
  if (!x.is_cpu() || p >= 1 || (dt != at::kFloat && dt != at::kBFloat16 && dt != at::kHalf)) return at::dropout(x, p, true);
  // float noise whatever x's dtype: a bf16 uniform_ would resolve p to 2^-8
  at::Tensor keep = at::empty(x.sizes(), x.options().dtype(at::kFloat).requires_grad(false)).uniform_(0, 1);
  keep.ge_(p).mul_(1.0 / (1.0 - p));  // 0 or 1/(1-p)
  return x * (dt == at::kFloat ? keep : keep.to(dt));
}

bool has_feature(const std::string& name) {
  if (name == "public_sdpa") return XFT_TORCH_AT_LEAST(2, 1);
  if (name == "fused_adamw_cpu") return XFT_TORCH_AT_LEAST(2, 4);
  if (name == "fused_adamw_cuda") return XFT_TORCH_AT_LEAST(2, 0) && at::hasCUDA();
  if (name == "autocast_device_api") return XFT_TORCH_AT_LEAST(2, 4);
  throw std::invalid_argument("unknown feature '" + name + "'");
}

void fused_adamw(std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads, std::vector<at::Tensor>& exp_avgs,
                 std::vector<at::Tensor>& exp_avg_sqs, double lr, double beta1, double beta2, double eps, double weight_decay,
                 int64_t step) {
  if (params.empty()) return;
  const bool cuda = params[0].is_cuda();
  if (!has_feature(cuda ? "fused_adamw_cuda" : "fused_adamw_cpu"))
    throw std::runtime_error(std::string("this libtorch (") + TORCH_VERSION + ") has no fused AdamW kernel for " +
                             (cuda ? "CUDA" : "CPU") + " (needs >= " + (cuda ? "2.0" : "2.4") + ")");
#if XFT_TORCH_AT_LEAST(2, 0)
  // The kernel reads each parameter's step count from a tensor on that parameter's device.
  std::vector<at::Tensor> steps;
  steps.reserve(params.size());
  for (const at::Tensor& p : params) steps.push_back(at::full({}, static_cast<double>(step), p.options().dtype(at::kFloat)));
  at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, {}, steps, lr, beta1, beta2, weight_decay, eps,
                    /*amsgrad=*/false, /*maximize=*/false);
#endif
}

#if XFT_TORCH_AT_LEAST(2, 4)
AutocastState autocast_get(at::DeviceType device) {
  return {at::autocast::is_autocast_enabled(device), at::autocast::get_autocast_dtype(device)};
}
void autocast_set(at::DeviceType device, AutocastState state) {
  at::autocast::set_autocast_enabled(device, state.enabled);
  at::autocast::set_autocast_dtype(device, state.dtype);
}
#else
AutocastState autocast_get(at::DeviceType device) {
  if (device == at::kCUDA) return {at::autocast::is_enabled(), at::autocast::get_autocast_gpu_dtype()};
  return {at::autocast::is_cpu_enabled(), at::autocast::get_autocast_cpu_dtype()};
}
void autocast_set(at::DeviceType device, AutocastState state) {
  if (device == at::kCUDA) {
    at::autocast::set_enabled(state.enabled);
    at::autocast::set_autocast_gpu_dtype(state.dtype);
  } else {
    at::autocast::set_cpu_enabled(state.enabled);
    at::autocast::set_autocast_cpu_dtype(state.dtype);
  }
}
#endif

#ifdef XFT_WITH_CUDA
static c10::DeviceIndex cuda_index(int device) {
  if (!at::hasCUDA()) throw std::runtime_error("CUDA is not available");
  int n = static_cast<int>(c10::cuda::device_count());
  if (device < 0) return c10::cuda::current_device();
  if (device >= n) throw std::invalid_argument("CUDA device " + std::to_string(device) + " out of range (" +
                                               std::to_string(n) + " devices)");
  return static_cast<c10::DeviceIndex>(device);
}
void cuda_synchronize(int device) {
  auto idx = cuda_index(device);
  c10::cuda::CUDAGuard guard(idx);
  c10::cuda::device_synchronize();
}
void cuda_memory_stats(int device, int64_t* out) {
  auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(cuda_index(device));
  // Index 0 is StatType::AGGREGATE in every 2.x release (the enum moved namespaces in 2.6).
  const size_t agg = 0;
  out[0] = stats.allocated_bytes[agg].current;
  out[1] = stats.reserved_bytes[agg].current;
  out[2] = stats.allocated_bytes[agg].peak;
  out[3] = stats.reserved_bytes[agg].peak;
}
void cuda_reset_peak_memory(int device) { c10::cuda::CUDACachingAllocator::resetPeakStats(cuda_index(device)); }
void cuda_empty_cache() { c10::cuda::CUDACachingAllocator::emptyCache(); }
#else
[[noreturn]] static void no_cuda() { throw std::runtime_error("libxft was built against a libtorch without CUDA"); }
void cuda_synchronize(int) { no_cuda(); }
void cuda_memory_stats(int, int64_t*) { no_cuda(); }
void cuda_reset_peak_memory(int) { no_cuda(); }
void cuda_empty_cache() { no_cuda(); }
#endif

}  // namespace xft::compat

// ---- distributed (issue 10) -------------------------------------------------------------
// Store and process-group construction; see compat.h. Gloo ships with every libtorch that has
// c10d (USE_C10D_GLOO), NCCL only with CUDA builds (USE_C10D_NCCL).
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if defined(XFT_WITH_CUDA) && defined(USE_C10D_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>

namespace xft::compat {

c10::intrusive_ptr<c10d::Store> tcp_store(const std::string& host, int port, bool is_server, int world_size,
                                          std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<std::uint16_t>(port);
  opts.isServer = is_server;
  opts.numWorkers = static_cast<std::size_t>(world_size);
  opts.waitWorkers = false;  // the process group's own rendezvous waits for everyone
  opts.timeout = timeout;
#if XFT_TORCH_AT_LEAST(2, 4)
  // 2.4+ asks for the libuv server by default; builds without libuv (Debian's 2.6) refuse it,
  // so fall back to the classic server there.
  try {
    return c10::make_intrusive<c10d::TCPStore>(host, opts);
  } catch (const std::exception& e) {
    if (std::string(e.what()).find("libuv") == std::string::npos) throw;
    opts.useLibUV = false;
  }
#endif
  return c10::make_intrusive<c10d::TCPStore>(host, opts);
}

c10::intrusive_ptr<DistBackend> gloo_group(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                           std::chrono::milliseconds timeout, const std::string& master_addr) {
#ifdef USE_C10D_GLOO
  auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  bool local = master_addr == "localhost" || master_addr.rfind("127.", 0) == 0 || master_addr == "::1";
  if (ifname != nullptr && *ifname != '\0') {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
  } else if (local) {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  } else {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  opts->threads = 2;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts);
#else
  throw std::runtime_error("this libtorch was built without Gloo (USE_C10D_GLOO)");
#endif
}

bool has_nccl() {
#if defined(XFT_WITH_CUDA) && defined(USE_C10D_NCCL)
  return true;
#else
  return false;
#endif
}

c10::intrusive_ptr<DistBackend> nccl_group(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                           std::chrono::milliseconds timeout, int device) {
#if defined(XFT_WITH_CUDA) && defined(USE_C10D_NCCL)
  c10::cuda::set_device(static_cast<c10::DeviceIndex>(device));
  auto opts = c10d::ProcessGroupNCCL::Options::create();
  opts->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts);
#else
  throw std::runtime_error("NCCL is not available: libxft was built against a libtorch without CUDA/NCCL; use Gloo");
#endif
}

}  // namespace xft::compat
