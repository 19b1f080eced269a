// Size thresholds of the CPU path, set by measurement (bench/bench.py), and
// the one decision they make: which kernel computes an n x n matrix.

#pragma once

namespace mlx_expm::cpu {

// Real matrices up to this n run a vector's width of matrices at a time
// (lanes_driver.h).
inline constexpr int kLanesMaxN = 8;

// Up to this n the products run as plain loops in the L1 cache; above, BLAS
// (measured: OpenBLAS sgemm wins from n = 17 on; bench/bench.py).
inline constexpr int kLoopMaxN = 16;

// From this n on, BLAS-sized matrices run one at a time, each product split
// over the threads (blas.h), even when the batch has a matrix per thread:
// one workspace (32 MB in float32 at n = 1024) instead of one per thread, at
// a cost of about 2% (n = 1024) where it is 12% at n = 512.
inline constexpr int kOneAtATimeMinN = 1024;

// How an n x n matrix is computed: kLanes, eight (float32) or four (float64)
// real matrices per vector (lanes_driver.h); kLoops, one at a time with loop
// products (algebra.h); kBlas, one at a time with BLAS products.
enum class Path { kLanes, kLoops, kBlas };

constexpr Path path_for(bool complex, int n) {
  if (!complex && n >= 2 && n <= kLanesMaxN) {
    return Path::kLanes;
  }
  return n <= kLoopMaxN ? Path::kLoops : Path::kBlas;
}

} // namespace mlx_expm::cpu
