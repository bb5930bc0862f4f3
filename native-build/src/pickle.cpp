// PyTorch checkpoints written by torch.save (zip format, PyTorch >= 1.6), read with libtorch's
// own zip reader and restricted unpickler. That unpickler knows a fixed set of globals (tensor
// and storage rebuilders, OrderedDict, scalar types) and throws on any other, so unlike
// Python's pickle it never imports or calls what a file names.
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/unpickler.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/csrc/jit/serialization/storage_context.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common.h"

struct xft_pickle {
  std::string path;
  std::string state_key;
  std::vector<std::pair<std::string, at::Tensor>> entries;
};

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw std::runtime_error(path + ": " + what); }

// torch.save before 1.6 (or with _use_new_zipfile_serialization=False) writes a bare pickle
// stream starting with a protocol-2 header and a 10-byte magic number.
void check_format(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::strerror(errno));
  unsigned char head[16] = {0};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const std::streamsize n = in.gcount();
  if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return;
  static const unsigned char legacy_magic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  if (n >= 14 && head[0] == 0x80 && head[2] == 0x8a && head[3] == 0x0a && std::memcmp(head + 4, legacy_magic, 10) == 0)
    fail(path, "legacy (pre-1.6, non-zip) torch.save format, which libtorch cannot read safely; re-save it with "
               "torch.save(torch.load(f, weights_only=True), f) in PyTorch >= 1.6, or convert it to safetensors");
  if (n >= 1 && head[0] == 0x80) fail(path, "a bare pickle stream, not a torch.save zip archive");
  fail(path, "not a torch.save checkpoint (no zip header)");
}

// libtorch's unpickler (1.13 at least; see pytorch#67902) lacks the single-item SETITEM and
// APPEND opcodes that Python's pickler writes for one-entry dicts and one-element lists. This
// rewrites each into the equivalent MARK ... SETITEMS / APPENDS, finding where the key (or
// element) began by tracking each stack entry's first opcode. FRAME hints (protocol 4+) are
// dropped since inserted bytes would invalidate their lengths. Nothing is executed; a stream
// this scanner cannot follow is returned unchanged, for libtorch to judge.
std::string canonical_items(const std::string& in) {
  struct Entry {
    size_t start;
    bool mark;
  };
  std::vector<Entry> stack;
  std::vector<size_t> marks_at;           // offsets where a MARK is inserted
  std::vector<std::pair<size_t, char>> replace;  // opcode offset -> new opcode
  std::vector<std::pair<size_t, size_t>> drop;   // [begin, end) removed (FRAME)
  auto pop_to_mark = [&](size_t* start) -> bool {
    while (!stack.empty() && !stack.back().mark) stack.pop_back();
    if (stack.empty()) return false;
    if (start) *start = stack.back().start;
    stack.pop_back();
    return true;
  };
  auto pop_n = [&](size_t n, size_t* first) -> bool {
    if (stack.size() < n) return false;
    for (size_t i = stack.size() - n; i < stack.size(); i++)
      if (stack[i].mark) return false;
    if (first) *first = n ? stack[stack.size() - n].start : 0;
    stack.resize(stack.size() - n);
    return true;
  };
  size_t i = 0;
  const size_t n = in.size();
  auto need = [&](size_t k) { return i + k <= n; };
  auto le = [&](size_t at, size_t k) {
    uint64_t v = 0;
    for (size_t b = 0; b < k; b++) v |= static_cast<uint64_t>(static_cast<unsigned char>(in[at + b])) << (8 * b);
    return v;
  };
  auto line = [&]() -> bool {
    size_t e = in.find('\n', i);
    if (e == std::string::npos) return false;
    i = e + 1;
    return true;
  };
  bool ok = false;
  while (i < n) {
    const size_t at = i;
    const unsigned char op = static_cast<unsigned char>(in[i++]);
    size_t first = 0;
    bool good = true;
    switch (op) {
      case '(': stack.push_back({at, true}); break;
      case '.': ok = true; break;
      case '0': good = pop_n(1, nullptr); break;
      case '1': good = pop_to_mark(nullptr); break;
      case '2': good = !stack.empty(); if (good) stack.push_back({at, false}); break;
      case 'F': case 'I': case 'L': case 'S': case 'V': case 'P': case 'g':
        good = line(); if (good) stack.push_back({at, false}); break;
      case 'p': good = line(); break;
      case 'c': good = line() && line(); if (good) stack.push_back({at, false}); break;
      case 'i': good = line() && line() && pop_to_mark(&first); if (good) stack.push_back({first, false}); break;
      case 'J': good = need(4); i += 4; if (good) stack.push_back({at, false}); break;
      case 'K': case 'h': good = need(1); i += 1; if (good) stack.push_back({at, false}); break;
      case 'M': good = need(2); i += 2; if (good) stack.push_back({at, false}); break;
      case 'G': good = need(8); i += 8; if (good) stack.push_back({at, false}); break;
      case 'j': good = need(4); i += 4; if (good) stack.push_back({at, false}); break;
      case 'q': good = need(1); i += 1; break;
      case 'r': good = need(4); i += 4; break;
      case 0x94: break;  // MEMOIZE
      case 0x80: good = need(1); i += 1; break;  // PROTO
      case 0x95: good = need(8); if (good) { i += 8; drop.emplace_back(at, i); } break;  // FRAME
      case 0x82: good = need(1); i += 1; if (good) stack.push_back({at, false}); break;
      case 0x83: good = need(2); i += 2; if (good) stack.push_back({at, false}); break;
      case 0x84: good = need(4); i += 4; if (good) stack.push_back({at, false}); break;
      case 0x8a: case 'U': case 0x8c: case 'C':  // 1-byte length
        good = need(1) && need(1 + le(i, 1)); if (good) { i += 1 + le(i, 1); stack.push_back({at, false}); } break;
      case 0x8b: case 'T': case 'X': case 'B':  // 4-byte length
        good = need(4) && need(4 + le(i, 4)); if (good) { i += 4 + le(i, 4); stack.push_back({at, false}); } break;
      case 0x8d: case 0x8e: case 0x96:  // 8-byte length
        good = need(8) && le(i, 8) <= n && need(8 + le(i, 8)); if (good) { i += 8 + le(i, 8); stack.push_back({at, false}); } break;
      case 'N': case 0x88: case 0x89: case ']': case ')': case '}': case 0x8f: case 0x97:
        stack.push_back({at, false}); break;
      case 0x98: break;  // READONLY_BUFFER
      case 'a': {  // APPEND: list, x -> MARK before x, APPENDS
        size_t x = 0;
        good = pop_n(1, &x) && !stack.empty();
        if (good) { marks_at.push_back(x); replace.emplace_back(at, 'e'); }
        break;
      }
      case 's': {  // SETITEM: dict, k, v -> MARK before k, SETITEMS
        size_t k = 0;
        good = pop_n(2, &k) && !stack.empty();
        if (good) { marks_at.push_back(k); replace.emplace_back(at, 'u'); }
        break;
      }
      case 'e': case 'u': case 0x90: good = pop_to_mark(nullptr) && !stack.empty(); break;
      case 'l': case 't': case 'd': case 0x91: case 'o':
        good = pop_to_mark(&first); if (good) stack.push_back({first, false}); break;
      case 0x85: case 0x86: case 0x87:
        good = pop_n(op - 0x84, &first); if (good) stack.push_back({first, false}); break;
      case 0x93: case 'R': case 0x81:  // STACK_GLOBAL, REDUCE, NEWOBJ: 2 -> 1
        good = pop_n(2, &first); if (good) stack.push_back({first, false}); break;
      case 0x92: good = pop_n(3, &first); if (good) stack.push_back({first, false}); break;  // NEWOBJ_EX
      case 'b': good = pop_n(1, nullptr) && !stack.empty(); break;  // BUILD
      case 'Q': good = pop_n(1, &first); if (good) stack.push_back({first, false}); break;  // BINPERSID
      default: good = false;
    }
    if (!good) return in;
    if (ok) break;
  }
  if (!ok || (marks_at.empty() && drop.empty())) return in;
  std::sort(marks_at.begin(), marks_at.end());
  std::sort(replace.begin(), replace.end());
  std::string out;
  out.reserve(in.size() + marks_at.size());
  size_t m = 0, r = 0, d = 0;
  for (size_t k = 0; k < in.size(); k++) {
    while (d < drop.size() && k >= drop[d].second) d++;
    while (m < marks_at.size() && marks_at[m] == k) { out.push_back('('); m++; }
    if (d < drop.size() && k >= drop[d].first) continue;
    if (r < replace.size() && replace[r].first == k) { out.push_back(replace[r].second); r++; continue; }
    out.push_back(in[k]);
  }
  return out;
}

// What readArchiveAndTensors does, with the pickle bytes passed through canonical_items first.
c10::IValue read_checkpoint(caffe2::serialize::PyTorchStreamReader& reader) {
  at::DataPtr ptr;
  size_t size = 0;
  std::tie(ptr, size) = reader.getRecord("data.pkl");
  const std::string pickle = canonical_items(std::string(static_cast<const char*>(ptr.get()), size));
  size_t pos = 0;
  auto read = [&](char* buf, size_t len) -> size_t {
    size_t k = std::min(len, pickle.size() - pos);
    std::memcpy(buf, pickle.data() + pos, k);
    pos += k;
    return k;
  };
  auto record = [&](const std::string& name) { return std::get<0>(reader.getRecord("data/" + name)); };
  // Storages are shared by key, so views of one storage stay views (tied weights).
  auto storages = std::make_shared<torch::jit::DeserializationStorageContext>();
  torch::jit::Unpickler unpickler(read, nullptr, nullptr, record, at::Device(at::kCPU), false,
                                  torch::jit::Unpickler::defaultTypeParser, storages);
  unpickler.set_version(reader.version());
  return unpickler.parse_ivalue();
}

std::string type_of(const c10::IValue& v) { return v.isNone() ? "None" : v.tagKind(); }

bool all_tensors(const c10::IValue& v) {
  if (!v.isGenericDict()) return false;
  for (const auto& kv : v.toGenericDict())
    if (!kv.value().isTensor()) return false;
  return true;
}

// Adds the tensors under v; names are relative to the selected dict, messages show full keys.
void flatten(const std::string& path, const std::string& key, const std::string& prefix, const c10::IValue& v,
             std::vector<std::pair<std::string, at::Tensor>>& out) {
  const std::string shown = key.empty() ? prefix : prefix.empty() ? key : key + "." + prefix;
  if (v.isTensor()) {
    if (prefix.empty()) fail(path, (key.empty() ? "the file" : "'" + key + "'") + " is a single tensor, not a dict of named tensors");
    out.emplace_back(prefix, v.toTensor());
    return;
  }
  if (!v.isGenericDict())
    fail(path, (shown.empty() ? "the file" : "'" + shown + "'") + " is " + type_of(v) +
                   ", not a tensor or a dict of tensors (choose the state dict with --state-key)");
  for (const auto& kv : v.toGenericDict()) {
    if (!kv.key().isString())
      fail(path, (shown.empty() ? "the file" : "'" + shown + "'") + " has keys of type " + type_of(kv.key()) +
                     ", not names (choose the state dict with --state-key)");
    const std::string name = prefix.empty() ? kv.key().toStringRef() : prefix + "." + kv.key().toStringRef();
    flatten(path, key, name, kv.value(), out);
  }
}

std::string keys_of(const c10::IValue& v) {
  if (!v.isGenericDict()) return type_of(v);
  std::string s;
  for (const auto& kv : v.toGenericDict()) {
    if (!s.empty()) s += ", ";
    s += kv.key().isString() ? kv.key().toStringRef() : type_of(kv.key());
  }
  return "{" + s + "}";
}

// The dict at dotted path key (each part a dict key), or, with no key, the state dict a
// training checkpoint keeps under "state_dict" or "model".
std::pair<std::string, c10::IValue> select(const std::string& path, const c10::IValue& root, const char* state_key) {
  std::string key = state_key == nullptr ? "" : state_key;
  if (key.empty()) {
    if (!root.isGenericDict()) fail(path, "holds " + type_of(root) + ", not a dict of named tensors");
    if (all_tensors(root)) return {"", root};
    auto d = root.toGenericDict();
    for (const char* k : {"state_dict", "model"}) {
      auto it = d.find(c10::IValue(std::string(k)));
      if (it != d.end() && it->value().isGenericDict()) return {k, it->value()};
    }
    return {"", root};
  }
  c10::IValue cur = root;
  size_t start = 0;
  while (start <= key.size()) {
    size_t dot = key.find('.', start);
    std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool found = false;
    if (cur.isGenericDict()) {
      auto d = cur.toGenericDict();
      auto it = d.find(c10::IValue(part));
      if (it != d.end()) {
        cur = it->value();
        found = true;
      }
    }
    if (!found) fail(path, "no state key '" + key + "' (top level: " + keys_of(root) + ")");
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return {key, cur};
}

}  // namespace

using namespace xft;

extern "C" {

xft_pickle* xft_pickle_open(const char* path, const char* state_key) {
  return value_call<xft_pickle*>(nullptr, [&] {
    if (path == nullptr) throw std::invalid_argument("pickle_open: null path");
    const std::string file(path);
    check_format(file);
    c10::IValue root;
    try {
      caffe2::serialize::PyTorchStreamReader reader(file);
      root = read_checkpoint(reader);
    } catch (const c10::Error& e) {
      fail(file, std::string("refused by libtorch's checkpoint reader: ") + e.what_without_backtrace());
    } catch (const std::exception& e) {
      fail(file, std::string("refused by libtorch's checkpoint reader: ") + e.what());
    }
    auto [key, sd] = select(file, root, state_key);
    auto p = std::make_unique<xft_pickle>();
    p->path = file;
    p->state_key = key;
    flatten(file, key, "", sd, p->entries);
    return p.release();
  });
}

void xft_pickle_free(xft_pickle* p) { delete p; }

int64_t xft_pickle_count(const xft_pickle* p) {
  return value_call<int64_t>(-1, [&] {
    if (p == nullptr) throw std::invalid_argument("pickle_count: null handle");
    return static_cast<int64_t>(p->entries.size());
  });
}

static const std::pair<std::string, at::Tensor>& entry(const xft_pickle* p, int64_t i) {
  if (p == nullptr) throw std::invalid_argument("pickle: null handle");
  if (i < 0 || i >= static_cast<int64_t>(p->entries.size()))
    throw std::out_of_range(p->path + ": entry " + std::to_string(i) + " of " + std::to_string(p->entries.size()));
  return p->entries[static_cast<size_t>(i)];
}

const char* xft_pickle_name(const xft_pickle* p, int64_t i) {
  return value_call<const char*>(nullptr, [&] { return entry(p, i).first.c_str(); });
}

xft_tensor* xft_pickle_tensor(const xft_pickle* p, int64_t i) {
  return tensor_call([&] { return entry(p, i).second; });
}

const char* xft_pickle_state_key(const xft_pickle* p) {
  return value_call<const char*>(nullptr, [&] {
    if (p == nullptr) throw std::invalid_argument("pickle_state_key: null handle");
    return p->state_key.c_str();
  });
}

int xft_pickle_save(const char* path, const char* const* names, const xft_tensor* const* tensors, int64_t n,
                    const char* state_key) {
  return status_call([&] {
    if (path == nullptr) throw std::invalid_argument("pickle_save: null path");
    if (n < 0 || (n > 0 && (names == nullptr || tensors == nullptr))) throw std::invalid_argument("pickle_save: bad tensor list");
    c10::impl::GenericDict sd(c10::StringType::get(), c10::TensorType::get());
    for (int64_t i = 0; i < n; i++) {
      if (names[i] == nullptr) throw std::invalid_argument("pickle_save: null name");
      sd.insert(std::string(names[i]), get(tensors[i], names[i]).detach().cpu());
    }
    c10::IValue root(sd);
    if (state_key != nullptr && *state_key != '\0') {
      c10::impl::GenericDict outer(c10::StringType::get(), c10::AnyType::get());
      outer.insert(std::string(state_key), c10::IValue(sd));
      root = c10::IValue(outer);
    }
    std::vector<char> bytes = torch::jit::pickle_save(root);
    const std::string tmp = std::string(path) + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) fail(tmp, std::strerror(errno));
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      out.close();
      if (!out) fail(tmp, "write failed");
    }
    if (std::rename(tmp.c_str(), path) != 0) fail(path, std::strerror(errno));
  });
}

}  // extern "C"
