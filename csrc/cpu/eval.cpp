// MatrixExp::eval_cpu: picks the compute type for the dtype and runs the
// scheme on every matrix of the batch, on MLX's CPU stream.

#include <complex>

#include "cpu/batch.h"
#include "cpu/loop_algebra.h"
#include "matrix_exp.h"
#include "mlx/allocator.h"
#include "mlx/backend/cpu/encoder.h"

namespace mlx_expm {

namespace {

// In: the storage type; T: the compute type (float for half types).
template <typename In, typename T>
void matrix_exp_cpu(const mx::array& a, mx::array& out, mx::Stream stream) {
  out.set_data(mx::allocator::malloc(out.nbytes()));
  auto& encoder = mx::cpu::get_command_encoder(stream);
  encoder.set_input_array(a);
  encoder.set_output_array(out);
  encoder.dispatch([src = a.data<In>(),
                    dst = out.data<In>(),
                    layout = cpu::BatchLayout(a)]() {
    using Algebra = cpu::LoopAlgebra<T, 0, false>;
    const int n = layout.n;
    std::vector<T> workspace(static_cast<size_t>(cpu::kNumSlots) * n * n);
    Algebra alg(n, workspace.data());
    for (int64_t b = 0; b < layout.count; ++b) {
      In* result = dst + b * n * n;
      cpu::load(alg, cpu::kA, 0, src + layout.offset(b), layout);
      const int slot = cpu::run_scheme(alg);
      if (slot < 0) {
        cpu::fill_nan<T>(result, n);
      } else {
        cpu::store(alg, slot, 0, result);
      }
    }
  });
}

} // namespace

void MatrixExp::eval_cpu(
    const std::vector<mx::array>& inputs,
    std::vector<mx::array>& outputs) {
  const auto& a = inputs[0];
  auto& out = outputs[0];
  switch (out.dtype()) {
    case mx::float32:
      return matrix_exp_cpu<float, float>(a, out, stream());
    case mx::float64:
      return matrix_exp_cpu<double, double>(a, out, stream());
    case mx::float16:
      return matrix_exp_cpu<mx::float16_t, float>(a, out, stream());
    case mx::bfloat16:
      return matrix_exp_cpu<mx::bfloat16_t, float>(a, out, stream());
    case mx::complex64:
      return matrix_exp_cpu<mx::complex64_t, std::complex<float>>(a, out, stream());
    default:
      throw std::invalid_argument("[matrix_exp] Unsupported dtype on the CPU.");
  }
}

} // namespace mlx_expm
