// L matrices side by side: a scalar type whose arithmetic acts on L lanes at
// once (a GCC/Clang vector). An Algebra over Lanes (algebra.h) runs the Taylor
// scheme on L matrices with one vector instruction per entry, which is how the
// smallest matrices (n <= 8) keep the SIMD units busy: a 3 x 3 row is too
// short to vectorise, a lane per matrix is not. Lanes never mix.

#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cpu/isa.h"
#include "cpu/scalar.h"

MLX_EXPM_CPU_BEGIN

template <typename R, int L>
struct Lanes {
  typedef R vec __attribute__((vector_size(L * sizeof(R))));
  vec v;

  Lanes() = default;
  Lanes(R x) : v(vec{} + x) {}
  static Lanes of(vec x) {
    Lanes out;
    out.v = x;
    return out;
  }

  Lanes& operator+=(Lanes o) {
    v += o.v;
    return *this;
  }
  Lanes& operator+=(R x) {
    v += x;
    return *this;
  }
  friend Lanes operator+(Lanes a, Lanes b) {
    return of(a.v + b.v);
  }
  friend Lanes operator*(Lanes a, Lanes b) {
    return of(a.v * b.v);
  }
  friend Lanes operator*(R c, Lanes a) {
    return of(c * a.v);
  }
  // |a| in each lane: the sign bits cleared (a NaN stays a NaN).
  friend Lanes abs(Lanes a) {
    typedef std::conditional_t<sizeof(R) == 4, uint32_t, uint64_t> bits;
    typedef bits ivec __attribute__((vector_size(L * sizeof(R))));
    ivec b;
    std::memcpy(&b, &a.v, sizeof b);
    b &= ~(bits(1) << (8 * sizeof(R) - 1));
    std::memcpy(&a.v, &b, sizeof b);
    return a;
  }
};

template <typename R, int L>
struct real_of<Lanes<R, L>> {
  using type = R;
};

// 32 bytes: one AVX2 register, two NEON/SSE ones.
template <typename R>
inline constexpr int kLanes = 32 / sizeof(R);

MLX_EXPM_CPU_END
