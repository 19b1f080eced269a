#include <metal_stdlib>
using namespace metal;

[[kernel]] void k(
    device float* out [[buffer(0)]],
    uint tid [[thread_position_in_grid]]) {
  out[tid] = out[tid] * 0.5;  // ERROR: 0.5 is a double literal
}
