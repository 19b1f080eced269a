// eval_gpu: MatrixExp runs the fused Metal kernel (metal/matrix_exp.metal) on
// a (count, n, n) input, MatrixExpFrechet the fused Frechet kernel on two
// (the tiled kernels for larger n, csrc/metal/plan.cpp); the ops
// (matrix_exp.cpp) send only what those kernels handle.

#include <stdexcept>

#include "matrix_exp.h"

#ifdef _METAL_
#include <dlfcn.h>

#include <filesystem>

#include "metal/plan.h"
#include "mlx/allocator.h"
#include "mlx/backend/metal/device.h"
#include "mlx/backend/metal/metal.h"
#endif

namespace mlx_expm {

#ifdef _METAL_

namespace {

namespace mp = matrix_exp_params;

// The directory of this extension, where mlx_expm_ext.metallib is installed.
std::string extension_dir() {
  static const std::string dir = [] {
    Dl_info info;
    if (!dladdr(reinterpret_cast<void*>(&extension_dir), &info)) {
      throw std::runtime_error(
          "[matrix_exp] Cannot locate the extension library.");
    }
    return std::filesystem::path(info.dli_fname).parent_path().string();
  }();
  return dir;
}

} // namespace

bool fused_kernel_runs_here() {
  static const bool yes = mx::metal::is_available() &&
      mx::metal::device(mx::Device::gpu)
          .mtl_device()
          ->supportsFamily(MTL::GPUFamilyApple7);
  return yes;
}

void MatrixExpPrimitive::eval_gpu(
    const std::vector<mx::array>& inputs,
    std::vector<mx::array>& outputs) {
  const auto& a = inputs[0];
  const bool frechet = inputs.size() == 2; // MatrixExpFrechet: A and E
  auto& out = outputs[0];
  out.set_data(mx::allocator::malloc(out.nbytes()));

  auto& s = stream();
  auto& d = mx::metal::device(s.device);
  // A unique library name: MLX caches libraries by name alone.
  auto* library = d.get_library("mlx_expm_ext", extension_dir());

  const auto dtype = kernel_dtype_name(out.dtype());
  const int n = a.shape(-1);
  auto* kernel =
      d.get_kernel(metal::fused_kernel_name(dtype, n, frechet), library);
  auto plan = metal::plan_fused(
      dtype,
      n,
      a.shape(0),
      a.strides()[0],
      a.strides()[1],
      a.strides()[2],
      static_cast<int>(kernel->maxTotalThreadsPerThreadgroup()),
      frechet);

  auto& encoder = mx::metal::get_command_encoder(s);
  encoder.set_compute_pipeline_state(kernel);
  encoder.set_input_array(a, mp::kInputBuffer);
  encoder.set_output_array(out, mp::kOutputBuffer);
  encoder.set_bytes(plan.params, mp::kParamsBuffer);
  if (frechet) {
    const auto& e = inputs[1];
    const MatrixExpParams e_params{
        n, a.shape(0), e.strides()[0], e.strides()[1], e.strides()[2]};
    encoder.set_input_array(e, mp::kDirectionBuffer);
    encoder.set_bytes(e_params, mp::kDirectionParamsBuffer);
  }
  if (plan.slots_bytes > 0) { // the tiled kernel's slots, freed after it ran
    mx::array slots(
        {static_cast<int>(plan.slots_bytes / sizeof(float))},
        mx::float32,
        nullptr,
        {});
    slots.set_data(mx::allocator::malloc(slots.nbytes()));
    encoder.set_output_array(slots, mp::kSlotsBuffer);
    encoder.add_temporary(std::move(slots));
  }
  encoder.set_threadgroup_memory_length(plan.scratch_bytes, mp::kScratchMemory);
  encoder.dispatch_threadgroups(
      MTL::Size(plan.groups, 1, 1), MTL::Size(plan.threads_per_group, 1, 1));
}

#else

bool fused_kernel_runs_here() {
  return false;
}

void MatrixExpPrimitive::eval_gpu(
    const std::vector<mx::array>&,
    std::vector<mx::array>&) {
  throw std::runtime_error(
      "[matrix_exp] This build has no Metal kernels; on a GPU stream the op composes "
      "MLX operations instead. Pass stream=mx.cpu to use the CPU kernels.");
}

#endif

} // namespace mlx_expm
