// Sample kernels for the emulator's own tests: correct reductions, one with
// a kernel-scope threadgroup array and SIMD-group sums, one with dynamic
// threadgroup memory and shuffles.
#include <metal_stdlib>
using namespace metal;

// out[g] = sum of in[g * n .. g * n + n), accumulated in float.
template <typename T>
[[kernel]] void reduce_static(
    device const T* in [[buffer(0)]],
    device float* out [[buffer(1)]],
    constant uint& n [[buffer(2)]],
    uint group [[threadgroup_position_in_grid]],
    uint tid [[thread_index_in_threadgroup]],
    uint threads [[threads_per_threadgroup]],
    uint lane [[thread_index_in_simdgroup]],
    uint sg [[simdgroup_index_in_threadgroup]],
    uint simdgroups [[simdgroups_per_threadgroup]]) {
  threadgroup float partial[32];
  float acc = 0.0f;
  for (uint i = tid; i < n; i += threads) {
    acc += float(in[group * n + i]);
  }
  acc = simd_sum(acc);
  if (lane == 0) {
    partial[sg] = acc;
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);
  if (sg == 0) {
    float v = lane < simdgroups ? partial[lane] : 0.0f;
    v = simd_sum(v);
    if (lane == 0) {
      out[group] = v;
    }
  }
}

#define instantiate_reduce_static(tname, type)            \
  template [[host_name("reduce_static_" #tname)]] [[kernel]] \
  decltype(reduce_static<type>) reduce_static<type>;

instantiate_reduce_static(float32, float)
instantiate_reduce_static(float16, half)

// The same with threadgroup memory set by the host, a shuffle butterfly and
// an exclusive prefix sum (out_prefix[i] = sum of the group's values before i,
// for the first SIMD-group).
[[kernel]] void reduce_dynamic(
    device const float* in [[buffer(0)]],
    device float* out [[buffer(1)]],
    device float* out_prefix [[buffer(2)]],
    threadgroup float* partial [[threadgroup(0)]],
    uint2 group [[threadgroup_position_in_grid]],
    uint2 groups [[threadgroups_per_grid]],
    uint tid [[thread_index_in_threadgroup]],
    ushort lane [[thread_index_in_simdgroup]],
    ushort sg [[simdgroup_index_in_threadgroup]],
    uint threads [[threads_per_threadgroup]]) {
  const uint g = group.y * groups.x + group.x;
  const float x = in[g * threads + tid];
  if (sg == 0) {
    out_prefix[g * 32 + lane] = simd_prefix_exclusive_sum(x);
  }
  float v = x;
  for (ushort offset = 16; offset > 0; offset /= 2) {
    v += simd_shuffle_xor(v, offset);
  }
  if (lane == 0) {
    partial[sg] = v;
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);
  if (tid == 0) {
    float s = 0.0f;
    for (uint i = 0; i < (threads + 31) / 32; ++i) {
      s += partial[i];
    }
    out[g] = s;
  }
}
