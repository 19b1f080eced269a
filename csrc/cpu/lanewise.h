// The scheme's plan decisions (metal/matrix_exp_scheme.h, Lanewise) for the
// L lanes of a vector of matrices at once: masks and counts are integer
// vectors with the lanes' element width (a comparison's -1 or 0 per lane),
// so that the lanes driver takes every matrix's decisions with one vector
// instruction where the scheme takes one matrix's with one scalar
// instruction, and gets the same answers.

#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "cpu/isa.h"
#include "cpu/lanes.h"
#include "matrix_exp_scheme.h"

namespace matrix_exp_scheme {
namespace {

template <typename R, int L>
struct Lanewise<mlx_expm::cpu::MLX_EXPM_ISA::Lanes<R, L>> {
  typedef mlx_expm::cpu::MLX_EXPM_ISA::Lanes<R, L> V;
  typedef R real;
  typedef std::conditional_t<sizeof(R) == 4, int32_t, int64_t> lane_int;
  typedef lane_int mask __attribute__((vector_size(L * sizeof(R))));
  typedef mask count;

  static V broadcast(real x) {
    return V(x);
  }
  static count splat(int c) {
    return count{} + lane_int(c);
  }
  static mask le(V a, V b) {
    return (mask)(a.v <= b.v);
  }
  static mask less(V a, V b) {
    return (mask)(a.v < b.v);
  }
  static mask greater(count a, int b) {
    return (mask)(a > splat(b));
  }
  static mask equal(count a, count b) {
    return (mask)(a == b);
  }
  static mask both(mask a, mask b) {
    return a & b;
  }
  static mask negate(mask a) {
    return ~a;
  }
  static bool any(mask a) {
    lane_int folded = 0;
    for (int lane = 0; lane < L; ++lane) {
      folded |= a[lane];
    }
    return folded != 0;
  }
  static count ones(mask a) {
    return a & splat(1);
  }
  static V log2(V x) {
    for (int lane = 0; lane < L; ++lane) {
      x.v[lane] = std::log2(x.v[lane]);
    }
    return x;
  }
  // x 2^e in every lane, as ldexp: one product where 2^e is a normal number
  // (the scheme's exponents here are small), else lane by lane.
  static V scale2(V x, int e) {
    if (e >= std::numeric_limits<R>::min_exponent - 1 &&
        e <= std::numeric_limits<R>::max_exponent - 1) {
      return ldexp(R(1), e) * x;
    }
    for (int lane = 0; lane < L; ++lane) {
      x.v[lane] = ldexp(x.v[lane], e);
    }
    return x;
  }
  // x 2^e[lane] in each lane (lanes with squaring counts of their own; one
  // product where they share one).
  static V scale2(V x, count e) {
    if (!any((mask)(e != splat(static_cast<int>(e[0]))))) {
      return scale2(x, static_cast<int>(e[0]));
    }
    for (int lane = 0; lane < L; ++lane) {
      x.v[lane] = ldexp(x.v[lane], static_cast<int>(e[lane]));
    }
    return x;
  }
};

} // namespace
} // namespace matrix_exp_scheme
