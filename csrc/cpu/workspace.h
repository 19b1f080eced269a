// Scratch memory for the algebras, from MLX's allocator: it keeps freed
// buffers for reuse, so repeated calls on large matrices do not fault in
// fresh pages each time, and the memory shows in MLX's own accounting.

#pragma once

#include <cstring>
#include <memory>

#include "cpu/isa.h"
#include "mlx/allocator.h"

MLX_EXPM_CPU_BEGIN

template <typename T>
class Workspace {
 public:
  // count elements, aligned for T (vector types need 32 bytes, more than the
  // allocator promises), set to zero bits if zeroed.
  Workspace(size_t count, bool zeroed)
      : data_(mlx::core::allocator::malloc(count * sizeof(T) + alignof(T))) {
    void* raw = data_.buffer().raw_ptr();
    size_t space = count * sizeof(T) + alignof(T);
    ptr_ = static_cast<T*>(std::align(alignof(T), count * sizeof(T), raw, space));
    if (zeroed) {
      std::memset(static_cast<void*>(ptr_), 0, count * sizeof(T));
    }
  }

  T* get() {
    return ptr_;
  }

 private:
  mlx::core::allocator::Data data_;
  T* ptr_;
};

MLX_EXPM_CPU_END
