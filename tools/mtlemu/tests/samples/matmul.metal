// Sample kernel for the emulator's own tests: C = A B with simdgroup_matrix,
// tiled through threadgroup memory. A is M x K, B is K x N, C is M x N, all
// row-major; M and N multiples of 32 (K is arbitrary).
//
// A threadgroup of 4 SIMD-groups (128 threads) computes a 32 x 32 block of C;
// each SIMD-group a 16 x 16 quarter, as 2 x 2 tiles of 8 x 8.
#include <metal_stdlib>
#include <metal_simdgroup_matrix>
using namespace metal;

struct MatmulParams {
  uint M, N, K;
};

constant constexpr uint BM = 32;
constant constexpr uint BN = 32;
constant constexpr uint BK = 16;

template <typename T>
[[kernel]] void matmul(
    device const T* A [[buffer(0)]],
    device const T* B [[buffer(1)]],
    device T* C [[buffer(2)]],
    constant MatmulParams& params [[buffer(3)]],
    uint2 group [[threadgroup_position_in_grid]],
    uint tid [[thread_index_in_threadgroup]],
    uint sg [[simdgroup_index_in_threadgroup]]) {
  threadgroup T As[BM * BK];
  threadgroup T Bs[BK * BN];
  const MatmulParams p = params;
  const uint row0 = group.y * BM;
  const uint col0 = group.x * BN;
  const uint sr = (sg / 2) * 16;
  const uint sc = (sg % 2) * 16;

  simdgroup_matrix<T, 8, 8> acc[2][2];
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) {
      acc[i][j] = make_filled_simdgroup_matrix<T, 8, 8>(T(0));
    }
  }

  for (uint k0 = 0; k0 < p.K; k0 += BK) {
    for (uint e = tid; e < BM * BK; e += 128) {
      const uint r = e / BK, c = e % BK;
      As[e] = k0 + c < p.K ? A[(row0 + r) * p.K + k0 + c] : T(0);
    }
    for (uint e = tid; e < BK * BN; e += 128) {
      const uint r = e / BN, c = e % BN;
      Bs[e] = k0 + r < p.K ? B[(k0 + r) * p.N + col0 + c] : T(0);
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);

    for (uint kk = 0; kk < BK; kk += 8) {
      simdgroup_matrix<T, 8, 8> a[2];
      simdgroup_matrix<T, 8, 8> b[2];
      for (int i = 0; i < 2; ++i) {
        simdgroup_load(a[i], As, BK, ulong2(kk, sr + 8 * i));
      }
      for (int j = 0; j < 2; ++j) {
        simdgroup_load(b[j], Bs, BN, ulong2(sc + 8 * j, kk));
      }
      for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 2; ++j) {
          simdgroup_multiply_accumulate(acc[i][j], a[i], b[j], acc[i][j]);
        }
      }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }

  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) {
      simdgroup_store(acc[i][j], C, p.N, ulong2(col0 + sc + 8 * j, row0 + sr + 8 * i));
    }
  }
}

#define instantiate_matmul(tname, type) \
  template [[host_name("matmul_" #tname)]] [[kernel]] decltype(matmul<type>) matmul<type>;

instantiate_matmul(float32, float)
instantiate_matmul(float16, half)

// The transposed load and store, and thread_elements(): C = A^T, 8 x 8, by
// one SIMD-group; then every element is doubled through thread_elements.
[[kernel]] void transpose8(
    device const float* A [[buffer(0)]],
    device float* C [[buffer(1)]],
    device float* D [[buffer(2)]]) {
  simdgroup_float8x8 m;
  simdgroup_load(m, A, 8, ulong2(0, 0), true);
  simdgroup_store(m, C, 8);
  m.thread_elements() *= 2.0f;
  simdgroup_float8x8 identity(1.0f);
  simdgroup_float8x8 r;
  simdgroup_multiply(r, identity, m);
  simdgroup_store(r, D, 8, ulong2(0, 0), true);
}
