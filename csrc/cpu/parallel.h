// Splitting work across threads: a pool of our own, which survives fork().

#pragma once

#include <cstdint>
#include <functional>

namespace mlx_expm::cpu {

// Threads matrix_exp may use on the CPU: the CPUs this process may run on
// (its affinity mask), or MLX_EXPM_NUM_THREADS if set and smaller (more
// threads than CPUs never help compute-bound work). Read once. Throws
// std::invalid_argument, naming the variable, if it is set to anything but a
// whole number >= 1.
int max_threads();

// Calls fn(worker, begin, end) on disjoint ranges covering [0, count), each
// `grain` long (but the last), on up to `workers` threads at once; `worker`
// (0 <= worker < workers) tells which thread runs the range, 0 being the
// caller, so that each may own scratch memory. Returns when all are done;
// the first exception of fn is rethrown here. A call from inside another
// parallel_for runs on its own thread only.
void parallel_for(
    int64_t count,
    int64_t grain,
    int workers,
    const std::function<void(int worker, int64_t begin, int64_t end)>& fn);

// True on a thread that runs a range of a parallel_for with more than one
// worker (a nested parallel_for would run serially).
bool in_parallel_region();

} // namespace mlx_expm::cpu
