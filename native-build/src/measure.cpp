// Measurement: the device-to-host read counter and an op profiler over libtorch's
// RecordFunction callbacks (the instrumentation torch.profiler itself records from).
#include <ATen/record_function.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.h"

namespace xft {

std::atomic<int64_t> d2h_reads{0};

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Frame : at::ObserverContext {
  uint64_t id = 0;
  int64_t start_ns = 0;
};

// An op in progress on this thread; plain values, so an op that ends on another thread leaves
// nothing dangling here.
struct Open {
  uint64_t id;
  int64_t child_ns;  // time spent in ops called from this one: not its self time
};

struct Totals {
  int64_t calls = 0;
  int64_t self_ns = 0;
  int64_t total_ns = 0;
};

std::mutex mu;
std::unordered_map<std::string, Totals> totals;  // guarded by mu
std::vector<std::string> names_in_order;         // first-seen order, guarded by mu
std::string report;                              // the last stopped session's, guarded by mu
bool recording = false;                          // guarded by mu
at::CallbackHandle handle = 0;

std::atomic<uint64_t> next_id{1};
thread_local std::vector<Open> stack;

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  auto f = std::make_unique<Frame>();
  f->id = next_id.fetch_add(1, std::memory_order_relaxed);
  stack.push_back(Open{f->id, 0});
  f->start_ns = now_ns();
  return f;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* ctx) {
  int64_t end = now_ns();
  auto* f = static_cast<Frame*>(ctx);
  if (f == nullptr) return;
  int64_t total = end - f->start_ns, child = 0;
  // normally the top of this thread's stack; an op that ended on another thread counts as all self time
  auto it = std::find_if(stack.rbegin(), stack.rend(), [&](const Open& o) { return o.id == f->id; });
  if (it != stack.rend()) {
    child = it->child_ns;
    stack.erase(std::next(it).base());
    if (!stack.empty()) stack.back().child_ns += total;
  }
  std::string name = fn.name();
  std::lock_guard<std::mutex> lock(mu);
  auto [slot, fresh] = totals.try_emplace(name);
  if (fresh) names_in_order.push_back(name);
  slot->second.calls += 1;
  slot->second.self_ns += total - child;
  slot->second.total_ns += total;
}

}  // namespace
}  // namespace xft

using namespace xft;

extern "C" {

int64_t xft_d2h_reads(void) { return d2h_reads.load(std::memory_order_relaxed); }

int xft_profiler_start(void) {
  return status_call([&] {
    std::lock_guard<std::mutex> lock(mu);
    if (recording) throw std::logic_error("profiler: already recording");
    totals.clear();
    names_in_order.clear();
    handle = at::addGlobalCallback(at::RecordFunctionCallback(&on_start, &on_end).needsInputs(false));
    recording = true;
  });
}

int xft_profiler_stop(void) {
  return status_call([&] {
    if (!recording) throw std::logic_error("profiler: not recording");
    at::removeCallback(handle);
    std::lock_guard<std::mutex> lock(mu);
    recording = false;
    std::string out;
    for (const auto& n : names_in_order) {
      const Totals& t = totals[n];
      out += n + "\t" + std::to_string(t.calls) + "\t" + std::to_string(t.self_ns / 1000.0) + "\t" +
             std::to_string(t.total_ns / 1000.0) + "\n";
    }
    report = std::move(out);
  });
}

int64_t xft_profiler_report(char* buf, int64_t cap) {
  return value_call<int64_t>(-1, [&]() -> int64_t {
    std::lock_guard<std::mutex> lock(mu);
    const int64_t n = static_cast<int64_t>(report.size());
    if (buf != nullptr && cap > 0) {
      const int64_t k = std::min(n, cap - 1);
      std::memcpy(buf, report.data(), static_cast<size_t>(k));
      buf[k] = '\0';
    }
    return n;
  });
}

}  // extern "C"
