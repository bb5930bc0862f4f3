// Collectives over libtorch's c10d (TCPStore rendezvous, Gloo on CPU, NCCL on CUDA), the
// gather whose gradient returns to the local slice, and DDP-style bucketed gradient averaging.
#define XFT_COMPAT_DIST
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>

#include "common.h"
#include "compat.h"

namespace compat = xft::compat;
using xft::compat::DistBackend;
using Millis = std::chrono::milliseconds;

struct xft_store {
  std::string host;
  int port;
  int world_size;
  Millis timeout;
  c10::intrusive_ptr<c10d::Store> store;
};

// A process group plus a heartbeat: every rank publishes "<beats> <collectives issued>" in the
// store once a second, so that a failed collective can name the rank that died (its beats
// stopped) or hangs (alive, but behind in collectives) instead of only Gloo's peer address.
struct xft_dist {
  xft_store* store;
  int rank;
  int size;
  int backend;
  int device;
  Millis timeout;
  c10::intrusive_ptr<DistBackend> pg;
  std::atomic<int64_t> issued{0};

  c10::intrusive_ptr<c10d::Store> hb_store;  // its own connection: the heartbeat thread owns it
  std::thread hb_thread;
  std::mutex hb_mu;
  std::condition_variable hb_cv;
  bool hb_stop = false;

  ~xft_dist() {
    {
      std::lock_guard<std::mutex> lock(hb_mu);
      hb_stop = true;
    }
    hb_cv.notify_all();
    if (hb_thread.joinable()) hb_thread.join();
  }
};

namespace {

constexpr Millis kBeat{500};
constexpr Millis kProbe{2000};  // a rank whose beat does not move within this is dead or frozen

std::string hb_key(int rank) { return "xft/heartbeat/" + std::to_string(rank); }

std::string msg_of(const std::exception& e) {
  if (auto* ce = dynamic_cast<const c10::Error*>(&e)) return ce->what_without_backtrace();
  return e.what();
}

void heartbeat_loop(xft_dist* d) {
  int64_t beats = 0;
  std::unique_lock<std::mutex> lock(d->hb_mu);
  while (!d->hb_stop) {
    lock.unlock();
    try {
      std::string v = std::to_string(++beats) + " " + std::to_string(d->issued.load());
      d->hb_store->set(hb_key(d->rank), std::vector<uint8_t>(v.begin(), v.end()));
    } catch (...) {
      // The store's host (rank 0) is gone; the failing collective will say so.
    }
    lock.lock();
    d->hb_cv.wait_for(lock, kBeat, [d] { return d->hb_stop; });
  }
}

struct Beat {
  bool present = false;
  int64_t beats = 0, issued = 0;
};

std::vector<Beat> read_beats(c10d::Store& s, int size) {
  std::vector<Beat> out(size);
  for (int r = 0; r < size; r++) {
    if (!s.check({hb_key(r)})) continue;
    auto v = s.get(hb_key(r));
    std::istringstream in(std::string(v.begin(), v.end()));
    out[r].present = static_cast<bool>(in >> out[r].beats >> out[r].issued);
  }
  return out;
}

// Which ranks are dead (beats stopped) or behind (alive, fewer collectives issued than us).
std::string diagnose(xft_dist* d) {
  try {
    auto probe = compat::tcp_store(d->store->host, d->store->port, false, d->size, kProbe);
    auto first = read_beats(*probe, d->size);
    std::this_thread::sleep_for(kProbe);
    auto second = read_beats(*probe, d->size);
    int64_t mine = d->issued.load();
    std::ostringstream dead, behind;
    for (int r = 0; r < d->size; r++) {
      if (r == d->rank) continue;
      if (!second[r].present || second[r].beats == first[r].beats) {
        dead << (dead.tellp() > 0 ? ", " : "") << r;
      } else if (second[r].issued < mine) {
        behind << (behind.tellp() > 0 ? ", " : "") << r << " (at collective " << second[r].issued << ", this rank at "
               << mine << ")";
      }
    }
    std::string out;
    if (dead.tellp() > 0) out += "rank " + dead.str() + " stopped responding (dead or frozen)";
    if (behind.tellp() > 0) out += std::string(out.empty() ? "" : "; ") + "rank " + behind.str() + " is alive but stuck behind";
    return out.empty() ? "every rank is alive" : out;
  } catch (const std::exception&) {
    return "rank 0, which hosts the store at " + d->store->host + ":" + std::to_string(d->store->port) +
           ", is unreachable (dead)";
  }
}

// Runs one collective; a failure becomes one message naming this rank, the op and the culprit.
template <class F>
void collective(xft_dist* d, const char* op, F&& f) {
  if (d == nullptr) throw std::invalid_argument(std::string(op) + ": null process group");
  d->issued.fetch_add(1);
  try {
    f();
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(op) + " failed on rank " + std::to_string(d->rank) + " of " +
                             std::to_string(d->size) + ": " + diagnose(d) + " [" + msg_of(e) + "]");
  }
}

void wait(xft_dist* d, const char* op, const c10::intrusive_ptr<c10d::Work>& w) {
  try {
    w->wait();
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(op) + " failed on rank " + std::to_string(d->rank) + " of " +
                             std::to_string(d->size) + ": " + diagnose(d) + " [" + msg_of(e) + "]");
  }
}

void check_device(xft_dist* d, const at::Tensor& t, const char* op) {
  bool cuda = t.is_cuda();
  if (d->backend == XFT_DIST_GLOO && cuda)
    throw std::invalid_argument(std::string(op) + ": the Gloo group takes CPU tensors, got " + t.device().str());
  if (d->backend == XFT_DIST_NCCL && !cuda)
    throw std::invalid_argument(std::string(op) + ": the NCCL group takes CUDA tensors, got " + t.device().str());
}

// In place on t; a non-contiguous t goes through a contiguous copy.
void all_reduce_inplace(xft_dist* d, at::Tensor& t, int op) {
  check_device(d, t, "all_reduce");
  if (op != XFT_DIST_SUM && op != XFT_DIST_AVG && op != XFT_DIST_MAX && op != XFT_DIST_MIN)
    throw std::invalid_argument("all_reduce: unknown op " + std::to_string(op));
  at::Tensor buf = t.is_contiguous() ? t : t.contiguous();
  collective(d, "all_reduce", [&] {
    c10d::AllreduceOptions o;
    o.reduceOp = op == XFT_DIST_MAX ? c10d::ReduceOp::MAX : op == XFT_DIST_MIN ? c10d::ReduceOp::MIN : c10d::ReduceOp::SUM;
    std::vector<at::Tensor> v{buf};
    d->pg->allreduce(v, o)->wait();
  });
  at::NoGradGuard no_grad;
  if (op == XFT_DIST_AVG) buf.div_(d->size);
  if (!buf.is_same(t)) t.copy_(buf);
}

// (B, ...) on every rank -> (size * B, ...), rank r's rows at [r * B, (r + 1) * B).
at::Tensor all_gather_cat(xft_dist* d, const at::Tensor& x) {
  check_device(d, x, "all_gather");
  if (x.dim() == 0) throw std::invalid_argument("all_gather: needs at least one dimension, got a scalar");
  at::NoGradGuard no_grad;
  at::Tensor in = x.detach().contiguous();
  std::vector<at::Tensor> outs;
  for (int r = 0; r < d->size; r++) outs.push_back(at::empty_like(in));
  collective(d, "all_gather", [&] {
    std::vector<std::vector<at::Tensor>> o{outs};
    std::vector<at::Tensor> i{in};
    d->pg->allgather(o, i)->wait();
    outs = o[0];
  });
  return at::cat(outs, 0);
}

// LAVIS's GatherLayer: forward gathers every rank's slice; backward sums the gradient of the
// gathered tensor over ranks (each rank's loss reaches every slice) and keeps this rank's rows.
struct GatherWithGrad : torch::autograd::Function<GatherWithGrad> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, xft_dist* d) {
    ctx->saved_data["rows"] = x.size(0);
    ctx->saved_data["pg"] = reinterpret_cast<int64_t>(d);
    return all_gather_cat(d, x);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* d = reinterpret_cast<xft_dist*>(ctx->saved_data["pg"].toInt());
    int64_t rows = ctx->saved_data["rows"].toInt();
    at::Tensor g = grads[0].contiguous().clone();
    all_reduce_inplace(d, g, XFT_DIST_SUM);
    return {g.narrow(0, d->rank * rows, rows), at::Tensor()};
  }
};

}  // namespace

// Bucketed gradient averaging as c10d's Reducer does it, with tensor hooks: a parameter's
// gradient is added into its bucket when autograd produces it; a full bucket is all-reduced
// asynchronously while backward goes on. Buckets launch strictly in index order (every rank
// must issue collectives in the same order); finish() launches what unused parameters held
// back, waits, and writes the averages into .grad. With sync off (DDP's no_sync, for the
// micro-batches of gradient accumulation but the last) gradients only accumulate in the buckets.
struct xft_ddp {
  struct Bucket {
    std::vector<size_t> members;
    int64_t numel = 0;
    at::Tensor flat;  // (numel,)
    size_t pending = 0;
    c10::intrusive_ptr<c10d::Work> work;
  };
  xft_dist* d;
  std::vector<at::Tensor> params;
  std::vector<size_t> bucket_of, offset_of;
  std::vector<bool> seen;   // the slot holds gradient since the last finish()
  std::vector<bool> ready;  // contributed during the syncing backward
  bool sync = true;
  std::vector<Bucket> buckets;
  std::vector<unsigned> hooks;
  size_t next_launch = 0;
  std::mutex mu;

  void launch_ready_locked() {
    while (next_launch < buckets.size() && buckets[next_launch].pending == 0) {
      Bucket& b = buckets[next_launch];
      d->issued.fetch_add(1);
      std::vector<at::Tensor> v{b.flat};
      b.work = d->pg->allreduce(v);
      next_launch++;
    }
  }

  void on_grad(size_t i, const at::Tensor& grad) {
    std::lock_guard<std::mutex> lock(mu);
    if (ready[i])
      throw std::runtime_error("distributed gradient sync: parameter " + std::to_string(i) +
                               " received a second gradient in a syncing backward; call finish() after it "
                               "(turn sync off for the micro-batches before the last)");
    Bucket& b = buckets[bucket_of[i]];
    at::NoGradGuard no_grad;
    at::Tensor slot = b.flat.narrow(0, static_cast<int64_t>(offset_of[i]), params[i].numel());
    if (seen[i]) slot.add_(grad.reshape(-1));
    else slot.copy_(grad.reshape(-1));
    seen[i] = true;
    if (!sync) return;
    ready[i] = true;
    b.pending--;
    launch_ready_locked();
  }
};

namespace {

void ddp_finish(xft_ddp* s) {
  std::unique_lock<std::mutex> lock(s->mu);
  xft_dist* d = s->d;
  // Which parameters got a gradient anywhere: one never used on any rank keeps .grad as it is,
  // as in a single process.
  at::Tensor used = at::zeros({static_cast<int64_t>(s->params.size())}, at::kFloat);
  {
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < s->params.size(); i++) {
      if (s->seen[i]) used[static_cast<int64_t>(i)] = 1.0f;
      if (s->ready[i]) continue;
      auto& b = s->buckets[s->bucket_of[i]];
      if (!s->seen[i]) b.flat.narrow(0, static_cast<int64_t>(s->offset_of[i]), s->params[i].numel()).zero_();
      s->ready[i] = true;
      b.pending--;
    }
  }
  s->launch_ready_locked();
  for (auto& b : s->buckets) wait(d, "gradient all_reduce", b.work);
  if (d->backend == XFT_DIST_NCCL) used = used.to(s->params[0].device());
  all_reduce_inplace(d, used, XFT_DIST_SUM);
  at::Tensor used_cpu = used.cpu();
  at::NoGradGuard no_grad;
  for (auto& b : s->buckets) b.flat.div_(d->size);
  for (size_t i = 0; i < s->params.size(); i++) {
    at::Tensor& p = s->params[i];
    if (used_cpu[static_cast<int64_t>(i)].item<float>() > 0) {
      at::Tensor avg = s->buckets[s->bucket_of[i]].flat.narrow(0, static_cast<int64_t>(s->offset_of[i]), p.numel()).view(p.sizes());
      at::Tensor& g = p.mutable_grad();
      if (g.defined()) g.copy_(avg);
      else g = avg.clone();
    }
    s->ready[i] = false;
    s->seen[i] = false;
  }
  for (auto& b : s->buckets) {
    b.pending = b.members.size();
    b.work.reset();
  }
  s->next_launch = 0;
}

}  // namespace

using namespace xft;

extern "C" {

xft_store* xft_store_new(const char* host, int port, int is_master, int world_size, int64_t timeout_ms) {
  return value_call<xft_store*>(nullptr, [&] {
    if (host == nullptr || *host == '\0') throw std::invalid_argument("store: empty master address");
    if (port <= 0 || port > 65535) throw std::invalid_argument("store: master port " + std::to_string(port) + " is not in 1..65535");
    if (world_size < 1) throw std::invalid_argument("store: world size must be >= 1, got " + std::to_string(world_size));
    if (timeout_ms <= 0) throw std::invalid_argument("store: timeout must be positive");
    c10::intrusive_ptr<c10d::Store> s;
    try {
      s = compat::tcp_store(host, port, is_master != 0, world_size, Millis(timeout_ms));
    } catch (const std::exception& e) {
      if (is_master)
        throw std::runtime_error("cannot host the rendezvous store on port " + std::to_string(port) +
                                 " (is the port already in use? choose another MASTER_PORT): " + msg_of(e));
      throw std::runtime_error("cannot reach the rendezvous store at " + std::string(host) + ":" + std::to_string(port) +
                               " within " + std::to_string(timeout_ms) + " ms (is rank 0 running?): " + msg_of(e));
    }
    return new xft_store{host, port, world_size, Millis(timeout_ms), s};
  });
}

void xft_store_free(xft_store* s) { delete s; }

int xft_store_set(xft_store* s, const char* key, const char* value) {
  return status_call([&] {
    if (s == nullptr || key == nullptr || value == nullptr) throw std::invalid_argument("store_set: null argument");
    std::string v(value);
    s->store->set(key, std::vector<uint8_t>(v.begin(), v.end()));
  });
}

int64_t xft_store_get(xft_store* s, const char* key, char* out, int64_t cap) {
  return value_call<int64_t>(-1, [&]() -> int64_t {
    if (s == nullptr || key == nullptr) throw std::invalid_argument("store_get: null argument");
    auto v = s->store->get(key);
    if (out != nullptr && cap > 0) {
      int64_t n = std::min<int64_t>(cap - 1, static_cast<int64_t>(v.size()));
      std::copy(v.begin(), v.begin() + n, out);
      out[n] = '\0';
    }
    return static_cast<int64_t>(v.size());
  });
}

int64_t xft_store_add(xft_store* s, const char* key, int64_t delta) {
  return value_call<int64_t>(-1, [&] {
    if (s == nullptr || key == nullptr) throw std::invalid_argument("store_add: null argument");
    return s->store->add(key, delta);
  });
}

int xft_dist_has_nccl(void) { return compat::has_nccl() ? 1 : 0; }

xft_dist* xft_dist_new(xft_store* store, int rank, int world_size, int backend, int device_index, int64_t timeout_ms) {
  return value_call<xft_dist*>(nullptr, [&] {
    if (store == nullptr) throw std::invalid_argument("process group: null store");
    if (world_size != store->world_size)
      throw std::invalid_argument("process group: world size " + std::to_string(world_size) + " differs from the store's " +
                                  std::to_string(store->world_size));
    if (rank < 0 || rank >= world_size)
      throw std::invalid_argument("process group: rank " + std::to_string(rank) + " is not in 0.." + std::to_string(world_size - 1));
    if (backend != XFT_DIST_GLOO && backend != XFT_DIST_NCCL)
      throw std::invalid_argument("process group: unknown backend " + std::to_string(backend));
    if (timeout_ms <= 0) throw std::invalid_argument("process group: timeout must be positive");
    auto d = std::make_unique<xft_dist>();
    d->store = store;
    d->rank = rank;
    d->size = world_size;
    d->backend = backend;
    d->device = device_index;
    d->timeout = Millis(timeout_ms);
    d->hb_store = compat::tcp_store(store->host, store->port, false, world_size, store->timeout);
    d->hb_thread = std::thread(heartbeat_loop, d.get());
    try {
      d->pg = backend == XFT_DIST_GLOO ? compat::gloo_group(store->store, rank, world_size, d->timeout, store->host)
                                       : compat::nccl_group(store->store, rank, world_size, d->timeout, device_index);
    } catch (const std::exception& e) {
      throw std::runtime_error("process group: rank " + std::to_string(rank) + " of " + std::to_string(world_size) +
                               " could not connect to its peers within " + std::to_string(timeout_ms) + " ms: " + msg_of(e));
    }
    return d.release();
  });
}

void xft_dist_free(xft_dist* d) {
  try {
    delete d;
  } catch (...) {
    store_current_exception();
  }
}

int xft_dist_rank(const xft_dist* d) { return d == nullptr ? -1 : d->rank; }
int xft_dist_world_size(const xft_dist* d) { return d == nullptr ? -1 : d->size; }

int xft_dist_all_reduce(xft_dist* d, xft_tensor* t, int op) {
  return status_call([&] { all_reduce_inplace(d, get_mut(t), op); });
}

int xft_dist_broadcast(xft_dist* d, xft_tensor* t, int root) {
  return status_call([&] {
    at::Tensor& x = get_mut(t);
    check_device(d, x, "broadcast");
    if (root < 0 || root >= d->size) throw std::invalid_argument("broadcast: root " + std::to_string(root) + " is not a rank");
    at::Tensor buf = x.is_contiguous() ? x : x.contiguous();
    collective(d, "broadcast", [&] {
      c10d::BroadcastOptions o;
      o.rootRank = root;
      std::vector<at::Tensor> v{buf};
      d->pg->broadcast(v, o)->wait();
    });
    if (!buf.is_same(x)) {
      at::NoGradGuard no_grad;
      x.copy_(buf);
    }
  });
}

xft_tensor* xft_dist_all_gather(xft_dist* d, const xft_tensor* t) {
  return tensor_call([&] { return all_gather_cat(d, get(t)); });
}

xft_tensor* xft_dist_all_gather_with_grad(xft_dist* d, const xft_tensor* t) {
  return tensor_call([&] {
    if (d == nullptr) throw std::invalid_argument("all_gather_with_grad: null process group");
    return GatherWithGrad::apply(get(t), d);
  });
}

int xft_dist_barrier(xft_dist* d) {
  return status_call([&] {
    collective(d, "barrier", [&] { d->pg->barrier()->wait(); });
  });
}

xft_ddp* xft_ddp_new(xft_dist* d, xft_tensor* const* params, int64_t n, int64_t bucket_bytes) {
  return value_call<xft_ddp*>(nullptr, [&] {
    if (d == nullptr) throw std::invalid_argument("gradient sync: null process group");
    if (n <= 0) throw std::invalid_argument("gradient sync: no parameters");
    if (bucket_bytes <= 0) throw std::invalid_argument("gradient sync: bucket size must be positive");
    auto s = std::make_unique<xft_ddp>();
    s->d = d;
    for (int64_t i = 0; i < n; i++) {
      const at::Tensor& p = get(params[i], "parameter");
      if (!p.requires_grad() || !p.is_leaf())
        throw std::invalid_argument("gradient sync: parameter " + std::to_string(i) + " is not a leaf that requires grad");
      check_device(d, p, "gradient sync");
      s->params.push_back(p);
    }
    s->bucket_of.resize(n);
    s->offset_of.resize(n);
    s->ready.assign(n, false);
    s->seen.assign(n, false);
    // Reverse order: backward produces the last layers' gradients first. A bucket holds one
    // dtype and device and closes at bucket_bytes.
    int64_t filled = 0;
    for (int64_t i = n - 1; i >= 0; i--) {
      const at::Tensor& p = s->params[i];
      bool fresh = s->buckets.empty() || filled >= bucket_bytes ||
                   s->params[s->buckets.back().members[0]].scalar_type() != p.scalar_type() ||
                   s->params[s->buckets.back().members[0]].device() != p.device();
      if (fresh) {
        s->buckets.emplace_back();
        filled = 0;
      }
      auto& b = s->buckets.back();
      s->bucket_of[i] = s->buckets.size() - 1;
      s->offset_of[i] = static_cast<size_t>(b.numel);
      b.members.push_back(static_cast<size_t>(i));
      b.numel += p.numel();
      filled += p.numel() * static_cast<int64_t>(p.element_size());
    }
    for (auto& b : s->buckets) {
      b.flat = at::zeros({b.numel}, s->params[b.members[0]].options().requires_grad(false));
      b.pending = b.members.size();
    }
    xft_ddp* raw = s.get();
    for (int64_t i = 0; i < n; i++) {
      size_t idx = static_cast<size_t>(i);
      s->hooks.push_back(s->params[i].register_hook([raw, idx](const at::Tensor& g) { raw->on_grad(idx, g); }));
    }
    return s.release();
  });
}

int xft_ddp_finish(xft_ddp* s) {
  return status_call([&] {
    if (s == nullptr) throw std::invalid_argument("gradient sync: null handle");
    ddp_finish(s);
  });
}

int xft_ddp_set_sync(xft_ddp* s, int sync) {
  return status_call([&] {
    if (s == nullptr) throw std::invalid_argument("gradient sync: null handle");
    std::lock_guard<std::mutex> lock(s->mu);
    s->sync = sync != 0;
  });
}

int64_t xft_ddp_bucket_count(const xft_ddp* s) { return s == nullptr ? -1 : static_cast<int64_t>(s->buckets.size()); }

void xft_ddp_free(xft_ddp* s) {
  try {
    if (s == nullptr) return;
    for (size_t i = 0; i < s->params.size(); i++) s->params[i].remove_hook(s->hooks[i]);
    delete s;
  } catch (...) {
    store_current_exception();
  }
}

}  // extern "C"
