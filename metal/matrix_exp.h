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

// The operations of matrix_exp_scheme.h's algebra that every thread does on
// its share of the entries, written once for both of our algebras: the fused
// kernels' Workspace (below: a simdgroup per matrix, threadgroup memory) and
// the tiled kernels' TiledWorkspace (matrix_exp_tiled.h: a threadgroup per
// matrix, device memory). An algebra W provides
//   slot(s), derivative(s)     X and dX of slot s (dX: dual algebras only)
//   slot_floats(), padded()    floats per slot; P
//   first(), step()            this thread's entries: first, first + step, ...
//   first_tile(), tile_step()  this simdgroup's 8 x 8 tiles of a product
//   dual(), sync()             whether slots hold (X, dX); the barrier that
//                              ends every operation

// c = a b (+ a2 b2 if `second`), or c += ..., over the 8 x 8 tiles first_tile,
// first_tile + tile_step, ... of c (row by row), each accumulated in
// registers over the same k-tiles whatever the tiles' distribution, and
// stored once.
template <typename Ptr>
void tile_products(
    Ptr c,
    Ptr a,
    Ptr b,
    Ptr a2,
    Ptr b2,
    bool second,
    bool accumulate,
    int P,
    int first_tile,
    int tile_step) {
  const int tiles = P / mp::kTile;
  for (int t = first_tile; t < tiles * tiles; t += tile_step) {
    const int ti = (t / tiles) * mp::kTile;
    const int tj = (t % tiles) * mp::kTile;
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

// d = x y, or d += x y; d differs from x and y. Dual: also dD (+)= X dY +
// dX Y, in the same tile accumulation.
template <class W>
void slots_product(thread const W& ws, int d, int x, int y, bool accumulate) {
  const int P = ws.padded();
  tile_products(
      ws.slot(d),
      ws.slot(x),
      ws.slot(y),
      ws.slot(x),
      ws.slot(y),
      false,
      accumulate,
      P,
      ws.first_tile(),
      ws.tile_step());
  if (ws.dual()) {
    tile_products(
        ws.derivative(d),
        ws.slot(x),
        ws.derivative(y),
        ws.derivative(x),
        ws.slot(y),
        true,
        accumulate,
        P,
        ws.first_tile(),
        ws.tile_step());
  }
  ws.sync();
}

// d = c_identity I + sum_j c[j] x[j], for k <= 4 terms.
template <class W>
void slots_combine(
    thread const W& ws,
    int d,
    float c_identity,
    thread const float* c,
    thread const int* x,
    int k) {
  const uint P = uint(ws.padded());
  auto out = ws.slot(d);
  for (uint e = ws.first(); e < uint(ws.slot_floats()); e += ws.step()) {
    float v = c[0] * ws.slot(x[0])[e];
    for (int j = 1; j < k; ++j) {
      v = fma(c[j], ws.slot(x[j])[e], v);
    }
    if (e < P * P && e / P == e % P) { // X's diagonal, not dX's
      v += c_identity;
    }
    out[e] = v;
  }
  ws.sync();
}

// d += c x
template <class W>
void slots_add_scaled(thread const W& ws, int d, float c, int x) {
  auto out = ws.slot(d);
  auto in = ws.slot(x);
  for (uint e = ws.first(); e < uint(ws.slot_floats()); e += ws.step()) {
    out[e] = fma(c, in[e], out[e]);
  }
  ws.sync();
}

// d += c I (X only: the derivative of I is 0)
template <class W>
void slots_add_identity(thread const W& ws, int d, float c) {
  const int P = ws.padded();
  auto out = ws.slot(d);
  for (uint i = ws.first(); i < uint(P); i += ws.step()) {
    out[i * P + i] += c;
  }
  ws.sync();
}

// d *= 2^k, exactly (in factors of at most 2^+-64: k reaches about -134
// for the largest finite norms, and 3 x 28 upwards in the overscaling rule).
template <class W>
void slots_scale_pow2(thread const W& ws, int d, int k) {
  auto out = ws.slot(d);
  for (; k != 0;) {
    const int step = k > 0 ? min(k, 64) : max(k, -64);
    for (uint e = ws.first(); e < uint(ws.slot_floats()); e += ws.step()) {
      out[e] = scale_by_pow2(out[e], step);
    }
    k -= step;
  }
  ws.sync();
}

// n = 1: exp of the entry, as accurate as the GPU's exp (dual: and
// L(a, e) = exp(a) e).
template <class W>
void slots_exp_scalar(thread const W& ws, int d) {
  if (ws.first() == 0) {
    ws.slot(d)[0] = precise::exp(ws.slot(d)[0]);
    if (ws.dual()) {
      ws.derivative(d)[0] *= ws.slot(d)[0];
    }
  }
  ws.sync();
}

// || |p| |q| ||_1 (X parts), through the algebra's rescaled
// log2_norm1_abs_product (the scheme asks it once per evaluation).
template <class W>
float slots_norm1_abs_product(thread const W& ws, int p, int q) {
  const int d[2] = {p, q};
  return exp2(ws.log2_norm1_abs_product(d, 2));
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

  // The shares of the slot operations above: every entry and every tile of
  // a product is the one simdgroup's.
  int padded() const thread {
    return P;
  }
  uint first() const thread {
    return lane;
  }
  uint step() const thread {
    return mp::kSimdWidth;
  }
  int first_tile() const thread {
    return 0;
  }
  int tile_step() const thread {
    return 1;
  }
  bool dual() const thread {
    return Dual;
  }

  void sync() const thread {
    simdgroup_barrier(mem_flags::mem_threadgroup);
  }

  void mul(int d, int x, int y) const thread {
    slots_product(*this, d, x, y, false);
  }
  void mul_add(int d, int x, int y) const thread {
    slots_product(*this, d, x, y, true);
  }
  void combine(
      int d,
      float c_identity,
      thread const float* c,
      thread const int* x,
      int k) const thread {
    slots_combine(*this, d, c_identity, c, x, k);
  }
  void add_scaled(int d, float c, int x) const thread {
    slots_add_scaled(*this, d, c, x);
  }
  void add_identity(int d, float c) const thread {
    slots_add_identity(*this, d, c);
  }
  void scale_pow2(int d, int k) const thread {
    slots_scale_pow2(*this, d, k);
  }
  void exp_scalar(int d) const thread {
    slots_exp_scalar(*this, d);
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

  float norm1_abs_product(int p, int q) const thread {
    return slots_norm1_abs_product(*this, p, q);
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

// exp of matrix b of the batch on algebra W (the scheme of
// matrix_exp_scheme.h). A NaN or infinite entry anywhere makes the whole
// result NaN, as on the CPU.
template <typename T, class W>
void matrix_exp_one(
    device const T* in,
    device T* out,
    constant MatrixExpParams& params,
    matrix_exp_int64 b,
    thread const W& ws) {
  load_matrix(
      in, params, b, ws.slot(ms::kA), ws.padded(), ws.first(), ws.step());
  ws.sync();
  const int slot = ms::run_scheme(ws);
  store_matrix(
      ws.slot(slot < 0 ? ms::kA : slot),
      slot < 0,
      out,
      ws.n(),
      ws.padded(),
      b,
      ws.first(),
      ws.step());
  ws.sync(); // a next matrix's load (tiled kernels) writes what this reads
}

// L(A, E) of pair b of the batch on the dual algebra W: A and E loaded as the
// dual slot (A, E), the same scheme, dX of its result stored. A NaN or
// infinite entry of A makes L NaN, as on the CPU; one of E spreads through
// the products.
template <typename T, class W>
void frechet_one(
    device const T* a,
    device const T* e,
    device T* out,
    constant MatrixExpParams& a_params,
    constant MatrixExpParams& e_params,
    matrix_exp_int64 b,
    thread const W& ws) {
  load_matrix(
      a, a_params, b, ws.slot(ms::kA), ws.padded(), ws.first(), ws.step());
  load_matrix(
      e,
      e_params,
      b,
      ws.derivative(ms::kA),
      ws.padded(),
      ws.first(),
      ws.step());
  ws.sync();
  const int slot = ms::run_scheme(ws);
  store_matrix(
      ws.derivative(slot < 0 ? ms::kA : slot),
      slot < 0,
      out,
      ws.n(),
      ws.padded(),
      b,
      ws.first(),
      ws.step());
  ws.sync(); // a next pair's load (tiled kernels) writes what this reads
}

} // namespace matrix_exp_kernel
