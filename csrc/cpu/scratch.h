// Scratch memory of one worker: typed arrays carved one after another out of
// a block that eval_cpu allocates from MLX's allocator before the work is
// queued (so that running out of memory is an exception at the call, never a
// crash on a worker thread). Carving with no block only adds up the bytes:
// the size eval_cpu allocates and the layout a kernel uses are one code.

#pragma once

#include <cstddef>

namespace mlx_expm::cpu {

class Scratch {
 public:
  // 64 bytes: a cache line, and enough for every vector type of the kernels.
  static constexpr size_t kAlign = 64;

  // block: kAlign-aligned, at least the bytes() of the same carving; or null.
  explicit Scratch(void* block = nullptr) : block_(static_cast<char*>(block)) {}

  template <typename T>
  T* take(size_t count) {
    const size_t at = used_;
    used_ += (count * sizeof(T) + kAlign - 1) / kAlign * kAlign;
    return block_ ? reinterpret_cast<T*>(block_ + at) : nullptr;
  }

  size_t bytes() const {
    return used_;
  }

 private:
  char* block_;
  size_t used_ = 0;
};

} // namespace mlx_expm::cpu
