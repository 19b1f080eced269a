#include <metal_stdlib>
using namespace metal;

[[kernel]] void k(
    device const float* in [[buffer(0)]],
    device bfloat* out [[buffer(1)]],
    uint tid [[thread_position_in_grid]]) {
  bfloat b = in[tid] * 2.0f;  // ERROR: float -> bfloat must be explicit
  out[tid] = b;
}
