// Strided matrices in and out of an algebra's slots (algebra.h): a batch is
// read in place whatever its strides, results are written contiguous.

#pragma once

#include "cpu/isa.h"
#include "cpu/job.h"
#include "cpu/scalar.h"

MLX_EXPM_CPU_BEGIN

// Copies the matrix at src into slot d (part 0: X, part 1: dX of a dual
// slot), converting to the compute type.
template <class Algebra, typename In>
void load(
    Algebra& alg,
    int d,
    int part,
    const In* src,
    const BatchLayout& layout) {
  using T = typename Algebra::scalar;
  T* dst = alg.slot(d) + part * alg.width();
  for (int i = 0; i < alg.n(); ++i) {
    const In* row = src + i * layout.row_stride;
    T* out = dst + i * alg.ld();
    if (layout.col_stride ==
        1) { // the common case, a loop the compiler vectorises
      for (int j = 0; j < alg.n(); ++j) {
        out[j] = static_cast<T>(row[j]);
      }
    } else {
      for (int j = 0; j < alg.n(); ++j) {
        out[j] = static_cast<T>(row[j * layout.col_stride]);
      }
    }
  }
}

// Copies part 0 (X) or 1 (dX) of slot d to the contiguous matrix at dst.
template <class Algebra, typename Out>
void store(Algebra& alg, int d, int part, Out* dst) {
  const auto* src = alg.slot(d) + part * alg.width();
  for (int i = 0; i < alg.n(); ++i) {
    for (int j = 0; j < alg.n(); ++j) {
      dst[i * alg.n() + j] = static_cast<Out>(src[i * alg.ld() + j]);
    }
  }
}

template <typename T, typename Out>
void fill_nan(Out* dst, int n) {
  for (int e = 0; e < n * n; ++e) {
    dst[e] = static_cast<Out>(quiet_nan<T>());
  }
}

MLX_EXPM_CPU_END
