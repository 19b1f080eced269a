// The scaling-and-squaring algorithm of Bader, Blanes & Casas (2019) for one
// matrix, written once against an "algebra" that owns a few n x n work
// matrices ("slots") and knows how to multiply and combine them.
//
// The same code computes exp(A) (a plain algebra) and the Frechet derivative
// L(A, E) alongside it (a dual algebra whose slots hold pairs (X, dX) and whose
// product is (X, dX)(Y, dY) = (XY, X dY + dX Y)): differentiating every product
// and squaring of the scheme gives the exact derivative of the approximant,
// as Al-Mohy & Higham (2009) do for Pade approximants.
//
// An algebra provides:
//   using real = ...;                      real type of the compute scalar
//   void mul(int d, int x, int y);         d = x y
//   void mul_add(int d, int x, int y);     d += x y
//   void combine(int d, real c_identity, const real* c, const int* x, int k);
//                                          d = c_identity I + sum_j c[j] x[j]
//   void add_scaled(int d, real c, int x); d += c x
//   void add_identity(int d, real c);      d += c I
// where slot arguments of one call are distinct.

#pragma once

#include "cpu/isa.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "matrix_exp_constants.h"

MLX_EXPM_CPU_BEGIN

namespace mc = matrix_exp_constants;

// Work slots used by the schemes. kResult receives T_m(A / 2^s); the squarings
// then alternate between kResult and kSquare.
enum Slot : int {
  kA = 0,
  kA2,
  kA3,
  kA6,
  kB0,
  kB1,
  kA9,
  kResult,
  kNumSlots,
  kSquare = kA2,
};

template <typename Real>
const Real* thresholds() {
  if constexpr (std::is_same_v<Real, double>) {
    return mc::kThetaFloat64;
  } else {
    return mc::kThetaFloat32;
  }
}

// Which T_m to use and how often to square, from the 1-norm of A.
struct Plan {
  int degree_index; // into mc::kDegrees
  int squarings; // s: exp(A) = T_m(A / 2^s)^(2^s)
};

// The 1-norm of a matrix as 2^halvings * value, value finite: for a matrix
// of finite entries whose columns sum past the largest finite number (e.g.
// float32 entries of -2e38), the norm of A / 2^halvings.
template <typename Real>
struct Norm {
  Real value;
  int halvings = 0;
};

// s is the smallest integer with norm / 2^s <= theta_18; the ceil(log2(.))
// estimate is corrected so that rounding in log2 cannot make it one off.
// The halvings of the norm are squarings too: exp(A) = T_m(A / 2^s)^(2^s).
template <typename Real>
Plan plan_for_norm(Norm<Real> norm) {
  const Real* theta = thresholds<Real>();
  for (int i = 0; i < mc::kNumDegrees; ++i) {
    if (norm.value <= theta[i]) {
      return {i, norm.halvings};
    }
  }
  const Real theta18 = theta[mc::kNumDegrees - 1];
  int s = static_cast<int>(std::ceil(std::log2(norm.value / theta18)));
  while (std::ldexp(norm.value, -s) > theta18) {
    ++s;
  }
  while (s > 1 && std::ldexp(norm.value, -(s - 1)) <= theta18) {
    --s;
  }
  return {mc::kNumDegrees - 1, s + norm.halvings};
}

// Slot d times 2^-k, k >= 0, in factors that are normal numbers (2^-k alone
// is zero for k > 149 in float32).
template <class Algebra>
void scale_down(Algebra& alg, int d, int k) {
  using real = typename Algebra::real;
  while (k > 0) {
    const int step = std::min(k, std::numeric_limits<real>::max_exponent - 2);
    alg.scale_slot(d, std::ldexp(real(1), -step));
    k -= step;
  }
}

using mc::kDegreeIndex12;
using mc::kDegreeIndex18;

// Slots kA2 = A^2 and kA3 = A^3, where T12 and T18 start.
template <class Algebra>
void form_low_powers(Algebra& alg) {
  alg.mul(kA2, kA, kA);
  alg.mul(kA3, kA, kA2);
}

// Overscaling. Al-Mohy & Higham (2009), Theorem 4.2 with p = 2: the backward
// error h(X) of T_m(X) (a power series from degree m + 1 >= 2) satisfies
// ||h(X)|| <= h~(alpha), alpha = max(||X^2||^(1/2), ||X^3||^(1/3)) <= ||X||,
// so the thresholds theta_m may bound alpha instead of ||X||. For a nonnormal
// X, alpha can be far below ||X||: e.g. [[1, b], [0, -1]] has alpha = 1 for
// every b, where the 1-norm rule squares log2(b) times. Given X = A / 2^s
// of the 1-norm plan (degree 18) with X^2, X^3 formed, this undoes as many
// of the s halvings as alpha allows (exact power-of-two rescaling of X, X^2,
// X^3), and takes T12 when no squaring is left and alpha <= theta_12. Every
// squaring saved is a product saved and one doubling less of the error.
//
// Overflow guard: the schemes multiply combinations of X's powers, which
// for ||X|| >> alpha can reach about ||X||^4, so 2^k ||X|| stays below
// 2^(max_exponent / 4 - 4) (2^28 in float32, 2^252 in float64). As ||X|| >
// theta_18 / 2 whenever s > 0, this also keeps 2^(3k) finite.
// norm_x is ||X||_1 = ||A||_1 / 2^s.
template <class Algebra>
Plan reduce_overscaling(Algebra& alg, Plan plan, typename Algebra::real norm_x) {
  using real = typename Algebra::real;
  const real* theta = thresholds<real>();
  const real alpha = std::max(std::sqrt(alg.norm1(kA2)), std::cbrt(alg.norm1(kA3)));
  const real limit = std::ldexp(real(1), std::numeric_limits<real>::max_exponent / 4 - 4);
  int k = 0;
  while (k < plan.squarings && std::ldexp(alpha, k + 1) <= theta[kDegreeIndex18] &&
         std::ldexp(norm_x, k + 1) <= limit) {
    ++k;
  }
  if (k > 0) {
    alg.scale_slot(kA, std::ldexp(real(1), k));
    alg.scale_slot(kA2, std::ldexp(real(1), 2 * k));
    alg.scale_slot(kA3, std::ldexp(real(1), 3 * k));
    plan.squarings -= k;
  }
  if (plan.squarings == 0 && std::ldexp(alpha, k) <= theta[kDegreeIndex12]) {
    plan.degree_index = kDegreeIndex12;
  }
  return plan;
}

// Evaluates T_m(A) from slot kA into slot kResult; for m = 12 and 18, slots
// kA2 and kA3 must hold A^2 and A^3 already (form_low_powers).
template <class Algebra>
void evaluate_taylor(Algebra& alg, int degree_index) {
  using real = typename Algebra::real;
  auto r = [](matrix_exp_real c) { return static_cast<real>(c); };
  switch (mc::kDegrees[degree_index]) {
    case 1: {
      const real c[] = {1};
      const int x[] = {kA};
      alg.combine(kResult, 1, c, x, 1);
      return;
    }
    case 2: {
      alg.mul(kA2, kA, kA);
      const real c[] = {1, real(0.5)};
      const int x[] = {kA, kA2};
      alg.combine(kResult, 1, c, x, 2);
      return;
    }
    case 4: {
      // I + A + A2 (I/2 + A/6 + A2/24)
      alg.mul(kA2, kA, kA);
      const real c[] = {r(mc::kT4[1]), r(mc::kT4[2])};
      const int x[] = {kA, kA2};
      alg.combine(kB0, r(mc::kT4[0]), c, x, 2);
      alg.mul(kResult, kA2, kB0);
      alg.add_scaled(kResult, 1, kA);
      alg.add_identity(kResult, 1);
      return;
    }
    case 8: {
      alg.mul(kA2, kA, kA);
      {
        const real c[] = {r(mc::kT8X1), r(mc::kT8X2)};
        const int x[] = {kA, kA2};
        alg.combine(kB0, 0, c, x, 2);
      }
      alg.mul(kA3, kA2, kB0); // A4 = A2 (x1 A + x2 A2)
      {
        const real c[] = {r(mc::kT8X3), 1};
        const int x[] = {kA2, kA3};
        alg.combine(kB0, 0, c, x, 2); // x3 A2 + A4
      }
      {
        const real c[] = {r(mc::kT8X5), r(mc::kT8X6), r(mc::kT8X7)};
        const int x[] = {kA, kA2, kA3};
        alg.combine(kB1, r(mc::kT8X4), c, x, 3); // x4 I + x5 A + x6 A2 + x7 A4
      }
      alg.mul(kResult, kB0, kB1); // A8
      alg.add_scaled(kResult, 1, kA);
      alg.add_scaled(kResult, r(mc::kT8Y2), kA2);
      alg.add_identity(kResult, 1);
      return;
    }
    case 12: {
      const int x[] = {kA, kA2, kA3};
      auto b = [&](int slot, int row) {
        const real c[] = {r(mc::kT12[row][1]), r(mc::kT12[row][2]), r(mc::kT12[row][3])};
        alg.combine(slot, r(mc::kT12[row][0]), c, x, 3);
      };
      b(kResult, 0);
      b(kB0, 1);
      b(kA6, 2);
      b(kB1, 3);
      alg.mul_add(kA6, kB1, kB1); // A6 = B2 + B3 B3
      alg.add_scaled(kB0, 1, kA6); // B1 + A6
      alg.mul_add(kResult, kB0, kA6); // T12 = B0 + (B1 + A6) A6
      return;
    }
    default: { // 18
      alg.mul(kA6, kA3, kA3);
      const int x[] = {kA, kA2, kA3, kA6};
      auto b = [&](int slot, int row) {
        const real c[] = {
            r(mc::kT18[row][1]),
            r(mc::kT18[row][2]),
            r(mc::kT18[row][3]),
            r(mc::kT18[row][4])};
        alg.combine(slot, r(mc::kT18[row][0]), c, x, 4);
      };
      b(kB0, 0);
      b(kB1, 4);
      b(kA9, 3);
      alg.mul_add(kA9, kB0, kB1); // A9 = B3 + B0 B4
      b(kResult, 1);
      b(kB0, 2);
      alg.add_scaled(kB0, 1, kA9); // B2 + A9
      alg.mul_add(kResult, kB0, kA9); // T18 = B1 + (B2 + A9) A9
      return;
    }
  }
}

// Squares slot kResult s times; returns the slot holding the result.
template <class Algebra>
int square(Algebra& alg, int squarings) {
  int from = kResult;
  int to = kSquare;
  for (int i = 0; i < squarings; ++i) {
    alg.mul(to, from, from);
    std::swap(from, to);
  }
  return from;
}

MLX_EXPM_CPU_END
