#include <metal_stdlib>
using namespace metal;

template <int N>
[[kernel]] void k(
    device float* out [[buffer(0)]],
    uint tid [[thread_position_in_grid]]) {
  if constexpr (N > 1) {  // ERROR: MSL 3.1 is C++14
    out[tid] = 1.0f;
  }
}

template [[host_name("k1")]] [[kernel]] decltype(k<1>) k<1>;
