#include "cpu/blas.h"

#include <atomic>

#if defined(__APPLE__)
#define ACCELERATE_NEW_LAPACK
#include <Accelerate/Accelerate.h>
#define MLX_EXPM_CBLAS(name) cblas_##name
#else
#include <cblas.h> // scipy-openblas32's header: every symbol prefixed scipy_
#define MLX_EXPM_CBLAS(name) scipy_cblas_##name
#endif

namespace mlx_expm::cpu::blas {

void gemm(int m, int n, int k, const float* a, int lda, const float* b, int ldb,
          bool accumulate, float* c, int ldc) {
  MLX_EXPM_CBLAS(sgemm)(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, lda,
                        b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
}

void gemm(int m, int n, int k, const double* a, int lda, const double* b, int ldb,
          bool accumulate, double* c, int ldc) {
  MLX_EXPM_CBLAS(dgemm)(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, lda, b,
                        ldb, accumulate ? 1.0 : 0.0, c, ldc);
}

void gemm(int m, int n, int k, const std::complex<float>* a, int lda,
          const std::complex<float>* b, int ldb, bool accumulate, std::complex<float>* c,
          int ldc) {
  const std::complex<float> one(1.0f), beta(accumulate ? 1.0f : 0.0f);
  MLX_EXPM_CBLAS(cgemm)(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, &one, a, lda, b,
                        ldb, &beta, c, ldc);
}

#if defined(__APPLE__)
void set_num_threads(int) {} // Accelerate manages its own threads
std::string description() {
  return "Accelerate";
}
#else
void set_num_threads(int threads) {
  // openblas_set_num_threads is not free (it may start threads): skip repeats.
  static std::atomic<int> current{-1};
  if (current.exchange(threads) != threads) {
    scipy_openblas_set_num_threads(threads);
  }
}
std::string description() {
  return std::string(scipy_openblas_get_config()) + " (" + scipy_openblas_get_corename() +
      ")";
}
#endif

} // namespace mlx_expm::cpu::blas
