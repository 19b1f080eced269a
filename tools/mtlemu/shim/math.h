// metal:: math, common, integer, relational and geometric functions.
//
// float functions call the compiler's builtins (libm underneath); half ones
// compute in float and round once. None of <cmath> is included, so nothing
// but these overloads is visible to a kernel that says `using namespace
// metal;` -- a std:: overload taking double cannot be picked by accident.
// There are no bfloat overloads (MSL 3.1 has none for math): a bfloat
// argument converts to float and the result is float, as on Metal.
//
// min/max on floats are fmin/fmax (a NaN argument yields the other one), as
// Metal specifies; the fast:: variants are the precise ones here.
#pragma once
#pragma GCC system_header

namespace metal {
namespace mdetail {
template <class X> concept fvec = vec_like<X> && (std::is_same_v<vec_elem_t<X>, float> || std::is_same_v<vec_elem_t<X>, half>);
template <class X> concept ivec = vec_like<X> && std::is_integral_v<vec_elem_t<X>> && !std::is_same_v<vec_elem_t<X>, bool>;
template <class X> concept iscalar = std::is_integral_v<mtlemu::bare_t<X>> && !std::is_same_v<mtlemu::bare_t<X>, bool>;
template <class X> using vtype = typename vec_traits<mtlemu::bare_t<X>>::type;

template <class X, class F> MTLEMU_INLINE auto map1(const X& x, F f) {
  const vtype<X> a(x);
  vec<decltype(f(a[0])), vec_size_v<X>> r;
  for (int i = 0; i < vec_size_v<X>; ++i) r[i] = f(a[i]);
  return r;
}
template <class X, class F> MTLEMU_INLINE auto map2(const X& x, const X& y, F f) {
  const vtype<X> a(x), b(y);
  vtype<X> r;
  for (int i = 0; i < vec_size_v<X>; ++i) r[i] = f(a[i], b[i]);
  return r;
}
template <class X, class F> MTLEMU_INLINE auto map3(const X& x, const X& y, const X& z, F f) {
  const vtype<X> a(x), b(y), c(z);
  vtype<X> r;
  for (int i = 0; i < vec_size_v<X>; ++i) r[i] = f(a[i], b[i], c[i]);
  return r;
}
}  // namespace mdetail

// T name(T) for float, half and their vectors.
#define MTLEMU_UNARY(name, expr)                                                     \
  MTLEMU_INLINE float name(float x) { return expr; }                                \
  MTLEMU_INLINE half name(half h) { return (half)name((float)h); }                  \
  template <mdetail::fvec X> MTLEMU_INLINE auto name(const X& v) {                  \
    return mdetail::map1(v, [](auto e) { return name(e); });                        \
  }
MTLEMU_UNARY(exp, __builtin_expf(x))
MTLEMU_UNARY(exp2, __builtin_exp2f(x))
MTLEMU_UNARY(exp10, __builtin_powf(10.0f, x))
MTLEMU_UNARY(log, __builtin_logf(x))
MTLEMU_UNARY(log2, __builtin_log2f(x))
MTLEMU_UNARY(log10, __builtin_log10f(x))
MTLEMU_UNARY(sqrt, __builtin_sqrtf(x))
MTLEMU_UNARY(rsqrt, 1.0f / __builtin_sqrtf(x))
MTLEMU_UNARY(ceil, __builtin_ceilf(x))
MTLEMU_UNARY(floor, __builtin_floorf(x))
MTLEMU_UNARY(round, __builtin_roundf(x))
MTLEMU_UNARY(rint, __builtin_rintf(x))
MTLEMU_UNARY(trunc, __builtin_truncf(x))
MTLEMU_UNARY(fract, __builtin_fminf(x - __builtin_floorf(x), 0x1.fffffep-1f))
MTLEMU_UNARY(fabs, __builtin_fabsf(x))
MTLEMU_UNARY(sin, __builtin_sinf(x))
MTLEMU_UNARY(cos, __builtin_cosf(x))
MTLEMU_UNARY(tan, __builtin_tanf(x))
MTLEMU_UNARY(asin, __builtin_asinf(x))
MTLEMU_UNARY(acos, __builtin_acosf(x))
MTLEMU_UNARY(atan, __builtin_atanf(x))
MTLEMU_UNARY(sinh, __builtin_sinhf(x))
MTLEMU_UNARY(cosh, __builtin_coshf(x))
MTLEMU_UNARY(tanh, __builtin_tanhf(x))
MTLEMU_UNARY(asinh, __builtin_asinhf(x))
MTLEMU_UNARY(acosh, __builtin_acoshf(x))
MTLEMU_UNARY(atanh, __builtin_atanhf(x))
MTLEMU_UNARY(sinpi, __builtin_sinf(M_PI_F * x))
MTLEMU_UNARY(cospi, __builtin_cosf(M_PI_F * x))
MTLEMU_UNARY(tanpi, __builtin_tanf(M_PI_F * x))
MTLEMU_UNARY(saturate, __builtin_fminf(__builtin_fmaxf(x, 0.0f), 1.0f))
MTLEMU_UNARY(sign, x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x == x ? x : 0.0f)
#undef MTLEMU_UNARY

// T name(T, T).
#define MTLEMU_BINARY(name, expr)                                                    \
  MTLEMU_INLINE float name(float x, float y) { return expr; }                       \
  MTLEMU_INLINE half name(half a, half b) { return (half)name((float)a, (float)b); } \
  template <mdetail::fvec X> MTLEMU_INLINE auto name(const X& a, const X& b) {      \
    return mdetail::map2(a, b, [](auto p, auto q) { return name(p, q); });          \
  }
MTLEMU_BINARY(pow, __builtin_powf(x, y))
MTLEMU_BINARY(powr, __builtin_powf(x, y))
MTLEMU_BINARY(fmin, __builtin_fminf(x, y))
MTLEMU_BINARY(fmax, __builtin_fmaxf(x, y))
MTLEMU_BINARY(atan2, __builtin_atan2f(x, y))
MTLEMU_BINARY(fmod, __builtin_fmodf(x, y))
MTLEMU_BINARY(copysign, __builtin_copysignf(x, y))
MTLEMU_BINARY(fdim, __builtin_fdimf(x, y))
MTLEMU_BINARY(nextafter, __builtin_nextafterf(x, y))
MTLEMU_BINARY(step, y < x ? 0.0f : 1.0f)
MTLEMU_BINARY(divide, x / y)
#undef MTLEMU_BINARY

// T name(T, T, T).
#define MTLEMU_TERNARY(name, expr)                                                   \
  MTLEMU_INLINE float name(float x, float y, float z) { return expr; }              \
  MTLEMU_INLINE half name(half a, half b, half c) {                                 \
    return (half)name((float)a, (float)b, (float)c);                                \
  }                                                                                 \
  template <mdetail::fvec X> MTLEMU_INLINE auto name(const X& a, const X& b, const X& c) { \
    return mdetail::map3(a, b, c, [](auto p, auto q, auto r) { return name(p, q, r); }); \
  }
MTLEMU_TERNARY(fma, __builtin_fmaf(x, y, z))
MTLEMU_TERNARY(mad, x * y + z)
MTLEMU_TERNARY(mix, x + (y - x) * z)
MTLEMU_TERNARY(fmin3, __builtin_fminf(x, __builtin_fminf(y, z)))
MTLEMU_TERNARY(fmax3, __builtin_fmaxf(x, __builtin_fmaxf(y, z)))
MTLEMU_TERNARY(smoothstep, ([](float e0, float e1, float v) {
                 float t = __builtin_fminf(__builtin_fmaxf((v - e0) / (e1 - e0), 0.0f), 1.0f);
                 return t * t * (3.0f - 2.0f * t);
               })(x, y, z))
#undef MTLEMU_TERNARY

// ---- functions shared by integers and floats --------------------------------

// min, max, clamp: fmin/fmax semantics for floats.
MTLEMU_INLINE float min(float a, float b) { return __builtin_fminf(a, b); }
MTLEMU_INLINE float max(float a, float b) { return __builtin_fmaxf(a, b); }
MTLEMU_INLINE half min(half a, half b) { return (half)__builtin_fminf((float)a, (float)b); }
MTLEMU_INLINE half max(half a, half b) { return (half)__builtin_fmaxf((float)a, (float)b); }
template <mdetail::iscalar T> MTLEMU_INLINE T min(T a, T b) { return b < a ? b : a; }
template <mdetail::iscalar T> MTLEMU_INLINE T max(T a, T b) { return a < b ? b : a; }
template <class T> requires(std::is_same_v<T, float> || std::is_same_v<T, half> || mdetail::iscalar<T>)
MTLEMU_INLINE T clamp(T x, T lo, T hi) { return min(max(x, lo), hi); }
template <class T> requires(std::is_same_v<T, float> || std::is_same_v<T, half> || mdetail::iscalar<T>)
MTLEMU_INLINE T min3(T a, T b, T c) { return min(a, min(b, c)); }
template <class T> requires(std::is_same_v<T, float> || std::is_same_v<T, half> || mdetail::iscalar<T>)
MTLEMU_INLINE T max3(T a, T b, T c) { return max(a, max(b, c)); }
template <class T> requires(std::is_same_v<T, float> || std::is_same_v<T, half> || mdetail::iscalar<T>)
MTLEMU_INLINE T median3(T a, T b, T c) { return max(min(a, b), min(max(a, b), c)); }

template <class X> requires(mdetail::fvec<X> || mdetail::ivec<X>)
MTLEMU_INLINE auto min(const X& a, const X& b) { return mdetail::map2(a, b, [](auto p, auto q) { return min(p, q); }); }
template <class X> requires(mdetail::fvec<X> || mdetail::ivec<X>)
MTLEMU_INLINE auto max(const X& a, const X& b) { return mdetail::map2(a, b, [](auto p, auto q) { return max(p, q); }); }
template <class X> requires(mdetail::fvec<X> || mdetail::ivec<X>)
MTLEMU_INLINE auto clamp(const X& x, const X& lo, const X& hi) {
  return mdetail::map3(x, lo, hi, [](auto p, auto q, auto r) { return clamp(p, q, r); });
}
// clamp(vector, scalar, scalar), which Metal also accepts.
template <class X, class S> requires((mdetail::fvec<X> || mdetail::ivec<X>) && std::is_same_v<mtlemu::bare_t<S>, vec_elem_t<X>>)
MTLEMU_INLINE auto clamp(const X& x, const S& lo, const S& hi) {
  using V = mdetail::vtype<X>;
  return clamp(V(x), V(lo), V(hi));
}

// abs: integers and floats.
MTLEMU_INLINE float abs(float x) { return __builtin_fabsf(x); }
MTLEMU_INLINE half abs(half x) { return (half)__builtin_fabsf((float)x); }
template <mdetail::iscalar T> MTLEMU_INLINE T abs(T x) {
  if constexpr (std::is_signed_v<T>) return x < 0 ? T(-x) : x;
  else return x;
}
template <class X> requires(mdetail::fvec<X> || mdetail::ivec<X>)
MTLEMU_INLINE auto abs(const X& v) { return mdetail::map1(v, [](auto e) { return abs(e); }); }

// ---- integer functions ------------------------------------------------------

template <mdetail::iscalar T> MTLEMU_INLINE T popcount(T x) {
  return (T)__builtin_popcountll((unsigned long long)(std::make_unsigned_t<T>)x);
}
template <mdetail::iscalar T> MTLEMU_INLINE T clz(T x) {
  using U = std::make_unsigned_t<T>;
  if (x == 0) return (T)(8 * sizeof(T));
  return (T)(__builtin_clzll((unsigned long long)(U)x) - 8 * (sizeof(unsigned long long) - sizeof(T)));
}
template <mdetail::iscalar T> MTLEMU_INLINE T ctz(T x) {
  if (x == 0) return (T)(8 * sizeof(T));
  return (T)__builtin_ctzll((unsigned long long)(std::make_unsigned_t<T>)x);
}
template <mdetail::iscalar T> MTLEMU_INLINE T mulhi(T a, T b) {
  if constexpr (sizeof(T) == 8) {
    using W = std::conditional_t<std::is_signed_v<T>, __int128, unsigned __int128>;
    return (T)(((W)a * (W)b) >> 64);
  } else {
    using W = std::conditional_t<std::is_signed_v<T>, long long, unsigned long long>;
    return (T)(((W)a * (W)b) >> (8 * sizeof(T)));
  }
}

// ---- floating-point decomposition -------------------------------------------

MTLEMU_INLINE float ldexp(float x, int k) { return __builtin_ldexpf(x, k); }
MTLEMU_INLINE half ldexp(half x, int k) { return (half)__builtin_ldexpf((float)x, k); }
MTLEMU_INLINE float frexp(float x, thread int& e) { return __builtin_frexpf(x, &e); }
MTLEMU_INLINE half frexp(half x, thread int& e) { return (half)__builtin_frexpf((float)x, &e); }
MTLEMU_INLINE int ilogb(float x) { return __builtin_ilogbf(x); }
MTLEMU_INLINE float modf(float x, thread float& i) { return __builtin_modff(x, &i); }
MTLEMU_INLINE float sincos(float x, thread float& c) {
  c = __builtin_cosf(x);
  return __builtin_sinf(x);
}
template <int N> MTLEMU_INLINE vec<float, N> ldexp(const vec<float, N>& x, const vec<int, N>& k) {
  vec<float, N> r;
  for (int i = 0; i < N; ++i) r[i] = __builtin_ldexpf(x[i], k[i]);
  return r;
}

// ---- classification (float, half, bfloat) -----------------------------------

#define MTLEMU_CLASSIFY(name, expr)                                                  \
  MTLEMU_INLINE bool name(float x) { return expr; }                                 \
  MTLEMU_INLINE bool name(half h) { return name((float)h); }                        \
  MTLEMU_INLINE bool name(bfloat b) { return name((float)b); }                      \
  template <class X> requires(mdetail::fvec<X> || (vec_like<X> && std::is_same_v<vec_elem_t<X>, bfloat>)) \
  MTLEMU_INLINE auto name(const X& v) { return mdetail::map1(v, [](auto e) { return name(e); }); }
MTLEMU_CLASSIFY(isnan, __builtin_isnan(x))
MTLEMU_CLASSIFY(isinf, __builtin_isinf(x))
MTLEMU_CLASSIFY(isfinite, __builtin_isfinite(x))
MTLEMU_CLASSIFY(isnormal, __builtin_isnormal(x))
MTLEMU_CLASSIFY(signbit, __builtin_signbit(x) != 0)
#undef MTLEMU_CLASSIFY
MTLEMU_INLINE bool isordered(float x, float y) { return x == x && y == y; }
MTLEMU_INLINE bool isunordered(float x, float y) { return !(x == x && y == y); }

// ---- geometric --------------------------------------------------------------

template <mdetail::fvec X> MTLEMU_INLINE auto dot(const X& a, const X& b) {
  const mdetail::vtype<X> x(a), y(b);
  vec_elem_t<X> s = x[0] * y[0];
  for (int i = 1; i < vec_size_v<X>; ++i) s += x[i] * y[i];
  return s;
}
template <mdetail::fvec X> MTLEMU_INLINE auto length_squared(const X& a) { return dot(a, a); }
template <mdetail::fvec X> MTLEMU_INLINE auto length(const X& a) { return sqrt(dot(a, a)); }
template <mdetail::fvec X> MTLEMU_INLINE auto distance(const X& a, const X& b) { return length(a - b); }
template <mdetail::fvec X> MTLEMU_INLINE auto normalize(const X& a) { return mdetail::vtype<X>(a) * rsqrt(dot(a, a)); }
template <class T> MTLEMU_INLINE vec<T, 3> cross(const vec<T, 3>& a, const vec<T, 3>& b) {
  return vec<T, 3>(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x);
}

// Metal offers explicit precise:: and fast:: variants; both are the plain
// functions here (the emulator does not model fast-math).
namespace precise {
using metal::acos; using metal::asin; using metal::atan; using metal::atan2; using metal::clamp;
using metal::cos; using metal::cosh; using metal::cospi; using metal::divide; using metal::exp;
using metal::exp10; using metal::exp2; using metal::fabs; using metal::abs; using metal::fmax; using metal::fmin;
using metal::fmod; using metal::log; using metal::log10; using metal::log2; using metal::max; using metal::min;
using metal::pow; using metal::powr; using metal::rsqrt; using metal::saturate; using metal::sin;
using metal::sincos; using metal::sinh; using metal::sinpi; using metal::sqrt; using metal::tan;
using metal::tanh; using metal::tanpi; using metal::length; using metal::normalize; using metal::distance;
}  // namespace precise
namespace fast = precise;
}  // namespace metal
