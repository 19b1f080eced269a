#include <metal_stdlib>
using namespace metal;

[[kernel]] void k(
    device float* out [[buffer(0)]],
    uint tid [[thread_positon_in_grid]]) {  // ERROR: misspelt attribute
  out[tid] = 1.0f;
}
