// The matrix_exp op and the MatrixExp primitive.
//
// The op (matrix_exp.cpp) checks and prepares its input; the primitive
// evaluates exp of every matrix of a (..., n, n) array on the CPU
// (cpu/eval.cpp) or on the GPU (metal/eval.cpp), and knows its derivatives
// and its batching rule (primitive.cpp).

#pragma once

#include "mlx/ops.h"
#include "mlx/primitives.h"

namespace mlx_expm {

namespace mx = mlx::core;

// exp(A) for each matrix A over the last two axes of a.
mx::array matrix_exp(const mx::array& a, mx::StreamOrDevice s = {});

class MatrixExp : public mx::Primitive {
 public:
  explicit MatrixExp(mx::Stream stream) : mx::Primitive(stream) {}

  void eval_cpu(const std::vector<mx::array>& inputs, std::vector<mx::array>& outputs)
      override;
  void eval_gpu(const std::vector<mx::array>& inputs, std::vector<mx::array>& outputs)
      override;

  std::vector<mx::array> jvp(
      const std::vector<mx::array>& primals,
      const std::vector<mx::array>& tangents,
      const std::vector<int>& argnums) override;

  std::vector<mx::array> vjp(
      const std::vector<mx::array>& primals,
      const std::vector<mx::array>& cotangents,
      const std::vector<int>& argnums,
      const std::vector<mx::array>& outputs) override;

  std::pair<std::vector<mx::array>, std::vector<int>> vmap(
      const std::vector<mx::array>& inputs,
      const std::vector<int>& axes) override;

  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override {
    return {inputs[0].shape()};
  }

  const char* name() const override {
    return "MatrixExp";
  }

  bool is_equivalent(const mx::Primitive& other) const override {
    return true;
  }
};

} // namespace mlx_expm
