// The matrix_exp op and its primitives.
//
// The ops (matrix_exp.cpp) check and prepare their inputs and choose where
// each call runs (route); the primitives evaluate on the CPU (cpu/eval.cpp)
// or on the GPU (metal/eval.cpp), and know their derivatives and batching
// rules (primitive.cpp).

#pragma once

#include "mlx/ops.h"
#include "mlx/primitives.h"

namespace mlx_expm {

namespace mx = mlx::core;

// exp(A) for each matrix A over the last two axes of a.
mx::array matrix_exp(const mx::array& a, mx::StreamOrDevice s = {});

// The Frechet derivative L(A, E) of exp at A in direction E, for each pair of
// matrices of a and e (broadcast against each other).
mx::array matrix_exp_frechet(
    const mx::array& a,
    const mx::array& e,
    mx::StreamOrDevice s = {});

// (exp(A), L(A, E)) for each pair of matrices of a and e (broadcast against
// each other): the public op, with its own checks and messages.
std::pair<mx::array, mx::array>
frechet(const mx::array& a, const mx::array& e, mx::StreamOrDevice s = {});

// complex64 exp(Z) and L(Z, E) through the real kernels: the same of the real
// embeddings [[Re, -Im], [Im, Re]] (block_matrix.h), in float32. What the op
// runs for complex64 on a GPU stream where the fused kernels take 2n; any
// stream here (a test hook on the CPU).
mx::array matrix_exp_by_embedding(
    const mx::array& z,
    mx::StreamOrDevice s = {});
mx::array matrix_exp_frechet_by_embedding(
    const mx::array& z,
    const mx::array& e,
    mx::StreamOrDevice s = {});

// "(2, 3)": a shape as Python writes it, for error messages.
std::string shape_string(const mx::Shape& shape);

// The dtype's name in the fused kernel's instantiations ("float32"), or "".
std::string kernel_dtype_name(mx::Dtype dtype);

// Whether this process's GPU can run the fused Metal kernel: a Metal build
// on an Apple7-family GPU (M1) or later, for simdgroup_matrix (and bfloat,
// Metal 3.1). The paravirtual GPUs of hosted macOS VMs report a lower family.
bool fused_kernel_runs_here();

// What both primitives share: evaluation on each backend, an output shaped
// like the first input.
class MatrixExpPrimitive : public mx::Primitive {
 public:
  using array = mx::array; // for MLX's DEFINE_* macros below
  explicit MatrixExpPrimitive(mx::Stream stream) : mx::Primitive(stream) {}

  void eval_cpu(
      const std::vector<mx::array>& inputs,
      std::vector<mx::array>& outputs) override;
  void eval_gpu(
      const std::vector<mx::array>& inputs,
      std::vector<mx::array>& outputs) override;

  std::vector<mx::Shape> output_shapes(
      const std::vector<mx::array>& inputs) override {
    return {inputs[0].shape()};
  }

  bool is_equivalent(const mx::Primitive&) const override {
    return true;
  }
};

// exp(A): input A. On the GPU only the fused kernel evaluates it, on a
// (count, n, n) input.
class MatrixExp : public MatrixExpPrimitive {
 public:
  using MatrixExpPrimitive::MatrixExpPrimitive;
  DEFINE_VMAP()
  DEFINE_GRADS()

  const char* name() const override {
    return "MatrixExp";
  }
};

// L(A, E): inputs A and E (same shape). Evaluated on the CPU by
// differentiating every product of the Taylor scheme
// (metal/matrix_exp_scheme.h), at about three times the cost of exp(A).
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
