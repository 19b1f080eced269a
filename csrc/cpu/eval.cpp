// eval_cpu of MatrixExp and MatrixExpFrechet: describe the job, pick the
// kernels for this CPU and how to spread the batch over threads, and queue
// the work on MLX's CPU stream.

#include "cpu/blas.h"
#include "cpu/job.h"
#include "cpu/parallel.h"
#include "cpu/sizes.h"
#include "matrix_exp.h"
#include "mlx/allocator.h"
#include "mlx/backend/cpu/encoder.h"

namespace mlx_expm {

namespace {

using Kernels = void (*)(const cpu::Job&, int64_t, int64_t);

bool use_x86_64_v3() {
#if defined(__x86_64__) && defined(MLX_EXPM_HAVE_X86_64_V3)
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

Kernels kernels_for_this_cpu() {
#if defined(__x86_64__) && defined(MLX_EXPM_HAVE_X86_64_V3)
  if (use_x86_64_v3()) {
    return cpu::x86_64_v3::run;
  }
#endif
  return cpu::baseline::run;
}

// Small matrices: the batch is split across our threads in blocks (for the
// lanes path, of at least 256 matrices; otherwise of about 1e6 flops).
// Large ones go through BLAS: with at least one matrix per thread,
// our threads each run a one-threaded BLAS; otherwise one matrix at a time
// with the BLAS's own threads. Never both at once.
void run_job(const cpu::Job& job) {
  const auto run = kernels_for_this_cpu();
  const int64_t count = job.a_layout.count;
  const int64_t n = job.a_layout.n;
  auto range = [&](int64_t begin, int64_t end) { run(job, begin, end); };
  if (n <= cpu::kLanesMaxN) {
    // The lanes path groups matrices with equal plans: blocks of a few
    // hundred keep its vectors full, four blocks per thread keep the balance.
    const int64_t blocks = 4 * cpu::max_threads();
    cpu::parallel_for(count, std::max<int64_t>(256, (count + blocks - 1) / blocks), range);
  } else if (n <= cpu::kLoopMaxN) {
    const int64_t flops = 20 * n * n * n + 200;
    cpu::parallel_for(count, std::max<int64_t>(1, 1000000 / flops), range);
  } else if (count >= cpu::max_threads()) {
    cpu::blas::set_num_threads(1);
    cpu::parallel_for(count, 1, range);
  } else {
    cpu::blas::set_num_threads(cpu::max_threads());
    run(job, 0, count);
  }
}

// inputs: A (exp), A and E (Frechet), or A, E and a tape to replay
// (Frechet); outputs: the result and, for exp under a vjp, the tape, recorded
// when `record`.
void eval(
    const std::vector<mx::array>& inputs,
    std::vector<mx::array>& outputs,
    mx::Stream stream,
    bool record) {
  auto& encoder = mx::cpu::get_command_encoder(stream);
  for (const auto& x : inputs) {
    encoder.set_input_array(x);
  }
  for (auto& out : outputs) { // the tape too: it is an array like any other
    out.set_data(mx::allocator::malloc(out.nbytes()));
    encoder.set_output_array(out);
  }
  const auto& a = inputs[0];
  const auto& e = inputs.size() > 1 ? inputs[1] : inputs[0];
  cpu::Job job{
      outputs[0].dtype(),
      a.data<void>(),
      cpu::BatchLayout(a),
      inputs.size() > 1 ? e.data<void>() : nullptr,
      cpu::BatchLayout(e),
      outputs[0].data<void>()};
  if (outputs.size() > 1 && record) {
    job.tape_record = outputs[1].data<void>();
    job.tape_layout.emplace(outputs[1]);
  } else if (inputs.size() > 2) {
    job.tape_replay = inputs[2].data<void>();
    job.tape_layout.emplace(inputs[2]);
  }
  encoder.dispatch([job = std::move(job)]() { run_job(job); });
}

} // namespace

namespace cpu {
Plans plans_on_this_cpu(const Job& job) {
#if defined(__x86_64__) && defined(MLX_EXPM_HAVE_X86_64_V3)
  if (use_x86_64_v3()) {
    return x86_64_v3::plans(job);
  }
#endif
  return baseline::plans(job);
}
} // namespace cpu

void MatrixExpPrimitive::eval_cpu(
    const std::vector<mx::array>& inputs,
    std::vector<mx::array>& outputs) {
  eval(inputs, outputs, stream(), records_tape());
}

} // namespace mlx_expm
