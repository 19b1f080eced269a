// Sample kernel exercising the shim's language features (vectors, swizzles,
// half and bfloat, math, SIMD-group functions, atomics, a header found through
// include_dirs, constant tables); test_emulator.py checks every value. One
// SIMD-group; lane l writes out[20 l .. 20 l + 19].
#include <metal_stdlib>
#include "sample_constants.h"
using namespace metal;

constant float kTable[3] = {1.0f, 10.0f, 100.0f};

struct Pair {
  uint a;
  float b;
};

METAL_FUNC float sum3(constant float* t) {
  return t[0] + t[1] + t[2];
}

[[kernel]] void language(
    device float* out [[buffer(0)]],
    device atomic_uint* counter [[buffer(1)]],
    device bfloat* halves [[buffer(2)]],
    constant const float* scale [[buffer(3)]],
    constant Pair& pair [[buffer(4)]],
    uint lane [[thread_index_in_simdgroup]],
    uint3 position [[thread_position_in_grid]]) {
  device float* o = out + 20 * lane;
  const float4 v = float4(1.0f, 2.0f, 3.0f, 4.0f);
  float4 w = float4(v.xy, v.zw * 2.0f);  // (1, 2, 6, 8)
  w.xy = w.yx;                           // (2, 1, 6, 8)
  o[0] = dot(w, float4(1.0f)) + float3(w.zyx).x;  // 17 + 6
  const half h = 1.5h;
  o[1] = float(h * 2.0h);              // 3
  const bfloat b = bfloat(2.5f);
  o[2] = b * 2.0f;                     // 5 (bfloat converts to float)
  o[3] = as_type<float>(0x3f800000u);  // 1
  o[4] = select(0.0f, 1.0f, lane > 15u);
  o[5] = simd_shuffle_down(float(lane), 1);
  o[6] = simd_shuffle_up(float(lane), 2);
  o[7] = simd_broadcast(float(lane), 7);
  o[8] = float(simd_prefix_inclusive_sum(lane));
  o[9] = float(simd_max(lane));
  o[10] = simd_all(lane < 32u) ? 1.0f : 0.0f;
  o[11] = float(popcount(uint(vote_t(simd_ballot(lane % 2u == 0u)))));
  o[12] = clamp(float(lane) - 10.0f, 0.0f, 5.0f);
  o[13] = exp2(3.0f) + sqrt(16.0f) + kSampleScale * scale[0];
  atomic_fetch_add_explicit(counter, 1u, memory_order_relaxed);
  o[14] = float(position.x);
  o[15] = max(NAN, 2.0f);  // Metal's max is fmax: the NaN is dropped
  halves[lane] = bfloat(float(lane) * 0.5f);
  constexpr constant float weights[2] = {0.5f, 0.25f};  // function scope
  o[16] = sum3(kTable) + weights[lane % 2];               // 111.5 / 111.25
  const Pair p = pair;                                    // a struct copied out of constant memory
  o[17] = float(p.a) + p.b;
  o[18] = float(uint2(7u, 9u).yx.x) + float(short(-3));   // 9 - 3
  o[19] = float(int(trunc(-2.5f))) + fma(2.0f, 3.0f, 1.0f) + rsqrt(4.0f);  // -2 + 7 + 0.5
}
