// Size thresholds of the CPU path, set by measurement (bench/bench.py).

#pragma once

namespace mlx_expm::cpu {

// Real matrices up to this n run a vector's width of matrices at a time
// (lanes_driver.h).
inline constexpr int kLanesMaxN = 8;

// Up to this n the products run as plain loops in the L1 cache; above, BLAS
// (measured: OpenBLAS sgemm wins from n = 17 on; bench/bench.py).
inline constexpr int kLoopMaxN = 16;

// Under mx.vjp/mx.grad, matrices with n >= kTapeMinN keep the results of
// the first kTapeProducts products of their forward scheme for the vjp
// (tape.h): T18's five and up to seven squarings (||A||_1 up to 2^7
// theta_18, about 385 in float32 and 140 in float64); later squarings are
// recomputed. Below kTapeMinN, writing and reading the tape costs as much
// memory traffic as the products it saves (float32 forward+vjp with / without
// the tape, bench/tape.py: 1.09-1.29 at n = 12..24 and 0.97-1.02 at n = 32
// and 48 when those sizes had tapes; 0.93 at n = 64, 0.79-0.86 at n = 128..512).
inline constexpr int kTapeMinN = 64;
inline constexpr int kTapeProducts = 12;

} // namespace mlx_expm::cpu
