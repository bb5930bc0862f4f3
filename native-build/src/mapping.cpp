// Memory-mapped files for zero-copy checkpoint loading. Each tensor made from a mapping
// holds a shared_ptr to it, so the file stays mapped exactly as long as any tensor uses it.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "common.h"

namespace {
struct Region {
  void* addr = nullptr;
  size_t size = 0;
  ~Region() {
    if (addr != nullptr) munmap(addr, size);
  }
};
}  // namespace

struct xft_mapping {
  std::shared_ptr<Region> region;
};

using namespace xft;

extern "C" {

xft_mapping* xft_mapping_open(const char* path, int64_t* size_out) {
  return value_call<xft_mapping*>(nullptr, [&] {
    if (path == nullptr) throw std::invalid_argument("mapping: null path");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(std::string(path) + ": " + std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      int e = errno;
      close(fd);
      throw std::runtime_error(std::string(path) + ": " + std::strerror(e));
    }
    auto region = std::make_shared<Region>();
    region->size = static_cast<size_t>(st.st_size);
    if (region->size > 0) {
      // Private + writable: copy-on-write pages, so an in-place op on a loaded tensor
      // neither faults nor writes through to the file.
      void* p = mmap(nullptr, region->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
      int e = errno;
      close(fd);
      if (p == MAP_FAILED) throw std::runtime_error(std::string(path) + ": mmap failed: " + std::strerror(e));
      region->addr = p;
    } else {
      close(fd);
    }
    if (size_out != nullptr) *size_out = static_cast<int64_t>(region->size);
    return new xft_mapping{std::move(region)};
  });
}

void xft_mapping_release(xft_mapping* m) { delete m; }

xft_tensor* xft_from_mapping(xft_mapping* m, int64_t offset, const int64_t* dims, int64_t ndim, int dtype) {
  return tensor_call([&] {
    if (m == nullptr) throw std::invalid_argument("from_mapping: null mapping");
    at::ScalarType st = scalar_type(dtype);
    at::IntArrayRef shape = dims_ref(dims, ndim);
    int64_t numel = 1;
    for (int64_t d : shape) {
      if (d < 0) throw std::invalid_argument("from_mapping: negative dimension in " + c10::str(shape));
      if (d > 0 && numel > std::numeric_limits<int64_t>::max() / d) throw std::invalid_argument("from_mapping: shape overflows");
      numel *= d;
    }
    const int64_t item = static_cast<int64_t>(c10::elementSize(st));
    if (numel > std::numeric_limits<int64_t>::max() / item) throw std::invalid_argument("from_mapping: shape overflows");
    const int64_t nbytes = numel * item;
    const auto size = static_cast<int64_t>(m->region->size);
    if (offset < 0 || offset > size || nbytes > size - offset)
      throw std::out_of_range("from_mapping: bytes [" + std::to_string(offset) + ", " + std::to_string(offset + nbytes) +
                              ") outside the mapped file of " + std::to_string(size) + " bytes");
    auto opts = at::TensorOptions().dtype(st);
    if (numel == 0) return at::empty(shape, opts);
    char* p = static_cast<char*>(m->region->addr) + offset;
    if (reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(item) != 0) {
      // Misaligned element data: kernels may assume natural alignment, so copy.
      at::Tensor t = at::empty(shape, opts);
      std::memcpy(t.data_ptr(), p, static_cast<size_t>(nbytes));
      return t;
    }
    std::shared_ptr<Region> keep = m->region;
    return at::from_blob(p, shape, [keep](void*) mutable { keep.reset(); }, opts);
  });
}

}  // extern "C"
