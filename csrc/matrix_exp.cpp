// The matrix_exp op: argument checks, dtype promotion and the cases that need
// no primitive. Messages follow MLX's "[op] what was expected, what was got".

#include <sstream>
#include <stdexcept>

#include "block_matrix.h"
#include "composed.h"
#include "cpu/parallel.h"
#include "cpu/sizes.h"
#include "matrix_exp.h"
#include "metal/plan.h"

namespace mlx_expm {

std::string shape_string(const mx::Shape& shape) {
  std::ostringstream out;
  out << "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    out << (i ? ", " : "") << shape[i];
  }
  out << (shape.size() == 1 ? ",)" : ")");
  return out.str();
}

namespace {

void check_square(const mx::array& a) {
  if (a.ndim() < 2) {
    std::ostringstream msg;
    msg << "[matrix_exp] Expected an array with at least 2 dimensions (..., n, n), "
        << "got shape " << shape_string(a.shape()) << ".";
    throw std::invalid_argument(msg.str());
  }
  if (a.shape(-1) != a.shape(-2)) {
    std::ostringstream msg;
    msg << "[matrix_exp] Expected square matrices in the last two axes, got shape "
        << shape_string(a.shape()) << ".";
    throw std::invalid_argument(msg.str());
  }
}

// Integers and bool compute in float32 (MLX's promotion for inexact ops).
// Also checks the device: float64 has no GPU kernel, and a bad
// MLX_EXPM_NUM_THREADS is reported here, at the call, for the CPU.
mx::Dtype result_dtype(mx::Dtype in, const mx::Stream& s) {
  if (s.device == mx::Device::cpu) {
    cpu::max_threads();
  }
  mx::Dtype out = mx::issubdtype(in, mx::inexact) ? in : mx::float32;
  if (out == mx::float64 && s.device == mx::Device::gpu) {
    throw std::invalid_argument(
        "[matrix_exp] float64 is not supported on the GPU. "
        "Pass stream=mx.cpu, or cast the input to float32.");
  }
  return out;
}

// On the GPU: the fused Metal kernel where it applies (it takes a
// (count, n, n) array), else the composition of MLX operations.
mx::array matrix_exp_gpu(const mx::array& x, mx::Stream stream) {
  const int n = x.shape(-1);
  if (!fused_kernel_runs_here() || !metal::fused_supported(kernel_dtype_name(x.dtype()), n)) {
    return matrix_exp_composed(x, stream);
  }
  auto flat = mx::reshape(x, {-1, n, n}, stream);
  auto out = mx::array(flat.shape(), flat.dtype(), std::make_shared<MatrixExp>(stream), {flat});
  return mx::reshape(out, x.shape(), stream);
}

} // namespace

std::string kernel_dtype_name(mx::Dtype dtype) {
  switch (dtype) {
    case mx::float32:
      return "float32";
    case mx::float16:
      return "float16";
    case mx::bfloat16:
      return "bfloat16";
    default:
      return "";
  }
}

mx::array matrix_exp(const mx::array& a, mx::StreamOrDevice s) {
  check_square(a);
  auto stream = mx::to_stream(s);
  auto x = mx::astype(a, result_dtype(a.dtype(), stream), stream);
  if (x.size() == 0) {
    return mx::zeros(x.shape(), x.dtype(), stream);
  }
  if (stream.device == mx::Device::gpu) {
    return matrix_exp_gpu(x, stream);
  }
  // Under a transformation a vjp may follow, and may want the tape.
  const bool with_tape = x.is_tracer() && x.shape(-1) >= cpu::kTapeMinN;
  return matrix_exp_outputs(x, stream, with_tape, false)[0];
}

std::vector<mx::array>
matrix_exp_outputs(const mx::array& x, mx::Stream s, bool with_tape, bool record) {
  auto primitive = std::make_shared<MatrixExp>(s, with_tape, record);
  if (!with_tape) {
    return {mx::array(x.shape(), x.dtype(), std::move(primitive), {x})};
  }
  auto shapes = primitive->output_shapes({x});
  return mx::array::make_arrays(std::move(shapes), {x.dtype(), tape_dtype(x.dtype())}, primitive, {x});
}

mx::Dtype tape_dtype(mx::Dtype dtype) {
  return dtype == mx::float16 || dtype == mx::bfloat16 ? mx::float32 : dtype;
}

std::vector<mx::Shape> MatrixExp::output_shapes(const std::vector<mx::array>& inputs) {
  auto shape = inputs[0].shape();
  if (!with_tape_) {
    return {shape};
  }
  auto tape = shape;
  tape[tape.size() - 2] *= cpu::kTapeProducts;
  return {shape, tape};
}

mx::array matrix_exp_frechet(const mx::array& a, const mx::array& e, mx::StreamOrDevice s) {
  check_square(a);
  auto stream = mx::to_stream(s);
  auto dtype = result_dtype(mx::promote_types(a.dtype(), e.dtype()), stream);
  auto inputs = mx::broadcast_arrays({mx::astype(a, dtype, stream), mx::astype(e, dtype, stream)}, stream);
  if (inputs[0].size() == 0) {
    return mx::zeros(inputs[0].shape(), dtype, stream);
  }
  if (stream.device == mx::Device::gpu) { // no Frechet kernel on the GPU yet
    auto exp_block = matrix_exp(upper_block(inputs[0], inputs[1], stream), stream);
    return block(exp_block, 0, 1, stream);
  }
  auto shape = inputs[0].shape();
  return mx::array(shape, dtype, std::make_shared<MatrixExpFrechet>(stream), std::move(inputs));
}

// Under vmap, a, e and the tape may differ in their leading axes (size 1 for
// an unbatched input): they are broadcast to one batch, in place.
mx::array matrix_exp_frechet_taped(
    const mx::array& a,
    const mx::array& e,
    const mx::array& tape,
    mx::Stream s) {
  auto batch_of = [](const mx::array& x) { return mx::Shape(x.shape().begin(), x.shape().end() - 2); };
  auto batch = mx::broadcast_shapes(mx::broadcast_shapes(batch_of(a), batch_of(e)), batch_of(tape));
  auto with_matrix = [&](const mx::array& x) {
    auto shape = batch;
    shape.push_back(x.shape(-2));
    shape.push_back(x.shape(-1));
    return mx::broadcast_to(x, shape, s);
  };
  std::vector<mx::array> inputs = {with_matrix(a), with_matrix(e), with_matrix(tape)};
  auto shape = inputs[0].shape();
  return mx::array(shape, a.dtype(), std::make_shared<MatrixExpFrechet>(s), std::move(inputs));
}

} // namespace mlx_expm
