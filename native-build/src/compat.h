// Everything that differs between libtorch 1.13 and 2.x, or between CPU and CUDA builds,
// lives behind these functions (compat.cpp); the C API above them is identical.
#pragma once

#include <ATen/ATen.h>

namespace xft::compat {

at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                        const c10::optional<at::Tensor>& mask, double dropout_p, bool is_causal,
                                        double scale);

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
