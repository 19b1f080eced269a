#include "cpu/blas.h"

#include <algorithm>

#include "cpu/parallel.h"

#if defined(__APPLE__)
#include <Accelerate/Accelerate.h> // MLX's CMake config defines ACCELERATE_NEW_LAPACK
#define MLX_EXPM_CBLAS(name) cblas_##name
#else
#include <cblas.h> // scipy-openblas32's header: every symbol prefixed scipy_
#define MLX_EXPM_CBLAS(name) scipy_cblas_##name
#endif

namespace mlx_expm::cpu::blas {

namespace {

// OpenBLAS on one thread, set before its first product. (The setting is
// OpenBLAS's own: this copy of the library is the extension's alone.)
void single_threaded() {
#if !defined(__APPLE__)
  static const bool done = [] {
    scipy_openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
#endif
}

} // namespace

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
    int ldc) {
  single_threaded();
  MLX_EXPM_CBLAS(sgemm)(
      CblasRowMajor,
      CblasNoTrans,
      CblasNoTrans,
      m,
      n,
      k,
      1.0f,
      a,
      lda,
      b,
      ldb,
      accumulate ? 1.0f : 0.0f,
      c,
      ldc);
}

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
    int ldc) {
  single_threaded();
  MLX_EXPM_CBLAS(dgemm)(
      CblasRowMajor,
      CblasNoTrans,
      CblasNoTrans,
      m,
      n,
      k,
      1.0,
      a,
      lda,
      b,
      ldb,
      accumulate ? 1.0 : 0.0,
      c,
      ldc);
}

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
    int ldc) {
  single_threaded();
  const std::complex<float> one(1.0f), beta(accumulate ? 1.0f : 0.0f);
  MLX_EXPM_CBLAS(cgemm)(
      CblasRowMajor,
      CblasNoTrans,
      CblasNoTrans,
      m,
      n,
      k,
      &one,
      a,
      lda,
      b,
      ldb,
      &beta,
      c,
      ldc);
}

int panels(int cols) {
#if defined(__APPLE__)
  (void)cols;
  return 1;
#else
  return std::clamp(cols / kPanelMinCols, 1, max_threads());
#endif
}

} // namespace mlx_expm::cpu::blas
