// metal_simdgroup_matrix: 8x8 matrices spread over the 32 lanes of a
// SIMD-group, two elements per lane.
//
// Lane layout. Metal leaves the element-to-lane mapping unspecified; kernels
// that touch thread_elements() depend on it. We use the mapping MLX's steel
// GEMM assumes (mlx/backend/metal/kernels/steel/gemm/mma.h,
// BaseMMAFrag<T, 8, 8>::get_coord): lane l holds row
//   (l / 4 & 4) + (l / 2 % 4)
// and columns c, c + 1 with c = (l / 4 & 2) * 2 + (l % 2) * 2.
//
// Every load, store and multiply is a SIMD-group operation of all 32 lanes
// (a partial SIMD-group, or a lane that returned, is an error), and Metal's
// requirement that the pointer, stride, origin and transpose flag be the
// same on every lane is checked. Loads and stores then move each lane's own
// two elements, so ThreadSanitizer sees them as that lane's accesses.
// Products accumulate in float in k order with fma, then round to T.
#pragma once
#pragma GCC system_header

namespace metal {
namespace mmdetail {
struct coord {
  unsigned row, col;  // of this lane's first element; the second is (row, col + 1)
};
MTLEMU_INLINE coord coord_of(unsigned lane) {
  const unsigned q = lane / 4;
  return {(q & 4) + (lane / 2) % 4, (q & 2) * 2 + (lane % 2) * 2};
}
}  // namespace mmdetail

template <class T, int Cols, int Rows> struct simdgroup_matrix {
  static_assert(Cols == 8 && Rows == 8, "Metal's simdgroup_matrix is 8x8");
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, half> || std::is_same_v<T, bfloat>,
                "simdgroup_matrix holds float, half or bfloat");

  // Uninitialised on a GPU: 0xFF bytes (NaN) here, so a forgotten
  // make_filled_simdgroup_matrix shows in the result.
  MTLEMU_INLINE simdgroup_matrix() { __builtin_memset((void*)&e_, 0xff, sizeof e_); }
  // The diagonal matrix with `diagonal` on its diagonal.
  MTLEMU_INLINE explicit simdgroup_matrix(T diagonal) {
    const mmdetail::coord c = mmdetail::coord_of(mtlemu::rt::simd_lane());
    e_[0] = c.row == c.col ? diagonal : T(0);
    e_[1] = c.row == c.col + 1 ? diagonal : T(0);
  }

  MTLEMU_INLINE thread vec<T, 2>& thread_elements() { return e_; }
  MTLEMU_INLINE const thread vec<T, 2>& thread_elements() const { return e_; }

  vec<T, 2> e_;
};
typedef simdgroup_matrix<float, 8, 8> simdgroup_float8x8;
typedef simdgroup_matrix<half, 8, 8> simdgroup_half8x8;
typedef simdgroup_matrix<bfloat, 8, 8> simdgroup_bfloat8x8;

template <class T, int Cols, int Rows>
MTLEMU_INLINE simdgroup_matrix<T, Cols, Rows> make_filled_simdgroup_matrix(T value) {
  simdgroup_matrix<T, Cols, Rows> m;
  m.e_ = vec<T, 2>(value);
  return m;
}

namespace mmdetail {
// The arguments Metal requires to be the same on every lane.
struct access {
  const void* ptr;
  unsigned long elements_per_row;
  unsigned long origin_x, origin_y;
  bool transpose;
};

MTLEMU_NO_TSAN inline void check_uniform(mtlemu::gather& g) {
  const access& a = *(const access*)g.in[0];
  for (unsigned i = 1; i < 32; ++i) {
    const access& b = *(const access*)g.in[i];
    if (a.ptr != b.ptr || a.elements_per_row != b.elements_per_row || a.origin_x != b.origin_x ||
        a.origin_y != b.origin_y || a.transpose != b.transpose)
      mtlemu::rt::fail("[%s] %s:%u: lanes 0 and %u pass different arguments (pointer %p / %p, "
                       "elements_per_row %lu / %lu, origin (%lu, %lu) / (%lu, %lu), transpose %d / %d); "
                       "Metal requires the same on every lane of the SIMD-group",
                       g.what, mtlemu::file_of(g), mtlemu::line_of(g), i, a.ptr, b.ptr, a.elements_per_row,
                       b.elements_per_row, a.origin_x, a.origin_y, b.origin_x, b.origin_y, (int)a.transpose,
                       (int)b.transpose);
  }
}

// Offset of element (r, c) of the 8x8 tile: matrix_origin is (column, row)
// in the memory's own layout; a transposed tile reads the block at the
// origin as columns.
MTLEMU_INLINE unsigned long offset(const access& a, unsigned r, unsigned c) {
  return a.transpose ? (a.origin_y + c) * a.elements_per_row + a.origin_x + r
                     : (a.origin_y + r) * a.elements_per_row + a.origin_x + c;
}

template <class T, class P>
MTLEMU_INLINE void load(simdgroup_matrix<T, 8, 8>& d, P src, unsigned long elements_per_row, ulong2 origin,
                        bool transpose, const char* what, const mtlemu::where& loc) {
  const access a{(const void*)src, elements_per_row, origin.x, origin.y, transpose};
  const coord c = coord_of(mtlemu::rt::simd_op(mtlemu::simd_kind::matrix, 0, &a, nullptr, &check_uniform, what, loc));
  d.e_[0] = src[offset(a, c.row, c.col)];
  d.e_[1] = src[offset(a, c.row, c.col + 1)];
}

template <class T, class P>
MTLEMU_INLINE void store(const simdgroup_matrix<T, 8, 8>& s, P dst, unsigned long elements_per_row, ulong2 origin,
                         bool transpose, const char* what, const mtlemu::where& loc) {
  const access a{(const void*)dst, elements_per_row, origin.x, origin.y, transpose};
  const coord c = coord_of(mtlemu::rt::simd_op(mtlemu::simd_kind::matrix, 0, &a, nullptr, &check_uniform, what, loc));
  dst[offset(a, c.row, c.col)] = s.e_[0];
  dst[offset(a, c.row, c.col + 1)] = s.e_[1];
}

template <class T> struct mma_in {
  const vec<T, 2>* a;
  const vec<T, 2>* b;
  const vec<T, 2>* c;  // null for simdgroup_multiply
};

// D = A B + C for 8 x 8 row-major float matrices, each element an fma chain
// in k order. With the CPU's fma instruction when it has one (the libm call
// otherwise costs most of a multiply-accumulate).
#define MTLEMU_MMA8_BODY                                               \
  for (int i = 0; i < 8; ++i)                                          \
    for (int j = 0; j < 8; ++j) {                                      \
      float acc = C[i * 8 + j];                                        \
      for (int k = 0; k < 8; ++k) acc = __builtin_fmaf(A[i * 8 + k], B[k * 8 + j], acc); \
      D[i * 8 + j] = acc;                                              \
    }
inline void mma8_generic(const float* A, const float* B, const float* C, float* D) { MTLEMU_MMA8_BODY }
#if defined(__x86_64__)
__attribute__((target("fma"))) inline void mma8_fma(const float* A, const float* B, const float* C, float* D) {
  MTLEMU_MMA8_BODY
}
#endif
#undef MTLEMU_MMA8_BODY
inline void mma8(const float* A, const float* B, const float* C, float* D) {
#if defined(__x86_64__)
  static const bool has_fma = __builtin_cpu_supports("fma");
  if (has_fma) return mma8_fma(A, B, C, D);
#endif
  mma8_generic(A, B, C, D);
}

template <class T> MTLEMU_NO_TSAN void mma_combine(mtlemu::gather& g) {
  float A[64], B[64], C[64], D[64];
  for (unsigned l = 0; l < 32; ++l) {
    const mma_in<T>& in = *(const mma_in<T>*)g.in[l];
    const coord k = coord_of(l);
    for (unsigned j = 0; j < 2; ++j) {
      const unsigned e = k.row * 8 + k.col + j;
      A[e] = (float)(*in.a)[j];
      B[e] = (float)(*in.b)[j];
      C[e] = in.c ? (float)(*in.c)[j] : 0.0f;
    }
  }
  mma8(A, B, C, D);
  for (unsigned l = 0; l < 32; ++l) {
    const coord k = coord_of(l);
    vec<T, 2>& d = *(vec<T, 2>*)g.out[l];
    d[0] = T(D[k.row * 8 + k.col]);
    d[1] = T(D[k.row * 8 + k.col + 1]);
  }
}
}  // namespace mmdetail

#define MTLEMU_MATRIX_ACCESS(AS)                                                                        \
  template <class T, int C, int R>                                                                     \
  MTLEMU_INLINE void simdgroup_load(thread simdgroup_matrix<T, C, R>& d, const AS T* src,               \
                                    ulong elements_per_row = C, ulong2 matrix_origin = ulong2(0),      \
                                    bool transpose_matrix = false,                                     \
                                    const mtlemu::where& loc = mtlemu::where::current()) {             \
    mmdetail::load(d, src, elements_per_row, matrix_origin, transpose_matrix, "simdgroup_load", loc);  \
  }                                                                                                    \
  template <class T, int C, int R>                                                                     \
  MTLEMU_INLINE void simdgroup_store(const thread simdgroup_matrix<T, C, R>& a, AS T* dst,              \
                                     ulong elements_per_row = C, ulong2 matrix_origin = ulong2(0),     \
                                     bool transpose_matrix = false,                                    \
                                     const mtlemu::where& loc = mtlemu::where::current()) {            \
    mmdetail::store(a, dst, elements_per_row, matrix_origin, transpose_matrix, "simdgroup_store", loc); \
  }
#if defined(MTLEMU_ADDRESS_SPACES)
MTLEMU_MATRIX_ACCESS(device)
MTLEMU_MATRIX_ACCESS(threadgroup)
#else
MTLEMU_MATRIX_ACCESS()
#endif
#undef MTLEMU_MATRIX_ACCESS

// d = a * b + c. d may be c.
template <class T, int C, int R, int K>
MTLEMU_INLINE void simdgroup_multiply_accumulate(thread simdgroup_matrix<T, C, R>& d,
                                                 const thread simdgroup_matrix<T, K, R>& a,
                                                 const thread simdgroup_matrix<T, C, K>& b,
                                                 const thread simdgroup_matrix<T, C, R>& c,
                                                 const mtlemu::where& loc = mtlemu::where::current()) {
  const mmdetail::mma_in<T> in{&a.e_, &b.e_, &c.e_};
  mtlemu::rt::simd_op(mtlemu::simd_kind::matrix, 0, &in, &d.e_, &mmdetail::mma_combine<T>,
                      "simdgroup_multiply_accumulate", loc);
}
// d = a * b.
template <class T, int C, int R, int K>
MTLEMU_INLINE void simdgroup_multiply(thread simdgroup_matrix<T, C, R>& d, const thread simdgroup_matrix<T, K, R>& a,
                                      const thread simdgroup_matrix<T, C, K>& b,
                                      const mtlemu::where& loc = mtlemu::where::current()) {
  const mmdetail::mma_in<T> in{&a.e_, &b.e_, nullptr};
  mtlemu::rt::simd_op(mtlemu::simd_kind::matrix, 0, &in, &d.e_, &mmdetail::mma_combine<T>, "simdgroup_multiply", loc);
}
template <class T, int C, int R, int K>
MTLEMU_INLINE simdgroup_matrix<T, C, R> operator*(const simdgroup_matrix<T, K, R>& a, const simdgroup_matrix<T, C, K>& b) {
  simdgroup_matrix<T, C, R> d;
  simdgroup_multiply(d, a, b);
  return d;
}
}  // namespace metal
