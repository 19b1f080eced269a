// Kernels that measure the emulator itself (measure.py): the cost of a
// barrier, a SIMD-group sum and a simdgroup_matrix multiply-accumulate.
#include <metal_stdlib>
#include <metal_simdgroup_matrix>
using namespace metal;

[[kernel]] void barriers(device float* out [[buffer(0)]], constant uint& n [[buffer(1)]],
                         uint tid [[thread_index_in_threadgroup]]) {
  float x = float(tid);
  for (uint i = 0; i < n; ++i) {
    threadgroup_barrier(mem_flags::mem_threadgroup);
    x += 1.0f;
  }
  out[tid] = x;
}

[[kernel]] void simdgroup_barriers(device float* out [[buffer(0)]], constant uint& n [[buffer(1)]],
                                   uint tid [[thread_index_in_threadgroup]]) {
  float x = float(tid);
  for (uint i = 0; i < n; ++i) {
    simdgroup_barrier(mem_flags::mem_threadgroup);
    x += 1.0f;
  }
  out[tid] = x;
}

[[kernel]] void simd_sums(device float* out [[buffer(0)]], constant uint& n [[buffer(1)]],
                          uint tid [[thread_index_in_threadgroup]]) {
  float x = float(tid);
  for (uint i = 0; i < n; ++i) {
    x = simd_sum(x) * 0.03125f;
  }
  out[tid] = x;
}

// n multiply-accumulates of 8 x 8 matrices by each SIMD-group; C = A^n-ish.
[[kernel]] void mmas(device const float* a [[buffer(0)]], device float* out [[buffer(1)]],
                     constant uint& n [[buffer(2)]], uint sg [[simdgroup_index_in_threadgroup]]) {
  simdgroup_float8x8 A, C = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
  simdgroup_load(A, a, 8);
  for (uint i = 0; i < n; ++i) {
    simdgroup_multiply_accumulate(C, A, A, C);
  }
  simdgroup_store(C, out + 64 * sg, 8);
}

// The shape of a matrix-exponential kernel: one SIMD-group per 32 x 32
// matrix, out = A^(count + 1) by `count` products through threadgroup
// memory, with a simdgroup_barrier between the steps.
[[kernel]] void products(
    device const float* A [[buffer(0)]],
    device float* out [[buffer(1)]],
    constant uint& count [[buffer(2)]],
    uint group [[threadgroup_position_in_grid]]) {
  threadgroup float P[32 * 32];
  device const float* a = A + group * 1024;
  simdgroup_float8x8 Am[4][4];
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      simdgroup_load(Am[i][j], a, 32, ulong2(8 * j, 8 * i));
      simdgroup_store(Am[i][j], P, 32, ulong2(8 * j, 8 * i));
    }
  }
  simdgroup_barrier(mem_flags::mem_threadgroup);
  for (uint s = 0; s < count; ++s) {
    simdgroup_float8x8 acc[4][4];
    for (int i = 0; i < 4; ++i) {
      for (int j = 0; j < 4; ++j) {
        acc[i][j] = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
        for (int k = 0; k < 4; ++k) {
          simdgroup_float8x8 p;
          simdgroup_load(p, P, 32, ulong2(8 * k, 8 * i));
          simdgroup_multiply_accumulate(acc[i][j], p, Am[k][j], acc[i][j]);
        }
      }
    }
    simdgroup_barrier(mem_flags::mem_threadgroup);
    for (int i = 0; i < 4; ++i) {
      for (int j = 0; j < 4; ++j) {
        simdgroup_store(acc[i][j], P, 32, ulong2(8 * j, 8 * i));
      }
    }
    simdgroup_barrier(mem_flags::mem_threadgroup);
  }
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      simdgroup_float8x8 p;
      simdgroup_load(p, P, 32, ulong2(8 * j, 8 * i));
      simdgroup_store(p, out + group * 1024, 32, ulong2(8 * j, 8 * i));
    }
  }
}
