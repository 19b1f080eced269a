// The matrix_exp op and its primitives.
//
// The ops (matrix_exp.cpp) check and prepare their inputs; the primitives
// evaluate on the CPU (cpu/eval.cpp) or on the GPU (metal/eval.cpp), and
// know their derivatives and batching rules (primitive.cpp).

#pragma once

#include <atomic>

#include "mlx/ops.h"
#include "mlx/primitives.h"

namespace mlx_expm {

namespace mx = mlx::core;

// exp(A) for each matrix A over the last two axes of a.
mx::array matrix_exp(const mx::array& a, mx::StreamOrDevice s = {});

// The Frechet derivative L(A, E) of exp at A in direction E, for each pair of
// matrices of a and e (same shape and dtype).
mx::array matrix_exp_frechet(const mx::array& a, const mx::array& e, mx::StreamOrDevice s = {});

// The outputs of a MatrixExp on x (an input the op has checked and cast on
// a CPU stream): exp(A) and, with_tape, the tape (cpu/tape.h), which the
// primitive records if `record`.
std::vector<mx::array>
matrix_exp_outputs(const mx::array& x, mx::Stream s, bool with_tape, bool record);

// The tape's dtype for an input of this dtype: the compute type.
mx::Dtype tape_dtype(mx::Dtype dtype);

// L(A, E) from the tape of exp(A): a, e and tape as matrix_exp_outputs and
// the vjp (primitive.cpp) make them.
mx::array matrix_exp_frechet_taped(
    const mx::array& a,
    const mx::array& e,
    const mx::array& tape,
    mx::Stream s);

// "(2, 3)": a shape as Python writes it, for error messages.
std::string shape_string(const mx::Shape& shape);

// The dtype's name in the fused kernel's instantiations ("float32"), or "".
std::string kernel_dtype_name(mx::Dtype dtype);

// Whether this process's GPU can run the fused Metal kernel: a Metal build
// on an Apple7-family GPU (M1) or later, for simdgroup_matrix (and bfloat,
// Metal 3.1). The paravirtual GPUs of hosted macOS VMs report a lower family.
bool fused_kernel_runs_here();

// What both primitives share: evaluation on each backend, a first output
// shaped like the first input.
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

 protected:
  // Whether eval_cpu writes the tape output (cpu/tape.h).
  virtual bool records_tape() const {
    return false;
  }
};

// exp(A): input A. On the CPU under a transformation, with a second output,
// the tape (cpu/tape.h): the results of the scheme's products, written only
// once a vjp has asked for them (primitive.cpp), read by that vjp.
class MatrixExp : public MatrixExpPrimitive {
 public:
  MatrixExp(mx::Stream stream, bool with_tape = false, bool record = false)
      : MatrixExpPrimitive(stream), with_tape_(with_tape), record_(record) {}
  DEFINE_VMAP()
  DEFINE_GRADS()

  const char* name() const override {
    return "MatrixExp";
  }

  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override;

  bool is_equivalent(const mx::Primitive& other) const override {
    const auto& o = static_cast<const MatrixExp&>(other);
    return with_tape_ == o.with_tape_ && record_ == o.record_;
  }

 protected:
  bool records_tape() const override {
    return record_;
  }

 private:
  bool with_tape_;
  std::atomic<bool> record_;
};

// L(A, E): inputs A and E, and possibly the tape of exp(A). Evaluated by
// differentiating every product of the Taylor scheme (cpu/taylor.h), at
// about three times the cost of exp(A), two with the tape.
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
