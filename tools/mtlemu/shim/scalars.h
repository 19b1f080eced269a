// Metal's scalar types: the short unsigned names, half and bfloat.
#pragma once
#pragma GCC system_header

typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long ulong;  // 64 bits, as in MSL (LP64)

// half is IEEE binary16 on both sides.
typedef _Float16 half;

// MSL writes half literals as 1.0h; the source rewrite turns them into 1.0_h
// (C++ has no h suffix).
constexpr half operator""_h(long double v) { return (half)(float)v; }
constexpr half operator""_h(unsigned long long v) { return (half)(float)v; }

// bfloat with the conversion rules of MSL 3.1: bfloat -> float is implicit,
// float -> bfloat must be written (bfloat(x)), so `bfloat b = x * 2.0f;` does
// not compile. Arithmetic between two bfloats stays bfloat (computed in float,
// rounded once); mixed with float it becomes float through the implicit
// conversion.
struct bfloat {
  unsigned short bits_;

  bfloat() = default;
  explicit constexpr bfloat(float f) : bits_(round(f)) {}
  explicit constexpr bfloat(half h) : bits_(round((float)h)) {}
  template <class I, class = std::enable_if_t<std::is_integral_v<I>>>
  explicit constexpr bfloat(I i) : bits_(round((float)i)) {}

  constexpr operator float() const { return __builtin_bit_cast(float, (unsigned)bits_ << 16); }

  static constexpr bfloat from_bits(unsigned short b) {
    bfloat r{};
    r.bits_ = b;
    return r;
  }

  // Round to nearest, ties to even, as Metal converts; NaN stays a (quiet) NaN.
  static constexpr unsigned short round(float f) {
    unsigned u = __builtin_bit_cast(unsigned, f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short)(u >> 16);
  }

  friend constexpr bfloat operator+(bfloat a, bfloat b) { return bfloat(float(a) + float(b)); }
  friend constexpr bfloat operator-(bfloat a, bfloat b) { return bfloat(float(a) - float(b)); }
  friend constexpr bfloat operator*(bfloat a, bfloat b) { return bfloat(float(a) * float(b)); }
  friend constexpr bfloat operator/(bfloat a, bfloat b) { return bfloat(float(a) / float(b)); }
  friend constexpr bfloat operator-(bfloat a) { return from_bits((unsigned short)(a.bits_ ^ 0x8000u)); }
  friend constexpr bfloat operator+(bfloat a) { return a; }
  constexpr bfloat& operator+=(bfloat o) { return *this = *this + o; }
  constexpr bfloat& operator-=(bfloat o) { return *this = *this - o; }
  constexpr bfloat& operator*=(bfloat o) { return *this = *this * o; }
  constexpr bfloat& operator/=(bfloat o) { return *this = *this / o; }
};

namespace metal {
using std::enable_if;
using std::enable_if_t;
using std::conditional;
using std::conditional_t;
using std::is_same;
using std::is_same_v;
using std::is_integral;
using std::is_integral_v;
using std::is_signed;
using std::is_signed_v;
using std::is_unsigned;
using std::is_unsigned_v;
using std::is_arithmetic;
using std::is_arithmetic_v;
using std::remove_cv;
using std::remove_cv_t;
using std::remove_reference;
using std::remove_reference_t;
using std::integral_constant;
using std::true_type;
using std::false_type;
using std::make_unsigned;
using std::make_unsigned_t;
using std::make_signed;
using std::make_signed_t;

template <class T> struct is_floating_point : std::is_floating_point<T> {};
template <> struct is_floating_point<half> : std::true_type {};
template <> struct is_floating_point<bfloat> : std::true_type {};
template <class T> inline constexpr bool is_floating_point_v = is_floating_point<T>::value;

template <class T> struct numeric_limits : std::numeric_limits<T> {};
template <> struct numeric_limits<half> {
  static constexpr bool is_specialized = true;
  static constexpr int digits = 11;
  static constexpr half min() { return (half)6.103515625e-05f; }
  static constexpr half max() { return (half)65504.0f; }
  static constexpr half lowest() { return (half)-65504.0f; }
  static constexpr half epsilon() { return (half)0.0009765625f; }
  static constexpr half infinity() { return (half)__builtin_inff(); }
  static constexpr half quiet_NaN() { return (half)__builtin_nanf(""); }
};
template <> struct numeric_limits<bfloat> {
  static constexpr bool is_specialized = true;
  static constexpr int digits = 8;
  static constexpr bfloat min() { return bfloat::from_bits(0x0080); }
  static constexpr bfloat max() { return bfloat::from_bits(0x7f7f); }
  static constexpr bfloat lowest() { return bfloat::from_bits(0xff7f); }
  static constexpr bfloat epsilon() { return bfloat::from_bits(0x3c00); }
  static constexpr bfloat infinity() { return bfloat::from_bits(0x7f80); }
  static constexpr bfloat quiet_NaN() { return bfloat::from_bits(0x7fc0); }
};
}  // namespace metal

// Constants of metal_math (the ones kernels use most).
#define MAXFLOAT 0x1.fffffep+127f
#define HUGE_VALF __builtin_huge_valf()
#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
#define FLT_MAX 0x1.fffffep+127f
#define FLT_MIN 0x1p-126f
#define FLT_EPSILON 0x1p-23f
#define HALF_MAX ((half)65504.0f)
#define HALF_MIN ((half)6.103515625e-05f)
#define HALF_EPSILON ((half)0.0009765625f)
#define M_E_F 2.71828182845904523536f
#define M_LOG2E_F 1.44269504088896340736f
#define M_LOG10E_F 0.434294481903251827651f
#define M_LN2_F 0.693147180559945309417f
#define M_LN10_F 2.30258509299404568402f
#define M_PI_F 3.14159265358979323846f
#define M_PI_2_F 1.57079632679489661923f
#define M_PI_4_F 0.785398163397448309616f
#define M_1_PI_F 0.318309886183790671538f
#define M_2_PI_F 0.636619772367581343076f
#define M_SQRT2_F 1.41421356237309504880f
#define M_SQRT1_2_F 0.707106781186547524401f
