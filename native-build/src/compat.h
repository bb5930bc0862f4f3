// Everything that differs between libtorch 1.13 and 2.x, or between CPU and CUDA builds,
// lives behind these functions (compat.cpp); the C API above them is identical.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace xft::compat {

at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                        const c10::optional<at::Tensor>& mask, double dropout_p, bool is_causal,
                                        double scale);

// matmul-softmax-matmul as PyTorch's math reference: 1.13's attention, and the yardstick for
// the public kernel on 2.x.
at::Tensor composed_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                              const c10::optional<at::Tensor>& mask, double dropout_p, bool is_causal, double scale);

// at::dropout's result, with a cheaper CPU mask: CPU bernoulli_(p) draws a double (two
// mt19937 words) per element through a serial kernel, 7% of a mid-size stage-1 step; a float
// uniform_ draws one word, half the time for the same Bernoulli(1 - p) keep mask (p resolved to
// 2^-24). CUDA keeps libtorch's fused kernel.
at::Tensor dropout(const at::Tensor& x, double p, bool train);

// libtorch's fused AdamW kernel (>= 2.4 on CPU, >= 2.0 on CUDA); throws where there is none.
void fused_adamw(std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads, std::vector<at::Tensor>& exp_avgs,
                 std::vector<at::Tensor>& exp_avg_sqs, double lr, double beta1, double beta2, double eps, double weight_decay,
                 int64_t step);

// "public_sdpa", "fused_adamw_cpu", "fused_adamw_cuda", "autocast_device_api"
bool has_feature(const std::string& name);

struct AutocastState {
  bool enabled;
  at::ScalarType dtype;
};
AutocastState autocast_get(at::DeviceType device);
void autocast_set(at::DeviceType device, AutocastState state);

void cuda_synchronize(int device);
void cuda_memory_stats(int device, int64_t* out);
void cuda_reset_peak_memory(int device);
void cuda_empty_cache();

}  // namespace xft::compat

// ---- distributed (issue 10) -------------------------------------------------------------
// c10d's collectives live on ProcessGroup in 1.13 and on Backend in 2.x (ProcessGroupGloo /
// ProcessGroupNCCL derive from it); the constructors' option structs drift between releases.
// Only distributed.cpp defines XFT_COMPAT_DIST, so no other file pulls in c10d and gloo.
#ifdef XFT_COMPAT_DIST
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>
#include <torch/version.h>

#include <chrono>
#include <string>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
namespace xft::compat {
using DistBackend = c10d::Backend;
}
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
namespace xft::compat {
using DistBackend = c10d::ProcessGroup;
}
#endif
namespace xft::compat {
c10::intrusive_ptr<c10d::Store> tcp_store(const std::string& host, int port, bool is_server, int world_size,
                                          std::chrono::milliseconds timeout);
// Gloo over TCP; the network device is chosen from GLOO_SOCKET_IFNAME, else the loopback when the
// master is local, else this host's name (as torch.distributed does).
c10::intrusive_ptr<DistBackend> gloo_group(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                           std::chrono::milliseconds timeout, const std::string& master_addr);
// Throws when this libtorch has no NCCL (CPU builds, Debian's 1.13).
c10::intrusive_ptr<DistBackend> nccl_group(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                           std::chrono::milliseconds timeout, int device);
bool has_nccl();
}  // namespace xft::compat
#endif
