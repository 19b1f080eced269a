// Device functions of the fused matrix-exponential kernel (matrix_exp.metal).
//
// One simdgroup computes one matrix, start to finish: load, 1-norm, choice of
// degree and scaling, Taylor polynomial, squarings, store. The matrix is
// padded with zeros to P x P (P a multiple of 8, at most 32) and its work
// matrices live in threadgroup memory (7 slots of P x P floats per
// simdgroup); products are 8 x 8 simdgroup_matrix multiply-accumulates. The
// simdgroups of a threadgroup never wait for each other: every barrier is a
// simdgroup_barrier, and all control flow depends only on the simdgroup's own
// matrix, so it is uniform across the 32 lanes that reach those barriers.
//
// The zero padding makes the padded matrix block diagonal, diag(A, 0); its
// exponential is diag(exp(A), I), so the identity terms are added on the whole
// diagonal and the padding never mixes with A. Its 1-norm is that of A.
//
// Same scheme, degrees, thresholds and coefficients as the CPU code
// (csrc/cpu/taylor.h, matrix_exp_constants.h), in single precision.

#pragma once

#include <metal_simdgroup>
#include <metal_simdgroup_matrix>
#include <metal_stdlib>

#include "matrix_exp_constants.h"
#include "matrix_exp_params.h"

using namespace metal;

namespace matrix_exp_kernel {

namespace mc = matrix_exp_constants;
namespace mp = matrix_exp_params;

// Work slots. The result of T_m lands in kR, or in kB1 for T18; squarings
// alternate between that slot and kA2, which is free by then.
enum Slot : int { kA = 0, kA2 = 1, kA3 = 2, kA6 = 3, kB0 = 4, kB1 = 5, kR = 6 };

// x * 2^-k for 0 <= k <= 190, exactly (two factors, so that no factor is a
// subnormal, which the GPU may flush to zero).
inline float scale_by_pow2(float x, int k) {
  const int first = min(k, 64);
  const float f1 = as_type<float>(uint(127 - first) << 23);
  const float f2 = as_type<float>(uint(127 - (k - first)) << 23);
  return (x * f1) * f2;
}

struct Plan {
  int degree_index; // into mc::kDegrees
  int squarings; // s: exp(A) = T_m(A / 2^s)^(2^s)
};

// As plan_for_norm in csrc/cpu/taylor.h: the first T_m whose threshold the
// norm does not exceed; above theta_18 the smallest s with
// norm / 2^s <= theta_18 (the log2 estimate corrected both ways). The
// matrix's 1-norm is 2^halvings * norm (load_matrix); the halvings are
// squarings too. The norm is finite and halvings <= 6, so s <= 134.
inline Plan plan_for_norm(float norm, int halvings) {
  for (int i = 0; i < mc::kNumDegrees; ++i) {
    if (norm <= mc::kThetaFloat32[i]) {
      return Plan{i, halvings};
    }
  }
  const float theta = mc::kThetaFloat32[mc::kNumDegrees - 1];
  int s = int(ceil(log2(norm / theta)));
  while (scale_by_pow2(norm, s) > theta) {
    ++s;
  }
  while (s > 1 && scale_by_pow2(norm, s - 1) <= theta) {
    --s;
  }
  return Plan{mc::kNumDegrees - 1, s + halvings};
}

// One simdgroup's slots: P x P floats each, row-major, in threadgroup memory.
// Member functions say `const thread`: from Metal 4.1 `this` is in the
// generic address space unless qualified (as MLX's own kernels now write).
template <int P>
struct Workspace {
  threadgroup float* base;
  uint lane;

  threadgroup float* slot(int s) const thread {
    return base + s * P * P;
  }

  void sync() const thread {
    simdgroup_barrier(mem_flags::mem_threadgroup);
  }

  // d = x y, or d += x y; d differs from x and y.
  void mul(int d, int x, int y, bool accumulate) const thread {
    threadgroup float* c = slot(d);
    threadgroup const float* a = slot(x);
    threadgroup const float* b = slot(y);
    for (int ti = 0; ti < P; ti += mp::kTile) {
      for (int tj = 0; tj < P; tj += mp::kTile) {
        simdgroup_matrix<float, 8, 8> acc = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
        if (accumulate) {
          simdgroup_load(acc, c + ti * P + tj, P);
        }
        for (int tk = 0; tk < P; tk += mp::kTile) {
          simdgroup_matrix<float, 8, 8> left;
          simdgroup_matrix<float, 8, 8> right;
          simdgroup_load(left, a + ti * P + tk, P);
          simdgroup_load(right, b + tk * P + tj, P);
          simdgroup_multiply_accumulate(acc, left, right, acc);
        }
        simdgroup_store(acc, c + ti * P + tj, P);
      }
    }
    sync();
  }

  // d = c_identity I + sum_j c[j] x[j], for k <= 4 terms.
  void combine(int d, float c_identity, thread const float* c, thread const int* x, int k)
      const thread {
    threadgroup float* out = slot(d);
    for (uint e = lane; e < uint(P * P); e += mp::kSimdWidth) {
      float v = c[0] * slot(x[0])[e];
      for (int j = 1; j < k; ++j) {
        v = fma(c[j], slot(x[j])[e], v);
      }
      if (e / P == e % P) {
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
    for (uint e = lane; e < uint(P * P); e += mp::kSimdWidth) {
      out[e] = fma(c, in[e], out[e]);
    }
    sync();
  }

  // d += c I
  void add_identity(int d, float c) const thread {
    threadgroup float* out = slot(d);
    if (lane < uint(P)) {
      out[lane * P + lane] += c;
    }
    sync();
  }

  // sum_i |d_ij| 2^-halvings of column j = this lane (0 past the matrix).
  // The caller syncs before slot d is written again.
  float column_sum(int d, int halvings) const thread {
    threadgroup const float* x = slot(d);
    float column = 0.0f;
    if (lane < uint(P)) {
      for (int i = 0; i < P; ++i) {
        column += scale_by_pow2(abs(x[i * P + int(lane)]), halvings);
      }
    }
    return column;
  }

  // max_j sum_i |d_ij|, the same on every lane (see column_sum).
  float norm1(int d) const thread {
    return simd_max(column_sum(d, 0));
  }

  // d *= 2^k, 0 <= k <= 127 (an exact power-of-two factor).
  void scale_up(int d, int k) const thread {
    threadgroup float* out = slot(d);
    const float f = as_type<float>(uint(127 + k) << 23);
    for (uint e = lane; e < uint(P * P); e += mp::kSimdWidth) {
      out[e] *= f;
    }
    sync();
  }

  // d *= 2^-k
  void scale(int d, int k) const thread {
    threadgroup float* out = slot(d);
    for (uint e = lane; e < uint(P * P); e += mp::kSimdWidth) {
      out[e] = scale_by_pow2(out[e], k);
    }
    sync();
  }
};

// Slots kA2 = A^2 and kA3 = A^3, where T12 and T18 start.
template <int P>
void form_low_powers(thread const Workspace<P>& ws) {
  ws.mul(kA2, kA, kA, false);
  ws.mul(kA3, kA, kA2, false);
}

// As reduce_overscaling in csrc/cpu/taylor.h (Al-Mohy & Higham 2009, Thm 4.2
// with p = 2): X = A / 2^s of the 1-norm plan (degree 18) with X^2, X^3 in
// their slots; undoes the halvings alpha = max(||X^2||^(1/2), ||X^3||^(1/3))
// does not need, keeping 2^k ||X|| <= 2^28 (FLT_MAX_EXP / 4 - 4, so that the
// polynomial's products, up to about ||X||^4, cannot overflow, and 3k <= 81),
// and takes T12 when no squaring is left and alpha <= theta_12.
template <int P>
Plan reduce_overscaling(thread const Workspace<P>& ws, Plan plan, float norm_x) {
  const float alpha = max(sqrt(ws.norm1(kA2)), pow(ws.norm1(kA3), 1.0f / 3.0f));
  ws.sync(); // the column reads above happen before the slots are rescaled
  const float theta18 = mc::kThetaFloat32[mc::kDegreeIndex18];
  const float limit = 268435456.0f; // 2^28
  int k = 0;
  while (k < plan.squarings && ldexp(alpha, k + 1) <= theta18 &&
         ldexp(norm_x, k + 1) <= limit) {
    ++k;
  }
  if (k > 0) {
    ws.scale_up(kA, k);
    ws.scale_up(kA2, 2 * k);
    ws.scale_up(kA3, 3 * k);
    plan.squarings -= k;
  }
  if (plan.squarings == 0 && ldexp(alpha, k) <= mc::kThetaFloat32[mc::kDegreeIndex12]) {
    plan.degree_index = mc::kDegreeIndex12;
  }
  return plan;
}

// T_m(A) from slot kA ([BBC19] schemes, as csrc/cpu/taylor.h); returns the
// slot that holds it. For T12 and T18, slots kA2 and kA3 hold A^2 and A^3
// already (form_low_powers).
template <int P>
int evaluate_taylor(thread const Workspace<P>& ws, int degree_index) {
  switch (mc::kDegrees[degree_index]) {
    case 1: {
      const float c[1] = {1.0f};
      const int x[1] = {kA};
      ws.combine(kR, 1.0f, c, x, 1);
      return kR;
    }
    case 2: {
      ws.mul(kA2, kA, kA, false);
      const float c[2] = {1.0f, 0.5f};
      const int x[2] = {kA, kA2};
      ws.combine(kR, 1.0f, c, x, 2);
      return kR;
    }
    case 4: {
      ws.mul(kA2, kA, kA, false);
      const float c[2] = {mc::kT4[1], mc::kT4[2]};
      const int x[2] = {kA, kA2};
      ws.combine(kB0, mc::kT4[0], c, x, 2); // I/2 + A/6 + A2/24
      ws.mul(kR, kA2, kB0, false);
      ws.add_scaled(kR, 1.0f, kA);
      ws.add_identity(kR, 1.0f);
      return kR;
    }
    case 8: {
      ws.mul(kA2, kA, kA, false);
      const int x_a_a2[2] = {kA, kA2};
      const float c_a4[2] = {mc::kT8X1, mc::kT8X2};
      ws.combine(kB0, 0.0f, c_a4, x_a_a2, 2);
      ws.mul(kA3, kA2, kB0, false); // A4 = A2 (x1 A + x2 A2)
      const int x_a2_a4[2] = {kA2, kA3};
      const float c_left[2] = {mc::kT8X3, 1.0f};
      ws.combine(kB0, 0.0f, c_left, x_a2_a4, 2); // x3 A2 + A4
      const int x_all[3] = {kA, kA2, kA3};
      const float c_right[3] = {mc::kT8X5, mc::kT8X6, mc::kT8X7};
      ws.combine(kB1, mc::kT8X4, c_right, x_all, 3); // x4 I + x5 A + x6 A2 + x7 A4
      ws.mul(kR, kB0, kB1, false); // A8
      ws.add_scaled(kR, 1.0f, kA);
      ws.add_scaled(kR, mc::kT8Y2, kA2);
      ws.add_identity(kR, 1.0f);
      return kR;
    }
    case 12: {
      const int x[3] = {kA, kA2, kA3};
      const int targets[4] = {kR, kB0, kA6, kB1};
      for (int row = 0; row < 4; ++row) {
        const float c[3] = {mc::kT12[row][1], mc::kT12[row][2], mc::kT12[row][3]};
        ws.combine(targets[row], mc::kT12[row][0], c, x, 3);
      }
      ws.mul(kA6, kB1, kB1, true); // A6 = B2 + B3 B3
      ws.add_scaled(kB0, 1.0f, kA6); // B1 + A6
      ws.mul(kR, kB0, kA6, true); // T12 = B0 + (B1 + A6) A6
      return kR;
    }
    default: { // 18
      ws.mul(kA6, kA3, kA3, false);
      const int x[4] = {kA, kA2, kA3, kA6};
      // B0, B4 and B3 (in kR, where A9 is built).
      const int targets[3] = {kB0, kB1, kR};
      const int rows[3] = {0, 4, 3};
      for (int t = 0; t < 3; ++t) {
        const int row = rows[t];
        const float c[4] = {mc::kT18[row][1], mc::kT18[row][2], mc::kT18[row][3], mc::kT18[row][4]};
        ws.combine(targets[t], mc::kT18[row][0], c, x, 4);
      }
      ws.mul(kR, kB0, kB1, true); // A9 = B3 + B0 B4
      const float c1[4] = {mc::kT18[1][1], mc::kT18[1][2], mc::kT18[1][3], mc::kT18[1][4]};
      ws.combine(kB1, mc::kT18[1][0], c1, x, 4); // B1
      const float c2[4] = {mc::kT18[2][1], mc::kT18[2][2], mc::kT18[2][3], mc::kT18[2][4]};
      ws.combine(kB0, mc::kT18[2][0], c2, x, 4); // B2
      ws.add_scaled(kB0, 1.0f, kR); // B2 + A9
      ws.mul(kB1, kB0, kR, true); // T18 = B1 + (B2 + A9) A9
      return kB1;
    }
  }
}

// Loads matrix b of the batch into slot kA, zero-padded to P x P, in single
// precision; returns its 1-norm (lane j sums column j) as 2^halvings * norm
// and sets `bad` if it has a NaN or an infinite entry; the same on every
// lane. As finite_norm1 in csrc/cpu/batch.h: if finite entries sum past
// FLT_MAX, the norm is that of A / 2^h, h = ceil(log2 n) + 1 <= 6.
template <typename T, int P>
float load_matrix(
    device const T* in,
    constant MatrixExpParams& params,
    matrix_exp_int64 b,
    thread const Workspace<P>& ws,
    thread bool& bad,
    thread int& halvings) {
  const int n = int(params.n);
  const uint lane = ws.lane;
  threadgroup float* a = ws.slot(kA);
  device const T* src = in + b * params.batch_stride;
  for (uint e = lane; e < uint(P * P); e += mp::kSimdWidth) {
    const int i = int(e) / P;
    const int j = int(e) % P;
    float v = 0.0f;
    if (i < n && j < n) {
      v = static_cast<float>(src[i * params.row_stride + j * params.col_stride]);
    }
    a[e] = v;
  }
  ws.sync();
  halvings = 0;
  float column = ws.column_sum(kA, 0);
  if (simd_any(isinf(column))) {
    halvings = int(ceil(log2(float(n)))) + 1;
    column = ws.column_sum(kA, halvings);
  }
  bad = simd_any(!isfinite(column));
  const float norm = simd_max(column);
  ws.sync(); // the column reads above happen before slot kA is written again
  return norm;
}

// Plans the matrix in slot kA, of finite 1-norm 2^halvings * norm, and
// prepares the slots, as plan_scheme in csrc/cpu/batch.h: A scaled by 2^-s
// and, for T12 and T18, A^2 and A^3 formed, with s reduced as far as they
// allow.
template <int P>
Plan plan_scheme(thread const Workspace<P>& ws, float norm, int halvings) {
  Plan plan = plan_for_norm(norm, halvings);
  if (plan.squarings > 0) {
    ws.scale(kA, plan.squarings);
  }
  if (plan.degree_index >= mc::kDegreeIndex12) {
    form_low_powers(ws);
    if (plan.degree_index == mc::kDegreeIndex18) {
      const float norm_x = scale_by_pow2(norm, plan.squarings - halvings);
      plan = reduce_overscaling(ws, plan, norm_x);
    }
  }
  return plan;
}

// exp of matrix b of the batch by one simdgroup; ws has 7 P x P slots. A NaN
// or infinite entry anywhere makes the whole result NaN (as on the CPU).
template <typename T, int P>
void matrix_exp_one(
    device const T* in,
    device T* out,
    constant MatrixExpParams& params,
    matrix_exp_int64 b,
    thread const Workspace<P>& ws) {
  const int n = int(params.n);
  const uint lane = ws.lane;
  bool bad = false;
  int halvings = 0;
  const float norm = load_matrix<T, P>(in, params, b, ws, bad, halvings);
  device T* dst = out + b * matrix_exp_int64(n) * n;
  if (bad) {
    for (uint e = lane; e < uint(n * n); e += mp::kSimdWidth) {
      dst[e] = static_cast<T>(NAN);
    }
    return;
  }
  if (n == 1) { // a scalar: its exp directly (padded to 8 x 8 and squared, exp(-20) lost 370 ulp)
    if (lane == 0) {
      dst[0] = static_cast<T>(precise::exp(ws.slot(kA)[0]));
    }
    return;
  }

  const Plan plan = plan_scheme(ws, norm, halvings);
  int from = evaluate_taylor(ws, plan.degree_index);
  int to = kA2;
  for (int i = 0; i < plan.squarings; ++i) {
    ws.mul(to, from, from, false);
    const int t = from;
    from = to;
    to = t;
  }

  threadgroup const float* r = ws.slot(from);
  for (uint e = lane; e < uint(n * n); e += mp::kSimdWidth) {
    const int i = int(e) / n;
    const int j = int(e) % n;
    dst[e] = static_cast<T>(r[i * P + j]);
  }
}

} // namespace matrix_exp_kernel
