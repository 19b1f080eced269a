// The scaling-and-squaring algorithm of Bader, Blanes & Casas (2019) for one
// matrix, written once for every backend: the CPU kernels (csrc/cpu/), where
// an algebra holds the work matrices of one matrix (or of eight, side by side
// in vector lanes), and the fused Metal kernel (metal/matrix_exp.h), where one
// simdgroup's algebra holds them in threadgroup memory. Compiled as C++ and as
// the Metal Shading Language 3.1, hence in their common subset: C++14, no
// std::, pointers and references to thread memory spelled MATRIX_EXP_THREAD.
//
// An algebra owns kNumSlots n x n work matrices ("slots") and provides
//   typedef ... real;                         the real type of its scalars
//   int n();                                  the matrix size
//   void mul(int d, int x, int y);            d = x y
//   void mul_add(int d, int x, int y);        d += x y
//   void combine(int d, real c_identity, const real* c, const int* x, int k);
//                                             d = c_identity I + sum_j c[j]
//                                             x[j]
//   void add_scaled(int d, real c, int x);    d += c x
//   void add_identity(int d, real c);         d += c I
//   void scale_pow2(int d, int k);            d *= 2^k, exactly
//   real norm1(int d, int halvings);          max_j sum_i |d_ij| / 2^halvings
//                                             (NaN if an entry is NaN)
//   void exp_scalar(int d);                   d = exp(d) for n = 1
// (slot arguments of one call are distinct). The same scheme computes the
// Frechet derivative L(A, E) alongside exp(A) when the algebra is "dual": its
// slots hold pairs (X, dX) and its product is (X, dX)(Y, dY) = (XY, X dY +
// dX Y), so every product and squaring of the scheme is differentiated, which
// gives the exact derivative of the approximant (as Al-Mohy & Higham 2009 do
// for Pade approximants).

#pragma once

#include "matrix_exp_constants.h"

#if defined(__METAL_VERSION__)
#include <metal_stdlib>
#define MATRIX_EXP_THREAD thread
#else
#include <cmath>
#define MATRIX_EXP_THREAD
#endif

namespace matrix_exp_scheme {
// Internal linkage: the CPU compiles this header once per instruction set
// (csrc/cpu/isa.h), and an instantiation that does not depend on the algebra
// (plan_for_norm<float>) must not become one weak symbol shared by the
// baseline and the AVX2 objects, of which the linker keeps either.
namespace {

namespace mc = matrix_exp_constants;

#if defined(__METAL_VERSION__)
using metal::ceil;
using metal::ldexp;
using metal::log2;
#else
using std::ceil;
using std::ldexp;
using std::log2;
#endif

// The work slots. evaluate_taylor leaves T_m(A) in kR (T18: in kB1); the
// squarings then alternate between that slot and kA2, free by then.
enum Slot : int {
  kA = 0,
  kA2 = 1,
  kA3 = 2,
  kA6 = 3,
  kB0 = 4,
  kB1 = 5,
  kR = 6,
  kNumSlots = 7
};

// What the scheme needs of a real type: the thresholds theta_m of its unit
// roundoff (matrix_exp_constants.h), its largest finite value and binary
// exponent.
template <typename Real>
struct RealTraits;

template <>
struct RealTraits<float> {
  static float theta(int degree_index) {
    return mc::kThetaFloat32[degree_index];
  }
  static float largest() {
    return 3.40282346638528859812e+38f; // FLT_MAX
  }
  static int max_exponent() {
    return 128; // FLT_MAX_EXP
  }
};

#if !defined(__METAL_VERSION__)
template <>
struct RealTraits<double> {
  static double theta(int degree_index) {
    return mc::kThetaFloat64[degree_index];
  }
  static double largest() {
    return 1.79769313486231570815e+308; // DBL_MAX
  }
  static int max_exponent() {
    return 1024; // DBL_MAX_EXP
  }
};
#endif

// Which T_m to use and how often to square: exp(A) = T_m(A / 2^s)^(2^s).
struct Plan {
  int degree_index; // into mc::kDegrees
  int squarings; // s
};

// The 1-norm of a matrix as 2^halvings * value, value finite: for finite
// entries whose columns sum past the largest finite number (float32 entries
// of -2e38), the norm of A / 2^halvings.
template <typename Real>
struct Norm {
  Real value;
  int halvings;
};

// The first T_m whose threshold the norm does not exceed; above theta_18 the
// smallest s with norm / 2^s <= theta_18 (the log2 estimate corrected both
// ways, so that rounding in log2, fast or not, cannot make it one off). The
// halvings of the norm are squarings too.
template <typename Real>
Plan plan_for_norm(Norm<Real> norm) {
  for (int i = 0; i < mc::kNumDegrees; ++i) {
    if (norm.value <= RealTraits<Real>::theta(i)) {
      return Plan{i, norm.halvings};
    }
  }
  const Real theta18 = RealTraits<Real>::theta(mc::kDegreeIndex18);
  int s = int(ceil(log2(norm.value / theta18)));
  while (ldexp(norm.value, -s) > theta18) {
    ++s;
  }
  while (s > 1 && ldexp(norm.value, -(s - 1)) <= theta18) {
    --s;
  }
  return Plan{mc::kDegreeIndex18, s + norm.halvings};
}

// The 1-norm of slot kA; false if A has a NaN or an infinite entry (its
// exponential is then NaN, and the squaring count stays bounded: s <=
// log2(max_finite / theta_18) + halvings). If finite entries sum past the
// largest finite number, the norm is that of A / 2^h, h = ceil(log2 n) + 1,
// whose column sums cannot overflow (n entries of at most max_finite / 2^h).
template <class Algebra>
bool finite_norm1(
    MATRIX_EXP_THREAD Algebra& alg,
    MATRIX_EXP_THREAD Norm<typename Algebra::real>& norm) {
  typedef typename Algebra::real real;
  const real largest = RealTraits<real>::largest();
  norm.halvings = 0;
  norm.value = alg.norm1(kA, 0);
  if (norm.value > largest) { // infinite: an infinite entry, or an overflow
    norm.halvings = int(ceil(log2(real(alg.n())))) + 1;
    norm.value = alg.norm1(kA, norm.halvings);
  }
  return norm.value <= largest; // false for NaN and infinity
}

// Slots kA2 = A^2 and kA3 = A^3, where T12 and T18 start.
template <class Algebra>
void form_low_powers(MATRIX_EXP_THREAD Algebra& alg) {
  alg.mul(kA2, kA, kA);
  alg.mul(kA3, kA, kA2);
}

// Overscaling. Al-Mohy & Higham (2009), Theorem 4.2 with p = 2: the backward
// error h(X) of T_m(X) (a power series from degree m + 1 >= 2) satisfies
// ||h(X)|| <= h~(alpha), alpha = max(||X^2||^(1/2), ||X^3||^(1/3)) <= ||X||,
// so the thresholds theta_m may bound alpha instead of ||X||. For a nonnormal
// X, alpha can be far below ||X||: [[1, b], [0, -1]] has alpha = 1 for every
// b, where the 1-norm rule squares log2(b) times. Given X = A / 2^s of the
// 1-norm plan (degree 18) with X^2, X^3 formed, this undoes as many of the s
// halvings as alpha allows (exact power-of-two rescaling of X, X^2, X^3), and
// takes T12 when no squaring is left and alpha <= theta_12. Every squaring
// saved is a product saved and one doubling less of the error.
//
// alpha 2^k <= theta is tested as ||X^2|| 4^k <= theta^2 and ||X^3|| 8^k <=
// theta^3: powers of two and products, no square or cube root, so that every
// backend takes the same decision from the same norms.
//
// Overflow guard: the schemes multiply combinations of X's powers, which for
// ||X|| >> alpha can reach about ||X||^4, so 2^k ||X|| stays below
// 2^(max_exponent / 4 - 4) (2^28 in float32, 2^252 in float64). norm_x is
// ||X||_1.
template <class Algebra>
Plan reduce_overscaling(
    MATRIX_EXP_THREAD Algebra& alg,
    Plan plan,
    typename Algebra::real norm_x) {
  typedef typename Algebra::real real;
  const real norm2 = alg.norm1(kA2, 0);
  const real norm3 = alg.norm1(kA3, 0);
  const real limit = ldexp(real(1), RealTraits<real>::max_exponent() / 4 - 4);
  const real theta18 = RealTraits<real>::theta(mc::kDegreeIndex18);
  const real theta12 = RealTraits<real>::theta(mc::kDegreeIndex12);
  int k = 0;
  while (k < plan.squarings && ldexp(norm2, 2 * (k + 1)) <= theta18 * theta18 &&
         ldexp(norm3, 3 * (k + 1)) <= theta18 * theta18 * theta18 &&
         ldexp(norm_x, k + 1) <= limit) {
    ++k;
  }
  if (k > 0) {
    alg.scale_pow2(kA, k);
    alg.scale_pow2(kA2, 2 * k);
    alg.scale_pow2(kA3, 3 * k);
    plan.squarings -= k;
  }
  if (plan.squarings == 0 && ldexp(norm2, 2 * k) <= theta12 * theta12 &&
      ldexp(norm3, 3 * k) <= theta12 * theta12 * theta12) {
    plan.degree_index = mc::kDegreeIndex12;
  }
  return plan;
}

// Plans the scheme for the matrix in slot kA (n >= 2) of 1-norm `norm` and
// prepares the slots: A scaled by 2^-s and, for T12 and T18, A^2 and A^3
// formed, with s reduced as far as those powers allow.
template <class Algebra>
Plan plan_scheme(
    MATRIX_EXP_THREAD Algebra& alg,
    Norm<typename Algebra::real> norm) {
  Plan plan = plan_for_norm(norm);
  if (plan.squarings > 0) {
    alg.scale_pow2(kA, -plan.squarings);
  }
  if (plan.degree_index >= mc::kDegreeIndex12) {
    form_low_powers(alg);
    if (plan.degree_index == mc::kDegreeIndex18) {
      plan = reduce_overscaling(
          alg, plan, ldexp(norm.value, norm.halvings - plan.squarings));
    }
  }
  return plan;
}

// Evaluates T_m(A) from slot kA ([BBC19] schemes, coefficients in
// matrix_exp_constants.h); for m = 12 and 18, slots kA2 and kA3 hold A^2 and
// A^3 already (form_low_powers). Returns the slot that holds T_m(A).
template <class Algebra>
int evaluate_taylor(MATRIX_EXP_THREAD Algebra& alg, int degree_index) {
  typedef typename Algebra::real real;
  switch (mc::kDegrees[degree_index]) {
    case 1: {
      const real c[1] = {real(1)};
      const int x[1] = {kA};
      alg.combine(kR, real(1), c, x, 1);
      return kR;
    }
    case 2: {
      alg.mul(kA2, kA, kA);
      const real c[2] = {real(1), real(0.5)};
      const int x[2] = {kA, kA2};
      alg.combine(kR, real(1), c, x, 2);
      return kR;
    }
    case 4: { // I + A + A2 (I/2 + A/6 + A2/24)
      alg.mul(kA2, kA, kA);
      const real c[2] = {real(mc::kT4[1]), real(mc::kT4[2])};
      const int x[2] = {kA, kA2};
      alg.combine(kB0, real(mc::kT4[0]), c, x, 2);
      alg.mul(kR, kA2, kB0);
      alg.add_scaled(kR, real(1), kA);
      alg.add_identity(kR, real(1));
      return kR;
    }
    case 8: {
      alg.mul(kA2, kA, kA);
      const int x_a_a2[2] = {kA, kA2};
      const real c_a4[2] = {real(mc::kT8X1), real(mc::kT8X2)};
      alg.combine(kB0, real(0), c_a4, x_a_a2, 2);
      alg.mul(kA3, kA2, kB0); // A4 = A2 (x1 A + x2 A2)
      const int x_a2_a4[2] = {kA2, kA3};
      const real c_left[2] = {real(mc::kT8X3), real(1)};
      alg.combine(kB0, real(0), c_left, x_a2_a4, 2); // x3 A2 + A4
      const int x_all[3] = {kA, kA2, kA3};
      const real c_right[3] = {
          real(mc::kT8X5), real(mc::kT8X6), real(mc::kT8X7)};
      alg.combine(
          kB1,
          real(mc::kT8X4),
          c_right,
          x_all,
          3); // x4 I + x5 A + x6 A2 + x7 A4
      alg.mul(kR, kB0, kB1); // A8
      alg.add_scaled(kR, real(1), kA);
      alg.add_scaled(kR, real(mc::kT8Y2), kA2);
      alg.add_identity(kR, real(1));
      return kR;
    }
    case 12: { // B_i in the basis {I, A, A2, A3}; A6 = B2 + B3 B3, T12 = B0 +
               // (B1 + A6) A6
      const int x[3] = {kA, kA2, kA3};
      const int targets[4] = {kR, kB0, kA6, kB1};
      for (int row = 0; row < 4; ++row) {
        const real c[3] = {
            real(mc::kT12[row][1]),
            real(mc::kT12[row][2]),
            real(mc::kT12[row][3])};
        alg.combine(targets[row], real(mc::kT12[row][0]), c, x, 3);
      }
      alg.mul_add(kA6, kB1, kB1);
      alg.add_scaled(kB0, real(1), kA6);
      alg.mul_add(kR, kB0, kA6);
      return kR;
    }
    default: { // 18: B_i in the basis {I, A, A2, A3, A6}; A9 = B3 + B0 B4, T18
               // = B1 + (B2 + A9) A9
      alg.mul(kA6, kA3, kA3);
      const int x[4] = {kA, kA2, kA3, kA6};
      const int targets[3] = {kB0, kB1, kR}; // B0, B4, and B3 where A9 is built
      const int rows[3] = {0, 4, 3};
      for (int t = 0; t < 3; ++t) {
        const int row = rows[t];
        const real c[4] = {
            real(mc::kT18[row][1]),
            real(mc::kT18[row][2]),
            real(mc::kT18[row][3]),
            real(mc::kT18[row][4])};
        alg.combine(targets[t], real(mc::kT18[row][0]), c, x, 4);
      }
      alg.mul_add(kR, kB0, kB1); // A9
      const real c1[4] = {
          real(mc::kT18[1][1]),
          real(mc::kT18[1][2]),
          real(mc::kT18[1][3]),
          real(mc::kT18[1][4])};
      alg.combine(kB1, real(mc::kT18[1][0]), c1, x, 4); // B1
      const real c2[4] = {
          real(mc::kT18[2][1]),
          real(mc::kT18[2][2]),
          real(mc::kT18[2][3]),
          real(mc::kT18[2][4])};
      alg.combine(kB0, real(mc::kT18[2][0]), c2, x, 4); // B2
      alg.add_scaled(kB0, real(1), kR); // B2 + A9
      alg.mul_add(kB1, kB0, kR);
      return kB1;
    }
  }
}

// Squares slot `from` s times; returns the slot holding the result.
template <class Algebra>
int square(MATRIX_EXP_THREAD Algebra& alg, int from, int squarings) {
  int to = kA2;
  for (int i = 0; i < squarings; ++i) {
    alg.mul(to, from, from);
    const int t = from;
    from = to;
    to = t;
  }
  return from;
}

// exp of the matrix in slot kA (for a dual algebra, with L(A, E) of the pair
// (A, E)): returns the slot that holds it, or -1 if A has a NaN or an
// infinite entry.
template <class Algebra>
int run_scheme(MATRIX_EXP_THREAD Algebra& alg) {
  Norm<typename Algebra::real> norm;
  if (!finite_norm1(alg, norm)) {
    return -1;
  }
  if (alg.n() == 1) { // a scalar: exp as accurate as the language's exp
    alg.exp_scalar(kA);
    return kA;
  }
  const Plan plan = plan_scheme(alg, norm);
  return square(alg, evaluate_taylor(alg, plan.degree_index), plan.squarings);
}

} // namespace
} // namespace matrix_exp_scheme
