// Neural-network functions: softmax, layer norm, GELU, dropout, embedding, attention, losses,
// sorting and sampling.
#include "common.h"
#include "compat.h"

using namespace xft;

namespace {
int64_t reduction_code(int r) {
  if (r < XFT_REDUCTION_NONE || r > XFT_REDUCTION_SUM) throw std::invalid_argument("unknown reduction " + std::to_string(r));
  return r;
}
}  // namespace

extern "C" {

xft_tensor* xft_softmax(const xft_tensor* t, int64_t dim) { return tensor_call([&] { return at::softmax(get(t), dim); }); }
xft_tensor* xft_log_softmax(const xft_tensor* t, int64_t dim) {
  return tensor_call([&] { return at::log_softmax(get(t), dim); });
}

xft_tensor* xft_layer_norm(const xft_tensor* x, const int64_t* normalized_shape, int64_t ndim, const xft_tensor* weight,
                           const xft_tensor* bias, double eps) {
  return tensor_call([&] {
    return at::layer_norm(get(x, "input"), dims_ref(normalized_shape, ndim), opt(weight), opt(bias), eps);
  });
}

xft_tensor* xft_gelu(const xft_tensor* x, int approximate) {
  return tensor_call([&] {
    if (approximate != 0 && approximate != 1) throw std::invalid_argument("gelu: approximate must be 0 (exact) or 1 (tanh)");
    return at::gelu(get(x), approximate ? "tanh" : "none");
  });
}

xft_tensor* xft_dropout(const xft_tensor* x, double p, int train) {
  return tensor_call([&] {
    if (!(p >= 0 && p <= 1)) throw std::invalid_argument("dropout probability must be in [0, 1], got " + std::to_string(p));
    return compat::dropout(get(x), p, train != 0);
  });
}

xft_tensor* xft_embedding(const xft_tensor* weight, const xft_tensor* indices) {
  return tensor_call([&] {
    const auto& w = get(weight, "weight");
    const auto& idx = get(indices, "indices");
    // CUDA reports a bad index with a device-side assert that poisons the context: check first.
    if (idx.numel() > 0 && !idx.is_cpu() && ids_checked_on_host == 0) {
      count_d2h();
      auto lo = idx.min().item<int64_t>(), hi = idx.max().item<int64_t>();
      if (lo < 0 || hi >= w.size(0))
        throw std::out_of_range("embedding: index " + std::to_string(lo < 0 ? lo : hi) + " out of range for " +
                                std::to_string(w.size(0)) + " rows");
    }
    return at::embedding(w, idx);
  });
}

xft_tensor* xft_scaled_dot_product_attention(const xft_tensor* q, const xft_tensor* k, const xft_tensor* v,
                                             const xft_tensor* mask, double dropout_p, int is_causal, double scale) {
  return tensor_call([&] {
    return compat::scaled_dot_product_attention(get(q, "query"), get(k, "key"), get(v, "value"), opt(mask), dropout_p,
                                                is_causal != 0, scale);
  });
}

xft_tensor* xft_cross_entropy(const xft_tensor* logits, const xft_tensor* target, const xft_tensor* weight, int reduction,
                              int64_t ignore_index, double label_smoothing) {
  return tensor_call([&] {
    if (label_smoothing < 0 || label_smoothing > 1)
      throw std::invalid_argument("cross_entropy: label_smoothing must be in [0, 1]");
    return at::cross_entropy_loss(get(logits, "logits"), get(target, "target"), opt(weight), reduction_code(reduction),
                                  ignore_index, label_smoothing);
  });
}

xft_tensor* xft_mse_loss(const xft_tensor* a, const xft_tensor* b, int reduction) {
  return tensor_call([&] {
    const auto& x = get(a, "input");
    const auto& y = get(b, "target");
    if (x.sizes() != y.sizes())
      throw std::invalid_argument("mse_loss: input " + c10::str(x.sizes()) + " and target " + c10::str(y.sizes()) +
                                  " differ in shape");
    return at::mse_loss(x, y, reduction_code(reduction));
  });
}

xft_tensor* xft_normalize(const xft_tensor* x, double p, int64_t dim, double eps) {
  return tensor_call([&] {
    const auto& t = get(x);
    at::Tensor n = at::linalg_vector_norm(t, p, at::IntArrayRef{dim}, true, c10::nullopt).clamp_min(eps);
    return t / n.expand_as(t);
  });
}

xft_tensor* xft_argsort(const xft_tensor* t, int64_t dim, int descending) {
  return tensor_call([&] { return at::argsort(get(t), dim, descending != 0); });
}

int xft_topk(const xft_tensor* t, int64_t k, int64_t dim, int largest, int sorted, xft_tensor** values,
             xft_tensor** indices) {
  return status_call([&] {
    if (values == nullptr || indices == nullptr) throw std::invalid_argument("topk: null output pointer");
    auto r = at::topk(get(t), k, dim, largest != 0, sorted != 0);
    *values = wrap(std::get<0>(r));
    *indices = wrap(std::get<1>(r));
  });
}

xft_tensor* xft_multinomial(const xft_tensor* probs, int64_t num_samples, int replacement, xft_generator* gen) {
  return tensor_call([&] { return at::multinomial(get(probs, "probs"), num_samples, replacement != 0, generator(gen)); });
}

}  // extern "C"
