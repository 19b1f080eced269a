// Device functions of the fused kernels (matrix_exp.metal): the algebra the
// scheme of matrix_exp_scheme.h runs on, and one matrix's load, scheme and
// store, for exp(A) and for the Frechet derivative L(A, E).
//
// One simdgroup computes one matrix, start to finish. The matrix is padded
// with zeros to P x P (P a multiple of 8, at most 32) and its work matrices
// live in threadgroup memory (kNumSlots slots of P x P floats per
// simdgroup); products are 8 x 8 simdgroup_matrix multiply-accumulates. The
// simdgroups of a threadgroup never wait for each other: every barrier is a
// simdgroup_barrier, and all control flow depends only on the simdgroup's own
// matrix (its norms are the same on every lane), so it is uniform across the
// 32 lanes that reach those barriers.
//
// The zero padding makes the padded matrix block diagonal, diag(A, 0); its
// exponential is diag(exp(A), I), so the identity terms are added on the whole
// diagonal and the padding never mixes with A. Its 1-norm is that of A.
//
// For L(A, E) the workspace is dual (matrix_exp_scheme.h): a slot holds the
// pair (X, dX), X's P x P floats then dX's, and a product also forms
// X dY + dX Y, so that the scheme's own products and squarings are
// differentiated (Al-Mohy & Higham 2009) at three products per product. The
// padding stays zero in dX (diag(E, 0) with diag(A, 0)). The plan reads X
// only: the same plan as exp(A).

#pragma once

#include <metal_simdgroup>
#include <metal_simdgroup_matrix>
#include <metal_stdlib>

#include "matrix_exp_params.h"
#include "matrix_exp_scheme.h"

using namespace metal;

namespace matrix_exp_kernel {

namespace mp = matrix_exp_params;
namespace ms = matrix_exp_scheme;

// x * 2^k for -190 <= k <= 191, exactly unless the result is subnormal (two
// factors, so that neither is a subnormal, which the GPU may flush to zero).
inline float scale_by_pow2(float x, int k) {
  const int first = k < 0 ? max(k, -64) : min(k, 64);
  const float f1 = as_type<float>(uint(127 + first) << 23);
  const float f2 = as_type<float>(uint(127 + (k - first)) << 23);
  return (x * f1) * f2;
}

// One simdgroup's slots: P x P floats each (dual: two such blocks, X then
// dX), row-major, in threadgroup memory; the algebra of matrix_exp_scheme.h.
// Every operation ends with a simdgroup_barrier, so the next one may read
// what this one wrote. Member functions say `const thread`: from Metal 4.1
// `this` is in the generic address space unless qualified (as MLX's own
// kernels now write).
template <int P, bool Dual = false>
struct Workspace {
  typedef float real;

  threadgroup float* base;
  uint lane;
  int size; // n <= P

  int n() const thread {
    return size;
  }

  // Floats per slot: X, and dX when dual.
  int slot_floats() const thread {
    return (Dual ? 2 : 1) * P * P;
  }

  // X of slot s.
  threadgroup float* slot(int s) const thread {
    return base + s * slot_floats();
  }

  // dX of slot s (dual workspaces only).
  threadgroup float* derivative(int s) const thread {
    return slot(s) + P * P;
  }

  void sync() const thread {
    simdgroup_barrier(mem_flags::mem_threadgroup);
  }

  // c = a b (+ a2 b2 if `second`), or c += ..., over 8 x 8 tiles, each tile
  // of c accumulated in registers and stored once.
  void tile_products(
      threadgroup float* c,
      threadgroup const float* a,
      threadgroup const float* b,
      threadgroup const float* a2,
      threadgroup const float* b2,
      bool second,
      bool accumulate) const thread {
    for (int ti = 0; ti < P; ti += mp::kTile) {
      for (int tj = 0; tj < P; tj += mp::kTile) {
        simdgroup_matrix<float, 8, 8> acc =
            make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
        if (accumulate) {
          simdgroup_load(acc, c + ti * P + tj, P);
        }
        for (int tk = 0; tk < P; tk += mp::kTile) {
          simdgroup_matrix<float, 8, 8> left;
          simdgroup_matrix<float, 8, 8> right;
          simdgroup_load(left, a + ti * P + tk, P);
          simdgroup_load(right, b + tk * P + tj, P);
          simdgroup_multiply_accumulate(acc, left, right, acc);
          if (second) {
            simdgroup_load(left, a2 + ti * P + tk, P);
            simdgroup_load(right, b2 + tk * P + tj, P);
            simdgroup_multiply_accumulate(acc, left, right, acc);
          }
        }
        simdgroup_store(acc, c + ti * P + tj, P);
      }
    }
  }

  // d = x y, or d += x y; d differs from x and y. Dual: also dD (+)= X dY +
  // dX Y.
  void product(int d, int x, int y, bool accumulate) const thread {
    tile_products(
        slot(d), slot(x), slot(y), slot(x), slot(y), false, accumulate);
    if (Dual) {
      tile_products(
          derivative(d),
          slot(x),
          derivative(y),
          derivative(x),
          slot(y),
          true,
          accumulate);
    }
    sync();
  }

  void mul(int d, int x, int y) const thread {
    product(d, x, y, false);
  }

  void mul_add(int d, int x, int y) const thread {
    product(d, x, y, true);
  }

  // d = c_identity I + sum_j c[j] x[j], for k <= 4 terms.
  void combine(
      int d,
      float c_identity,
      thread const float* c,
      thread const int* x,
      int k) const thread {
    threadgroup float* out = slot(d);
    for (uint e = lane; e < uint(slot_floats()); e += mp::kSimdWidth) {
      float v = c[0] * slot(x[0])[e];
      for (int j = 1; j < k; ++j) {
        v = fma(c[j], slot(x[j])[e], v);
      }
      if (e < uint(P * P) && e / P == e % P) { // X's diagonal, not dX's
        v += c_identity;
      }
      out[e] = v;
    }
    sync();
  }

  // d += c x
  void add_scaled(int d, float c, int x) const thread {
    threadgroup float* out = slot(d);
    threadgroup const float* in = slot(x);
    for (uint e = lane; e < uint(slot_floats()); e += mp::kSimdWidth) {
      out[e] = fma(c, in[e], out[e]);
    }
    sync();
  }

  // d += c I (X only: the derivative of I is 0)
  void add_identity(int d, float c) const thread {
    threadgroup float* out = slot(d);
    if (lane < uint(P)) {
      out[lane * P + lane] += c;
    }
    sync();
  }

  // d *= 2^k, exactly (in factors of at most 2^+-64: k reaches about -134
  // for the largest finite norms, and 3 x 28 upwards in the overscaling rule).
  void scale_pow2(int d, int k) const thread {
    threadgroup float* out = slot(d);
    for (; k != 0;) {
      const int step = k > 0 ? min(k, 64) : max(k, -64);
      for (uint e = lane; e < uint(slot_floats()); e += mp::kSimdWidth) {
        out[e] = scale_by_pow2(out[e], step);
      }
      k -= step;
    }
    sync();
  }

  // max_j sum_i |X_ij| 2^-halvings, the same on every lane (lane j sums
  // column j); NaN if an entry is NaN.
  float norm1(int d, int halvings) const thread {
    threadgroup const float* x = slot(d);
    float column = 0.0f;
    if (lane < uint(P)) {
      for (int i = 0; i < P; ++i) {
        column += scale_by_pow2(abs(x[i * P + int(lane)]), -halvings);
      }
    }
    const float norm = simd_any(isnan(column)) ? NAN : simd_max(column);
    sync(); // the column reads happen before slot d is written again
    return norm;
  }

  // log2 || |d[0]| ... |d[count-1]| ||_1, -infinity if it is 0, the same on
  // every lane: lane j holds entry j of the row vector 1^T |d[0]| ...,
  // rescaled by a power of two after each product (the scale kept apart);
  // row i comes from lane i by simd_shuffle.
  float log2_norm1_abs_product(thread const int* d, int count) const thread {
    float v = lane < uint(P) ? 1.0f : 0.0f;
    int exponent = 0;
    for (int c = 0; c < count; ++c) {
      threadgroup const float* x = slot(d[c]);
      float w = 0.0f;
      for (int i = 0; i < P; ++i) {
        const float vi = simd_shuffle(v, ushort(i));
        if (lane < uint(P)) {
          w = fma(vi, abs(x[i * P + int(lane)]), w);
        }
      }
      const float largest = simd_max(w);
      if (!(largest > 0.0f)) {
        sync();
        return -INFINITY;
      }
      const int e = int(floor(log2(largest)));
      v = scale_by_pow2(w, -e);
      exponent += e;
    }
    sync(); // the reads above happen before the slots are written again
    return log2(simd_max(v)) + float(exponent);
  }

  // n = 1: exp of the entry, as accurate as the GPU's exp (dual: and
  // L(a, e) = exp(a) e).
  void exp_scalar(int d) const thread {
    if (lane == 0) {
      slot(d)[0] = precise::exp(slot(d)[0]);
      if (Dual) {
        derivative(d)[0] *= slot(d)[0];
      }
    }
    sync();
  }
};

// Loads matrix b of the batch into `dst` (threadgroup or device memory),
// zero-padded to `padded` x `padded`, in single precision: entries first,
// first + step, ... of the threads taking part. The caller syncs.
template <typename T, typename Dst>
void load_matrix(
    device const T* in,
    constant MatrixExpParams& params,
    matrix_exp_int64 b,
    Dst dst,
    int padded,
    uint first,
    uint step) {
  const int n = int(params.n);
  device const T* src = in + b * params.batch_stride;
  for (uint e = first; e < uint(padded * padded); e += step) {
    const int i = int(e) / padded;
    const int j = int(e) % padded;
    float v = 0.0f;
    if (i < n && j < n) {
      v = static_cast<float>(
          src[i * params.row_stride + j * params.col_stride]);
    }
    dst[e] = v;
  }
}

// Stores the n x n block of `result` (row length `padded`) as matrix b of the
// contiguous output; NaN everywhere if `nan`.
template <typename T, typename Src>
void store_matrix(
    Src result,
    bool nan,
    device T* out,
    int n,
    int padded,
    matrix_exp_int64 b,
    uint first,
    uint step) {
  device T* dst = out + b * matrix_exp_int64(n) * n;
  for (uint e = first; e < uint(n * n); e += step) {
    const int i = int(e) / n;
    const int j = int(e) % n;
    dst[e] = nan ? static_cast<T>(NAN) : static_cast<T>(result[i * padded + j]);
  }
}

// exp of matrix b of the batch by one simdgroup (the scheme of
// matrix_exp_scheme.h). A NaN or infinite entry anywhere makes the whole
// result NaN, as on the CPU.
template <typename T, int P>
void matrix_exp_one(
    device const T* in,
    device T* out,
    constant MatrixExpParams& params,
    matrix_exp_int64 b,
    thread const Workspace<P>& ws) {
  load_matrix(in, params, b, ws.slot(ms::kA), P, ws.lane, mp::kSimdWidth);
  ws.sync();
  const int slot = ms::run_scheme(ws);
  store_matrix(
      ws.slot(slot < 0 ? ms::kA : slot),
      slot < 0,
      out,
      ws.n(),
      P,
      b,
      ws.lane,
      mp::kSimdWidth);
}

// L(A, E) of pair b of the batch by one simdgroup: A and E loaded as the dual
// slot (A, E), the same scheme on the dual workspace, dX of its result
// stored. A NaN or infinite entry of A makes L NaN, as on the CPU; one of E
// spreads through the products.
template <typename T, int P>
void frechet_one(
    device const T* a,
    device const T* e,
    device T* out,
    constant MatrixExpParams& a_params,
    constant MatrixExpParams& e_params,
    matrix_exp_int64 b,
    thread const Workspace<P, true>& ws) {
  load_matrix(a, a_params, b, ws.slot(ms::kA), P, ws.lane, mp::kSimdWidth);
  load_matrix(
      e, e_params, b, ws.derivative(ms::kA), P, ws.lane, mp::kSimdWidth);
  ws.sync();
  const int slot = ms::run_scheme(ws);
  store_matrix(
      ws.derivative(slot < 0 ? ms::kA : slot),
      slot < 0,
      out,
      ws.n(),
      P,
      b,
      ws.lane,
      mp::kSimdWidth);
}

} // namespace matrix_exp_kernel
