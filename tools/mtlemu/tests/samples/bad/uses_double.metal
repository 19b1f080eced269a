#include <metal_stdlib>
using namespace metal;

[[kernel]] void k(
    device float* out [[buffer(0)]],
    uint tid [[thread_position_in_grid]]) {
  double x = out[tid];  // ERROR: Metal has no double
  out[tid] = float(x);
}
