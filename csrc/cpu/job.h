// What the CPU kernels are asked to do: the arrays of one MatrixExp or
// MatrixExpFrechet evaluation, and how to find matrix b of each.

#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "mlx/array.h"

namespace mlx_expm::cpu {

// Where matrix b of a (..., n, n) array starts, for any strides (transposes,
// broadcasts and slices are read in place, without a copy).
struct BatchLayout {
  explicit BatchLayout(const mlx::core::array& a)
      : n(a.shape(-1)),
        row_stride(a.strides()[a.ndim() - 2]),
        col_stride(a.strides()[a.ndim() - 1]),
        batch_shape(a.shape().begin(), a.shape().end() - 2),
        batch_strides(a.strides().begin(), a.strides().end() - 2) {
    count = 1;
    for (auto d : batch_shape) {
      count *= d;
    }
  }

  int64_t offset(int64_t b) const {
    int64_t loc = 0;
    for (int i = static_cast<int>(batch_shape.size()) - 1; i >= 0; --i) {
      loc += (b % batch_shape[i]) * batch_strides[i];
      b /= batch_shape[i];
    }
    return loc;
  }

  int n;
  int64_t count;
  int64_t row_stride;
  int64_t col_stride;
  std::vector<int64_t> batch_shape;
  std::vector<int64_t> batch_strides;
};

// exp(A) of each matrix of `a`, or, when `e` is set, the Frechet derivative
// L(A, E) of each pair. Outputs are contiguous.
struct Job {
  mlx::core::Dtype dtype;
  const void* a;
  BatchLayout a_layout;
  const void* e; // null for exp(A)
  BatchLayout e_layout;
  void* out;
};

// {degree, squarings} of the scheme run on each matrix of job.a (n >= 2;
// degree 0: a NaN or an infinite entry). A test and benchmark hook.
using Plans = std::vector<std::array<int, 2>>;

// The kernels, one definition per instruction set. scratch_bytes: the
// scratch memory a worker needs for blocks of up to `grain` matrices; run:
// matrices [begin, end) of the job (at most grain of them) with such a block
// (Scratch::kAlign-aligned); plans: the hook above (job.out
// receives the results of the kernels that learn their plans by running).
namespace baseline {
size_t scratch_bytes(const Job& job, int64_t grain);
void run(const Job& job, void* scratch, int64_t begin, int64_t end);
Plans plans(const Job& job);
} // namespace baseline
namespace x86_64_v3 {
size_t scratch_bytes(const Job& job, int64_t grain);
void run(const Job& job, void* scratch, int64_t begin, int64_t end);
Plans plans(const Job& job);
} // namespace x86_64_v3

// The plans the kernels eval_cpu picks for this CPU take for the matrices of
// `a` (real or complex64, n >= 2); evaluates `a`.
Plans plans(mlx::core::array a);

} // namespace mlx_expm::cpu
