// Reused scratch memory for BLAS-sized workspaces.
//
// MLX's CPU allocator keeps at most 32 MB of freed buffers; an n = 1024
// float32 workspace (8 slots, 32 MB) misses that cache, so every call got
// fresh pages from the kernel: 8192 page faults and zeroing, which measured
// 62 ms against 46 ms per call at (1, 1024) on the 2-core benchmark machine.
// Buffers released here are kept for the next call, up to kMaxKeptBytes in
// all; larger ones go back to the system (there the products dwarf the
// faults anyway).

#pragma once

#include <cstddef>

namespace mlx_expm::cpu::large_buffers {

inline constexpr size_t kMinBytes = size_t(4) << 20; // smaller: MLX's allocator
inline constexpr size_t kMaxKeptBytes = size_t(256) << 20;

// At least `bytes` bytes, 64-byte aligned, contents undefined.
void* acquire(size_t bytes, size_t& capacity);

// Returns a block from acquire (with its capacity).
void release(void* block, size_t capacity);

} // namespace mlx_expm::cpu::large_buffers
