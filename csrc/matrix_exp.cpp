// The matrix_exp op: argument checks, dtype promotion, the cases that need no
// primitive, and where each call runs. Messages follow MLX's "[op] what was
// expected, what was got".

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "block_matrix.h"
#include "cpu/parallel.h"
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

// `what`: how the message names the array ("" for matrix_exp's one input).
void check_square(const char* op, const mx::array& a, const char* what = "") {
  if (a.ndim() < 2) {
    std::ostringstream msg;
    msg << "[" << op << "] Expected " << (*what ? what : "an array")
        << " with at least 2 dimensions (..., n, n), got shape "
        << shape_string(a.shape()) << ".";
    throw std::invalid_argument(msg.str());
  }
  if (a.shape(-1) != a.shape(-2)) {
    std::ostringstream msg;
    msg << "[" << op << "] Expected square matrices in the last two axes"
        << (*what ? " of " : "") << what << ", got shape "
        << shape_string(a.shape()) << ".";
    throw std::invalid_argument(msg.str());
  }
}

// frechet's a and e: matrices of one size, batch shapes that broadcast.
void check_pair(const mx::array& a, const mx::array& e) {
  check_square("frechet", a, "a");
  check_square("frechet", e, "e");
  bool broadcast = a.shape(-1) == e.shape(-1);
  for (int i = 3;
       broadcast && i <= static_cast<int>(std::min(a.ndim(), e.ndim()));
       ++i) {
    broadcast =
        a.shape(-i) == e.shape(-i) || a.shape(-i) == 1 || e.shape(-i) == 1;
  }
  if (!broadcast) {
    std::ostringstream msg;
    msg << "[frechet] Expected a and e of the same matrix size with batch "
        << "shapes that broadcast, got shapes " << shape_string(a.shape())
        << " and " << shape_string(e.shape()) << ".";
    throw std::invalid_argument(msg.str());
  }
}

// Integers and bool compute in float32 (MLX's promotion for inexact ops).
// Also checks the device: float64 is refused on the GPU, as MLX refuses it,
// and a bad MLX_EXPM_NUM_THREADS is reported here, at the call.
mx::Dtype result_dtype(const char* op, mx::Dtype in, const mx::Stream& s) {
  cpu::max_threads();
  mx::Dtype out = mx::issubdtype(in, mx::inexact) ? in : mx::float32;
  if (out == mx::float64 && s.device == mx::Device::gpu) {
    std::ostringstream msg;
    msg << "[" << op << "] float64 is not supported on the GPU. "
        << "Pass stream=mx.cpu, or cast the input to float32.";
    throw std::invalid_argument(msg.str());
  }
  return out;
}

// Where a call runs, decided here and only here (README, "Devices"):
// - on a CPU stream, the CPU kernels (cpu/eval.cpp);
// - on a GPU stream where a Metal kernel of ours applies (fused): that
//   kernel, for exp(A) (fused to n = 32, tiled to 128) or (frechet) for
//   L(A, E) (fused to n = 24, tiled to 128); complex64 where the kernel takes
//   its 2n x 2n real embedding (by_embedding);
// - any other GPU case (n > 128, complex64 n > 64, a GPU below the Apple7
//   family, CUDA): the CPU kernels, as a node of the graph on MLX's default
//   CPU stream. No host synchronisation, also under mx.compile and mx.vmap; on
//   Apple silicon's unified memory no copy either.
bool fused(mx::Dtype dtype, int n, const mx::Stream& s) {
  return s.device == mx::Device::gpu && fused_kernel_runs_here() &&
      metal::fused_supported(kernel_dtype_name(dtype), n);
}

// complex64 on a GPU stream: through the real kernels, on the embedding.
bool by_embedding(mx::Dtype dtype, int n, const mx::Stream& s) {
  return dtype == mx::complex64 && fused(mx::float32, 2 * n, s);
}

// Primitive P on the GPU stream s, whose kernels take (count, n, n) arrays:
// the inputs (of one shape) flattened to that, the result shaped back.
template <class P>
mx::array on_the_gpu(const std::vector<mx::array>& inputs, mx::Stream s) {
  const auto& shape = inputs[0].shape();
  const int n = shape.back();
  std::vector<mx::array> flat;
  for (const auto& x : inputs) {
    flat.push_back(mx::reshape(x, {-1, n, n}, s));
  }
  auto out = mx::array(
      flat[0].shape(),
      inputs[0].dtype(),
      std::make_shared<P>(s),
      std::move(flat));
  return mx::reshape(out, shape, s);
}

mx::Stream cpu_stream_for(const mx::Stream& s) {
  return s.device == mx::Device::cpu ? s : mx::default_stream(mx::Device::cpu);
}

} // namespace

mx::array matrix_exp_by_embedding(const mx::array& z, mx::StreamOrDevice s) {
  auto stream = mx::to_stream(s);
  return from_real_embedding(
      matrix_exp(real_embedding(z, stream), stream), stream);
}

mx::array matrix_exp_frechet_by_embedding(
    const mx::array& z,
    const mx::array& e,
    mx::StreamOrDevice s) {
  auto stream = mx::to_stream(s);
  return from_real_embedding(
      matrix_exp_frechet(
          real_embedding(z, stream), real_embedding(e, stream), stream),
      stream);
}

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
  check_square("matrix_exp", a);
  auto stream = mx::to_stream(s);
  auto x = mx::astype(a, result_dtype("matrix_exp", a.dtype(), stream), stream);
  if (x.size() == 0) {
    return mx::zeros(x.shape(), x.dtype(), stream);
  }
  const int n = x.shape(-1);
  if (by_embedding(x.dtype(), n, stream)) {
    return matrix_exp_by_embedding(x, stream);
  }
  if (fused(x.dtype(), n, stream)) {
    return on_the_gpu<MatrixExp>({x}, stream);
  }
  return mx::array(
      x.shape(),
      x.dtype(),
      std::make_shared<MatrixExp>(cpu_stream_for(stream)),
      {x});
}

mx::array matrix_exp_frechet(
    const mx::array& a,
    const mx::array& e,
    mx::StreamOrDevice s) {
  check_square("matrix_exp", a);
  auto stream = mx::to_stream(s);
  auto dtype = result_dtype(
      "matrix_exp", mx::promote_types(a.dtype(), e.dtype()), stream);
  auto inputs = mx::broadcast_arrays(
      {mx::astype(a, dtype, stream), mx::astype(e, dtype, stream)}, stream);
  auto shape = inputs[0].shape();
  if (inputs[0].size() == 0) {
    return mx::zeros(shape, dtype, stream);
  }
  const int n = a.shape(-1);
  if (by_embedding(dtype, n, stream)) {
    return matrix_exp_frechet_by_embedding(inputs[0], inputs[1], stream);
  }
  if (fused(dtype, n, stream)) {
    return on_the_gpu<MatrixExpFrechet>(inputs, stream);
  }
  return mx::array(
      shape,
      dtype,
      std::make_shared<MatrixExpFrechet>(cpu_stream_for(stream)),
      std::move(inputs));
}

// exp(A) is MatrixExp of a alone (broadcast after, not computed per pair),
// L the Frechet primitive: each on its own kernel, wherever it runs.
std::pair<mx::array, mx::array>
frechet(const mx::array& a, const mx::array& e, mx::StreamOrDevice s) {
  check_pair(a, e);
  auto stream = mx::to_stream(s);
  auto dtype =
      result_dtype("frechet", mx::promote_types(a.dtype(), e.dtype()), stream);
  auto x = mx::astype(a, dtype, stream);
  auto shape = mx::broadcast_shapes(x.shape(), e.shape());
  return {
      mx::broadcast_to(matrix_exp(x, stream), shape, stream),
      matrix_exp_frechet(x, e, stream)};
}

} // namespace mlx_expm
