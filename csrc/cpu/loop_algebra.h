// An algebra (see taylor.h) over plain loops, for matrices small enough to
// live in the L1 cache. Slot k is a row-major block of n rows at
// ws + k * n * ld. A plain slot holds X (ld = n); a dual slot holds the pair
// (X, dX) side by side, [X | dX] (ld = 2n), so that the product's
// X [Y | dY] is one loop nest.
//
// N > 0 fixes n at compile time so that the loops unroll; N = 0 takes n at
// run time.

#pragma once

#include "cpu/scalar.h"

namespace mlx_expm::cpu {

// c[0:rows, 0:cols] (+)= a[0:rows, 0:rows] b[0:rows, 0:cols], row-major.
template <typename T, int Rows, int Cols>
inline void gemm_loop(
    int rows,
    int cols,
    const T* a,
    int lda,
    const T* b,
    int ldb,
    T* c,
    int ldc,
    bool accumulate) {
  const int n = Rows ? Rows : rows;
  const int m = Cols ? Cols : cols;
  for (int i = 0; i < n; ++i) {
    T* ci = c + i * ldc;
    if (!accumulate) {
      for (int j = 0; j < m; ++j) {
        ci[j] = T(0);
      }
    }
    for (int k = 0; k < n; ++k) {
      const T aik = a[i * lda + k];
      const T* bk = b + k * ldb;
      for (int j = 0; j < m; ++j) {
        ci[j] = mul_add(ci[j], aik, bk[j]);
      }
    }
  }
}

template <typename T, int N, bool Dual>
class LoopAlgebra {
 public:
  using scalar = T;
  using real = real_t<T>;
  static constexpr bool dual = Dual;

  // ws must hold workspace_size(n) elements.
  LoopAlgebra(int n, T* ws) : n_(N ? N : n), ld_(Dual ? 2 * n_ : n_), ws_(ws) {}

  static constexpr int width(int n) {
    return Dual ? 2 * n : n;
  }

  int n() const {
    return n_;
  }
  int ld() const {
    return ld_;
  }
  T* slot(int s) {
    return ws_ + static_cast<size_t>(s) * n_ * ld_;
  }

  void mul(int d, int x, int y) {
    product(d, x, y, false);
  }
  void mul_add(int d, int x, int y) {
    product(d, x, y, true);
  }

  void combine(int d, real c_identity, const real* c, const int* x, int k) {
    T* out = slot(d);
    const int size = n_ * ld_;
    for (int e = 0; e < size; ++e) {
      out[e] = scale(c[0], slot(x[0])[e]);
    }
    for (int j = 1; j < k; ++j) {
      const T* in = slot(x[j]);
      for (int e = 0; e < size; ++e) {
        out[e] += scale(c[j], in[e]);
      }
    }
    add_identity(d, c_identity);
  }

  void add_scaled(int d, real c, int x) {
    T* out = slot(d);
    const T* in = slot(x);
    const int size = n_ * ld_;
    for (int e = 0; e < size; ++e) {
      out[e] += scale(c, in[e]);
    }
  }

  void add_identity(int d, real c) {
    T* out = slot(d);
    for (int i = 0; i < n_; ++i) {
      out[i * ld_ + i] += c;
    }
  }

  // Multiplies the whole slot (X and, for a dual slot, dX) by c.
  void scale_slot(int d, real c) {
    T* out = slot(d);
    const int size = n_ * ld_;
    for (int e = 0; e < size; ++e) {
      out[e] = scale(c, out[e]);
    }
  }

  // max_j sum_i |X_ij|; NaN if any entry of X is NaN.
  real norm1(int d) {
    const T* x = slot(d);
    real best = 0;
    bool nan = false;
    for (int j = 0; j < n_; ++j) {
      real sum = 0;
      for (int i = 0; i < n_; ++i) {
        sum += modulus(x[i * ld_ + j]);
      }
      nan |= sum != sum;
      best = sum > best ? sum : best;
    }
    return nan ? std::numeric_limits<real>::quiet_NaN() : best;
  }

 private:
  // d = x y, or d += x y. For duals: [dX | ddX] (+)= xX [yX | ydX]; ddX += xdX yX.
  void product(int d, int x, int y, bool accumulate) {
    constexpr int W = Dual ? 2 * N : N;
    gemm_loop<T, N, W>(
        n_, ld_, slot(x), ld_, slot(y), ld_, slot(d), ld_, accumulate);
    if constexpr (Dual) {
      gemm_loop<T, N, N>(
          n_, n_, slot(x) + n_, ld_, slot(y), ld_, slot(d) + n_, ld_, true);
    }
  }

  int n_;
  int ld_;
  T* ws_;
};

} // namespace mlx_expm::cpu
