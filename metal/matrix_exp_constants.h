// The one source of truth for the Taylor approximations of exp(A): degrees,
// norm thresholds and polynomial coefficients. Included by the C++ code
// (csrc/) and by the Metal kernels (metal/), so it is written in the common
// subset of C++17 and the Metal Shading Language.
//
// Reference:
//   P. Bader, S. Blanes, F. Casas, "Computing the matrix exponential with an
//   optimized Taylor polynomial approximation", Mathematics 7(12), 1174 (2019),
//   arXiv:1710.10989. Cited below as [BBC19].
//
// Each approximation T_m(A) equals the degree-m Taylor polynomial of exp(A)
// (up to rounding of the coefficients) but is evaluated with fewer matrix
// products than Paterson-Stockmeyer: T_m costs kProducts[i] products.
// tests/test_coefficients.py expands every scheme in 50-digit arithmetic and
// checks that it reproduces 1/k! for k <= m.

#pragma once

#if defined(__METAL_VERSION__)
#ifndef MATRIX_EXP_CONSTANT
#define MATRIX_EXP_CONSTANT constant constexpr
#endif
// Coefficients are single precision on the GPU (Metal has no double).
#define MATRIX_EXP_REAL(x) x##f
typedef float matrix_exp_real;
#else
#ifndef MATRIX_EXP_CONSTANT
#define MATRIX_EXP_CONSTANT inline constexpr
#endif
#define MATRIX_EXP_REAL(x) x
typedef double matrix_exp_real;
#endif

namespace matrix_exp_constants {

// Degrees m of the approximations T_m, and the matrix products each costs
// ([BBC19], Table 1 for 1 <= m <= 18).
MATRIX_EXP_CONSTANT int kNumDegrees = 6;
MATRIX_EXP_CONSTANT int kDegrees[kNumDegrees] = {1, 2, 4, 8, 12, 18};
MATRIX_EXP_CONSTANT int kProducts[kNumDegrees] = {0, 1, 2, 3, 4, 5};
// T12 and T18, the degrees that start from A^2 and A^3 and whose scaling the
// overscaling rule may lower (matrix_exp_scheme.h).
MATRIX_EXP_CONSTANT int kDegreeIndex12 = 4;
MATRIX_EXP_CONSTANT int kDegreeIndex18 = 5;

// The planner (matrix_exp_scheme.h) forms X^7 ... X^10 to lower T18's
// scaling only where X^3 and X^6 promise to save more squarings than these
// products; forms X^2 and X^3 again where the low powers undo at least
// kReformHalvings halvings; and uses 19! (and its log2), of the first
// coefficient of T18's backward error.
MATRIX_EXP_CONSTANT int kWindowProducts = 4;
MATRIX_EXP_CONSTANT int kReformHalvings = 8;
// After evaluating T18, X is halved again where the magnitudes the
// evaluation combines exceed its result kRoundingRatio times.
MATRIX_EXP_CONSTANT int kRoundingRatio = 8;
MATRIX_EXP_CONSTANT matrix_exp_real kLog2Factorial19 =
    MATRIX_EXP_REAL(56.75545582601885902877);
MATRIX_EXP_CONSTANT matrix_exp_real kFactorial19 =
    MATRIX_EXP_REAL(121645100408832000.0);

// theta_m: the largest 1-norm of A for which the relative backward error of
// T_m(A) stays below the unit roundoff. A matrix with ||A||_1 <= theta_m uses
// T_m; above theta_18 it is scaled by 2^-s, s = ceil(log2(||A||_1 / theta_18)),
// and T_18 is squared s times.
// float64: [BBC19], Table 3 (u = 2^-53). float32/complex64: the values
// PyTorch's linalg_matrix_exp uses, computed by the same method for u = 2^-24.
MATRIX_EXP_CONSTANT float kThetaFloat32[kNumDegrees] = {
    1.192092800768788e-07f, // T1
    5.978858893805233e-04f, // T2
    5.116619363445086e-02f, // T4
    5.800524627688768e-01f, // T8
    1.461661507209034e+00f, // T12
    3.010066362817634e+00f, // T18
};

#if !defined(__METAL_VERSION__)
MATRIX_EXP_CONSTANT double kThetaFloat64[kNumDegrees] = {
    2.220446049250313e-16, // T1
    2.580956802971767e-08, // T2
    3.397168839976962e-04, // T4
    4.991228871115323e-02, // T8
    2.996158913811580e-01, // T12
    1.090863719290036e+00, // T18
};
#endif

// T4(A) = I + A + A2 (I/2 + A/6 + A2/24), 2 products (Horner on A2).
MATRIX_EXP_CONSTANT matrix_exp_real kT4[3] = {
    MATRIX_EXP_REAL(0.5),
    MATRIX_EXP_REAL(0.1666666666666666666666667),
    MATRIX_EXP_REAL(0.04166666666666666666666667),
};

// T8, 3 products ([BBC19], Section 4, the m = 8 scheme):
//   A4 = A2 (x1 A + x2 A2)
//   A8 = (x3 A2 + A4) (x4 I + x5 A + x6 A2 + x7 A4)
//   T8 = I + A + y2 A2 + A8
// with, for r = sqrt(177), x3 = 2/3:
//   x1 = x3 (1 + r) / 88         x2 = x3 (1 + r) / 352
//   x4 = (-271 + 29 r) / (315 x3)   x5 = (-11 + 11 r) / (1260 x3)
//   x6 = (-99 + 11 r) / (5040 x3)   x7 = (89 - r) / (5040 x3^2)
//   y2 = (857 - 58 r) / 630
// (x7 divides by x3^2; PyTorch divides by x3, which leaves T8 only 4th-order
// accurate: pytorch/pytorch#196592.) Values rounded from 40-digit arithmetic.
MATRIX_EXP_CONSTANT matrix_exp_real kT8X1 =
    MATRIX_EXP_REAL(0.1083646567852278085231);
MATRIX_EXP_CONSTANT matrix_exp_real kT8X2 =
    MATRIX_EXP_REAL(0.02709116419630695213077);
MATRIX_EXP_CONSTANT matrix_exp_real kT8X3 =
    MATRIX_EXP_REAL(0.6666666666666666666667);
MATRIX_EXP_CONSTANT matrix_exp_real kT8X4 =
    MATRIX_EXP_REAL(0.5467614579707240525064);
MATRIX_EXP_CONSTANT matrix_exp_real kT8X5 =
    MATRIX_EXP_REAL(0.161125573395417592828);
MATRIX_EXP_CONSTANT matrix_exp_real kT8X6 =
    MATRIX_EXP_REAL(0.01409091715837820773081);
MATRIX_EXP_CONSTANT matrix_exp_real kT8X7 =
    MATRIX_EXP_REAL(0.0337927970108705041406);
MATRIX_EXP_CONSTANT matrix_exp_real kT8Y2 =
    MATRIX_EXP_REAL(0.1354923613528506316624);

// T12, 4 products ([BBC19], Section 4, the m = 12 scheme). Row i holds the
// coefficients of B_i in the basis {I, A, A2, A3}:
//   A6  = B2 + B3 B3
//   T12 = B0 + (B1 + A6) A6
MATRIX_EXP_CONSTANT matrix_exp_real kT12[4][4] = {
    {MATRIX_EXP_REAL(9.0198e-16),
     MATRIX_EXP_REAL(0.46932117595418237389),
     MATRIX_EXP_REAL(-0.20099424927047284052),
     MATRIX_EXP_REAL(-0.04623946134063071740)},
    {MATRIX_EXP_REAL(5.31597895759871264183),
     MATRIX_EXP_REAL(1.19926790417132231573),
     MATRIX_EXP_REAL(0.01179296240992997031),
     MATRIX_EXP_REAL(0.01108844528519167989)},
    {MATRIX_EXP_REAL(0.18188869982170434744),
     MATRIX_EXP_REAL(0.05502798439925399070),
     MATRIX_EXP_REAL(0.09351590770535414968),
     MATRIX_EXP_REAL(0.00610700528898058230)},
    {MATRIX_EXP_REAL(-2.0861320e-13),
     MATRIX_EXP_REAL(-0.13181061013830184015),
     MATRIX_EXP_REAL(-0.02027855540589259079),
     MATRIX_EXP_REAL(-0.00675951846863086359)},
};

// T18, 5 products ([BBC19], Section 4, the m = 18 scheme). Row i holds the
// coefficients of B_i in the basis {I, A, A2, A3, A6}, A6 = A3 A3:
//   A9  = B3 + B0 B4
//   T18 = B1 + (B2 + A9) A9
MATRIX_EXP_CONSTANT matrix_exp_real kT18[5][5] = {
    {MATRIX_EXP_REAL(0.0),
     MATRIX_EXP_REAL(-1.00365581030144618291e-01),
     MATRIX_EXP_REAL(-8.02924648241156932449e-03),
     MATRIX_EXP_REAL(-8.92138498045729985177e-04),
     MATRIX_EXP_REAL(0.0)},
    {MATRIX_EXP_REAL(0.0),
     MATRIX_EXP_REAL(3.97849749499645077844e-01),
     MATRIX_EXP_REAL(1.36783778460411720168e+00),
     MATRIX_EXP_REAL(4.98289622525382669416e-01),
     MATRIX_EXP_REAL(-6.37898194594723280150e-04)},
    {MATRIX_EXP_REAL(-1.09676396052962061844e+01),
     MATRIX_EXP_REAL(1.68015813878906206114e+00),
     MATRIX_EXP_REAL(5.71779846478865511061e-02),
     MATRIX_EXP_REAL(-6.98210122488052056106e-03),
     MATRIX_EXP_REAL(3.34975017086070470649e-05)},
    {MATRIX_EXP_REAL(-9.04316832390810593223e-02),
     MATRIX_EXP_REAL(-6.76404519071381882256e-02),
     MATRIX_EXP_REAL(6.75961301770459654925e-02),
     MATRIX_EXP_REAL(2.95552570429315521194e-02),
     MATRIX_EXP_REAL(-1.39180257516060693404e-05)},
    {MATRIX_EXP_REAL(0.0),
     MATRIX_EXP_REAL(0.0),
     MATRIX_EXP_REAL(-9.23364619367118555360e-02),
     MATRIX_EXP_REAL(-1.69364939002081722752e-02),
     MATRIX_EXP_REAL(-1.40086798182036094347e-05)},
};

} // namespace matrix_exp_constants
