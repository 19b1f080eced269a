// The emulator's C API, as seen by ctypes (_library.py mirrors these
// structures: keep them in step) and by the runner.
#pragma once

#include <cstdint>

extern "C" {

struct mtlemu_buffer {
  std::int32_t index;  // [[buffer(index)]]
  std::uint32_t pad;
  void* data;
  std::uint64_t size;
};

struct mtlemu_request {
  const char* kernel;  // host_name
  const mtlemu_buffer* buffers;
  std::int32_t n_buffers;
  std::int32_t n_tg;
  const std::uint64_t* tg_lengths;  // by [[threadgroup(i)]] index; 0 = not set
  std::uint32_t groups[3];          // threadgroups per grid
  std::uint32_t threads[3];         // threads per threadgroup
  std::int32_t schedule;            // 0 forward, 1 reverse, 2 shuffled
  std::int32_t workers;             // OS threads; 0: one per core (at most one per threadgroup)
  std::uint64_t seed;               // for the shuffled schedule
  double timeout;                   // seconds; <= 0: none
  std::uint64_t stack_size;         // per lane; 0: 256 KiB
  // Filled in by mtlemu_dispatch.
  std::uint64_t switches, tg_barriers, simd_ops;
};

int mtlemu_abi_version(void);
int mtlemu_kernel_count(void);
const char* mtlemu_kernel_name(int i);
// Returns 0 on success; otherwise 1, with the reason in `error`.
int mtlemu_dispatch(mtlemu_request* request, char* error, std::uint64_t error_size);
}
