// The BLAS the CPU kernels use for larger matrices: Accelerate on macOS (as
// MLX itself), OpenBLAS from the scipy-openblas32 wheel on Linux (runtime CPU
// dispatch, symbols prefixed scipy_, found through the extension's rpath).
//
// OpenBLAS always runs on one thread here: a product is split into column
// panels that our own threads compute (panels()), the same panels whatever
// else runs, so that a matrix's result never depends on its batch or on
// concurrent calls (OpenBLAS's own threading partitions a product by its
// thread count, and the partition changes the order of the sums).

#pragma once

#include <complex>

namespace mlx_expm::cpu::blas {

// c[0:m, 0:n] = a[0:m, 0:k] b[0:k, 0:n] (+ c if accumulate), row-major; on the
// calling thread only (Accelerate: as Accelerate decides).
void gemm(
    int m,
    int n,
    int k,
    const float* a,
    int lda,
    const float* b,
    int ldb,
    bool accumulate,
    float* c,
    int ldc);
void gemm(
    int m,
    int n,
    int k,
    const double* a,
    int lda,
    const double* b,
    int ldb,
    bool accumulate,
    double* c,
    int ldc);
void gemm(
    int m,
    int n,
    int k,
    const std::complex<float>* a,
    int lda,
    const std::complex<float>* b,
    int ldb,
    bool accumulate,
    std::complex<float>* c,
    int ldc);

// The column panels a product with `cols` columns is split into: one per
// thread (max_threads()) for products of at least kPanelMinCols columns per
// panel, else one; always one with Accelerate, which threads by itself.
int panels(int cols);
inline constexpr int kPanelMinCols = 128;

} // namespace mlx_expm::cpu::blas
