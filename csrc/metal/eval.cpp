// eval_gpu of the primitives. The Metal kernels are not built yet.

#include <stdexcept>

#include "matrix_exp.h"

namespace mlx_expm {

namespace {

[[noreturn]] void no_gpu() {
  throw std::runtime_error(
      "[matrix_exp] The GPU implementation is not available in this build. "
      "Pass stream=mx.cpu.");
}

} // namespace

void MatrixExp::eval_gpu(const std::vector<mx::array>&, std::vector<mx::array>&) {
  no_gpu();
}

void MatrixExpFrechet::eval_gpu(const std::vector<mx::array>&, std::vector<mx::array>&) {
  no_gpu();
}

} // namespace mlx_expm
