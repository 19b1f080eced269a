// The matrix_exp op and its primitives.
//
// The ops (matrix_exp.cpp) check and prepare their inputs; the primitives
// evaluate on the CPU (cpu/eval.cpp) or on the GPU (metal/eval.cpp), and
// know their derivatives and batching rules (primitive.cpp).

#pragma once

#include "mlx/ops.h"
#include "mlx/primitives.h"

namespace mlx_expm {

namespace mx = mlx::core;

// exp(A) for each matrix A over the last two axes of a.
mx::array matrix_exp(const mx::array& a, mx::StreamOrDevice s = {});

// The Frechet derivative L(A, E) of exp at A in direction E, for each pair of
// matrices of a and e (same shape and dtype).
mx::array matrix_exp_frechet(const mx::array& a, const mx::array& e, mx::StreamOrDevice s = {});

// The dtype's name in the fused kernel's instantiations ("float32"), or "".
std::string kernel_dtype_name(mx::Dtype dtype);

// What both primitives share: evaluation on each backend, one output shaped
// like the first input, no parameters.
class MatrixExpPrimitive : public mx::Primitive {
 public:
  using array = mx::array; // for MLX's DEFINE_* macros below
  explicit MatrixExpPrimitive(mx::Stream stream) : mx::Primitive(stream) {}

  void eval_cpu(const std::vector<mx::array>& inputs, std::vector<mx::array>& outputs)
      override;
  void eval_gpu(const std::vector<mx::array>& inputs, std::vector<mx::array>& outputs)
      override;

  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override {
    return {inputs[0].shape()};
  }

  bool is_equivalent(const mx::Primitive&) const override {
    return true;
  }
};

// exp(A): input A.
class MatrixExp : public MatrixExpPrimitive {
 public:
  using MatrixExpPrimitive::MatrixExpPrimitive;
  DEFINE_VMAP()
  DEFINE_GRADS()

  const char* name() const override {
    return "MatrixExp";
  }
};

// L(A, E): inputs A and E. Evaluated by differentiating every product of the
// Taylor scheme (cpu/taylor.h), at about three times the cost of exp(A).
class MatrixExpFrechet : public MatrixExpPrimitive {
 public:
  using MatrixExpPrimitive::MatrixExpPrimitive;
  DEFINE_VMAP()
  DEFINE_GRADS()

  const char* name() const override {
    return "MatrixExpFrechet";
  }
};

} // namespace mlx_expm
