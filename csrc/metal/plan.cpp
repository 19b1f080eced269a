#include "metal/plan.h"

#include <algorithm>
#include <stdexcept>

#include "matrix_exp_scheme.h"

namespace mlx_expm::metal {

namespace mp = matrix_exp_params;

namespace {

// Threadgroup memory a threadgroup may take, leaving room for a second
// threadgroup on the same GPU core: a tuning guess, to be measured on a Mac.
constexpr size_t kScratchBudget = 16 * 1024;
// Apple GPUs' limit per threadgroup.
constexpr size_t kScratchLimit = 32 * 1024;
// Simdgroups per threadgroup at most (256 threads).
constexpr int kMaxMatricesPerGroup = 8;
// The tiled kernel: threads per threadgroup (8 simdgroups share a product's
// tiles: 16 to 256 tiles from n = 33 to 128), and threadgroups at most (each
// owns kNumSlots P x P floats of device memory: 117 MB at P = 128), a
// tuning guess, to be measured on a Mac.
constexpr int kTiledThreads = 256;
constexpr int64_t kMaxTiledGroups = 256;

// n rounded up to whole 8 x 8 tiles: the kernel instance's P.
int padded_size(int n) {
  return (n + mp::kTile - 1) / mp::kTile * mp::kTile;
}

// Whether n x n matrices take a tiled kernel (slots in device memory).
bool tiled(int n, bool frechet) {
  return n > (frechet ? mp::kMaxPaddedFrechet : mp::kMaxPadded);
}

} // namespace

bool fused_dtype(const std::string& dtype) {
  return dtype == "float32" || dtype == "float16" || dtype == "bfloat16";
}

bool fused_supported(const std::string& dtype, int n) {
  return fused_dtype(dtype) && n >= 1 && n <= mp::kMaxPaddedTiled;
}

std::string fused_kernel_name(const std::string& dtype, int n, bool frechet) {
  if (tiled(n, frechet)) {
    return std::string(
               frechet ? "matrix_exp_frechet_tiled_" : "matrix_exp_tiled_") +
        dtype;
  }
  return std::string(
             frechet ? "matrix_exp_frechet_fused_" : "matrix_exp_fused_") +
      dtype + "_" + std::to_string(padded_size(n));
}

FusedPlan plan_fused(
    const std::string& dtype,
    int n,
    int64_t count,
    int64_t batch_stride,
    int64_t row_stride,
    int64_t col_stride,
    int max_threads_per_group,
    bool frechet) {
  if (!fused_supported(dtype, n) || count < 1) {
    throw std::invalid_argument(
        "[matrix_exp] No fused kernel for this dtype and size.");
  }
  const int padded = padded_size(n);
  FusedPlan plan;
  plan.kernel = fused_kernel_name(dtype, n, frechet);
  plan.padded = padded;
  plan.params = MatrixExpParams{n, count, batch_stride, row_stride, col_stride};
  if (tiled(n, frechet)) {
    plan.matrices_per_group = 1;
    plan.threads_per_group = std::min(
        kTiledThreads, max_threads_per_group / mp::kSimdWidth * mp::kSimdWidth);
    plan.scratch_bytes = sizeof(float) * (mp::kMaxSimdgroups + 2 * padded);
    plan.groups = std::min(count, kMaxTiledGroups);
    plan.slots_bytes = sizeof(float) * plan.groups * (frechet ? 2 : 1) *
        matrix_exp_scheme::kNumSlots * padded * padded;
    if (plan.threads_per_group < mp::kSimdWidth) {
      throw std::logic_error(
          "[matrix_exp] Tiled plan needs a simdgroup per threadgroup.");
    }
    return plan;
  }
  // A dual slot (matrix_exp.h) holds X and dX.
  const size_t bytes_per_matrix = sizeof(float) * (frechet ? 2 : 1) *
      matrix_exp_scheme::kNumSlots * padded * padded;
  int per_group =
      static_cast<int>(std::max<size_t>(1, kScratchBudget / bytes_per_matrix));
  per_group = std::min(
      {per_group,
       kMaxMatricesPerGroup,
       max_threads_per_group / mp::kSimdWidth});
  per_group = static_cast<int>(std::min<int64_t>(per_group, count));
  per_group = std::max(per_group, 1);

  plan.matrices_per_group = per_group;
  plan.threads_per_group = per_group * mp::kSimdWidth;
  plan.scratch_bytes = per_group * bytes_per_matrix;
  plan.slots_bytes = 0;
  plan.groups = (count + per_group - 1) / per_group;
  if (plan.scratch_bytes > kScratchLimit ||
      plan.threads_per_group > max_threads_per_group) {
    throw std::logic_error(
        "[matrix_exp] Fused plan exceeds the threadgroup limits.");
  }
  return plan;
}

} // namespace mlx_expm::metal
