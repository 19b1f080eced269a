#include <metal_stdlib>
using namespace metal;

[[kernel]] void k(
    device ulong* out [[buffer(0)]],
    uint tid [[thread_position_in_grid]]) {
  ulong v = out[tid];
  out[tid] = simd_sum(v);  // ERROR: no 64-bit SIMD-group sums on Metal
}
