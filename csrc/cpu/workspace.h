// Scratch memory for the algebras: from MLX's allocator (it keeps freed
// buffers for reuse and counts them in MLX's memory accounting), or, for
// BLAS-sized workspaces beyond the reach of its cache, from large_buffers.h.

#pragma once

#include <cstring>
#include <memory>
#include <optional>

#include "cpu/isa.h"
#include "cpu/large_buffers.h"
#include "mlx/allocator.h"

MLX_EXPM_CPU_BEGIN

template <typename T>
class Workspace {
 public:
  // count elements, aligned for T (vector types need 32 bytes, more than the
  // allocator promises), set to zero bits if zeroed.
  Workspace(size_t count, bool zeroed) {
    const size_t bytes = count * sizeof(T);
    if (bytes >= large_buffers::kMinBytes) {
      large_ = large_buffers::acquire(bytes, capacity_);
      ptr_ = static_cast<T*>(large_);
    } else {
      data_.emplace(mlx::core::allocator::malloc(bytes + alignof(T)));
      void* raw = data_->buffer().raw_ptr();
      size_t space = bytes + alignof(T);
      ptr_ = static_cast<T*>(std::align(alignof(T), bytes, raw, space));
    }
    if (zeroed) {
      std::memset(static_cast<void*>(ptr_), 0, bytes);
    }
  }

  ~Workspace() {
    if (large_) {
      large_buffers::release(large_, capacity_);
    }
  }

  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  T* get() {
    return ptr_;
  }

 private:
  std::optional<mlx::core::allocator::Data> data_;
  void* large_ = nullptr;
  size_t capacity_ = 0;
  T* ptr_;
};

MLX_EXPM_CPU_END
