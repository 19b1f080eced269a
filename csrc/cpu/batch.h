// Reading a batch of strided matrices and running the scheme of taylor.h on
// each one.

#pragma once

#include <cstdint>
#include <vector>

#include "cpu/scalar.h"
#include "cpu/taylor.h"
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

// Copies the matrix at src into columns [col, col + n) of slot d, converting
// to the compute type.
template <class Algebra, typename In>
void load(Algebra& alg, int d, int col, const In* src, const BatchLayout& layout) {
  using T = typename Algebra::scalar;
  T* dst = alg.slot(d) + col;
  for (int i = 0; i < alg.n(); ++i) {
    for (int j = 0; j < alg.n(); ++j) {
      dst[i * alg.ld() + j] =
          static_cast<T>(src[i * layout.row_stride + j * layout.col_stride]);
    }
  }
}

// Copies columns [col, col + n) of slot d to the contiguous matrix at dst.
template <class Algebra, typename Out>
void store(Algebra& alg, int d, int col, Out* dst) {
  const auto* src = alg.slot(d) + col;
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

// Runs the scheme on slot kA (for a dual algebra, on the pair (A, E)).
// Returns the slot that holds the result, or -1 if A has a NaN or an infinite
// entry: its exponential is then reported as NaN, and the squaring count stays
// bounded (for a finite norm, s <= log2(max_finite / theta_18)).
template <class Algebra>
int run_scheme(Algebra& alg) {
  using real = typename Algebra::real;
  const real norm = alg.norm1(kA);
  if (!(norm <= std::numeric_limits<real>::max())) {
    return -1;
  }
  if constexpr (!Algebra::dual) {
    if (alg.n() == 1) { // a scalar: std::exp is as accurate as it gets
      auto* x = alg.slot(kA);
      x[0] = std::exp(x[0]);
      return kA;
    }
  }
  const Plan plan = plan_for_norm(norm);
  if (plan.squarings > 0) {
    alg.scale_slot(kA, std::ldexp(real(1), -plan.squarings));
  }
  evaluate_taylor(alg, plan.degree_index);
  return square(alg, plan.squarings);
}

} // namespace mlx_expm::cpu
