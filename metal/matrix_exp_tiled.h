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

  // The shares of the slot operations of matrix_exp.h: entries by thread,
  // a product's tiles by simdgroup.
  int padded() const thread {
    return P;
  }
  uint first() const thread {
    return index;
  }
  uint step() const thread {
    return threads;
  }
  int first_tile() const thread {
    return int(simd_group);
  }
  int tile_step() const thread {
    return int(simd_groups);
  }
  bool dual() const thread {
    return Dual;
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
  // n = 1 never comes here; the scheme's algebra must have it.
  void exp_scalar(int d) const thread {
    slots_exp_scalar(*this, d);
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

  float norm1_abs_product(int p, int q) const thread {
    return slots_norm1_abs_product(*this, p, q);
  }
};

} // namespace matrix_exp_kernel
