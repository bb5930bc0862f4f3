/*
 * xft: a plain C API over libtorch for the JVM (FFM) side of X-Former.
 *
 * Ownership: every function that returns an xft_tensor* (or writes one through an
 * out-parameter) hands the caller a new handle, which the caller frees with
 * xft_tensor_free. Input handles are borrowed and never freed by the callee.
 *
 * Errors: no C++ exception leaves this library. Functions returning a pointer return
 * NULL on error; functions returning int return 0 on success and nonzero on error;
 * functions returning int64_t/double queries return -1 on error. The message is in a
 * thread-local buffer read with xft_last_error() (valid until the next failing call
 * on the same thread).
 *
 * Shapes are (const int64_t* dims, int64_t ndim). Dtypes and devices are the XFT_*
 * codes below. Reductions with ndim == 0 reduce over all dimensions.
 */
#ifndef XFT_H
#define XFT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xft_tensor xft_tensor;
typedef struct xft_generator xft_generator;
typedef struct xft_guard xft_guard;
typedef struct xft_mapping xft_mapping;

/* dtypes */
enum {
  XFT_F32 = 0, XFT_F64 = 1, XFT_F16 = 2, XFT_BF16 = 3, XFT_I64 = 4,
  XFT_I32 = 5, XFT_I16 = 6, XFT_I8 = 7, XFT_U8 = 8, XFT_BOOL = 9
};
/* device types */
enum { XFT_CPU = 0, XFT_CUDA = 1 };
/* unary ops */
enum {
  XFT_NEG = 0, XFT_EXP = 1, XFT_LOG = 2, XFT_SQRT = 3, XFT_RSQRT = 4, XFT_ABS = 5,
  XFT_TANH = 6, XFT_SIGMOID = 7, XFT_RELU = 8, XFT_SIN = 9, XFT_COS = 10,
  XFT_LOGICAL_NOT = 11, XFT_ERF = 12, XFT_SIGN = 13, XFT_FLOOR = 14, XFT_RECIPROCAL = 15,
  XFT_SILU = 16, XFT_SQUARE = 17
};
/* binary ops (tensor-tensor and tensor-scalar) */
enum {
  XFT_ADD = 0, XFT_SUB = 1, XFT_MUL = 2, XFT_DIV = 3, XFT_POW = 4, XFT_MAXIMUM = 5,
  XFT_MINIMUM = 6, XFT_EQ = 7, XFT_NE = 8, XFT_LT = 9, XFT_LE = 10, XFT_GT = 11,
  XFT_GE = 12, XFT_LOGICAL_AND = 13, XFT_LOGICAL_OR = 14, XFT_REMAINDER = 15
};
/* reductions */
enum {
  XFT_SUM = 0, XFT_MEAN = 1, XFT_AMAX = 2, XFT_AMIN = 3, XFT_LOGSUMEXP = 4,
  XFT_PROD = 5, XFT_ARGMAX = 6, XFT_ARGMIN = 7, XFT_ALL = 8, XFT_ANY = 9
};
/* loss reductions (same codes as at::Reduction) */
enum { XFT_REDUCTION_NONE = 0, XFT_REDUCTION_MEAN = 1, XFT_REDUCTION_SUM = 2 };

/* ---- library ---------------------------------------------------------------- */
const char* xft_last_error(void);
/* "libtorch <version>; cuda <yes|no>[; devices N]" */
const char* xft_version(void);
/* Handles currently alive (created and not yet freed) in this process. */
int64_t xft_live_tensors(void);
void xft_tensor_free(xft_tensor* t);
/* Frees ts[0..n) (NULL entries skipped): one call for a whole scope of handles. */
void xft_tensor_free_many(xft_tensor* const* ts, int64_t n);
int xft_manual_seed(uint64_t seed);
xft_generator* xft_generator_new(uint64_t seed, int device_type);
void xft_generator_free(xft_generator* g);
int xft_set_num_threads(int n);
int xft_get_num_threads(void);
/* inter-op pool size; only before libtorch's first inter-op work (an error after) */
int xft_set_num_interop_threads(int n);
int xft_get_num_interop_threads(void);
/* OpenBLAS's own pool (the system BLAS Debian's libtorch calls): n >= 1 sets it; returns the
 * size now, 0 when the BLAS is not OpenBLAS */
int xft_blas_threads(int n);

int xft_cuda_is_available(void);
int xft_cuda_device_count(void);
int xft_cuda_synchronize(int device);
/* out[0..3] = allocated, reserved, peak allocated, peak reserved (bytes) */
int xft_cuda_memory_stats(int device, int64_t* out);
int xft_cuda_reset_peak_memory(int device);
int xft_cuda_empty_cache(void);

/* Native timing of the same call sequence Java makes for one small add:
 * xft_binary(XFT_ADD) on two 16-element fp32 CPU tensors, then xft_tensor_free.
 * Writes the mean microseconds per iteration. */
int xft_bench_add(int64_t iters, double* us_per_iter);

/* ---- metadata --------------------------------------------------------------- */
int64_t xft_ndim(const xft_tensor* t);
/* writes min(ndim, cap) sizes; returns ndim or -1 */
int64_t xft_sizes(const xft_tensor* t, int64_t* out, int64_t cap);
int64_t xft_strides(const xft_tensor* t, int64_t* out, int64_t cap);
int64_t xft_numel(const xft_tensor* t);
int xft_dtype(const xft_tensor* t);
int xft_device_type(const xft_tensor* t);
int xft_device_index(const xft_tensor* t);
int xft_is_contiguous(const xft_tensor* t);
int xft_is_pinned(const xft_tensor* t);
int xft_item(const xft_tensor* t, double* out);

/* ---- creation --------------------------------------------------------------- */
xft_tensor* xft_empty(const int64_t* dims, int64_t ndim, int dtype, int device_type, int device_index);
xft_tensor* xft_full(const int64_t* dims, int64_t ndim, double value, int dtype, int device_type, int device_index);
xft_tensor* xft_arange(double start, double end, double step, int dtype, int device_type, int device_index);
/* gen may be NULL (the default generator, see xft_manual_seed) */
xft_tensor* xft_randn(const int64_t* dims, int64_t ndim, int dtype, int device_type, int device_index, xft_generator* gen);
xft_tensor* xft_rand(const int64_t* dims, int64_t ndim, int dtype, int device_type, int device_index, xft_generator* gen);
xft_tensor* xft_randint(int64_t low, int64_t high, const int64_t* dims, int64_t ndim, int device_type, int device_index, xft_generator* gen);
xft_tensor* xft_randperm(int64_t n, int device_type, int device_index, xft_generator* gen);
/* copies nbytes (must equal numel * element size) from host memory into a new CPU tensor */
xft_tensor* xft_from_data(const void* data, int64_t nbytes, const int64_t* dims, int64_t ndim, int dtype);
/* A new uninitialised contiguous CPU tensor, in page-locked memory when pinned != 0 (for
 * asynchronous uploads; needs a CUDA libtorch), and its element memory: host data copied
 * there once becomes the tensor (the one copy on the way from a Java array). */
xft_tensor* xft_empty_host(const int64_t* dims, int64_t ndim, int dtype, int pinned);
/* the element memory of a contiguous CPU tensor (NULL with an error otherwise); valid while t lives */
void* xft_host_data(xft_tensor* t);
/* copies the tensor (any device, any layout) into host memory as contiguous elements */
int xft_copy_to_host(const xft_tensor* t, void* dst, int64_t nbytes);

/* Memory-mapped files (copy-on-write private mapping, so in-place ops never touch the
 * file). Tensors made from a mapping keep it alive; release drops the caller's ref. */
xft_mapping* xft_mapping_open(const char* path, int64_t* size_out);
void xft_mapping_release(xft_mapping* m);
xft_tensor* xft_from_mapping(xft_mapping* m, int64_t offset, const int64_t* dims, int64_t ndim, int dtype);

/* ---- dtype / device --------------------------------------------------------- */
/* dtype < 0 keeps the dtype, device_type < 0 keeps the device */
xft_tensor* xft_to(const xft_tensor* t, int dtype, int device_type, int device_index, int non_blocking);
xft_tensor* xft_pin_memory(const xft_tensor* t);
xft_tensor* xft_clone(const xft_tensor* t);
xft_tensor* xft_contiguous(const xft_tensor* t);
int xft_copy_(xft_tensor* dst, const xft_tensor* src, int non_blocking);

/* ---- views and indexing ----------------------------------------------------- */
xft_tensor* xft_view(const xft_tensor* t, const int64_t* dims, int64_t ndim);
xft_tensor* xft_reshape(const xft_tensor* t, const int64_t* dims, int64_t ndim);
xft_tensor* xft_permute(const xft_tensor* t, const int64_t* dims, int64_t ndim);
xft_tensor* xft_transpose(const xft_tensor* t, int64_t dim0, int64_t dim1);
xft_tensor* xft_expand(const xft_tensor* t, const int64_t* dims, int64_t ndim);
xft_tensor* xft_repeat(const xft_tensor* t, const int64_t* dims, int64_t ndim);
xft_tensor* xft_narrow(const xft_tensor* t, int64_t dim, int64_t start, int64_t length);
xft_tensor* xft_slice(const xft_tensor* t, int64_t dim, int64_t start, int64_t end, int64_t step);
xft_tensor* xft_select(const xft_tensor* t, int64_t dim, int64_t index);
xft_tensor* xft_squeeze(const xft_tensor* t, int64_t dim);
xft_tensor* xft_unsqueeze(const xft_tensor* t, int64_t dim);
xft_tensor* xft_flatten(const xft_tensor* t, int64_t start_dim, int64_t end_dim);
xft_tensor* xft_unfold(const xft_tensor* t, int64_t dim, int64_t size, int64_t step);
xft_tensor* xft_index_select(const xft_tensor* t, int64_t dim, const xft_tensor* index);
xft_tensor* xft_gather(const xft_tensor* t, int64_t dim, const xft_tensor* index);
xft_tensor* xft_scatter(const xft_tensor* t, int64_t dim, const xft_tensor* index, const xft_tensor* src);
xft_tensor* xft_scatter_add(const xft_tensor* t, int64_t dim, const xft_tensor* index, const xft_tensor* src);
xft_tensor* xft_masked_fill(const xft_tensor* t, const xft_tensor* mask, double value);
xft_tensor* xft_where(const xft_tensor* cond, const xft_tensor* a, const xft_tensor* b);
xft_tensor* xft_cat(const xft_tensor* const* ts, int64_t n, int64_t dim);
xft_tensor* xft_stack(const xft_tensor* const* ts, int64_t n, int64_t dim);
xft_tensor* xft_masked_scatter(const xft_tensor* t, const xft_tensor* mask, const xft_tensor* source);
xft_tensor* xft_cumsum(const xft_tensor* t, int64_t dim);
xft_tensor* xft_tril(const xft_tensor* t, int64_t diagonal);
xft_tensor* xft_triu(const xft_tensor* t, int64_t diagonal);

/* ---- arithmetic ------------------------------------------------------------- */
xft_tensor* xft_unary(int op, const xft_tensor* t);
xft_tensor* xft_binary(int op, const xft_tensor* a, const xft_tensor* b);
xft_tensor* xft_binary_scalar(int op, const xft_tensor* a, double s);
/* NaN bounds mean "no bound" */
xft_tensor* xft_clamp(const xft_tensor* t, double min, double max);
/* in place on a: a = a (op) b ; ops ADD SUB MUL DIV only */
int xft_binary_(int op, xft_tensor* a, const xft_tensor* b);
int xft_binary_scalar_(int op, xft_tensor* a, double s);
/* a += alpha * b ; a += value * t1 * t2 ; a += value * t1 / t2 */
int xft_add_scaled_(xft_tensor* a, const xft_tensor* b, double alpha);
int xft_addcmul_(xft_tensor* a, const xft_tensor* t1, const xft_tensor* t2, double value);
int xft_addcdiv_(xft_tensor* a, const xft_tensor* t1, const xft_tensor* t2, double value);
int xft_fill_(xft_tensor* a, double value);

/* ---- reductions ------------------------------------------------------------- */
/* ARGMAX/ARGMIN take at most one dim */
xft_tensor* xft_reduce(int op, const xft_tensor* t, const int64_t* dims, int64_t ndim, int keepdim);
xft_tensor* xft_var(const xft_tensor* t, const int64_t* dims, int64_t ndim, int64_t correction, int keepdim);
int xft_max_dim(const xft_tensor* t, int64_t dim, int keepdim, xft_tensor** values, xft_tensor** indices);
xft_tensor* xft_norm(const xft_tensor* t, double p, const int64_t* dims, int64_t ndim, int keepdim);

/* ---- linear algebra --------------------------------------------------------- */
xft_tensor* xft_matmul(const xft_tensor* a, const xft_tensor* b);
xft_tensor* xft_bmm(const xft_tensor* a, const xft_tensor* b);
/* bias may be NULL */
xft_tensor* xft_linear(const xft_tensor* x, const xft_tensor* weight, const xft_tensor* bias);
xft_tensor* xft_einsum(const char* equation, const xft_tensor* const* ts, int64_t n);

/* ---- neural-network functions ----------------------------------------------- */
xft_tensor* xft_softmax(const xft_tensor* t, int64_t dim);
xft_tensor* xft_log_softmax(const xft_tensor* t, int64_t dim);
/* weight, bias may be NULL */
xft_tensor* xft_layer_norm(const xft_tensor* x, const int64_t* normalized_shape, int64_t ndim,
                           const xft_tensor* weight, const xft_tensor* bias, double eps);
/* approximate: 0 exact (erf), 1 tanh */
xft_tensor* xft_gelu(const xft_tensor* x, int approximate);
xft_tensor* xft_dropout(const xft_tensor* x, double p, int train);
xft_tensor* xft_embedding(const xft_tensor* weight, const xft_tensor* indices);
/* q,k,v (..., L, E); mask NULL, bool (true = attend) or additive float, broadcastable to
 * (..., L, S); scale <= 0 means 1/sqrt(E) */
xft_tensor* xft_scaled_dot_product_attention(const xft_tensor* q, const xft_tensor* k, const xft_tensor* v,
                                             const xft_tensor* mask, double dropout_p, int is_causal, double scale);
/* the composed attention (matmul, softmax, matmul) libtorch 1.13 runs, same arguments: the
 * yardstick the public kernel of 2.x is tested against */
xft_tensor* xft_attention_reference(const xft_tensor* q, const xft_tensor* k, const xft_tensor* v,
                                    const xft_tensor* mask, double dropout_p, int is_causal, double scale);
/* logits (N, C) or (N, C, d...), target int64 class indices; weight may be NULL */
xft_tensor* xft_cross_entropy(const xft_tensor* logits, const xft_tensor* target, const xft_tensor* weight,
                              int reduction, int64_t ignore_index, double label_smoothing);
xft_tensor* xft_mse_loss(const xft_tensor* a, const xft_tensor* b, int reduction);
/* F.normalize: x / max(||x||_p, eps) along dim */
xft_tensor* xft_normalize(const xft_tensor* x, double p, int64_t dim, double eps);
xft_tensor* xft_argsort(const xft_tensor* t, int64_t dim, int descending);
int xft_topk(const xft_tensor* t, int64_t k, int64_t dim, int largest, int sorted,
             xft_tensor** values, xft_tensor** indices);
/* probs (C) or (N, C); gen may be NULL */
xft_tensor* xft_multinomial(const xft_tensor* probs, int64_t num_samples, int replacement, xft_generator* gen);

/* ---- optimisers ------------------------------------------------------------- */
enum { XFT_ADAMW_FOREACH = 1, XFT_ADAMW_FUSED = 2 };
/* One torch.optim.AdamW update of n parameters (each must have a gradient) with their moments;
 * step = the step count including this update (1 first). impl XFT_ADAMW_FOREACH: multi-tensor
 * _foreach_ ops (every libtorch); XFT_ADAMW_FUSED: libtorch's fused kernel (>= 2.4 on CPU,
 * >= 2.0 on CUDA; an error elsewhere). */
int xft_adamw_step(xft_tensor* const* params, xft_tensor* const* exp_avgs, xft_tensor* const* exp_avg_sqs, int64_t n,
                   double lr, double beta1, double beta2, double eps, double weight_decay, int64_t step, int impl);
/* 1 when this libtorch has the feature: "public_sdpa", "fused_adamw_cpu", "fused_adamw_cuda",
 * "autocast_device_api"; 0 when not; -1 (with an error) for an unknown name */
int xft_has_feature(const char* name);

/* ---- autograd --------------------------------------------------------------- */
int xft_set_requires_grad(xft_tensor* t, int requires_grad);
int xft_requires_grad(const xft_tensor* t);
int xft_is_leaf(const xft_tensor* t);
/* grad may be NULL for a scalar t */
int xft_backward(const xft_tensor* t, const xft_tensor* grad, int retain_graph);
/* *out = a new handle to t.grad, or NULL when t has no gradient */
int xft_grad(const xft_tensor* t, xft_tensor** out);
int xft_zero_grad(xft_tensor* t);
int xft_set_grad_none(xft_tensor* t);
/* 1 when t has a gradient, 0 when not, -1 on error (no handle is made) */
int xft_has_grad(const xft_tensor* t);
/* sets the gradients of ts[0..n) to none, as zero_grad(set_to_none=True) */
int xft_set_grads_none(xft_tensor* const* ts, int64_t n);
xft_tensor* xft_detach(const xft_tensor* t);

/* ---- thread-local guards (exit on the entering thread, innermost first) ----- */
xft_guard* xft_no_grad_enter(void);
xft_guard* xft_enable_grad_enter(void);
xft_guard* xft_inference_mode_enter(void);
/* autocast to dtype (XFT_BF16 / XFT_F16) for ops on device_type */
xft_guard* xft_autocast_enter(int device_type, int dtype);
/* the caller vouches that every embedding index used until exit was checked on the host before
 * upload (or built in range): xft_embedding skips its device-side check, a host sync on CUDA */
xft_guard* xft_ids_checked_on_host_enter(void);
void xft_guard_exit(xft_guard* g);
int xft_is_grad_enabled(void);
int xft_is_inference_mode(void);
int xft_is_autocast_enabled(int device_type);

/* ---- PyTorch checkpoints (torch.save zip format) ----------------------------
 * Read by libtorch's own restricted unpickler (torch::jit::Unpickler via
 * readArchiveAndTensors): it rebuilds tensors, storages, dicts, lists, tuples and
 * scalars and refuses every other global, so a file cannot run code on load.
 * Nested dicts with string keys are flattened to dotted names ("a.b.weight");
 * tensors that shared a storage in the file share it here too.
 * state_key: NULL or "" picks the whole object when every top-level value is a
 * tensor, else its "state_dict" or "model" dict (LAVIS, Lightning); otherwise the
 * dotted path of the dict to read. Every error message names the file. */
typedef struct xft_pickle xft_pickle;
xft_pickle* xft_pickle_open(const char* path, const char* state_key);
void xft_pickle_free(xft_pickle* p);
int64_t xft_pickle_count(const xft_pickle* p);
/* entry i's dotted name; valid until xft_pickle_free */
const char* xft_pickle_name(const xft_pickle* p, int64_t i);
/* a new handle on entry i's tensor (CPU, the file's dtype, strides and storage offset) */
xft_tensor* xft_pickle_tensor(const xft_pickle* p, int64_t i);
/* the key that was read ("" for the whole object); valid until xft_pickle_free */
const char* xft_pickle_state_key(const xft_pickle* p);
/* Writes n named tensors with torch::pickle_save, in the format torch.load reads: a flat dict,
 * or {state_key: dict} when state_key is neither NULL nor "" (as training checkpoints nest it). */
int xft_pickle_save(const char* path, const char* const* names, const xft_tensor* const* tensors, int64_t n,
                    const char* state_key);

/* ---- distributed (libtorch c10d; issue 10) ----------------------------------
 * A TCPStore for rendezvous (rank 0 hosts it), a process group over it (Gloo for CPU
 * tensors, NCCL for CUDA tensors when libtorch has it) and collectives that block until
 * done. Every rank must call collectives in the same order. A failed or timed-out
 * collective's message names this rank and, from the store's heartbeats, the rank that
 * died ("stopped responding") or hangs ("alive but stuck behind"). */
typedef struct xft_store xft_store;
typedef struct xft_dist xft_dist;
typedef struct xft_ddp xft_ddp;
enum { XFT_DIST_GLOO = 0, XFT_DIST_NCCL = 1 };
enum { XFT_DIST_SUM = 0, XFT_DIST_AVG = 1, XFT_DIST_MAX = 2, XFT_DIST_MIN = 3 };
/* is_master: host the store on port (fails clearly when the port is in use) */
xft_store* xft_store_new(const char* host, int port, int is_master, int world_size, int64_t timeout_ms);
void xft_store_free(xft_store* s);
int xft_store_set(xft_store* s, const char* key, const char* value);
/* waits for key (store timeout); copies at most cap-1 bytes + NUL; returns the value's length or -1 */
int64_t xft_store_get(xft_store* s, const char* key, char* out, int64_t cap);
int64_t xft_store_add(xft_store* s, const char* key, int64_t delta);
int xft_dist_has_nccl(void);
/* the store must outlive the group; device_index is the CUDA device for NCCL */
xft_dist* xft_dist_new(xft_store* store, int rank, int world_size, int backend, int device_index, int64_t timeout_ms);
void xft_dist_free(xft_dist* d);
int xft_dist_rank(const xft_dist* d);
int xft_dist_world_size(const xft_dist* d);
/* in place */
int xft_dist_all_reduce(xft_dist* d, xft_tensor* t, int op);
int xft_dist_broadcast(xft_dist* d, xft_tensor* t, int root);
/* (B, ...) -> (world * B, ...) in rank order, B equal on every rank; no gradient */
xft_tensor* xft_dist_all_gather(xft_dist* d, const xft_tensor* t);
/* as above, differentiable: the gradient is summed over ranks and each rank's input gets its own rows */
xft_tensor* xft_dist_all_gather_with_grad(xft_dist* d, const xft_tensor* t);
int xft_dist_barrier(xft_dist* d);
/* Gradient averaging for leaf parameters (all on the group's device kind): hooks copy each
 * gradient into a bucket of about bucket_bytes, full buckets are all-reduced while backward
 * runs; xft_ddp_finish (once after each backward, before the optimiser step) waits and sets
 * .grad to the average over ranks. A parameter no rank used keeps its .grad. */
xft_ddp* xft_ddp_new(xft_dist* d, xft_tensor* const* params, int64_t n, int64_t bucket_bytes);
int xft_ddp_finish(xft_ddp* s);
/* sync 0: later backwards only accumulate into the buckets (gradient accumulation's micro-batches
 * before the last, DDP's no_sync); 1 (the default): the next backward all-reduces as it goes */
int xft_ddp_set_sync(xft_ddp* s, int sync);
int64_t xft_ddp_bucket_count(const xft_ddp* s);
void xft_ddp_free(xft_ddp* s);

/* ---- measurement: host syncs and the op profiler ------------------------------ */
/* Device-to-host reads since the library loaded: xft_item, xft_copy_to_host and the library's
 * own reads of tensor values (the CUDA embedding index check, masked_scatter's count). On a
 * GPU each one waits for the device; a training step should make none except when logging. */
int64_t xft_d2h_reads(void);
/* Starts recording every libtorch op on every thread through RecordFunction callbacks (what
 * torch.profiler records from); an error when already recording. */
int xft_profiler_start(void);
/* Stops recording and keeps the report: one line per op name, in first-call order,
 * "name<TAB>calls<TAB>self_us<TAB>total_us" (self = total minus the ops called inside it). */
int xft_profiler_stop(void);
/* Copies the last report into buf (at most cap - 1 bytes and a NUL); returns its full length
 * (call again with a larger buffer when that is >= cap), -1 on error. */
int64_t xft_profiler_report(char* buf, int64_t cap);

#ifdef __cplusplus
}
#endif

#endif /* XFT_H */
