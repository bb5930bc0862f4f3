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
