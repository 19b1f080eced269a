// Splitting a batch of matrices across threads.

#pragma once

#include <cstdint>
#include <functional>

namespace mlx_expm::cpu {

// Threads matrix_exp may use on the CPU: MLX_EXPM_NUM_THREADS if set (>= 1),
// else the machine's hardware threads. Read once.
int max_threads();

// Calls fn(begin, end) on disjoint ranges covering [0, count), each at least
// `grain` long (but the last), on up to max_threads() threads; returns when
// all are done. Exceptions in fn are rethrown here.
void parallel_for(int64_t count, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

} // namespace mlx_expm::cpu
