// Test-only kernel, run by tests/test_metal_kernel.py through the emulator:
// the plan (degree, squarings) the fused kernel takes for each matrix, from
// the same load_matrix and plan_scheme of metal/matrix_exp.h, one simdgroup
// (and one threadgroup) per matrix. Not part of the metallib.

#include "matrix_exp.h"

template <int P>
[[kernel]] void matrix_exp_plans(
    device const float* in [[buffer(0)]],
    device int* plans [[buffer(1)]],
    constant MatrixExpParams& params [[buffer(2)]],
    threadgroup float* scratch [[threadgroup(0)]],
    uint group [[threadgroup_position_in_grid]],
    uint lane [[thread_index_in_simdgroup]]) {
  using namespace matrix_exp_kernel;
  const matrix_exp_int64 b = group;
  if (b >= params.count) {
    return;
  }
  const Workspace<P> ws{scratch, lane};
  bool bad = false;
  int halvings = 0;
  const float norm = load_matrix<float, P>(in, params, b, ws, bad, halvings);
  int degree = 0;
  int squarings = 0;
  if (!bad) {
    const Plan plan = plan_scheme(ws, norm, halvings);
    degree = mc::kDegrees[plan.degree_index];
    squarings = plan.squarings;
  }
  if (lane == 0) {
    plans[2 * b] = degree;
    plans[2 * b + 1] = squarings;
  }
}

template [[host_name("matrix_exp_plans_16")]] [[kernel]] decltype(matrix_exp_plans<16>)
    matrix_exp_plans<16>;
template [[host_name("matrix_exp_plans_32")]] [[kernel]] decltype(matrix_exp_plans<32>)
    matrix_exp_plans<32>;
