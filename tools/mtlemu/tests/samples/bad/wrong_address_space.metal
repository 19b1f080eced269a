#include <metal_stdlib>
using namespace metal;

void store_one(device float* p, uint i) {
  p[i] = 1.0f;
}

[[kernel]] void k(
    device float* out [[buffer(0)]],
    threadgroup float* scratch [[threadgroup(0)]],
    uint tid [[thread_index_in_threadgroup]]) {
  store_one(scratch, tid);  // ERROR: a threadgroup pointer where a device pointer is expected
  threadgroup_barrier(mem_flags::mem_threadgroup);
  out[tid] = scratch[tid];
}
