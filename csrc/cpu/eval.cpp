// eval_cpu of MatrixExp and MatrixExpFrechet: describe the job, decide how
// the batch is spread over threads, allocate the output and every worker's
// scratch memory from MLX's allocator, and queue the work on MLX's CPU stream.
// Also the test hook that reads the CPU kernels' plans.

#include <algorithm>
#include <memory>
#include <new>
#include <sstream>
#include <stdexcept>

#include "cpu/job.h"
#include "cpu/parallel.h"
#include "cpu/scratch.h"
#include "cpu/sizes.h"
#include "matrix_exp.h"
#include "mlx/allocator.h"
#include "mlx/backend/cpu/encoder.h"
#include "mlx/transforms.h"

namespace mlx_expm {

namespace {

// The kernels for this CPU's instruction set (isa.h).
struct Kernels {
  size_t (*scratch_bytes)(const cpu::Job&, int64_t);
  void (*run)(const cpu::Job&, void*, int64_t, int64_t);
  cpu::Plans (*plans)(const cpu::Job&);
};

const Kernels& kernels_for_this_cpu() {
  static const Kernels baseline{
      cpu::baseline::scratch_bytes, cpu::baseline::run, cpu::baseline::plans};
#if defined(__x86_64__) && defined(MLX_EXPM_HAVE_X86_64_V3)
  static const Kernels v3{
      cpu::x86_64_v3::scratch_bytes,
      cpu::x86_64_v3::run,
      cpu::x86_64_v3::plans};
  static const bool use_v3 = __builtin_cpu_supports("x86-64-v3");
  if (use_v3) {
    return v3;
  }
#endif
  return baseline;
}

// How the batch is spread: `workers` threads at once, each with its own
// scratch, claiming blocks of `grain` matrices.
struct Schedule {
  int workers;
  int64_t grain;
};

// Small matrices: blocks of many (lanes: a few hundred to a few thousand,
// four blocks per thread for balance; loops: about 1e6 flops). BLAS-sized
// ones: a matrix per thread while the batch has one per thread, else (and
// from kOneAtATimeMinN on) one at a time with each product split over the
// threads (blas.h). So the scratch in use at once is bounded by the threads,
// not by the batch.
Schedule schedule_for(const cpu::Job& job) {
  const int threads = cpu::max_threads();
  const int64_t count = job.a_layout.count;
  const int64_t n = job.a_layout.n;
  switch (cpu::path_for(job.dtype == mx::complex64, static_cast<int>(n))) {
    case cpu::Path::kLanes:
      return {
          threads,
          std::clamp<int64_t>(
              (count + 4 * threads - 1) / (4 * threads), 256, 4096)};
    case cpu::Path::kLoops:
      return {threads, std::max<int64_t>(1, 1000000 / (20 * n * n * n + 200))};
    case cpu::Path::kBlas:
    default:
      return {count >= threads && n < cpu::kOneAtATimeMinN ? threads : 1, 1};
  }
}

// Out of memory. MLX's CPU allocator returns a null buffer when the system
// refuses (its own ops then crash): this says what was asked for, as a
// MemoryError in Python, before any work is queued.
class OutOfMemory : public std::bad_alloc {
 public:
  explicit OutOfMemory(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override {
    return message_.c_str();
  }

 private:
  std::string message_;
};

mx::allocator::Data
allocate(size_t bytes, const char* what, const mx::array& result) {
  auto data = mx::allocator::malloc(bytes);
  if (bytes > 0 && data.buffer().ptr() == nullptr) {
    std::ostringstream msg;
    msg << "[matrix_exp] Out of memory: cannot allocate " << bytes
        << " bytes for " << what << " (result of shape "
        << shape_string(result.shape()) << ", " << result.dtype() << ").";
    throw OutOfMemory(msg.str());
  }
  return data;
}

} // namespace

// inputs: A (exp), or A and E (Frechet).
void MatrixExpPrimitive::eval_cpu(
    const std::vector<mx::array>& inputs,
    std::vector<mx::array>& outputs) {
  auto& encoder = mx::cpu::get_command_encoder(stream());
  auto& out = outputs[0];
  for (const auto& x : inputs) {
    encoder.set_input_array(x);
  }
  out.set_data(allocate(out.nbytes(), "the output", out));
  encoder.set_output_array(out);
  const auto& a = inputs[0];
  const auto& e = inputs.back();
  const cpu::Job job{
      out.dtype(),
      a.data<void>(),
      cpu::BatchLayout(a),
      inputs.size() > 1 ? e.data<void>() : nullptr,
      cpu::BatchLayout(e),
      out.data<void>()};

  const Kernels& kernels = kernels_for_this_cpu();
  Schedule schedule = schedule_for(job);
  schedule.workers = static_cast<int>(std::min<int64_t>(
      schedule.workers,
      (job.a_layout.count + schedule.grain - 1) / schedule.grain));
  const size_t per_worker = kernels.scratch_bytes(job, schedule.grain);
  auto scratch = std::make_shared<mx::allocator::Data>(allocate(
      schedule.workers * per_worker + cpu::Scratch::kAlign,
      "scratch memory",
      out));
  encoder.dispatch([job, schedule, per_worker, scratch, run = kernels.run]() {
    auto* base = static_cast<char*>(scratch->buffer().raw_ptr());
    base += (cpu::Scratch::kAlign -
             reinterpret_cast<uintptr_t>(base) % cpu::Scratch::kAlign) %
        cpu::Scratch::kAlign;
    cpu::parallel_for(
        job.a_layout.count,
        schedule.grain,
        schedule.workers,
        [&](int worker, int64_t begin, int64_t end) {
          run(job, base + worker * per_worker, begin, end);
        });
  });
}

namespace cpu {
Plans plans(mx::array a) {
  if (a.ndim() < 2 || a.shape(-1) != a.shape(-2) || a.shape(-1) < 2) {
    throw std::invalid_argument(
        "[_cpu_plans] Expected matrices (..., n, n) with n >= 2.");
  }
  mx::eval(a);
  const BatchLayout layout(a);
  // Some kernels learn their plans only by running (LanesKernel::plans).
  std::vector<char> out(a.size() * a.itemsize());
  return kernels_for_this_cpu().plans(
      {a.dtype(), a.data<void>(), layout, nullptr, layout, out.data()});
}
} // namespace cpu

} // namespace mlx_expm
