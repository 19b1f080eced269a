// Device functions of the tiled kernels (matrix_exp.metal, matrix_exp_tiled
// and matrix_exp_frechet_tiled): exp(A) for kMaxPadded < n <= kMaxPaddedTiled,
// L(A, E) for kMaxPaddedFrechet < n <= kMaxPaddedTiled, where a matrix's
// slots no longer fit in threadgroup memory.
//
// One threadgroup computes one matrix at a time (then the next of its share
// of the batch): its kNumSlots slots of P x P floats (P = n rounded up to a
// multiple of 8) live in device memory, a region of the scratch buffer owned
// by the threadgroup. A product's 8 x 8 output tiles are dealt to the
// simdgroups round-robin, each tile accumulated in registers over the same
// sequence of k-tiles whatever the number of simdgroups, so results do not
// depend on the threadgroup's size. Norms are reduced across the
// threadgroup through threadgroup memory and read back by every thread: all
// control flow of the scheme (matrix_exp_scheme.h) depends on them only, so
// it is uniform across the threadgroup, whose every thread reaches every
// threadgroup_barrier. Zero padding and dual slots (X, then dX) as in
// matrix_exp.h.

#pragma once

#include "matrix_exp.h"

namespace matrix_exp_kernel {

// The threadgroup memory the tiled kernel needs, in floats: one value per
// simdgroup for reductions, and two rows of P for log2_norm1_abs_product.
inline int tiled_shared_floats(int padded) {
  return mp::kMaxSimdgroups + 2 * padded;
}

// One threadgroup's slots in device memory: the algebra of
// matrix_exp_scheme.h. Every operation ends with a threadgroup barrier.
template <bool Dual = false>
struct TiledWorkspace {
  typedef float real;

  device float* base; // kNumSlots * slot_floats() floats
  threadgroup float* shared; // tiled_shared_floats(P)
  uint index; // of this thread in the threadgroup
  uint threads; // threads of the threadgroup, a multiple of 32
  uint simd_group;
  uint simd_groups;
  uint lane;
  int size; // n <= P
  int P;

  int n() const thread {
    return size;
  }

  // Floats per slot: X, and dX when dual.
  int slot_floats() const thread {
    return (Dual ? 2 : 1) * P * P;
  }

  // X of slot s.
  device float* slot(int s) const thread {
    return base + s * slot_floats();
  }

  // dX of slot s (dual workspaces only).
  device float* derivative(int s) const thread {
    return slot(s) + P * P;
  }

  void sync() const thread {
    threadgroup_barrier(mem_flags::mem_device | mem_flags::mem_threadgroup);
  }

  // The largest x of all threads, the same on every thread; NaN if any x is
  // NaN (the hardware max drops NaN).
  float reduce_max(float x) const thread {
    const float m = simd_any(isnan(x)) ? NAN : simd_max(x);
    if (lane == 0) {
      shared[simd_group] = m;
    }
    sync();
    float r = shared[0];
    for (uint s = 1; s < simd_groups; ++s) {
      r = isnan(r) || isnan(shared[s]) ? NAN : max(r, shared[s]);
    }
    sync(); // every thread has read shared[] before it is written again
    return r;
  }

  // c = a b (+ a2 b2 if `second`), or c += ..., over the 8 x 8 tiles of c
  // dealt to this simdgroup, each accumulated in registers and stored once.
  void tile_products(
      device float* c,
      device const float* a,
      device const float* b,
      device const float* a2,
      device const float* b2,
      bool second,
      bool accumulate) const thread {
    const int tiles = P / mp::kTile;
    for (int t = int(simd_group); t < tiles * tiles; t += int(simd_groups)) {
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
    device float* out = slot(d);
    for (uint e = index; e < uint(slot_floats()); e += threads) {
      float v = c[0] * slot(x[0])[e];
      for (int j = 1; j < k; ++j) {
        v = fma(c[j], slot(x[j])[e], v);
      }
      if (e < uint(P * P) && e / uint(P) == e % uint(P)) { // X's diagonal
        v += c_identity;
      }
      out[e] = v;
    }
    sync();
  }

  // d += c x
  void add_scaled(int d, float c, int x) const thread {
    device float* out = slot(d);
    device const float* in = slot(x);
    for (uint e = index; e < uint(slot_floats()); e += threads) {
      out[e] = fma(c, in[e], out[e]);
    }
    sync();
  }

  // d += c I (X only)
  void add_identity(int d, float c) const thread {
    device float* out = slot(d);
    for (uint i = index; i < uint(P); i += threads) {
      out[i * P + i] += c;
    }
    sync();
  }

  // d *= 2^k, exactly (in factors of at most 2^+-64, as in matrix_exp.h).
  void scale_pow2(int d, int k) const thread {
    device float* out = slot(d);
    for (; k != 0;) {
      const int step = k > 0 ? min(k, 64) : max(k, -64);
      for (uint e = index; e < uint(slot_floats()); e += threads) {
        out[e] = scale_by_pow2(out[e], step);
      }
      k -= step;
    }
    sync();
  }

  // max_j sum_i |X_ij| 2^-halvings, the same on every thread (thread j sums
  // column j, from row 0 down); NaN if an entry is NaN.
  float norm1(int d, int halvings) const thread {
    device const float* x = slot(d);
    float largest = 0.0f;
    for (uint j = index; j < uint(P); j += threads) {
      float column = 0.0f;
      for (int i = 0; i < P; ++i) {
        column += scale_by_pow2(abs(x[i * P + int(j)]), -halvings);
      }
      largest = isnan(largest) || isnan(column) ? NAN : max(largest, column);
    }
    return reduce_max(largest);
  }

  // log2 || |d[0]| ... |d[count-1]| ||_1, -infinity if it is 0, the same on
  // every thread: the row vector 1^T |d[0]| ... in threadgroup memory
  // (entry j formed by thread j from row 0 down), rescaled by a power of two
  // after each product (the scale kept apart).
  float log2_norm1_abs_product(thread const int* d, int count) const thread {
    threadgroup float* v = shared + mp::kMaxSimdgroups;
    threadgroup float* w = v + P;
    for (uint j = index; j < uint(P); j += threads) {
      v[j] = 1.0f;
    }
    sync();
    int exponent = 0;
    for (int c = 0; c < count; ++c) {
      device const float* x = slot(d[c]);
      float largest = 0.0f;
      for (uint j = index; j < uint(P); j += threads) {
        float sum = 0.0f;
        for (int i = 0; i < P; ++i) {
          sum = fma(v[i], abs(x[i * P + int(j)]), sum);
        }
        w[j] = sum;
        largest = max(largest, sum);
      }
      largest = reduce_max(largest); // its barriers order w's writes
      if (!(largest > 0.0f)) {
        return -INFINITY;
      }
      const int e = int(floor(log2(largest)));
      for (uint j = index; j < uint(P); j += threads) {
        v[j] = scale_by_pow2(w[j], -e);
      }
      exponent += e;
      sync();
    }
    float largest = 0.0f;
    for (uint j = index; j < uint(P); j += threads) {
      largest = max(largest, v[j]);
    }
    return log2(reduce_max(largest)) + float(exponent);
  }

  // n = 1 (never sent here; the scheme's algebra must have it).
  void exp_scalar(int d) const thread {
    if (index == 0) {
      slot(d)[0] = precise::exp(slot(d)[0]);
      if (Dual) {
        derivative(d)[0] *= slot(d)[0];
      }
    }
    sync();
  }
};

// exp of matrix b of the batch by the threadgroup (the scheme of
// matrix_exp_scheme.h); a NaN or infinite entry makes the result NaN.
template <typename T>
void matrix_exp_tiled_one(
    device const T* in,
    device T* out,
    constant MatrixExpParams& params,
    matrix_exp_int64 b,
    thread const TiledWorkspace<false>& ws) {
  load_matrix(in, params, b, ws.slot(ms::kA), ws.P, ws.index, ws.threads);
  ws.sync();
  const int slot = ms::run_scheme(ws);
  store_matrix(
      ws.slot(slot < 0 ? ms::kA : slot),
      slot < 0,
      out,
      ws.n(),
      ws.P,
      b,
      ws.index,
      ws.threads);
  ws.sync(); // the next matrix's load writes the slots this store reads
}

// L(A, E) of pair b of the batch by the threadgroup: the dual scheme, as
// frechet_one in matrix_exp.h.
template <typename T>
void frechet_tiled_one(
    device const T* a,
    device const T* e,
    device T* out,
    constant MatrixExpParams& a_params,
    constant MatrixExpParams& e_params,
    matrix_exp_int64 b,
    thread const TiledWorkspace<true>& ws) {
  load_matrix(a, a_params, b, ws.slot(ms::kA), ws.P, ws.index, ws.threads);
  load_matrix(
      e, e_params, b, ws.derivative(ms::kA), ws.P, ws.index, ws.threads);
  ws.sync();
  const int slot = ms::run_scheme(ws);
  store_matrix(
      ws.derivative(slot < 0 ? ms::kA : slot),
      slot < 0,
      out,
      ws.n(),
      ws.P,
      b,
      ws.index,
      ws.threads);
  ws.sync(); // the next pair's load writes the slots this store reads
}

} // namespace matrix_exp_kernel
