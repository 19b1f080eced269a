// L matrices side by side: a scalar type whose arithmetic acts on L lanes at
// once (a GCC/Clang vector). An Algebra over Lanes (algebra.h) runs the Taylor
// scheme on L matrices with one vector instruction per entry, which is how the
// smallest matrices (n <= 8) keep the SIMD units busy: a 3 x 3 row is too
// short to vectorise, a lane per matrix is not. Lanes never mix.

#pragma once

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
};

template <typename R, int L>
struct real_of<Lanes<R, L>> {
  using type = R;
};

// 32 bytes: one AVX2 register, two NEON/SSE ones.
template <typename R>
inline constexpr int kLanes = 32 / sizeof(R);

MLX_EXPM_CPU_END
