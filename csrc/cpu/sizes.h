// Size thresholds of the CPU path, set by measurement (bench/bench.py).

#pragma once

namespace mlx_expm::cpu {

// Up to this n the products run as plain loops in the L1 cache; above, BLAS.
inline constexpr int kLoopMaxN = 32;

} // namespace mlx_expm::cpu
