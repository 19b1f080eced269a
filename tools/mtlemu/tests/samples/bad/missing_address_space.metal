#include <metal_stdlib>
using namespace metal;

[[kernel]] void k(
    float* out [[buffer(0)]],  // ERROR: no address space
    uint tid [[thread_position_in_grid]]) {
  out[tid] = 1.0f;
}
