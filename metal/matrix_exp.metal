// The fused kernels: one dispatch computes exp of every matrix of the batch
// (matrix_exp_fused), or the Frechet derivative L(A, E) of every pair
// (matrix_exp_frechet_fused), one simdgroup per matrix, several matrices per
// threadgroup (see matrix_exp.h; the host side is csrc/metal/); and for
// larger n, exp with one threadgroup per matrix and the slots in device
// memory (matrix_exp_tiled, see matrix_exp_tiled.h).
//
// Threadgroup memory `scratch`: simdgroups_per_threadgroup * kNumSlots * P * P
// floats, twice that for L, set by the host (csrc/metal/plan.cpp). Buffer
// indices are those of matrix_exp_params.h (tests/test_metal_plan.py checks
// that they agree).

#include "matrix_exp.h"
#include "matrix_exp_tiled.h"

template <typename T, int P>
[[kernel]] void matrix_exp_fused(
    device const T* in [[buffer(0)]],
    device T* out [[buffer(1)]],
    constant MatrixExpParams& params [[buffer(2)]],
    threadgroup float* scratch [[threadgroup(0)]],
    uint group [[threadgroup_position_in_grid]],
    uint simd_group [[simdgroup_index_in_threadgroup]],
    uint simd_groups [[simdgroups_per_threadgroup]],
    uint lane [[thread_index_in_simdgroup]]) {
  using namespace matrix_exp_kernel;
  const matrix_exp_int64 b = matrix_exp_int64(group) * simd_groups + simd_group;
  // A simdgroup past the end of the batch leaves as a whole: no simdgroup of
  // the threadgroup waits for another.
  if (b >= params.count) {
    return;
  }
  const Workspace<P> ws{
      scratch + simd_group * ms::kNumSlots * P * P, lane, int(params.n)};
  matrix_exp_one<T>(in, out, params, b, ws);
}

template <typename T, int P>
[[kernel]] void matrix_exp_frechet_fused(
    device const T* in [[buffer(0)]],
    device T* out [[buffer(1)]],
    constant MatrixExpParams& params [[buffer(2)]],
    device const T* direction [[buffer(3)]],
    constant MatrixExpParams& direction_params [[buffer(4)]],
    threadgroup float* scratch [[threadgroup(0)]],
    uint group [[threadgroup_position_in_grid]],
    uint simd_group [[simdgroup_index_in_threadgroup]],
    uint simd_groups [[simdgroups_per_threadgroup]],
    uint lane [[thread_index_in_simdgroup]]) {
  using namespace matrix_exp_kernel;
  const matrix_exp_int64 b = matrix_exp_int64(group) * simd_groups + simd_group;
  if (b >= params.count) {
    return;
  }
  const Workspace<P, true> ws{
      scratch + simd_group * 2 * ms::kNumSlots * P * P, lane, int(params.n)};
  frechet_one<T>(in, direction, out, params, direction_params, b, ws);
}

// Threadgroup g computes matrices g, g + groups, ... in its region of `slots`;
// `shared` holds tiled_shared_floats(P) floats.
template <typename T>
[[kernel]] void matrix_exp_tiled(
    device const T* in [[buffer(0)]],
    device T* out [[buffer(1)]],
    constant MatrixExpParams& params [[buffer(2)]],
    device float* slots [[buffer(5)]],
    threadgroup float* shared [[threadgroup(0)]],
    uint group [[threadgroup_position_in_grid]],
    uint groups [[threadgroups_per_grid]],
    uint index [[thread_index_in_threadgroup]],
    uint threads [[threads_per_threadgroup]],
    uint simd_group [[simdgroup_index_in_threadgroup]],
    uint simd_groups [[simdgroups_per_threadgroup]],
    uint lane [[thread_index_in_simdgroup]]) {
  using namespace matrix_exp_kernel;
  const int padded = (int(params.n) + mp::kTile - 1) / mp::kTile * mp::kTile;
  const TiledWorkspace<false> ws{
      slots + matrix_exp_int64(group) * ms::kNumSlots * padded * padded,
      shared,
      index,
      threads,
      simd_group,
      simd_groups,
      lane,
      int(params.n),
      padded};
  for (matrix_exp_int64 b = group; b < params.count; b += groups) {
    matrix_exp_one<T>(in, out, params, b, ws);
  }
}

// As matrix_exp_tiled, for L(A, E) of each pair, on dual slots.
template <typename T>
[[kernel]] void matrix_exp_frechet_tiled(
    device const T* in [[buffer(0)]],
    device T* out [[buffer(1)]],
    constant MatrixExpParams& params [[buffer(2)]],
    device const T* direction [[buffer(3)]],
    constant MatrixExpParams& direction_params [[buffer(4)]],
    device float* slots [[buffer(5)]],
    threadgroup float* shared [[threadgroup(0)]],
    uint group [[threadgroup_position_in_grid]],
    uint groups [[threadgroups_per_grid]],
    uint index [[thread_index_in_threadgroup]],
    uint threads [[threads_per_threadgroup]],
    uint simd_group [[simdgroup_index_in_threadgroup]],
    uint simd_groups [[simdgroups_per_threadgroup]],
    uint lane [[thread_index_in_simdgroup]]) {
  using namespace matrix_exp_kernel;
  const int padded = (int(params.n) + mp::kTile - 1) / mp::kTile * mp::kTile;
  const TiledWorkspace<true> ws{
      slots + matrix_exp_int64(group) * 2 * ms::kNumSlots * padded * padded,
      shared,
      index,
      threads,
      simd_group,
      simd_groups,
      lane,
      int(params.n),
      padded};
  for (matrix_exp_int64 b = group; b < params.count; b += groups) {
    frechet_one<T>(in, direction, out, params, direction_params, b, ws);
  }
}

// clang-format off: the instantiations read as a table (to the end of the file).
#define instantiate_matrix_exp_fused(tname, type, padded)                        \
  template [[host_name("matrix_exp_fused_" #tname "_" #padded)]] [[kernel]]      \
  decltype(matrix_exp_fused<type, padded>) matrix_exp_fused<type, padded>;

#define instantiate_matrix_exp_fused_sizes(tname, type) \
  instantiate_matrix_exp_fused(tname, type, 8)          \
  instantiate_matrix_exp_fused(tname, type, 16)         \
  instantiate_matrix_exp_fused(tname, type, 24)         \
  instantiate_matrix_exp_fused(tname, type, 32)

instantiate_matrix_exp_fused_sizes(float32, float)
instantiate_matrix_exp_fused_sizes(float16, half)
instantiate_matrix_exp_fused_sizes(bfloat16, bfloat)

#define instantiate_matrix_exp_frechet_fused(tname, type, padded)                \
  template [[host_name("matrix_exp_frechet_fused_" #tname "_" #padded)]]         \
  [[kernel]] decltype(matrix_exp_frechet_fused<type, padded>)                    \
  matrix_exp_frechet_fused<type, padded>;

#define instantiate_matrix_exp_frechet_fused_sizes(tname, type) \
  instantiate_matrix_exp_frechet_fused(tname, type, 8)          \
  instantiate_matrix_exp_frechet_fused(tname, type, 16)         \
  instantiate_matrix_exp_frechet_fused(tname, type, 24)

instantiate_matrix_exp_frechet_fused_sizes(float32, float)
instantiate_matrix_exp_frechet_fused_sizes(float16, half)
instantiate_matrix_exp_frechet_fused_sizes(bfloat16, bfloat)

#define instantiate_matrix_exp_tiled(tname, type)                    \
  template [[host_name("matrix_exp_tiled_" #tname)]] [[kernel]]      \
  decltype(matrix_exp_tiled<type>) matrix_exp_tiled<type>;

instantiate_matrix_exp_tiled(float32, float)
instantiate_matrix_exp_tiled(float16, half)
instantiate_matrix_exp_tiled(bfloat16, bfloat)

#define instantiate_matrix_exp_frechet_tiled(tname, type)                  \
  template [[host_name("matrix_exp_frechet_tiled_" #tname)]] [[kernel]]    \
  decltype(matrix_exp_frechet_tiled<type>) matrix_exp_frechet_tiled<type>;

instantiate_matrix_exp_frechet_tiled(float32, float)
instantiate_matrix_exp_frechet_tiled(float16, half)
instantiate_matrix_exp_frechet_tiled(bfloat16, bfloat)
