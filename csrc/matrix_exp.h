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

// exp(A): one input, one output.
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

  bool is_equivalent(const mx::Primitive&) const override {
    return true;
  }
};

// L(A, E): inputs A and E, one output. Evaluated by differentiating every
// product of the Taylor scheme (cpu/taylor.h), at about three times the cost
// of exp(A).
class MatrixExpFrechet : public mx::Primitive {
 public:
  explicit MatrixExpFrechet(mx::Stream stream) : mx::Primitive(stream) {}

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
    return "MatrixExpFrechet";
  }

  bool is_equivalent(const mx::Primitive&) const override {
    return true;
  }
};

} // namespace mlx_expm
