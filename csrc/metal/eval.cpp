// MatrixExp::eval_gpu. The Metal kernels are not built yet.

#include <stdexcept>

#include "matrix_exp.h"

namespace mlx_expm {

void MatrixExp::eval_gpu(const std::vector<mx::array>&, std::vector<mx::array>&) {
  throw std::runtime_error(
      "[matrix_exp] The GPU implementation is not available in this build. "
      "Pass stream=mx.cpu.");
}

} // namespace mlx_expm
