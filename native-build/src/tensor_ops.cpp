// Metadata, creation, dtype/device moves, views, indexing, arithmetic and reductions.
#include <cmath>
#include <cstring>
#include <limits>

#include "common.h"

using namespace xft;

namespace {

at::TensorOptions options(int dtype, int device_type, int device_index) {
  return at::TensorOptions().dtype(scalar_type(dtype)).device(device(device_type, device_index));
}

// Integral tensors keep their dtype for integral scalars (t + 1 stays int64), as Python ints do.
at::Scalar scalar_for(const at::Tensor& t, double s) {
  bool integral = at::isIntegralType(t.scalar_type(), /*includeBool=*/true);
  if (integral && std::isfinite(s) && s == std::floor(s) && std::fabs(s) < 9.0e15) return at::Scalar(static_cast<int64_t>(s));
  return at::Scalar(s);
}

at::Tensor unary(int op, const at::Tensor& t) {
  switch (op) {
    case XFT_NEG: return at::neg(t);
    case XFT_EXP: return at::exp(t);
    case XFT_LOG: return at::log(t);
    case XFT_SQRT: return at::sqrt(t);
    case XFT_RSQRT: return at::rsqrt(t);
    case XFT_ABS: return at::abs(t);
    case XFT_TANH: return at::tanh(t);
    case XFT_SIGMOID: return at::sigmoid(t);
    case XFT_RELU: return at::relu(t);
    case XFT_SIN: return at::sin(t);
    case XFT_COS: return at::cos(t);
    case XFT_LOGICAL_NOT: return at::logical_not(t);
    case XFT_ERF: return at::erf(t);
    case XFT_SIGN: return at::sign(t);
    case XFT_FLOOR: return at::floor(t);
    case XFT_RECIPROCAL: return at::reciprocal(t);
    case XFT_SILU: return at::silu(t);
    case XFT_SQUARE: return at::square(t);
  }
  throw std::invalid_argument("unknown unary op code " + std::to_string(op));
}

at::Tensor binary(int op, const at::Tensor& a, const at::Tensor& b) {
  switch (op) {
    case XFT_ADD: return at::add(a, b);
    case XFT_SUB: return at::sub(a, b);
    case XFT_MUL: return at::mul(a, b);
    case XFT_DIV: return at::div(a, b);
    case XFT_POW: return at::pow(a, b);
    case XFT_MAXIMUM: return at::maximum(a, b);
    case XFT_MINIMUM: return at::minimum(a, b);
    case XFT_EQ: return at::eq(a, b);
    case XFT_NE: return at::ne(a, b);
    case XFT_LT: return at::lt(a, b);
    case XFT_LE: return at::le(a, b);
    case XFT_GT: return at::gt(a, b);
    case XFT_GE: return at::ge(a, b);
    case XFT_LOGICAL_AND: return at::logical_and(a, b);
    case XFT_LOGICAL_OR: return at::logical_or(a, b);
    case XFT_REMAINDER: return at::remainder(a, b);
  }
  throw std::invalid_argument("unknown binary op code " + std::to_string(op));
}

at::Tensor binary_scalar(int op, const at::Tensor& a, double value) {
  const at::Scalar s = scalar_for(a, value);
  switch (op) {
    case XFT_ADD: return at::add(a, s);
    case XFT_SUB: return at::sub(a, s);
    case XFT_MUL: return at::mul(a, s);
    case XFT_DIV: return at::div(a, s);
    case XFT_POW: return at::pow(a, s);
    case XFT_MAXIMUM: return at::clamp_min(a, s);
    case XFT_MINIMUM: return at::clamp_max(a, s);
    case XFT_EQ: return at::eq(a, s);
    case XFT_NE: return at::ne(a, s);
    case XFT_LT: return at::lt(a, s);
    case XFT_LE: return at::le(a, s);
    case XFT_GT: return at::gt(a, s);
    case XFT_GE: return at::ge(a, s);
    case XFT_LOGICAL_AND: return at::logical_and(a, at::scalar_tensor(s, a.options().dtype(at::kBool)));
    case XFT_LOGICAL_OR: return at::logical_or(a, at::scalar_tensor(s, a.options().dtype(at::kBool)));
    case XFT_REMAINDER: return at::remainder(a, s);
  }
  throw std::invalid_argument("unknown binary op code " + std::to_string(op));
}

std::vector<int64_t> all_dims(const at::Tensor& t) {
  std::vector<int64_t> d(static_cast<size_t>(t.dim()));
  for (int64_t i = 0; i < t.dim(); ++i) d[static_cast<size_t>(i)] = i;
  return d;
}

// prod/all/any reduce one dim at a time in libtorch: go from the last dim to the first so
// earlier indices stay valid when keepdim is false.
template <class F>
at::Tensor reduce_each(const at::Tensor& t, at::IntArrayRef dims, bool keepdim, F f) {
  std::vector<int64_t> d;
  for (int64_t x : dims) d.push_back(c10::maybe_wrap_dim(x, t.dim()));
  std::sort(d.rbegin(), d.rend());
  if (std::adjacent_find(d.begin(), d.end()) != d.end()) throw std::invalid_argument("reduction: repeated dim");
  at::Tensor r = t;
  for (int64_t x : d) r = f(r, x, keepdim);
  return r;
}

at::Tensor reduce(int op, const at::Tensor& t, at::IntArrayRef dims, bool keepdim) {
  const bool all = dims.empty();
  switch (op) {
    case XFT_SUM: return all && !keepdim ? at::sum(t) : at::sum(t, all ? at::IntArrayRef(all_dims(t)) : dims, keepdim);
    case XFT_MEAN: return all && !keepdim ? at::mean(t) : at::mean(t, all ? at::IntArrayRef(all_dims(t)) : dims, keepdim);
    case XFT_AMAX: return at::amax(t, dims, keepdim);
    case XFT_AMIN: return at::amin(t, dims, keepdim);
    case XFT_LOGSUMEXP: return at::logsumexp(t, all ? at::IntArrayRef(all_dims(t)) : dims, keepdim);
    case XFT_ARGMAX:
    case XFT_ARGMIN: {
      if (dims.size() > 1) throw std::invalid_argument("argmax/argmin take at most one dim");
      c10::optional<int64_t> d = all ? c10::nullopt : c10::optional<int64_t>(dims[0]);
      return op == XFT_ARGMAX ? at::argmax(t, d, keepdim) : at::argmin(t, d, keepdim);
    }
    case XFT_PROD:
      if (all && !keepdim) return at::prod(t);
      return reduce_each(t, all ? at::IntArrayRef(all_dims(t)) : dims, keepdim,
                         [](const at::Tensor& x, int64_t d, bool k) { return at::prod(x, d, k); });
    case XFT_ALL:
      if (all && !keepdim) return at::all(t);
      return reduce_each(t, all ? at::IntArrayRef(all_dims(t)) : dims, keepdim,
                         [](const at::Tensor& x, int64_t d, bool k) { return at::all(x, d, k); });
    case XFT_ANY:
      if (all && !keepdim) return at::any(t);
      return reduce_each(t, all ? at::IntArrayRef(all_dims(t)) : dims, keepdim,
                         [](const at::Tensor& x, int64_t d, bool k) { return at::any(x, d, k); });
  }
  throw std::invalid_argument("unknown reduction code " + std::to_string(op));
}

void check_out(const void* p, const char* what) {
  if (p == nullptr) throw std::invalid_argument(std::string("null output pointer: ") + what);
}

}  // namespace

extern "C" {

// ---- metadata ----
int64_t xft_ndim(const xft_tensor* t) { return value_call<int64_t>(-1, [&] { return get(t).dim(); }); }

int64_t xft_sizes(const xft_tensor* t, int64_t* out, int64_t cap) {
  return value_call<int64_t>(-1, [&] {
    const auto& x = get(t);
    if (cap > 0) check_out(out, "sizes");
    for (int64_t i = 0; i < std::min<int64_t>(cap, x.dim()); ++i) out[i] = x.size(i);
    return static_cast<int64_t>(x.dim());
  });
}

int64_t xft_strides(const xft_tensor* t, int64_t* out, int64_t cap) {
  return value_call<int64_t>(-1, [&] {
    const auto& x = get(t);
    if (cap > 0) check_out(out, "strides");
    for (int64_t i = 0; i < std::min<int64_t>(cap, x.dim()); ++i) out[i] = x.stride(i);
    return static_cast<int64_t>(x.dim());
  });
}

int64_t xft_numel(const xft_tensor* t) { return value_call<int64_t>(-1, [&] { return get(t).numel(); }); }
int xft_dtype(const xft_tensor* t) { return value_call<int>(-1, [&] { return dtype_code(get(t).scalar_type()); }); }
int xft_device_type(const xft_tensor* t) {
  return value_call<int>(-1, [&] { return get(t).device().is_cuda() ? XFT_CUDA : XFT_CPU; });
}
int xft_device_index(const xft_tensor* t) { return value_call<int>(-2, [&] { return static_cast<int>(get(t).device().index()); }); }
int xft_is_contiguous(const xft_tensor* t) { return value_call<int>(-1, [&] { return get(t).is_contiguous() ? 1 : 0; }); }
int xft_is_pinned(const xft_tensor* t) {
  return value_call<int>(-1, [&] {
    const auto& x = get(t);
    return x.is_cpu() && at::hasCUDA() && x.is_pinned() ? 1 : 0;
  });
}
int xft_item(const xft_tensor* t, double* out) {
  return status_call([&] {
    check_out(out, "item");
    count_d2h();
    *out = get(t).item<double>();
  });
}

// ---- creation ----
xft_tensor* xft_empty(const int64_t* dims, int64_t ndim, int dtype, int device_type, int device_index) {
  return tensor_call([&] { return at::empty(dims_ref(dims, ndim), options(dtype, device_type, device_index)); });
}
xft_tensor* xft_full(const int64_t* dims, int64_t ndim, double value, int dtype, int device_type, int device_index) {
  return tensor_call([&] { return at::full(dims_ref(dims, ndim), value, options(dtype, device_type, device_index)); });
}
xft_tensor* xft_arange(double start, double end, double step, int dtype, int device_type, int device_index) {
  return tensor_call([&] { return at::arange(start, end, step, options(dtype, device_type, device_index)); });
}
xft_tensor* xft_randn(const int64_t* dims, int64_t ndim, int dtype, int device_type, int device_index, xft_generator* gen) {
  return tensor_call([&] { return at::randn(dims_ref(dims, ndim), generator(gen), options(dtype, device_type, device_index)); });
}
xft_tensor* xft_rand(const int64_t* dims, int64_t ndim, int dtype, int device_type, int device_index, xft_generator* gen) {
  return tensor_call([&] { return at::rand(dims_ref(dims, ndim), generator(gen), options(dtype, device_type, device_index)); });
}
xft_tensor* xft_randint(int64_t low, int64_t high, const int64_t* dims, int64_t ndim, int device_type, int device_index,
                        xft_generator* gen) {
  return tensor_call([&] {
    return at::randint(low, high, dims_ref(dims, ndim), generator(gen), options(XFT_I64, device_type, device_index));
  });
}
xft_tensor* xft_randperm(int64_t n, int device_type, int device_index, xft_generator* gen) {
  return tensor_call([&] { return at::randperm(n, generator(gen), options(XFT_I64, device_type, device_index)); });
}

xft_tensor* xft_from_data(const void* data, int64_t nbytes, const int64_t* dims, int64_t ndim, int dtype) {
  return tensor_call([&] {
    at::Tensor t = at::empty(dims_ref(dims, ndim), at::TensorOptions().dtype(scalar_type(dtype)));
    if (nbytes != static_cast<int64_t>(t.nbytes()))
      throw std::invalid_argument("from_data: " + std::to_string(nbytes) + " bytes given, shape " + c10::str(t.sizes()) +
                                  " of " + c10::toString(t.scalar_type()) + " needs " + std::to_string(t.nbytes()));
    if (nbytes > 0) {
      check_out(data, "data");
      std::memcpy(t.data_ptr(), data, static_cast<size_t>(nbytes));
    }
    return t;
  });
}

xft_tensor* xft_empty_host(const int64_t* dims, int64_t ndim, int dtype, int pinned) {
  return tensor_call([&] {
    return at::empty(dims_ref(dims, ndim), at::TensorOptions().dtype(scalar_type(dtype)).device(at::kCPU).pinned_memory(pinned != 0));
  });
}
void* xft_host_data(xft_tensor* t) {
  return value_call<void*>(nullptr, [&]() -> void* {
    at::Tensor& x = get_mut(t);
    if (!x.is_cpu() || !x.is_contiguous()) throw std::invalid_argument("host_data: tensor is not a contiguous CPU tensor");
    return x.data_ptr();
  });
}
int xft_copy_to_host(const xft_tensor* t, void* dst, int64_t nbytes) {
  return status_call([&] {
    count_d2h();
    at::Tensor c = get(t).detach().to(at::kCPU).contiguous();
    if (nbytes != static_cast<int64_t>(c.nbytes()))
      throw std::invalid_argument("copy_to_host: buffer of " + std::to_string(nbytes) + " bytes, tensor has " +
                                  std::to_string(c.nbytes()));
    if (nbytes > 0) {
      check_out(dst, "destination");
      std::memcpy(dst, c.data_ptr(), static_cast<size_t>(nbytes));
    }
  });
}

// ---- dtype / device ----
xft_tensor* xft_to(const xft_tensor* t, int dtype, int device_type, int device_index, int non_blocking) {
  return tensor_call([&] {
    const auto& x = get(t);
    at::ScalarType st = dtype < 0 ? x.scalar_type() : scalar_type(dtype);
    at::Device dev = device_type < 0 ? x.device() : device(device_type, device_index);
    return x.to(dev, st, non_blocking != 0, false);
  });
}
xft_tensor* xft_pin_memory(const xft_tensor* t) { return tensor_call([&] { return get(t).pin_memory(); }); }
xft_tensor* xft_clone(const xft_tensor* t) { return tensor_call([&] { return get(t).clone(); }); }
xft_tensor* xft_contiguous(const xft_tensor* t) { return tensor_call([&] { return get(t).contiguous(); }); }
int xft_copy_(xft_tensor* dst, const xft_tensor* src, int non_blocking) {
  return status_call([&] { get_mut(dst, "dst").copy_(get(src, "src"), non_blocking != 0); });
}

// ---- views and indexing ----
xft_tensor* xft_view(const xft_tensor* t, const int64_t* dims, int64_t ndim) {
  return tensor_call([&] { return get(t).view(dims_ref(dims, ndim)); });
}
xft_tensor* xft_reshape(const xft_tensor* t, const int64_t* dims, int64_t ndim) {
  return tensor_call([&] { return get(t).reshape(dims_ref(dims, ndim)); });
}
xft_tensor* xft_permute(const xft_tensor* t, const int64_t* dims, int64_t ndim) {
  return tensor_call([&] { return get(t).permute(dims_ref(dims, ndim)); });
}
xft_tensor* xft_transpose(const xft_tensor* t, int64_t d0, int64_t d1) {
  return tensor_call([&] { return get(t).transpose(d0, d1); });
}
xft_tensor* xft_expand(const xft_tensor* t, const int64_t* dims, int64_t ndim) {
  return tensor_call([&] { return get(t).expand(dims_ref(dims, ndim)); });
}
xft_tensor* xft_repeat(const xft_tensor* t, const int64_t* dims, int64_t ndim) {
  return tensor_call([&] { return get(t).repeat(dims_ref(dims, ndim)); });
}
xft_tensor* xft_narrow(const xft_tensor* t, int64_t dim, int64_t start, int64_t length) {
  return tensor_call([&] { return get(t).narrow(dim, start, length); });
}
xft_tensor* xft_slice(const xft_tensor* t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  return tensor_call([&] { return at::slice(get(t), dim, start, end, step); });
}
xft_tensor* xft_select(const xft_tensor* t, int64_t dim, int64_t index) {
  return tensor_call([&] { return get(t).select(dim, index); });
}
xft_tensor* xft_squeeze(const xft_tensor* t, int64_t dim) { return tensor_call([&] { return get(t).squeeze(dim); }); }
xft_tensor* xft_unsqueeze(const xft_tensor* t, int64_t dim) { return tensor_call([&] { return get(t).unsqueeze(dim); }); }
xft_tensor* xft_flatten(const xft_tensor* t, int64_t start_dim, int64_t end_dim) {
  return tensor_call([&] { return get(t).flatten(start_dim, end_dim); });
}
xft_tensor* xft_unfold(const xft_tensor* t, int64_t dim, int64_t size, int64_t step) {
  return tensor_call([&] { return get(t).unfold(dim, size, step); });
}
xft_tensor* xft_index_select(const xft_tensor* t, int64_t dim, const xft_tensor* index) {
  return tensor_call([&] { return at::index_select(get(t), dim, get(index, "index")); });
}
xft_tensor* xft_gather(const xft_tensor* t, int64_t dim, const xft_tensor* index) {
  return tensor_call([&] { return at::gather(get(t), dim, get(index, "index")); });
}
xft_tensor* xft_scatter(const xft_tensor* t, int64_t dim, const xft_tensor* index, const xft_tensor* src) {
  return tensor_call([&] { return at::scatter(get(t), dim, get(index, "index"), get(src, "src")); });
}
xft_tensor* xft_scatter_add(const xft_tensor* t, int64_t dim, const xft_tensor* index, const xft_tensor* src) {
  return tensor_call([&] { return at::scatter_add(get(t), dim, get(index, "index"), get(src, "src")); });
}
xft_tensor* xft_masked_fill(const xft_tensor* t, const xft_tensor* mask, double value) {
  return tensor_call([&] {
    const auto& m = get(mask, "mask");
    // 1.13 still accepts (deprecated) uint8/float masks, 2.x does not: be strict on both.
    if (m.scalar_type() != at::kBool)
      throw std::invalid_argument(std::string("masked_fill: mask must be bool, got ") + c10::toString(m.scalar_type()));
    return at::masked_fill(get(t), m, scalar_for(get(t), value));
  });
}
xft_tensor* xft_where(const xft_tensor* cond, const xft_tensor* a, const xft_tensor* b) {
  return tensor_call([&] { return at::where(get(cond, "condition"), get(a), get(b)); });
}
xft_tensor* xft_cat(const xft_tensor* const* ts, int64_t n, int64_t dim) {
  return tensor_call([&] { return at::cat(tensor_list(ts, n), dim); });
}
xft_tensor* xft_stack(const xft_tensor* const* ts, int64_t n, int64_t dim) {
  return tensor_call([&] { return at::stack(tensor_list(ts, n), dim); });
}
xft_tensor* xft_masked_scatter(const xft_tensor* t, const xft_tensor* mask, const xft_tensor* source) {
  return tensor_call([&] {
    const auto& m = get(mask, "mask");
    const auto& src = get(source, "source");
    if (m.scalar_type() != at::kBool)
      throw std::invalid_argument(std::string("masked_scatter: mask must be bool, got ") + c10::toString(m.scalar_type()));
    // libtorch reads past the source when the mask selects more elements than it holds: check first.
    count_d2h();
    const int64_t selected = at::broadcast_to(m, get(t).sizes()).sum().item<int64_t>();
    if (selected > src.numel())
      throw std::invalid_argument("masked_scatter: mask selects " + std::to_string(selected) + " elements but source has " +
                                  std::to_string(src.numel()));
    return at::masked_scatter(get(t), m, src);
  });
}
xft_tensor* xft_cumsum(const xft_tensor* t, int64_t dim) { return tensor_call([&] { return at::cumsum(get(t), dim); }); }
xft_tensor* xft_tril(const xft_tensor* t, int64_t diagonal) { return tensor_call([&] { return at::tril(get(t), diagonal); }); }
xft_tensor* xft_triu(const xft_tensor* t, int64_t diagonal) { return tensor_call([&] { return at::triu(get(t), diagonal); }); }

// ---- arithmetic ----
xft_tensor* xft_unary(int op, const xft_tensor* t) { return tensor_call([&] { return unary(op, get(t)); }); }
xft_tensor* xft_binary(int op, const xft_tensor* a, const xft_tensor* b) {
  return tensor_call([&] { return binary(op, get(a, "left operand"), get(b, "right operand")); });
}
xft_tensor* xft_binary_scalar(int op, const xft_tensor* a, double s) {
  return tensor_call([&] { return binary_scalar(op, get(a), s); });
}
xft_tensor* xft_clamp(const xft_tensor* t, double min, double max) {
  return tensor_call([&] {
    c10::optional<at::Scalar> lo = std::isnan(min) ? c10::nullopt : c10::optional<at::Scalar>(min);
    c10::optional<at::Scalar> hi = std::isnan(max) ? c10::nullopt : c10::optional<at::Scalar>(max);
    if (!lo && !hi) throw std::invalid_argument("clamp: at least one of min and max must be given");
    return at::clamp(get(t), lo, hi);
  });
}
int xft_binary_(int op, xft_tensor* a, const xft_tensor* b) {
  return status_call([&] {
    at::Tensor& x = get_mut(a);
    const at::Tensor& y = get(b, "right operand");
    switch (op) {
      case XFT_ADD: x.add_(y); return;
      case XFT_SUB: x.sub_(y); return;
      case XFT_MUL: x.mul_(y); return;
      case XFT_DIV: x.div_(y); return;
    }
    throw std::invalid_argument("in-place op code must be ADD, SUB, MUL or DIV, got " + std::to_string(op));
  });
}
int xft_binary_scalar_(int op, xft_tensor* a, double s) {
  return status_call([&] {
    at::Tensor& x = get_mut(a);
    switch (op) {
      case XFT_ADD: x.add_(s); return;
      case XFT_SUB: x.sub_(s); return;
      case XFT_MUL: x.mul_(s); return;
      case XFT_DIV: x.div_(s); return;
    }
    throw std::invalid_argument("in-place op code must be ADD, SUB, MUL or DIV, got " + std::to_string(op));
  });
}
int xft_add_scaled_(xft_tensor* a, const xft_tensor* b, double alpha) {
  return status_call([&] { get_mut(a).add_(get(b, "other"), alpha); });
}
int xft_addcmul_(xft_tensor* a, const xft_tensor* t1, const xft_tensor* t2, double value) {
  return status_call([&] { get_mut(a).addcmul_(get(t1, "tensor1"), get(t2, "tensor2"), value); });
}
int xft_addcdiv_(xft_tensor* a, const xft_tensor* t1, const xft_tensor* t2, double value) {
  return status_call([&] { get_mut(a).addcdiv_(get(t1, "tensor1"), get(t2, "tensor2"), value); });
}
int xft_fill_(xft_tensor* a, double value) { return status_call([&] { get_mut(a).fill_(value); }); }

// ---- reductions ----
xft_tensor* xft_reduce(int op, const xft_tensor* t, const int64_t* dims, int64_t ndim, int keepdim) {
  return tensor_call([&] { return reduce(op, get(t), dims_ref(dims, ndim), keepdim != 0); });
}
xft_tensor* xft_var(const xft_tensor* t, const int64_t* dims, int64_t ndim, int64_t correction, int keepdim) {
  return tensor_call([&] {
    // Written out (not at::var) because var's correction argument changed type in 2.x.
    const auto& x = get(t);
    std::vector<int64_t> d = ndim == 0 ? all_dims(x) : std::vector<int64_t>(dims_ref(dims, ndim).vec());
    at::Tensor centered = x - at::mean(x, d, true);
    at::Tensor ss = at::sum(centered * centered, d, keepdim != 0);
    const double n = static_cast<double>(x.numel()) / static_cast<double>(std::max<int64_t>(ss.numel(), 1));
    return ss / (n - static_cast<double>(correction));
  });
}
int xft_max_dim(const xft_tensor* t, int64_t dim, int keepdim, xft_tensor** values, xft_tensor** indices) {
  return status_call([&] {
    check_out(values, "values");
    check_out(indices, "indices");
    auto r = at::max(get(t), dim, keepdim != 0);
    *values = wrap(std::get<0>(r));
    *indices = wrap(std::get<1>(r));
  });
}
xft_tensor* xft_norm(const xft_tensor* t, double p, const int64_t* dims, int64_t ndim, int keepdim) {
  return tensor_call([&] {
    at::OptionalIntArrayRef d = ndim == 0 ? at::OptionalIntArrayRef() : at::OptionalIntArrayRef(dims_ref(dims, ndim));
    return at::linalg_vector_norm(get(t), p, d, keepdim != 0, c10::nullopt);
  });
}

// ---- linear algebra ----
xft_tensor* xft_matmul(const xft_tensor* a, const xft_tensor* b) {
  return tensor_call([&] { return at::matmul(get(a, "left operand"), get(b, "right operand")); });
}
xft_tensor* xft_bmm(const xft_tensor* a, const xft_tensor* b) {
  return tensor_call([&] { return at::bmm(get(a, "left operand"), get(b, "right operand")); });
}
xft_tensor* xft_linear(const xft_tensor* x, const xft_tensor* weight, const xft_tensor* bias) {
  return tensor_call([&] { return at::linear(get(x, "input"), get(weight, "weight"), opt(bias)); });
}
xft_tensor* xft_einsum(const char* equation, const xft_tensor* const* ts, int64_t n) {
  return tensor_call([&] {
    if (equation == nullptr) throw std::invalid_argument("einsum: null equation");
    return at::einsum(equation, tensor_list(ts, n));
  });
}

}  // extern "C"
