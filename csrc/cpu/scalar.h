// Scalar helpers shared by the CPU algebras: the real type of a compute type,
// a multiply-add that does not route complex products through the C runtime's
// Inf/NaN-recovering __mulsc3 (non-finite matrices never reach the products:
// they are mapped to NaN before the scheme runs), and the modulus used by the
// 1-norm.

#pragma once

#include "cpu/isa.h"

#include <cmath>
#include <complex>
#include <limits>
#include <type_traits>

MLX_EXPM_CPU_BEGIN

template <typename T>
struct real_of {
  using type = T;
};
template <typename R>
struct real_of<std::complex<R>> {
  using type = R;
};
template <typename T>
using real_t = typename real_of<T>::type;

template <typename T>
inline constexpr bool is_complex_v = false;
template <typename R>
inline constexpr bool is_complex_v<std::complex<R>> = true;

// acc + a * b
template <typename T>
inline T mul_add(T acc, T a, T b) {
  if constexpr (is_complex_v<T>) {
    return T(
        acc.real() + a.real() * b.real() - a.imag() * b.imag(),
        acc.imag() + a.real() * b.imag() + a.imag() * b.real());
  } else {
    return acc + a * b;
  }
}

// c * a for a real c
template <typename T>
inline T scale(real_t<T> c, T a) {
  if constexpr (is_complex_v<T>) {
    return T(c * a.real(), c * a.imag());
  } else {
    return c * a;
  }
}

template <typename T>
inline real_t<T> modulus(T a) {
  return std::abs(a);
}

template <typename T>
inline T quiet_nan() {
  constexpr auto nan = std::numeric_limits<real_t<T>>::quiet_NaN();
  if constexpr (is_complex_v<T>) {
    return T(nan, nan);
  } else {
    return nan;
  }
}

MLX_EXPM_CPU_END
