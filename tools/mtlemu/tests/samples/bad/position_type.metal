#include <metal_stdlib>
using namespace metal;

[[kernel]] void k(
    device float* out [[buffer(0)]],
    int tid [[thread_position_in_grid]]) {  // ERROR: must be uint or ushort (or uint2/uint3...)
  out[tid] = 1.0f;
}
