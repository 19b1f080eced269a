// The interface between a compiled kernel (shim) and the emulator's runtime
// (runtime/): kernel registration, barriers, SIMD-group operations,
// kernel-scope threadgroup variables. Plain C++, no MSL macros: the runtime
// includes it too.
//
// A SIMD-group operation works like this: each lane publishes pointers to
// its input and output and waits; when every active lane of the SIMD-group
// has arrived at the same operation (same source location), the last one to
// arrive calls the combine function, which reads all inputs and writes all
// outputs; then all lanes continue. Lanes that arrive at different
// operations, or leave the SIMD-group's operation short (a lane returned
// before a simdgroup_barrier), are reported as errors.
#pragma once
#pragma GCC system_header

#include <cstddef>
#include <source_location>

namespace mtlemu {
using where = std::source_location;

// The kinds of SIMD-group operation; they differ in who must take part.
enum class simd_kind : unsigned char {
  collective,  // simd_sum, simd_shuffle, ...: the active lanes (returned lanes are inactive)
  matrix,      // simdgroup_matrix load/store/multiply: all 32 lanes
  barrier,     // simdgroup_barrier: every lane of the SIMD-group
};

struct gather {
  unsigned active;  // bit i: lane i of the SIMD-group takes part
  unsigned lanes;   // lanes the SIMD-group has (32, fewer in a partial last one)
  const void* in[32];
  void* out[32];
  const char* what;
  const where* loc;
};
using combine_fn = void (*)(gather&);

// The position attributes, in the order of lane_env::position.
enum class pos : int {
  thread_position_in_grid,
  thread_position_in_threadgroup,
  threadgroup_position_in_grid,
  threads_per_threadgroup,
  threadgroups_per_grid,
  threads_per_grid,
  thread_index_in_threadgroup,
  simdgroup_index_in_threadgroup,
  thread_index_in_simdgroup,
  simdgroups_per_threadgroup,
  threads_per_simdgroup,
  thread_execution_width,
  quadgroup_index_in_threadgroup,
  thread_index_in_quadgroup,
  quadgroups_per_threadgroup,
  dispatch_threads_per_threadgroup,
  dispatch_simdgroups_per_threadgroup,
  dispatch_quadgroups_per_threadgroup,
  grid_origin,
  grid_size,
  count_
};
// Whether the attribute may be declared as a vector (uint2, uint3, ...).
constexpr bool pos_is_vector(pos p) {
  return p <= pos::threads_per_grid || p == pos::dispatch_threads_per_threadgroup || p == pos::grid_origin ||
         p == pos::grid_size;
}

// Everything a lane's entry function needs.
struct lane_env {
  void* const* buffers;      // indexed by [[buffer(i)]]
  void* const* tg;           // indexed by [[threadgroup(i)]]
  unsigned position[(int)pos::count_][3];
};

enum class bind_kind : int { buffer, tg, position };

struct param_info {
  bind_kind kind;
  int index;               // buffer / threadgroup index, or the pos value
  unsigned long size;      // sizeof the pointee (0 for positions)
  unsigned long align;     // alignof the pointee
  bool reference;          // `constant Params& p` rather than a pointer
  bool writable;           // not const
  const char* name;
};

struct kernel_info {
  const char* host_name;
  void (*entry)(const lane_env&);
  const param_info* params;
  int n_params;
  const char* file;
  unsigned line;
  unsigned max_threads;  // [[max_total_threads_per_threadgroup(N)]], 0 if absent
};

namespace rt {
void register_kernel(const kernel_info& k);
// Returns the calling lane's thread_index_in_simdgroup.
unsigned simd_op(simd_kind kind, unsigned mem_flags, const void* in, void* out, combine_fn combine,
                 const char* what, const where& loc);
void threadgroup_barrier(unsigned mem_flags, const where& loc);
// thread_index_in_simdgroup of the running lane (for simdgroup_matrix's layout).
unsigned simd_lane();
// Storage of a kernel-scope `threadgroup T name[N];`, shared by the threadgroup.
void* threadgroup_static(unsigned site, std::size_t size, std::size_t align, const char* name,
                         const char* file, unsigned line);
// Reports an error for the running dispatch and abandons it (never returns).
[[noreturn]] void fail(const char* format, ...) __attribute__((format(printf, 1, 2)));
}  // namespace rt

// Where a combine function reports a lane's misuse.
inline const char* file_of(const gather& g) { return g.loc->file_name(); }
inline unsigned line_of(const gather& g) { return g.loc->line(); }
}  // namespace mtlemu
