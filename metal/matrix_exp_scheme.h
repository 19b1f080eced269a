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
//   real log2_norm1_abs_product(const int* d, int k);
//                                             log2 || |d[0]| ... |d[k-1]| ||_1
//   real norm1_abs_product(int p, int q);     || |p| |q| ||_1
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
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
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
using metal::floor;
using metal::ldexp;
using metal::log2;
#else
using std::ceil;
using std::floor;
using std::log2;

// x 2^k, as std::ldexp, whose library call would dominate planning a batch of
// 3 x 3 matrices: where 2^k is a normal number, x 2^k is one correctly
// rounded product, the result ldexp defines.
template <typename Real>
Real ldexp(Real x, int k) {
  typedef std::numeric_limits<Real> limits;
  if (k < limits::min_exponent - 1 || k > limits::max_exponent - 1) {
    return std::ldexp(x, k);
  }
  typedef typename std::conditional<sizeof(Real) == 4, uint32_t, uint64_t>::type
      Bits;
  const Bits bits = Bits(k + limits::max_exponent - 1) << (limits::digits - 1);
  Real pow2;
  std::memcpy(&pow2, &bits, sizeof(Real));
  return x * pow2;
}
#endif

// The work slots. evaluate_taylor leaves T_m(A) in kR (T18: in kB1); the
// squarings then alternate between that slot and kA2, free by then. Before
// evaluate_taylor, the planner may use kB0, kB1 and kR as scratch.
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
  static int log2_unit_roundoff() {
    return -24;
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
  static int log2_unit_roundoff() {
    return -53;
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
// smallest s with norm / 2^s <= theta_18, found by halving the norm (exact:
// it stays above theta_18 / 2, a normal number) 16 times at a go, then once
// at a go; no log2, whose rounding could make s one off, and whose library
// call was a tenth of the time of a batch of 3 x 3. The halvings of the norm
// are squarings too.
template <typename Real>
Plan plan_for_norm(MATRIX_EXP_THREAD const Norm<Real>& norm) {
  const Real theta18 = RealTraits<Real>::theta(mc::kDegreeIndex18);
  if (!(norm.value > theta18)) { // else every threshold is below it
    for (int i = 0; i < mc::kNumDegrees; ++i) {
      if (norm.value <= RealTraits<Real>::theta(i)) {
        return Plan{i, norm.halvings};
      }
    }
  }
  const Real two16 = Real(65536);
  Real scaled = norm.value;
  int s = 0;
  while (scaled > theta18 * two16) {
    scaled *= Real(1.0 / 65536.0); // products, not divisions: as exact, faster
    s += 16;
  }
  while (scaled > theta18) {
    scaled *= Real(0.5);
    ++s;
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

// ||X||_1 of X = A / 2^s, for A of 1-norm `norm`: ||A||_1 2^-s, exact where
// it is a normal number (for the 1-norm plan's s: above theta_18 / 2), and
// no pass over X.
template <typename Real>
Real norm_at_scale(Norm<Real> norm, int squarings) {
  return ldexp(norm.value, norm.halvings - squarings);
}

// Slots kA2 = A^2 and kA3 = A^3, where T12 and T18 start.
template <class Algebra>
void form_low_powers(MATRIX_EXP_THREAD Algebra& alg) {
  alg.mul(kA2, kA, kA);
  alg.mul(kA3, kA, kA2);
}

// The slots the plan leaves ready for evaluate_taylor: X = A / 2^s in kA and
// the powers of X its degree starts from (X^2, X^3 for T12; and X^6 for T18).
// plan_scheme leaves them so; the lanes (csrc/cpu/lanes_driver.h), which plan
// each matrix apart, prepare them with this.
template <class Algebra>
void prepare_slots(MATRIX_EXP_THREAD Algebra& alg, Plan plan) {
  alg.scale_pow2(kA, -plan.squarings);
  if (plan.degree_index >= mc::kDegreeIndex12) {
    form_low_powers(alg);
  }
  if (plan.degree_index == mc::kDegreeIndex18) {
    alg.mul(kA6, kA3, kA3);
  }
}

// X, X^2, X^3 and (with_a6) X^6 times 2^k, 2^2k, 2^3k, 2^6k: X becomes 2^k X
// with its powers, exactly.
template <class Algebra>
void rescale_powers(MATRIX_EXP_THREAD Algebra& alg, int k, bool with_a6) {
  alg.scale_pow2(kA, k);
  alg.scale_pow2(kA2, 2 * k);
  alg.scale_pow2(kA3, 3 * k);
  if (with_a6) {
    alg.scale_pow2(kA6, 6 * k);
  }
}

// The 1-norms of X, X^2 and X^3 at the scale the plan has reached, kept as
// the planner computes and rescales them (a norm of 2^k X^j is 2^(j k) times
// that of X^j, exactly), for evaluate_planned's rounding check.
template <typename Real>
struct PowerNorms {
  Real x;
  Real x2;
  Real x3;
};

// The norms of 2^k X's powers.
template <typename Real>
void rescale_norms(MATRIX_EXP_THREAD PowerNorms<Real>& norms, int k) {
  norms.x = ldexp(norms.x, k);
  norms.x2 = ldexp(norms.x2, 2 * k);
  norms.x3 = ldexp(norms.x3, 3 * k);
}

// The plan's decisions below are taken from norms of X's powers: for one
// matrix, or on the CPU for the lanes of a vector of matrices at once
// (csrc/cpu/lanewise.h specialises Lanewise for its vector type), so that
// the lanes take each matrix's decisions with the same operations. A value V
// is a real (one lane) or a vector of them; a mask says in which lanes a
// comparison holds; a count is an int per lane.
template <typename V>
struct Lanewise {
  typedef V real;
  typedef bool mask;
  typedef int count;
  static V broadcast(real x) {
    return x;
  }
  static count splat(int c) {
    return c;
  }
  static mask le(V a, V b) {
    return a <= b;
  }
  static mask less(V a, V b) {
    return a < b;
  }
  static mask greater(count a, int b) {
    return a > b;
  }
  static mask equal(count a, count b) {
    return a == b;
  }
  static mask both(mask a, mask b) {
    return a && b;
  }
  static mask negate(mask a) {
    return !a;
  }
  static bool any(mask a) {
    return a;
  }
  static count ones(mask a) { // 1 where a holds, else 0
    return a ? 1 : 0;
  }
  static V scale2(V x, int e) { // x 2^e, as ldexp
    return ldexp(x, e);
  }
  static V log2(V x) {
    return matrix_exp_scheme::log2(x);
  }
};

// x^j, for the comparisons below: products, no pow.
template <typename V>
V power(V x, int j) {
  V out = x;
  for (int e = 1; e < j; ++e) {
    out = out * x;
  }
  return out;
}

// Whether ||(2^k X)^j||^(1/j) <= theta for each listed power j, given the
// norms of (2^t X)^j: tested as ||(2^t X)^j|| 2^(j (k - t)) <= theta^j, with
// powers of two and products and no root, so that every backend takes the
// same decision from the same norms.
template <typename V>
typename Lanewise<V>::mask powers_within(
    MATRIX_EXP_THREAD const V* norms,
    MATRIX_EXP_THREAD const int* powers,
    int count,
    typename Lanewise<V>::count k,
    int t,
    typename Lanewise<V>::real theta) {
  typedef Lanewise<V> W;
  typename W::mask within = W::greater(W::splat(1), 0); // every lane
  for (int i = 0; i < count; ++i) {
    within = W::both(
        within,
        W::le(
            W::scale2(norms[i], powers[i] * (k - t)),
            W::broadcast(power(theta, powers[i]))));
  }
  return within;
}

// How many of the plan's halvings of X (X = A / 2^s, s = `squarings`) the
// listed powers allow to undo (powers_within theta_18, from the norms of
// (2^t X)^j), keeping 2^k ||X|| below the overflow guard 2^(max_exponent / 2
// - 4) (2^60 in float32, 2^508 in float64). The schemes multiply
// combinations of X's powers whose coefficients on X are below 2^4, and an
// entry of a product is at most the product of the factors' 1-norms: at
// most 2^(max_exponent - 8) c^2 when ||X^j||^(1/j) << ||X||. (What rounding
// leaves of cancelled terms, about u ||X||^2, shows in the computed X^2 and
// X^3, whose norms the reduction bounds.) A guard of 2^(max_exponent / 4 -
// 4) = 2^28 kept float32 D A D^-1, D from 1e-8 to 1e8, at 28 squarings and
// an error of 0.6. Each step doubles the scaled norms (exactly) instead of
// calling ldexp again: this runs for every matrix of a batch of 3 x 3.
template <typename V>
typename Lanewise<V>::count undoable_halvings(
    MATRIX_EXP_THREAD const V* norms,
    MATRIX_EXP_THREAD const int* powers,
    int count,
    int t,
    typename Lanewise<V>::count squarings,
    V norm_x) {
  typedef Lanewise<V> W;
  typedef typename W::real Real;
  const Real theta18 = RealTraits<Real>::theta(mc::kDegreeIndex18);
  const V limit =
      W::broadcast(ldexp(Real(1), RealTraits<Real>::max_exponent() / 2 - 4));
  V scaled[4]; // norms[i] 2^(powers[i] (k + 1 - t)), k = 0 first
  V bound[4]; // theta_18^powers[i]
  Real step[4]; // 2^powers[i]
  for (int i = 0; i < count; ++i) {
    scaled[i] = W::scale2(norms[i], powers[i] * (1 - t));
    bound[i] = W::broadcast(power(theta18, powers[i]));
    step[i] = Real(1 << powers[i]);
  }
  V scaled_x = norm_x + norm_x;
  typename W::count k = W::splat(0);
  typename W::mask going = W::greater(squarings, 0);
  for (int i = 0; W::any(going); ++i) {
    going = W::both(going, W::greater(squarings, i));
    going = W::both(going, W::le(scaled_x, limit));
    for (int j = 0; j < count; ++j) {
      going = W::both(going, W::le(scaled[j], bound[j]));
      scaled[j] = step[j] * scaled[j];
    }
    k = k + W::ones(going);
    scaled_x = scaled_x + scaled_x;
  }
  return k;
}

// Overscaling, first with the powers T12 and T18 form anyway. Al-Mohy &
// Higham (2009), Theorem 4.2 with p = 2: the backward error h(X) of T_m(X),
// a power series from degree m + 1 >= 2, satisfies ||h(X)|| <= h~(alpha_2),
// alpha_2 = max(||X^2||^(1/2), ||X^3||^(1/3)) <= ||X||, since every power
// from the second on is a product of squares and cubes; so the thresholds
// theta_m may bound alpha_2 instead of ||X||. For a nonnormal X, alpha_2 can
// be far below ||X||: [[1, b], [0, -1]] has alpha_2 = 1 for every b, where
// the 1-norm rule squares log2(b) times. Given the norms of X = A / 2^s, X^2
// and X^3 for the 1-norm plan (degree 18, s squarings): the halvings alpha_2
// does not need (X and its powers are then rescaled by 2^undone, exactly),
// and whether T12 does when no squaring is left (alpha_2 <= theta_12).
// Every squaring saved is a product saved and one doubling less of the
// error. When many halvings are undone (kReformHalvings; a few is all an
// ordinary matrix gives back), the matrix is badly scaled: its entries span
// many binades, and at the 1-norm scale products of its smallest ones may
// have fallen below the normal range (float32: D A D^-1 with D from 1e-8 to
// 1e8, a 12 x 12, lost 1e-3 of exp that way), so X^2 and X^3 are formed
// again from the rescaled X rather than rescaled.
template <typename V>
struct LowPowerReduction {
  typename Lanewise<V>::count undone;
  typename Lanewise<V>::mask to_t12;
};

template <typename V>
LowPowerReduction<V> reduce_with_low_powers(
    typename Lanewise<V>::count squarings,
    V norm_x,
    V norm2,
    V norm3) {
  typedef Lanewise<V> W;
  typedef typename W::real Real;
  const V norms[2] = {norm2, norm3};
  const int powers[2] = {2, 3};
  LowPowerReduction<V> out;
  out.undone = undoable_halvings(norms, powers, 2, 0, squarings, norm_x);
  out.to_t12 = W::equal(out.undone, squarings);
  if (W::any(out.to_t12)) { // mostly not, where squarings are left
    out.to_t12 = W::both(
        out.to_t12,
        powers_within(
            norms,
            powers,
            2,
            squarings,
            0,
            RealTraits<Real>::theta(mc::kDegreeIndex12)));
  }
  return out;
}

// Whether the window of powers below may pay for itself: undo more than the
// kWindowProducts halvings it costs products. Its norms are predicted from
// those of X^3 and X^6, with log d_p (d_p = ||X^p||^(1/p)) extrapolated
// linearly in 1/p: exact both for a normal matrix (d_p about constant) and
// for a badly scaled one (d_p ~ rho c^(1/p), c the scaling), so that
// log2 d_10 ~ 1.4 log2 d_6 - 0.4 log2 d_3 = (7/30) log2 ||X^6|| - (2/15)
// log2 ||X^3||, and the window pays if 2^(kWindowProducts + 1) d_10 <=
// theta_18. (A Jordan block -I + 1000 N has d_3 = 1000, d_6 = 52, d_10 = 13:
// X^6 alone promises 4 halvings, the window undoes 6.)
template <typename Real>
Real window_log2_d10_bound() { // log2 theta_18 - (kWindowProducts + 1)
  return log2(RealTraits<Real>::theta(mc::kDegreeIndex18)) -
      Real(mc::kWindowProducts + 1);
}

template <typename V>
typename Lanewise<V>::mask
window_may_pay(typename Lanewise<V>::count squarings, V norm3, V norm6) {
  typedef Lanewise<V> W;
  typedef typename W::real Real;
  const V log2_d10 =
      Real(7.0 / 30.0) * W::log2(norm6) + Real(-2.0 / 15.0) * W::log2(norm3);
  const Real bound = window_log2_d10_bound<Real>();
  return W::both(
      W::both(
          W::greater(squarings, mc::kWindowProducts),
          W::less(W::broadcast(0), norm6)),
      W::le(log2_d10, W::broadcast(bound)));
}

// Overscaling, then with X^7 ... X^10, for T18, where X^3 and X^6 show they
// may save more squarings than the kWindowProducts products they cost
// (window_may_pay: badly scaled and strongly nonnormal matrices, whose
// ||X^j||^(1/j) keep falling with j). The bound of Theorem 4.2 holds for any
// set of powers that every exponent k >= m + 1 = 19 of the backward-error
// series is a sum of: {7, 8, 9, 10} is one (19 = 9 + 10, 20 = 10 + 10, and
// each k from 21 on is a sum of three or more), so ||h(X)|| <=
// h~(max_{7<=j<=10} ||X^j||^(1/j)). (Theorem 4.2's own choice for T18,
// alpha_4 = max(d_4, d_5), leaves Al-Mohy & Higham's 4 x 4 test matrix with
// 14 squarings and a relative error of 3e-4; the window gives 8 squarings
// and 8e-6, SciPy's expm 6e-6.) The powers are
// formed in the scratch slots kB0, kB1, kR from copies of X and its powers
// scaled by 2^t, t chosen so that ||(2^t X)^6|| is about 1: then X^10 neither
// overflows nor underflows where ||X^j||^(1/j) falls steeply.
template <class Algebra>
Plan reduce_with_window(
    MATRIX_EXP_THREAD Algebra& alg,
    Plan plan,
    MATRIX_EXP_THREAD PowerNorms<typename Algebra::real>& powers_norms) {
  typedef typename Algebra::real real;
  const real norm_x = powers_norms.x;
  if (plan.squarings <= mc::kWindowProducts) { // as window_may_pay, sooner
    return plan;
  }
  const real norm6 = alg.norm1(kA6, 0);
  if (!window_may_pay(plan.squarings, powers_norms.x3, norm6)) {
    return plan;
  }
  const int t = -int(floor(log2(norm6) / real(6)));
  // 2^t ||X|| must stay finite, with room for the products' sums.
  if (!(ldexp(norm_x, t) <= ldexp(RealTraits<real>::largest(), -8))) {
    return plan;
  }
  const real one[1] = {real(1)};
  const int a6[1] = {kA6};
  const int a1[1] = {kA};
  const int a2[1] = {kA2};
  const int a3[1] = {kA3};
  real norms[4];
  alg.combine(kB0, real(0), one, a6, 1); // (2^t X)^6
  alg.scale_pow2(kB0, 6 * t);
  alg.combine(kB1, real(0), one, a1, 1); // 2^t X
  alg.scale_pow2(kB1, t);
  alg.mul(kR, kB0, kB1); // ^7
  norms[0] = alg.norm1(kR, 0);
  alg.combine(kB1, real(0), one, a2, 1);
  alg.scale_pow2(kB1, 2 * t);
  alg.mul(kR, kB0, kB1); // ^8
  norms[1] = alg.norm1(kR, 0);
  alg.combine(kB1, real(0), one, a3, 1);
  alg.scale_pow2(kB1, 3 * t);
  alg.mul(kR, kB0, kB1); // ^9, kept for ^10
  norms[2] = alg.norm1(kR, 0);
  alg.combine(kB0, real(0), one, a1, 1);
  alg.scale_pow2(kB0, t);
  alg.mul(kB1, kR, kB0); // ^10
  norms[3] = alg.norm1(kB1, 0);
  const int powers[4] = {7, 8, 9, 10};
  const int k = undoable_halvings(norms, powers, 4, t, plan.squarings, norm_x);
  rescale_powers(alg, k, true);
  rescale_norms(powers_norms, k);
  plan.squarings -= k;
  return plan;
}

// Rounding. Al-Mohy & Higham's Algorithm 5.1 adds ell squarings where |X| is
// much larger than X, so that the evaluation's rounding error does not exceed
// the truncation error the plan was made for: ell = ceil(log2(alpha / u) /
// 18), alpha = |c_19| ||M||_1 / ||X||_1, with c_19 = -1/19! the first
// coefficient of T18's backward error (theirs is Pade's c_27, with |A|^27);
// halving X divides alpha by 2^18. Here M = |X^6|^3 |X|, the magnitudes the
// scheme's last products actually combine, not |X|^19, whose powers have no
// cancellation at all: on random Gaussian matrices |X|^19 adds 0.9 to 1.8
// squarings on average, giving back what the reductions saved, where
// |X^6|^3 |X| adds none; it adds squarings only to strongly nonnormal
// matrices whose X^6 is mostly rounding error. ||M||_1 is exact: 1^T M from
// vector-matrix products (a nonnegative matrix's 1-norm is its largest column
// sum); it is formed only where the bound ||M||_1 <= ||X^3||^6 ||X||_1 does not
// already show ell = 0, which after the reductions above it does for all but
// strongly nonnormal X. Needs X^6 (kA6) formed when called.
template <typename V>
typename Lanewise<V>::mask rounding_may_need_squarings(V norm3) {
  typedef Lanewise<V> W;
  typedef typename W::real Real;
  const Real threshold =
      ldexp(Real(mc::kFactorial19), RealTraits<Real>::log2_unit_roundoff());
  // ||X^3||^6 / 19! > u (or NaN)
  return W::negate(W::le(power(norm3, 6), W::broadcast(threshold)));
}

template <class Algebra>
Plan add_rounding_squarings(
    MATRIX_EXP_THREAD Algebra& alg,
    Plan plan,
    MATRIX_EXP_THREAD PowerNorms<typename Algebra::real>& norms) {
  typedef typename Algebra::real real;
  const int chain[4] = {kA6, kA6, kA6, kA};
  const real log2_alpha = alg.log2_norm1_abs_product(chain, 4) -
      real(mc::kLog2Factorial19) - log2(norms.x);
  const real log2_u = real(RealTraits<real>::log2_unit_roundoff());
  if (!(log2_alpha > log2_u)) {
    return plan;
  }
  const int ell = int(ceil((log2_alpha - log2_u) / real(18)));
  rescale_powers(alg, -ell, true);
  rescale_norms(norms, -ell);
  plan.squarings += ell;
  return plan;
}

// Plans the scheme for the matrix in slot kA (n >= 2) of 1-norm `norm`: the
// 1-norm plan, then fewer squarings as far as the norms of X's powers show
// them unneeded, then more where rounding needs them. Leaves the slots as
// prepare_slots would for that plan, and for T18 the norms of X's powers in
// `norms`. (The lanes, csrc/cpu/lanes_driver.h, take the same decisions from
// the same norms, eight matrices at a time.)
template <class Algebra>
Plan plan_scheme(
    MATRIX_EXP_THREAD Algebra& alg,
    Norm<typename Algebra::real> norm,
    MATRIX_EXP_THREAD PowerNorms<typename Algebra::real>& norms) {
  typedef typename Algebra::real real;
  Plan plan = plan_for_norm(norm);
  alg.scale_pow2(kA, -plan.squarings);
  if (plan.degree_index < mc::kDegreeIndex12) {
    return plan;
  }
  form_low_powers(alg);
  if (plan.degree_index < mc::kDegreeIndex18) {
    return plan;
  }
  norms.x = norm_at_scale(norm, plan.squarings);
  norms.x2 = alg.norm1(kA2, 0);
  norms.x3 = alg.norm1(kA3, 0);
  const LowPowerReduction<real> reduction =
      reduce_with_low_powers(plan.squarings, norms.x, norms.x2, norms.x3);
  rescale_powers(alg, reduction.undone, false);
  rescale_norms(norms, reduction.undone);
  if (reduction.undone >= mc::kReformHalvings) {
    form_low_powers(alg); // see LowPowerReduction
    norms.x2 = alg.norm1(kA2, 0);
    norms.x3 = alg.norm1(kA3, 0);
  }
  plan.squarings -= reduction.undone;
  if (reduction.to_t12) {
    plan.degree_index = mc::kDegreeIndex12;
    return plan;
  }
  alg.mul(kA6, kA3, kA3);
  plan = reduce_with_window(alg, plan, norms);
  if (rounding_may_need_squarings(norms.x3)) {
    plan = add_rounding_squarings(alg, plan, norms);
  }
  return plan;
}

// Evaluates T_m(A) from slot kA ([BBC19] schemes, coefficients in
// matrix_exp_constants.h), with the slots as prepare_slots leaves them (for
// m = 12 and 18, A^2 and A^3 in kA2 and kA3; for 18, A^6 in kA6). Returns the
// slot that holds T_m(A).
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
    default: {
      // 18: B_i in the basis {I, A, A2, A3, A6}; A9 = B3 + B0 B4,
      // T18 = B1 + (B2 + A9) A9
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

// Rounding of the evaluation, checked once it is done. The reductions above
// lower s as far as the truncation error allows, which takes ||X||_1 from
// (theta_18 / 2, theta_18] to (theta_18, 2 theta_18] and beyond. Where
// exp(X) is much smaller than the magnitudes T18's scheme combines (its
// terms cancel: eigenvalues well left of what ||X|| allows), the rounding of
// the evaluation, about u ||R||_1 with R = |B1| + |B2 + A9| |A9| the
// magnitudes of its last sum and product, can outweigh the doubling of the
// error that one squaring less saves: a posteriori, rho = ||R||_1 /
// ||T18(X)||_1 is compared with kRoundingRatio, and X halved (its powers
// rescaled, exactly) and T18 evaluated again while rho exceeds it, up to the
// 1-norm plan's squarings. (For a matrix with ||R|| ~ 3.5 e^||X||, as T18's
// scheme has for 1 <= ||X|| <= 6, halving X takes rho to about
// 3.5 (rho / 3.5)^(1/2), so it pays where rho > 14; the threshold 8 was
// measured on random float32 3 x 3 and 4 x 4, norms 20 to 100, seeds apart
// from bench/accuracy.py's.) ||B1|| is bounded by its terms' norms (||X^6||
// by ||X^3||^2); || |B2 + A9| |A9| ||_1 is exact (1^T |B2 + A9| |A9|, vector
// products), so that a badly scaled matrix, whose large and small entries
// the products pair, is not halved back to its 1-norm plan.
// ||B_row||_1 <= sum_j |c_j| ||X^j||, ||X^6|| <= ||X^3||^2.
template <typename V>
V t18_row_bound(int row, MATRIX_EXP_THREAD const PowerNorms<V>& norms) {
  typedef typename Lanewise<V>::real Real;
  const V terms[4] = {norms.x, norms.x2, norms.x3, norms.x3 * norms.x3};
  const Real c0 = Real(mc::kT18[row][0]);
  V bound = Lanewise<V>::broadcast(c0 < Real(0) ? -c0 : c0);
  for (int j = 0; j < 4; ++j) {
    const Real c = Real(mc::kT18[row][j + 1]);
    bound = bound + (c < Real(0) ? -c : c) * terms[j];
  }
  return bound;
}

// Whether the check below can find rho > kRoundingRatio at all, from the
// powers' norms and ||T18|| alone: ||R|| <= ||B1|| + (||B2|| + ||A9||)
// ||A9||, ||A9|| <= ||B3|| + ||B0|| ||B4||. The quantities compared are
// computed from n x n sums and products, each with a relative error of a few
// n u: the bound is given 1/64 + 16 n u to spare. It rules out most random
// matrices of n >= 8 before the exact product's two passes (a factor 2 to
// spare let 97% of random 32 x 32 through, 3% with this one; the lanes, for
// which those passes are cheap, skip it).
template <typename V>
typename Lanewise<V>::mask halving_may_pay(
    MATRIX_EXP_THREAD const PowerNorms<V>& norms,
    V norm_t18,
    int n) {
  typedef Lanewise<V> W;
  typedef typename W::real Real;
  const V a9 = t18_row_bound(3, norms) +
      t18_row_bound(0, norms) * t18_row_bound(4, norms);
  const V bound = t18_row_bound(1, norms) + (t18_row_bound(2, norms) + a9) * a9;
  const Real spare = Real(1) + Real(1.0 / 64) +
      Real(16 * n) * ldexp(Real(1), RealTraits<Real>::log2_unit_roundoff());
  return W::less(Real(mc::kRoundingRatio) * norm_t18, spare * bound);
}

template <typename V>
typename Lanewise<V>::mask halving_pays(
    MATRIX_EXP_THREAD const PowerNorms<V>& norms,
    V norm_product,
    V norm_t18) {
  typedef Lanewise<V> W;
  typedef typename W::real Real;
  return W::less(
      Real(mc::kRoundingRatio) * norm_t18,
      norm_product + t18_row_bound(1, norms));
}

// T_m(X) for the plan, with the slots (and, for T18, the powers' norms) as
// plan_scheme leaves them, halving X again where the rounding check above
// asks, up to the 1-norm plan's squarings (plan.squarings counts the
// halvings). Returns the slot of T_m.
template <class Algebra>
int evaluate_planned(
    MATRIX_EXP_THREAD Algebra& alg,
    MATRIX_EXP_THREAD Plan& plan,
    PowerNorms<typename Algebra::real> norms,
    int one_norm_squarings) {
  for (;;) { // one call of evaluate_taylor, which the compiler may inline
    const int slot = evaluate_taylor(alg, plan.degree_index);
    if (plan.degree_index != mc::kDegreeIndex18 ||
        plan.squarings >= one_norm_squarings) {
      return slot;
    }
    const typename Algebra::real norm_t18 = alg.norm1(slot, 0);
    if (!halving_may_pay(norms, norm_t18, alg.n()) ||
        !halving_pays(
            norms,
            alg.norm1_abs_product(kB0, kR), // B2 + A9, A9 (evaluate_taylor)
            norm_t18)) {
      return slot;
    }
    rescale_powers(alg, -1, true);
    rescale_norms(norms, -1);
    ++plan.squarings;
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
  PowerNorms<typename Algebra::real> norms;
  Plan plan = plan_scheme(alg, norm, norms);
  const int slot =
      evaluate_planned(alg, plan, norms, plan_for_norm(norm).squarings);
  return square(alg, slot, plan.squarings);
}

} // namespace
} // namespace matrix_exp_scheme
