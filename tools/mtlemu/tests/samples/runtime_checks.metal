// Kernels with mistakes that only show when they run; each test in
// test_emulator.py names the kernel it dispatches. Line numbers matter to the
// tests only through the `// MISTAKE` markers.
#include <metal_stdlib>
using namespace metal;

// Only half of the threadgroup reaches the barrier.
[[kernel]] void divergent_barrier(device float* out [[buffer(0)]], uint tid [[thread_index_in_threadgroup]]) {
  if (tid < 16) {
    threadgroup_barrier(mem_flags::mem_threadgroup);  // MISTAKE
  }
  out[tid] = 1.0f;
}

// Two halves wait at two different barriers.
[[kernel]] void two_barriers(device float* out [[buffer(0)]], uint tid [[thread_index_in_threadgroup]]) {
  if (tid < 16) {
    threadgroup_barrier(mem_flags::mem_threadgroup);
  } else {
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }
  out[tid] = 1.0f;
}

// A thread returns before the barrier the others wait at.
[[kernel]] void early_return(device float* out [[buffer(0)]], uint tid [[thread_index_in_threadgroup]]) {
  if (tid == 5) {
    return;  // MISTAKE
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);
  out[tid] = 1.0f;
}

// Each thread reads its neighbour's value without a barrier in between.
[[kernel]] void missing_barrier(
    device const float* in [[buffer(0)]],
    device float* out [[buffer(1)]],
    uint tid [[thread_index_in_threadgroup]],
    uint n [[threads_per_threadgroup]]) {
  threadgroup float shared[64];
  shared[tid] = in[tid];
  // MISTAKE: threadgroup_barrier(mem_flags::mem_threadgroup) belongs here.
  out[tid] = shared[(tid + 1) % n];
}

// The same, done right.
[[kernel]] void with_barrier(
    device const float* in [[buffer(0)]],
    device float* out [[buffer(1)]],
    uint tid [[thread_index_in_threadgroup]],
    uint n [[threads_per_threadgroup]]) {
  threadgroup float shared[64];
  shared[tid] = in[tid];
  threadgroup_barrier(mem_flags::mem_threadgroup);
  out[tid] = shared[(tid + 1) % n];
}

// Reads threadgroup memory that no thread wrote.
[[kernel]] void uninitialised_read(
    device float* out [[buffer(0)]],
    threadgroup float* scratch [[threadgroup(0)]],
    uint tid [[thread_index_in_threadgroup]]) {
  if (tid > 0) {
    scratch[tid] = float(tid);
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);
  out[tid] = scratch[0];  // MISTAKE: scratch[0] is never written
}

// 9000 floats of threadgroup memory: 36000 bytes, over Metal's 32 KiB.
[[kernel]] void too_much_threadgroup_memory(device float* out [[buffer(0)]], uint tid [[thread_index_in_threadgroup]]) {
  threadgroup float big[9000];  // MISTAKE
  big[tid] = 1.0f;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  out[tid] = big[0];
}

// Fine with any number of threads up to 1024.
[[kernel]] void fill(device float* out [[buffer(0)]], uint gid [[thread_position_in_grid]]) {
  out[gid] = float(gid);
}

// Waits for a flag that another thread sets, without a barrier: it never
// yields, so it can only be stopped by the timeout.
[[kernel]] void spin(device atomic_uint* flag [[buffer(0)]], uint tid [[thread_index_in_threadgroup]]) {
  if (tid == 0) {
    while (atomic_load_explicit(flag, memory_order_relaxed) == 0) {  // MISTAKE
    }
  } else {
    atomic_store_explicit(flag, 1u, memory_order_relaxed);
  }
}

// Half of a SIMD-group stops at a simdgroup_barrier.
[[kernel]] void divergent_simdgroup_barrier(device float* out [[buffer(0)]], uint lane [[thread_index_in_simdgroup]]) {
  if (lane < 16) {
    simdgroup_barrier(mem_flags::mem_none);  // MISTAKE
  }
  out[lane] = 1.0f;
}

// A SIMD-group sum in divergent control flow is defined over the active
// lanes: lanes 0-15 sum their values, lanes 16-31 have returned.
[[kernel]] void partial_simd_sum(device float* out [[buffer(0)]], uint lane [[thread_index_in_simdgroup]]) {
  if (lane >= 16) {
    return;
  }
  out[lane] = simd_sum(float(lane));
}

// simdgroup_load's pointer must be the same on all lanes.
[[kernel]] void nonuniform_simdgroup_load(device const float* in [[buffer(0)]], device float* out [[buffer(1)]],
                                          uint lane [[thread_index_in_simdgroup]]) {
  simdgroup_float8x8 m;
  simdgroup_load(m, in + (lane / 16) * 64, 8);  // MISTAKE
  simdgroup_store(m, out, 8);
}

// A kernel template without an instantiation: it cannot be dispatched.
template <typename T>
[[kernel]] void never_instantiated(device T* out [[buffer(0)]], uint tid [[thread_position_in_grid]]) {
  out[tid] = T(0);
}

// Every threadgroup adds to the same element: threadgroups are unordered, so
// this races (on a GPU an atomic is needed).
[[kernel]] void cross_group_race(device float* out [[buffer(0)]], uint tid [[thread_index_in_threadgroup]]) {
  if (tid == 0) {
    out[0] += 1.0f;  // MISTAKE
  }
}

// Writes one element past the threadgroup memory it was given.
[[kernel]] void threadgroup_out_of_bounds(
    device float* out [[buffer(0)]],
    threadgroup float* scratch [[threadgroup(0)]],
    uint tid [[thread_index_in_threadgroup]]) {
  scratch[tid + 1] = 1.0f;  // MISTAKE: scratch has one float per thread
  threadgroup_barrier(mem_flags::mem_threadgroup);
  out[tid] = scratch[tid];
}

// Writes one element past the end of its output buffer.
[[kernel]] void device_out_of_bounds(device float* out [[buffer(0)]], uint tid [[thread_position_in_grid]]) {
  out[tid + 1] = 1.0f;  // MISTAKE
}
