#include "composed.h"

// plan_for_norm, built for the baseline instruction set like this file.
#define MLX_EXPM_ISA baseline
#include "cpu/taylor.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "matrix_exp.h"
#include "matrix_exp_constants.h"
#include "mlx/transforms.h"

namespace mlx_expm {

namespace {

namespace mc = matrix_exp_constants;

// sum_j c[j] x[j] + c_identity I
mx::array combination(
    const double* c,
    const std::vector<mx::array>& x,
    const mx::array& eye,
    mx::Stream s) {
  auto out = mx::multiply(mx::array(c[0], eye.dtype()), eye, s);
  for (size_t j = 0; j < x.size(); ++j) {
    out = mx::add(out, mx::multiply(mx::array(c[j + 1], eye.dtype()), x[j], s), s);
  }
  return out;
}

// T18(a), [BBC19] as in csrc/cpu/taylor.h: 5 matrix products.
mx::array taylor18(const mx::array& a, mx::Stream s) {
  auto real = mx::issubdtype(a.dtype(), mx::complexfloating) ? mx::float32 : a.dtype();
  auto eye = mx::astype(mx::eye(a.shape(-1), real, s), a.dtype(), s);
  auto a2 = mx::matmul(a, a, s);
  auto a3 = mx::matmul(a, a2, s);
  auto a6 = mx::matmul(a3, a3, s);
  std::vector<mx::array> basis{a, a2, a3, a6};
  std::vector<mx::array> b;
  for (int row = 0; row < 5; ++row) {
    double c[5];
    for (int k = 0; k < 5; ++k) {
      c[k] = mc::kT18[row][k];
    }
    b.push_back(combination(c, basis, eye, s));
  }
  auto a9 = mx::add(b[3], mx::matmul(b[0], b[4], s), s);
  return mx::add(b[1], mx::matmul(mx::add(b[2], a9, s), a9, s), s);
}

} // namespace

mx::array matrix_exp_composed(const mx::array& x, mx::Stream s) {
  const auto dtype = x.dtype();
  const bool half = dtype == mx::float16 || dtype == mx::bfloat16;
  auto a = half ? mx::astype(x, mx::float32, s) : x;
  // Finite entries may sum past the largest finite number: then the norm of
  // A / 2^h is used, as in cpu/batch.h's finite_norm1.
  const int halvings = static_cast<int>(std::ceil(std::log2(static_cast<double>(x.shape(-1))))) + 1;
  auto abs_a = mx::abs(a, s);
  auto norm1 = [&](const mx::array& y) {
    return mx::astype(mx::max(mx::sum(y, -2, false, s), -1, false, s), mx::float64, mx::Device::cpu);
  };
  auto norms = norm1(abs_a);
  auto scaled_norms = norm1(mx::multiply(abs_a, mx::array(std::ldexp(1.0f, -halvings)), s));
  try {
    mx::eval({norms, scaled_norms});
  } catch (const std::invalid_argument&) {
    // Inside mx.compile or mx.vmap nothing can be read back.
    return matrix_exp(x, mx::default_stream(mx::Device::cpu));
  }

  // The CPU kernels' plan (degrees below 18 need no scaling): s for T18.
  auto scaling = [&](double norm, int h) {
    return dtype == mx::float64
        ? cpu::baseline::plan_for_norm(cpu::baseline::Norm<double>{norm, h}).squarings
        : cpu::baseline::plan_for_norm(cpu::baseline::Norm<float>{static_cast<float>(norm), h})
              .squarings;
  };
  const auto batch = norms.shape();
  const size_t count = norms.size();
  const double* norm = norms.data<double>();
  const double* scaled_norm = scaled_norms.data<double>();
  // A / 2^s as (A 2^-s1) 2^-s2, s1 <= 64: 2^-s alone is subnormal for
  // s > 126 in float32, and GPUs flush subnormals to zero.
  std::vector<double> scale_1(count);
  std::vector<double> scale_2(count);
  std::vector<int> exponent(count);
  std::vector<bool> finite(count);
  int max_s = 0;
  for (size_t i = 0; i < count; ++i) {
    const bool overflow = std::isinf(norm[i]);
    finite[i] = std::isfinite(overflow ? scaled_norm[i] : norm[i]);
    exponent[i] = !finite[i]   ? 0
        : overflow ? scaling(scaled_norm[i], halvings)
                   : scaling(norm[i], 0);
    scale_1[i] = std::ldexp(1.0, -std::min(exponent[i], 64));
    scale_2[i] = std::ldexp(1.0, std::min(exponent[i], 64) - exponent[i]);
    max_s = std::max(max_s, exponent[i]);
  }

  auto matrix_shape = [&](mx::array v) {
    auto shape = batch;
    shape.push_back(1);
    shape.push_back(1);
    return mx::reshape(v, shape, s);
  };
  auto real = dtype == mx::float64 ? mx::float64 : mx::float32;
  auto scales_1 = mx::astype(matrix_shape(mx::array(scale_1.begin(), batch, real)), a.dtype(), s);
  auto scales_2 = mx::astype(matrix_shape(mx::array(scale_2.begin(), batch, real)), a.dtype(), s);
  auto exponents = matrix_shape(mx::array(exponent.begin(), batch, mx::int32));
  std::vector<char> finite_bytes(finite.begin(), finite.end());
  auto ok = matrix_shape(mx::array(finite_bytes.begin(), batch, mx::bool_));

  auto r = taylor18(mx::multiply(mx::multiply(a, scales_1, s), scales_2, s), s);
  for (int k = 0; k < max_s; ++k) {
    auto squared = mx::matmul(r, r, s);
    r = mx::where(mx::greater(exponents, mx::array(k), s), squared, r, s);
  }
  const float q = std::numeric_limits<float>::quiet_NaN();
  auto nan = r.dtype() == mx::complex64 ? mx::array(mx::complex64_t(q, q)) : mx::array(q, r.dtype());
  r = mx::where(ok, r, nan, s);
  return half ? mx::astype(r, dtype, s) : r;
}

} // namespace mlx_expm
