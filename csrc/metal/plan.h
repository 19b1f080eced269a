// How a fused Metal kernel (exp(A), or with `frechet` L(A, E)) is launched for
// a batch: which instantiation, how many matrices per threadgroup, how much
// threadgroup memory, what grid. Pure C++ (no Metal), so that it is compiled
// and unit-tested on every platform, and used both by eval_gpu and by the Linux
// emulator of the kernel (tools/mtlemu, through tests/metal_emulator.py).

#pragma once

#include <cstdint>
#include <string>

#include "matrix_exp_params.h"

namespace mlx_expm::metal {

struct FusedPlan {
  std::string kernel; // host_name in matrix_exp.metal
  int padded; // P: n rounded up to a multiple of 8
  int matrices_per_group; // fused: one simdgroup per matrix; tiled: 1
  int threads_per_group; // fused: 32 * matrices_per_group
  size_t scratch_bytes; // threadgroup memory at kScratchMemory
  size_t slots_bytes; // tiled: device memory at kSlotsBuffer; fused: 0
  int64_t groups; // threadgroups of the 1-D grid
  MatrixExpParams params; // set_bytes at kParamsBuffer
};

// The dtype names of the kernel instantiations ("float32", "float16",
// "bfloat16"); other dtypes have no fused kernel.
bool fused_dtype(const std::string& dtype);

// True if kernels of ours handle n x n matrices of this dtype in one
// dispatch on the GPU (n <= kMaxPaddedTiled): exp(A) by the fused kernel
// (n <= kMaxPadded) or the tiled one; L(A, E) by the fused Frechet kernel
// (n <= kMaxPaddedFrechet) or the tiled one.
bool fused_supported(const std::string& dtype, int n);

// The instantiation for this dtype and n ("matrix_exp_fused_float32_16",
// "matrix_exp_frechet_fused_float32_16", "matrix_exp_tiled_float32",
// "matrix_exp_frechet_tiled_float32").
std::string
fused_kernel_name(const std::string& dtype, int n, bool frechet = false);

// The launch of the kernel for `count` matrices of size n whose entry
// (b, i, j) is at b * batch_stride + i * row_stride + j * col_stride.
// max_threads_per_group is the pipeline's maxTotalThreadsPerThreadgroup.
// Requires fused_supported(dtype, n) and count >= 1. For the
// Frechet kernel, params is A's layout; E's is set apart.
FusedPlan plan_fused(
    const std::string& dtype,
    int n,
    int64_t count,
    int64_t batch_stride,
    int64_t row_stride,
    int64_t col_stride,
    int max_threads_per_group,
    bool frechet = false);

} // namespace mlx_expm::metal
