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
// recomputed. Below kTapeMinN, writing and reading the tape costs more than
// the products it saves (float32, `python bench/bench.py`-style vjp timings:
// with the tape 1.09-1.29x the time without at n = 12..24, 0.97-1.02x at
// n = 32, 48, 0.88-0.92x at n = 64, 0.80-0.85x at n = 128..512).
inline constexpr int kTapeMinN = 64;
inline constexpr int kTapeProducts = 12;

} // namespace mlx_expm::cpu
