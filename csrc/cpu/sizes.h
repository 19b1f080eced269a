// Size thresholds of the CPU path, set by measurement (bench/bench.py).

#pragma once

namespace mlx_expm::cpu {

// Real matrices up to this n run a vector's width of matrices at a time
// (lanes_driver.h).
inline constexpr int kLanesMaxN = 8;

// Up to this n the products run as plain loops in the L1 cache; above, BLAS
// (measured: OpenBLAS sgemm wins from n = 17 on; bench/bench.py).
inline constexpr int kLoopMaxN = 16;

} // namespace mlx_expm::cpu
