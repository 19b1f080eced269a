// The BLAS the CPU kernels use for larger matrices: Accelerate on macOS (as
// MLX itself), OpenBLAS from the scipy-openblas32 wheel on Linux (runtime CPU
// dispatch, symbols prefixed scipy_, found through the extension's rpath).

#pragma once

#include <complex>
#include <string>

namespace mlx_expm::cpu::blas {

// c[0:m, 0:n] = a[0:m, 0:k] b[0:k, 0:n] (+ c if accumulate), row-major.
void gemm(int m, int n, int k, const float* a, int lda, const float* b, int ldb,
          bool accumulate, float* c, int ldc);
void gemm(int m, int n, int k, const double* a, int lda, const double* b, int ldb,
          bool accumulate, double* c, int ldc);
void gemm(int m, int n, int k, const std::complex<float>* a, int lda,
          const std::complex<float>* b, int ldb, bool accumulate, std::complex<float>* c,
          int ldc);

// Threads the BLAS may use inside one call.
void set_num_threads(int threads);

// "OpenBLAS 0.3.34 (Zen)" or "Accelerate".
std::string description();

} // namespace mlx_expm::cpu::blas
