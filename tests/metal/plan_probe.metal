// A test-only kernel (tests/metal_emulator.py, plans): the plan the fused
// kernel's scheme takes for each matrix, from the same device functions
// (metal/matrix_exp.h: load_matrix, the Workspace algebra, plan_scheme and
// evaluate_planned), one simdgroup per matrix in a threadgroup of its own.
// Run through the emulator only; never part of the library.

#include "matrix_exp.h"

template <int P>
[[kernel]] void matrix_exp_plan_probe(
    device const float* in [[buffer(0)]],
    device int* plans [[buffer(1)]],
    constant MatrixExpParams& params [[buffer(2)]],
    threadgroup float* scratch [[threadgroup(0)]],
    uint group [[threadgroup_position_in_grid]],
    uint lane [[thread_index_in_simdgroup]]) {
  using namespace matrix_exp_kernel;
  const Workspace<P> ws{scratch, lane, int(params.n)};
  load_matrix(
      in, params, matrix_exp_int64(group), ws.slot(ms::kA), P, lane, 32u);
  ws.sync();
  ms::Norm<float> norm;
  int degree = 0;
  int squarings = 0;
  if (ms::finite_norm1(ws, norm) && ws.n() > 1) {
    ms::PowerNorms<float> norms;
    ms::Plan plan = ms::plan_scheme(ws, norm, norms);
    ms::evaluate_planned(ws, plan, norms, ms::plan_for_norm(norm).squarings);
    degree = ms::mc::kDegrees[plan.degree_index];
    squarings = plan.squarings;
  }
  if (lane == 0) {
    plans[2 * group] = degree;
    plans[2 * group + 1] = squarings;
  }
}

// clang-format off: the instantiations read as a table (to the end).
#define instantiate_plan_probe(padded)                                \
  template [[host_name("matrix_exp_plan_probe_" #padded)]] [[kernel]] \
  decltype(matrix_exp_plan_probe<padded>) matrix_exp_plan_probe<padded>;

instantiate_plan_probe(8)
instantiate_plan_probe(16)
instantiate_plan_probe(24)
instantiate_plan_probe(32)
