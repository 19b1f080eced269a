// Reading strided matrices into an algebra, running the scheme of taylor.h,
// writing the result.

#pragma once

#include <cstdint>
#include <limits>
#include <optional>

#include "cpu/isa.h"
#include "cpu/job.h"
#include "cpu/scalar.h"
#include "cpu/taylor.h"

MLX_EXPM_CPU_BEGIN

// Copies the matrix at src into slot d (part 0: X, part 1: dX of a dual
// slot), converting to the compute type.
template <class Algebra, typename In>
void load(Algebra& alg, int d, int part, const In* src, const BatchLayout& layout) {
  using T = typename Algebra::scalar;
  T* dst = alg.slot(d) + part * alg.width();
  for (int i = 0; i < alg.n(); ++i) {
    const In* row = src + i * layout.row_stride;
    T* out = dst + i * alg.ld();
    if (layout.col_stride == 1) { // the common case, a loop the compiler vectorises
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

// The 1-norm of slot kA, or nothing if A has a NaN or an infinite entry: its
// exponential is then reported as NaN, and the squaring count stays bounded
// (for a finite norm, s <= log2(max_finite / theta_18) + halvings). If finite
// entries sum past the largest finite number, the norm is that of A / 2^h,
// h = ceil(log2 n) + 1, whose column sums cannot overflow (n entries of at
// most max_finite / 2^h).
template <class Algebra>
std::optional<Norm<typename Algebra::real>> finite_norm1(Algebra& alg) {
  using real = typename Algebra::real;
  constexpr real kMax = std::numeric_limits<real>::max();
  Norm<real> norm{alg.norm1(kA)};
  if (norm.value == std::numeric_limits<real>::infinity()) {
    norm.halvings = static_cast<int>(std::ceil(std::log2(static_cast<double>(alg.n())))) + 1;
    norm.value = alg.norm1(kA, norm.halvings);
  }
  if (!(norm.value <= kMax)) {
    return std::nullopt;
  }
  return norm;
}

// Plans the scheme for the matrix in slot kA (n >= 2) of finite 1-norm `norm`
// and prepares the slots: A scaled by 2^-s and, for T12 and T18, A^2 and A^3
// formed, with s reduced as far as those powers allow (reduce_overscaling).
template <class Algebra>
Plan plan_scheme(Algebra& alg, Norm<typename Algebra::real> norm) {
  Plan plan = plan_for_norm(norm);
  scale_down(alg, kA, plan.squarings);
  if (plan.degree_index >= kDegreeIndex12) {
    form_low_powers(alg);
    if (plan.degree_index == kDegreeIndex18) {
      const auto norm_x = std::ldexp(norm.value, norm.halvings - plan.squarings);
      plan = reduce_overscaling(alg, plan, norm_x);
    }
  }
  return plan;
}

// Runs the scheme on slot kA (for a dual algebra, on the pair (A, E)).
// Returns the slot that holds the result, or -1 if A has a NaN or an
// infinite entry.
template <class Algebra>
int run_scheme(Algebra& alg) {
  const auto norm = finite_norm1(alg);
  if (!norm) {
    return -1;
  }
  if (alg.n() == 1) { // scalars: std::exp is as accurate as it gets
    auto* x = alg.slot(kA);
    x[0] = std::exp(x[0]);
    if constexpr (Algebra::dual) {
      x[alg.width()] *= x[0]; // L(a, e) = exp(a) e
    }
    return kA;
  }
  const Plan plan = plan_scheme(alg, *norm);
  evaluate_taylor(alg, plan.degree_index);
  return square(alg, plan.squarings);
}

MLX_EXPM_CPU_END
