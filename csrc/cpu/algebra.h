// The algebra (see metal/matrix_exp_scheme.h) the CPU kernels use: a workspace
// of slots, each a row-major block of n rows at ws + k * n * ld. A matrix takes
// `width` >= n columns of a row, the columns past n being zero, so that loops
// over a row have a length known at compile time and vectorise without
// remainders. A plain slot holds X (ld = width); a dual slot holds the pair (X,
// dX) side by side, [X | dX] (ld = 2 width), so that the product's X [Y | dY]
// is one matrix product.
//
// Gemm is the matrix product: LoopGemm (plain loops the compiler vectorises,
// for matrices that live in the L1 cache) or BlasGemm (blas.h). Rows > 0
// fixes n at compile time; Width > 0 fixes the padded width (Width = 0: no
// padding, width = n).

#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "cpu/isa.h"
#include "cpu/scalar.h"
#include "matrix_exp_scheme.h"

MLX_EXPM_CPU_BEGIN

namespace ms = matrix_exp_scheme;

struct LoopGemm {
  static constexpr bool kWide = false; // see Algebra::product
  // c[0:rows, 0:cols] (+)= a[0:rows, 0:rows] b[0:rows, 0:cols], row-major;
  // c overlaps neither a nor b. With Cols known, a row of c is summed in a
  // local array that the compiler keeps in vector registers.
  template <int Rows, int Cols, typename T>
  static void run(
      int rows,
      int cols,
      const T* __restrict a,
      int lda,
      const T* __restrict b,
      int ldb,
      T* __restrict c,
      int ldc,
      bool accumulate) {
    const int n = Rows ? Rows : rows;
    if constexpr (kVectorRows<T, Cols>) {
      // Blocks of rows: each row of b, loaded once, serves kBlock rows of c.
      // kBlock x (vectors per row) accumulators: 12 of the 16 vector
      // registers for rows of two vectors, and for rows of four (enough to
      // cover the FMA latency, 4 cycles x 2 ports; 3 rows of four took 0.89
      // of the time of 2 at float64 n = 16).
      constexpr int kBlock = Cols * sizeof(T) <= 64 ? 6 : 3;
      int i = 0;
      for (; i + kBlock <= n; i += kBlock) {
        vector_rows<kBlock, Cols>(i, n, a, lda, b, ldb, c, ldc, accumulate);
      }
      if constexpr (kBlock > 4) {
        if (i + 4 <= n) {
          vector_rows<4, Cols>(i, n, a, lda, b, ldb, c, ldc, accumulate);
          i += 4;
        }
      }
      if constexpr (kBlock > 2) {
        if (i + 2 <= n) {
          vector_rows<2, Cols>(i, n, a, lda, b, ldb, c, ldc, accumulate);
          i += 2;
        }
      }
      for (; i < n; ++i) {
        vector_rows<1, Cols>(i, n, a, lda, b, ldb, c, ldc, accumulate);
      }
    } else if constexpr (Cols > 0) {
      for (int i = 0; i < n; ++i) {
        T row[Cols];
        for (int j = 0; j < Cols; ++j) {
          row[j] = accumulate ? c[i * ldc + j] : T(0);
        }
        for (int k = 0; k < n; ++k) {
          const T aik = a[i * lda + k];
          const T* bk = b + k * ldb;
          for (int j = 0; j < Cols; ++j) {
            row[j] = mul_add(row[j], aik, bk[j]);
          }
        }
        for (int j = 0; j < Cols; ++j) {
          c[i * ldc + j] = row[j];
        }
      }
    } else {
      for (int i = 0; i < n; ++i) {
        T* ci = c + i * ldc;
        for (int j = 0; j < cols; ++j) {
          ci[j] = accumulate ? ci[j] : T(0);
        }
        for (int k = 0; k < n; ++k) {
          const T aik = a[i * lda + k];
          const T* bk = b + k * ldb;
          for (int j = 0; j < cols; ++j) {
            ci[j] = mul_add(ci[j], aik, bk[j]);
          }
        }
      }
    }
  }

 private:
  // Real rows of a whole number of 32-byte vectors.
  template <typename T, int Cols>
  static constexpr bool kVectorRows =
      (std::is_same_v<T, float> || std::is_same_v<T, double>) && Cols > 0 &&
      (Cols * sizeof(T)) % 32 == 0;

  // Rows [i, i + R) of c, in 32-byte vectors held in registers.
  template <int R, int Cols, typename T>
  static void vector_rows(
      int i,
      int n,
      const T* __restrict a,
      int lda,
      const T* __restrict b,
      int ldb,
      T* __restrict c,
      int ldc,
      bool accumulate) {
    typedef T V __attribute__((vector_size(32)));
    constexpr int kVectors = Cols * sizeof(T) / 32;
    constexpr int kWidth = 32 / sizeof(T);
    V acc[R][kVectors];
    for (int r = 0; r < R; ++r) {
      for (int v = 0; v < kVectors; ++v) {
        if (accumulate) {
          std::memcpy(&acc[r][v], c + (i + r) * ldc + v * kWidth, 32);
        } else {
          acc[r][v] = V{};
        }
      }
    }
    // A scalar times a vector: one broadcast load (V{} + a would add a zero
    // first, which the compiler must keep for -0). A row of b of up to two
    // vectors is loaded once per k; a wider one (float64 rows of 16) a
    // vector at a time: loaded whole into an array, it and the
    // accumulators went through the stack, a product four times slower.
    for (int k = 0; k < n; ++k) {
      if constexpr (kVectors <= 2) {
        V row[kVectors];
        for (int v = 0; v < kVectors; ++v) {
          std::memcpy(&row[v], b + k * ldb + v * kWidth, 32);
        }
        for (int r = 0; r < R; ++r) {
          const T aik = a[(i + r) * lda + k];
          for (int v = 0; v < kVectors; ++v) {
            acc[r][v] += aik * row[v];
          }
        }
      } else {
        for (int v = 0; v < kVectors; ++v) {
          V row;
          std::memcpy(&row, b + k * ldb + v * kWidth, 32);
          for (int r = 0; r < R; ++r) {
            acc[r][v] += a[(i + r) * lda + k] * row;
          }
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int v = 0; v < kVectors; ++v) {
        std::memcpy(c + (i + r) * ldc + v * kWidth, &acc[r][v], 32);
      }
    }
  }
};

template <typename T, int Rows, int Width, bool Dual, class Gemm>
class Algebra {
 public:
  using scalar = T;
  using real = real_t<T>;
  static constexpr bool dual = Dual;

  // Rows padded past n must start (and stay) zero: the workspace is zeroed.
  static constexpr bool kPadded = Width > 0;

  static size_t workspace_size(int n) {
    const size_t width = Width ? Width : n;
    return ms::kNumSlots * n * (Dual ? 2 * width : width);
  }

  // ws holds workspace_size(n) elements, zeros if kPadded.
  Algebra(int n, T* ws)
      : n_(Rows ? Rows : n),
        width_(Width ? Width : n),
        ld_(Dual ? 2 * width_ : width_),
        ws_(ws) {}

  int n() const {
    return n_;
  }
  // Where dX starts in a row of a dual slot.
  int width() const {
    return width_;
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
    const T* in[4] = {
        slot(x[0]),
        k > 1 ? slot(x[1]) : nullptr,
        k > 2 ? slot(x[2]) : nullptr,
        k > 3 ? slot(x[3]) : nullptr};
    switch (k) { // one pass over the slots, whatever the number of terms
      case 1:
        combine_terms<1>(slot(d), c, in);
        break;
      case 2:
        combine_terms<2>(slot(d), c, in);
        break;
      case 3:
        combine_terms<3>(slot(d), c, in);
        break;
      default:
        combine_terms<4>(slot(d), c, in);
    }
    add_identity(d, c_identity);
  }

  void add_scaled(int d, real c, int x) {
    T* __restrict out = slot(d);
    const T* __restrict in = slot(x);
    const int64_t size = slot_size();
    for (int64_t e = 0; e < size; ++e) {
      out[e] += scale(c, in[e]);
    }
  }

  void add_identity(int d, real c) {
    T* out = slot(d);
    for (int i = 0; i < n_; ++i) {
      out[i * ld_ + i] += c;
    }
  }

  // Multiplies the whole slot (X and, for a dual slot, dX) by 2^k, in
  // factors that are normal numbers (2^-k alone is zero for k > 149 in
  // float32), so exactly unless an entry falls below the normal range.
  void scale_pow2(int d, int k) {
    constexpr int kStep = std::numeric_limits<real>::max_exponent - 2;
    T* out = slot(d);
    for (; k != 0;) {
      const int step = k > 0 ? std::min(k, kStep) : std::max(k, -kStep);
      const real c = ms::ldexp(real(1), step);
      for (int64_t e = 0; e < slot_size(); ++e) {
        out[e] = scale(c, out[e]);
      }
      k -= step;
    }
  }

  // n = 1: exp of the entry (dual: and L(a, e) = exp(a) e).
  void exp_scalar(int d) {
    T* x = slot(d);
    x[0] = std::exp(x[0]);
    if constexpr (Dual) {
      x[width_] *= x[0];
    }
  }

  // max_j sum_i |X_ij| / 2^halvings; NaN if any entry of X is NaN.
  real norm1(int d, int halvings) {
    if (halvings > 0) { // rare (see finite_norm1): a second, scaled pass
      return norm1_of(
          d, [&](T x) { return std::ldexp(modulus(x), -halvings); });
    }
    return norm1_of(d, [](T x) { return modulus(x); });
  }

  // || |X_p| |X_q| ||_1 of slots p and q (their X parts): the row vector
  // 1^T |X_p| |X_q|, its largest entry (NaN if one is), without the
  // rescaling of log2_norm1_abs_product, which costs a sixth of a 16 x 16's
  // time: the scheme asks it of a sum and a product it has just formed.
  real norm1_abs_product(int p, int q) {
    return with_two_rows([&](int cols, real* v, real* w) {
      const T* x = slot(p);
      const T* y = slot(q);
      std::fill_n(v, cols, real(0));
      std::fill_n(w, cols, real(0));
      for (int i = 0; i < n_; ++i) {
        for (int j = 0; j < cols; ++j) {
          v[j] += modulus(x[i * ld_ + j]);
        }
      }
      for (int i = 0; i < n_; ++i) {
        for (int j = 0; j < cols; ++j) {
          w[j] += v[i] * modulus(y[i * ld_ + j]);
        }
      }
      return largest(w, cols);
    });
  }

  // log2 || |X_0| |X_1| ... |X_(count-1)| ||_1 of slots d[0..count) (their X
  // parts), -infinity if it is 0: the row vector 1^T |X_0| ..., times one
  // slot after the other, rescaled by a power of two after each product so
  // that it neither overflows nor underflows (the scale is kept apart).
  real log2_norm1_abs_product(const int* d, int count) {
    return with_two_rows([&](int cols, real* v, real* w) {
      std::fill_n(v, cols, real(1));
      int exponent = 0;
      for (int c = 0; c < count; ++c) {
        const T* x = slot(d[c]);
        std::fill_n(w, cols, real(0));
        for (int i = 0; i < n_; ++i) {
          for (int j = 0; j < cols; ++j) {
            w[j] += v[i] * modulus(x[i * ld_ + j]);
          }
        }
        const real most = *std::max_element(w, w + cols);
        if (!(most > real(0))) {
          return -std::numeric_limits<real>::infinity();
        }
        const int e = std::ilogb(most);
        for (int j = 0; j < cols; ++j) {
          v[j] = ms::ldexp(w[j], -e);
        }
        exponent += e;
      }
      return std::log2(*std::max_element(v, v + cols)) + real(exponent);
    });
  }

 private:
  // f(cols, v, w) with two rows of cols reals: on the stack for a width known
  // at compile time, else the algebra's own vectors.
  template <class F>
  real with_two_rows(F f) {
    const int cols = Width > 0 ? Width : n_;
    if constexpr (Width > 0) {
      real v[Width > 0 ? Width : 1];
      real w[Width > 0 ? Width : 1];
      return f(cols, v, w);
    } else {
      row_.resize(cols);
      next_row_.resize(cols);
      return f(cols, row_.data(), next_row_.data());
    }
  }

  // The largest of sums[0..count) (each +0 or more, or NaN), NaN if one is
  // NaN. With their sign bits cleared (a NaN made by inf * 0 may have it
  // set), the sums' bit patterns order as integers as their values do, every
  // NaN above +infinity: an integer maximum, which the compiler vectorizes (a
  // floating-point one, whose NaN rule it must keep, went entry by entry:
  // half the time of a 16 x 16's norm1).
  static real largest(const real* sums, int count) {
    using Bits = std::conditional_t<sizeof(real) == 4, int32_t, int64_t>;
    constexpr Bits kMagnitude = std::numeric_limits<Bits>::max();
    Bits best = 0;
    for (int j = 0; j < count; ++j) {
      Bits bits;
      std::memcpy(&bits, &sums[j], sizeof bits);
      bits &= kMagnitude;
      best = bits > best ? bits : best;
    }
    real out;
    std::memcpy(&out, &best, sizeof out);
    return out != out ? std::numeric_limits<real>::quiet_NaN() : out;
  }

  // max_j sum_i size(X_ij). Not inlined: inlined into evaluate_planned, the
  // column sums of a 16 x 16 went entry by entry (a twentieth of its time).
  template <class Size>
  [[gnu::noinline]] real norm1_of(int d, Size size) {
    const T* x = slot(d);
    if constexpr (Width > 0) { // row by row, the column sums in registers
      real sums[Width] = {};
      const int rows = Rows > 0 ? Rows : n_; // unrolled when known
      for (int i = 0; i < rows; ++i) {
        for (int j = 0; j < Width; ++j) {
          sums[j] += size(x[i * ld_ + j]);
        }
      }
      return largest(sums, Width);
    } else { // row by row too (a column walk of a large matrix thrashes the
             // TLB), four rows per pass over the sums: the same additions in
             // the same order, a quarter of the loads and stores of the sums
      column_sums_.assign(n_, real(0));
      real* __restrict sums = column_sums_.data();
      const int n = n_;
      const int64_t ld = ld_;
      int i = 0;
      for (; i + 4 <= n; i += 4) {
        const T* __restrict row = x + i * ld;
        for (int j = 0; j < n; ++j) {
          real sum = sums[j];
          sum += size(row[j]);
          sum += size(row[ld + j]);
          sum += size(row[2 * ld + j]);
          sum += size(row[3 * ld + j]);
          sums[j] = sum;
        }
      }
      for (; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
          sums[j] += size(x[i * ld + j]);
        }
      }
      return largest(sums, n);
    }
  }

  // The coefficients, sources and size in locals: read through `c`, `in`
  // and `this` inside the loop, they kept it scalar (a third of the time of
  // a batch of 16 x 16).
  template <int K>
  void combine_terms(T* __restrict out, const real* c, const T* const* in) {
    real coefficient[K];
    const T* __restrict source[K];
    for (int j = 0; j < K; ++j) {
      coefficient[j] = c[j];
      source[j] = in[j];
    }
    const int64_t size = slot_size();
    for (int64_t e = 0; e < size; ++e) {
      T v = scale(coefficient[0], source[0][e]);
      for (int j = 1; j < K; ++j) {
        v += scale(coefficient[j], source[j][e]);
      }
      out[e] = v;
    }
  }

  // Elements of a slot. The passes over them run on one thread even for a
  // BLAS-sized matrix: splitting them over the thread pool, beside the BLAS
  // threads that spin between products, was 3-7% slower at n = 512..1024.
  int64_t slot_size() const {
    return static_cast<int64_t>(n_) * ld_;
  }

  // d = x y, or d += x y. For duals: dX (+)= xX ydX + xdX yX as well. BLAS
  // gets xX [yX | ydX] as one wide product; the loops keep a row of width
  // columns in registers, so they take the three products one by one.
  void product(int d, int x, int y, bool accumulate) {
    T* dd = slot(d) + width_;
    const T* xd = slot(x) + width_;
    const T* yd = slot(y) + width_;
    if constexpr (Dual && Gemm::kWide) {
      Gemm::template run<Rows, 0>(
          n_, ld_, slot(x), ld_, slot(y), ld_, slot(d), ld_, accumulate);
    } else {
      Gemm::template run<Rows, Width>(
          n_, width_, slot(x), ld_, slot(y), ld_, slot(d), ld_, accumulate);
      if constexpr (Dual) {
        Gemm::template run<Rows, Width>(
            n_, width_, slot(x), ld_, yd, ld_, dd, ld_, accumulate);
      }
    }
    if constexpr (Dual) {
      Gemm::template run<Rows, Width>(
          n_, width_, xd, ld_, slot(y), ld_, dd, ld_, true);
    }
  }

  int n_;
  int width_;
  int ld_;
  T* ws_;
  // norm1's and log2_norm1_abs_product's rows, for a width known at run time
  std::vector<real> column_sums_, row_, next_row_;
};

MLX_EXPM_CPU_END
