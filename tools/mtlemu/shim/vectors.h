// Metal's vector types (float4, uint3, half2, bfloat4, bool2, ...) as one
// class template, metal::vec<T, N>.
//
// Why a class and not clang's ext_vector_type: MSL builds vectors with
// constructor syntax (float4(v.xy, 0.0f, 1.0f)), which C++ only offers for
// classes; bfloat vectors need a class element type anyway; and g++ has no
// ext_vector_type. The layout matches Metal's: N elements, a 3-vector padded
// to 4, aligned to its size (float3 is 16 bytes, half2 is 4).
//
// Swizzles (.xy, .zyx, ...) are proxy members of a union over the same
// storage; all two- and three-component swizzles exist, four-component ones
// do not (.xyzw is the vector itself). A swizzle's own components (.zyx.x)
// and indexing work; a swizzle of a swizzle (.zyx.xy) does not. Operators
// and math functions accept both vectors and swizzles.
#pragma once
#pragma GCC system_header

namespace metal {
template <class T, int N> struct vec;

namespace vdetail {
template <int... I> constexpr bool distinct() {
  constexpr int idx[] = {I...};
  for (unsigned a = 0; a < sizeof...(I); ++a)
    for (unsigned b = a + 1; b < sizeof...(I); ++b)
      if (idx[a] == idx[b]) return false;
  return true;
}

// One component of a swizzle (v.zyx.x is v.z): reads and writes element J
// of the vector's storage.
template <class T, int Size, int J> struct component {
  T v_[Size];
  MTLEMU_INLINE operator T() const { return v_[J]; }
  MTLEMU_INLINE component& operator=(const T& t) {
    v_[J] = t;
    return *this;
  }
  MTLEMU_INLINE component& operator=(const component& o) { return *this = T(o); }
};

template <int K, int... I> constexpr int pick() {
  constexpr int idx[] = {I...};
  return idx[K];
}

// The storage of a swizzle, with its components named x, y (and z).
template <class T, int Size, int N, int... I> struct swizzle_storage;
template <class T, int Size, int... I> struct swizzle_storage<T, Size, 2, I...> {
  union {
    T v_[Size];
    component<T, Size, pick<0, I...>()> x;
    component<T, Size, pick<1, I...>()> y;
  };
};
template <class T, int Size, int... I> struct swizzle_storage<T, Size, 3, I...> {
  union {
    T v_[Size];
    component<T, Size, pick<0, I...>()> x;
    component<T, Size, pick<1, I...>()> y;
    component<T, Size, pick<2, I...>()> z;
  };
};

// A swizzle reads and writes components I... of the enclosing vector's
// storage (Size elements). V is the vector type it stands for; naming it as a
// template argument also lets argument-dependent lookup find metal's
// operators for swizzle operands.
template <class T, int Size, class V, int... I> struct swizzle : swizzle_storage<T, Size, sizeof...(I), I...> {
  MTLEMU_INLINE operator V() const { return V(this->v_[I]...); }

  MTLEMU_INLINE swizzle& operator=(const V& o) {
    static_assert(distinct<I...>(), "a swizzle that repeats a component (.xx) cannot be assigned to");
    int k = 0;
    ((this->v_[I] = o[k++]), ...);
    return *this;
  }
  // Assigning v.xy = w.xy must copy two components, not the whole storage.
  MTLEMU_INLINE swizzle& operator=(const swizzle& o) { return *this = V(o); }
  template <class X> MTLEMU_INLINE swizzle& operator+=(const X& o) { return *this = V(*this) + o; }
  template <class X> MTLEMU_INLINE swizzle& operator-=(const X& o) { return *this = V(*this) - o; }
  template <class X> MTLEMU_INLINE swizzle& operator*=(const X& o) { return *this = V(*this) * o; }
  template <class X> MTLEMU_INLINE swizzle& operator/=(const X& o) { return *this = V(*this) / o; }

  MTLEMU_INLINE T& operator[](int k) {
    constexpr int idx[] = {I...};
    return this->v_[idx[k]];
  }
  MTLEMU_INLINE const T& operator[](int k) const {
    constexpr int idx[] = {I...};
    return this->v_[idx[k]];
  }
};

// Component name lists, one macro family per nesting level (a macro cannot
// expand itself).
#define MTLEMU_A2(M, ...) M(x, 0, __VA_ARGS__) M(y, 1, __VA_ARGS__)
#define MTLEMU_A3(M, ...) MTLEMU_A2(M, __VA_ARGS__) M(z, 2, __VA_ARGS__)
#define MTLEMU_A4(M, ...) MTLEMU_A3(M, __VA_ARGS__) M(w, 3, __VA_ARGS__)
#define MTLEMU_B2(M, ...) M(x, 0, __VA_ARGS__) M(y, 1, __VA_ARGS__)
#define MTLEMU_B3(M, ...) MTLEMU_B2(M, __VA_ARGS__) M(z, 2, __VA_ARGS__)
#define MTLEMU_B4(M, ...) MTLEMU_B3(M, __VA_ARGS__) M(w, 3, __VA_ARGS__)
#define MTLEMU_C2(M, ...) M(x, 0, __VA_ARGS__) M(y, 1, __VA_ARGS__)
#define MTLEMU_C3(M, ...) MTLEMU_C2(M, __VA_ARGS__) M(z, 2, __VA_ARGS__)
#define MTLEMU_C4(M, ...) MTLEMU_C3(M, __VA_ARGS__) M(w, 3, __VA_ARGS__)

#define MTLEMU_SW2_LEAF(B, b, A, a) ::metal::vdetail::swizzle<T, S, ::metal::vec<T, 2>, a, b> A##B;
#define MTLEMU_SW2_ROW(A, a, N) MTLEMU_B##N(MTLEMU_SW2_LEAF, A, a)
#define MTLEMU_SWIZZLES2(N) MTLEMU_A##N(MTLEMU_SW2_ROW, N)

#define MTLEMU_SW3_LEAF(C, c, A, a, B, b) ::metal::vdetail::swizzle<T, S, ::metal::vec<T, 3>, a, b, c> A##B##C;
#define MTLEMU_SW3_ROW2(B, b, A, a, N) MTLEMU_C##N(MTLEMU_SW3_LEAF, A, a, B, b)
#define MTLEMU_SW3_ROW1(A, a, N) MTLEMU_B##N(MTLEMU_SW3_ROW2, A, a, N)
#define MTLEMU_SWIZZLES3(N) MTLEMU_A##N(MTLEMU_SW3_ROW1, N)

template <class T, int N> struct storage;

template <class T> struct alignas(2 * sizeof(T)) storage<T, 2> {
  static constexpr int S = 2;
  union {
    T v_[2];
    struct { T x, y; };
    struct { T r, g; };
    MTLEMU_SWIZZLES2(2)
    MTLEMU_SWIZZLES3(2)
  };
};

template <class T> struct alignas(4 * sizeof(T)) storage<T, 3> {
  static constexpr int S = 4;
  union {
    T v_[4];  // the fourth element is padding, as in Metal
    struct { T x, y, z; };
    struct { T r, g, b; };
    MTLEMU_SWIZZLES2(3)
    MTLEMU_SWIZZLES3(3)
  };
};

template <class T> struct alignas(4 * sizeof(T)) storage<T, 4> {
  static constexpr int S = 4;
  union {
    T v_[4];
    struct { T x, y, z, w; };
    struct { T r, g, b, a; };
    MTLEMU_SWIZZLES2(4)
    MTLEMU_SWIZZLES3(4)
  };
};
}  // namespace vdetail

// ---- traits -----------------------------------------------------------------

template <class X> struct vec_traits {
  static constexpr bool is_vec = false;
  static constexpr int size = 1;
  using elem = X;
};
template <class T, int N> struct vec_traits<vec<T, N>> {
  static constexpr bool is_vec = true;
  static constexpr int size = N;
  using elem = T;
  using type = vec<T, N>;
};
template <class T, int S, class V, int... I> struct vec_traits<vdetail::swizzle<T, S, V, I...>> {
  static constexpr bool is_vec = true;
  static constexpr int size = sizeof...(I);
  using elem = T;
  using type = V;
};

template <class X> concept vec_like = vec_traits<mtlemu::bare_t<X>>::is_vec;
template <class X> using vec_elem_t = typename vec_traits<mtlemu::bare_t<X>>::elem;
template <class X> inline constexpr int vec_size_v = vec_traits<mtlemu::bare_t<X>>::size;

namespace vdetail {
template <class X> struct is_element : std::false_type {};
#define MTLEMU_ELEMENT(T) template <> struct is_element<T> : std::true_type {};
MTLEMU_ELEMENT(bool)
MTLEMU_ELEMENT(char)
MTLEMU_ELEMENT(signed char)
MTLEMU_ELEMENT(unsigned char)
MTLEMU_ELEMENT(short)
MTLEMU_ELEMENT(unsigned short)
MTLEMU_ELEMENT(int)
MTLEMU_ELEMENT(unsigned int)
MTLEMU_ELEMENT(long)
MTLEMU_ELEMENT(unsigned long)
MTLEMU_ELEMENT(half)
MTLEMU_ELEMENT(float)
MTLEMU_ELEMENT(bfloat)
#undef MTLEMU_ELEMENT

template <class X> concept scalar = is_element<mtlemu::bare_t<X>>::value;

// Which scalars may meet a vector of T in an expression: T itself, any
// integer, and for float vectors also half and bfloat (a widening). A double
// (an unsuffixed literal such as 0.5) is rejected, as is a narrowing to half.
template <class S, class T> constexpr bool scalar_mixes_with() {
  using B = mtlemu::bare_t<S>;
  if constexpr (!is_element<B>::value) return false;
  else if constexpr (std::is_same_v<B, T>) return true;
  else if constexpr (std::is_integral_v<B>) return !std::is_same_v<B, bool>;
  else if constexpr (std::is_same_v<T, float>) return std::is_same_v<B, half> || std::is_same_v<B, bfloat>;
  else return false;
}

template <class A, class B> constexpr bool operands() {
  if constexpr (vec_like<A> && vec_like<B>)
    return std::is_same_v<typename vec_traits<mtlemu::bare_t<A>>::type, typename vec_traits<mtlemu::bare_t<B>>::type>;
  else if constexpr (vec_like<A>) return scalar_mixes_with<B, vec_elem_t<A>>();
  else if constexpr (vec_like<B>) return scalar_mixes_with<A, vec_elem_t<B>>();
  else return false;
}
template <class A, class B> using result_t =
    typename vec_traits<mtlemu::bare_t<std::conditional_t<vec_like<A>, A, B>>>::type;

// Constructor components: scalars convertible to T, or vectors of T.
template <class A> constexpr int component_count() {
  if constexpr (vec_like<A>) return vec_size_v<A>;
  else return 1;
}
template <class A, class T> constexpr bool accepts_component() {
  if constexpr (vec_like<A>) return std::is_same_v<vec_elem_t<A>, T>;
  else return scalar<A> && std::is_convertible_v<mtlemu::bare_t<A>, T>;
}

// Turns a vector, swizzle or scalar operand into a vector of type V.
template <class V, class X> MTLEMU_INLINE V lift(const X& x) {
  if constexpr (vec_like<X>) return V(x);
  else return V(static_cast<typename vec_traits<V>::elem>(x));
}
}  // namespace vdetail

// ---- the vector -------------------------------------------------------------

template <class T, int N> struct vec : vdetail::storage<T, N> {
  static_assert(N >= 2 && N <= 4, "Metal vectors have 2, 3 or 4 components");
  static_assert(vdetail::is_element<T>::value, "not a Metal vector element type");

  vec() = default;  // uninitialised, as in Metal
  vec(const vec&) = default;
  MTLEMU_INLINE vec& operator=(const vec& o) {
    for (int i = 0; i < N; ++i) this->v_[i] = o.v_[i];
    return *this;
  }

  // Splat: float4(0.0f), and the implicit scalar-to-vector conversion.
  MTLEMU_INLINE vec(T s) {
    for (int i = 0; i < N; ++i) this->v_[i] = s;
  }

  // float4(a, b, c, d), float4(v.xy, 0.0f, 1.0f), ...: components are
  // scalars convertible to T or vectors with element type T.
  template <class... A>
    requires(sizeof...(A) >= 2 && (vdetail::component_count<A>() + ...) == N &&
             (vdetail::accepts_component<A, T>() && ...))
  MTLEMU_INLINE vec(const A&... a) {
    int k = 0;
    (put(k, a), ...);
  }

  // float4(half4), bfloat4(float4): an explicit element-wise conversion.
  template <class U>
    requires(!std::is_same_v<U, T>)
  MTLEMU_INLINE explicit vec(const vec<U, N>& o) {
    for (int i = 0; i < N; ++i) this->v_[i] = static_cast<T>(o[i]);
  }

  MTLEMU_INLINE T& operator[](int i) { return this->v_[i]; }
  MTLEMU_INLINE const T& operator[](int i) const { return this->v_[i]; }

  template <class X> requires(vdetail::operands<vec, X>()) MTLEMU_INLINE vec& operator+=(const X& o) { return *this = *this + o; }
  template <class X> requires(vdetail::operands<vec, X>()) MTLEMU_INLINE vec& operator-=(const X& o) { return *this = *this - o; }
  template <class X> requires(vdetail::operands<vec, X>()) MTLEMU_INLINE vec& operator*=(const X& o) { return *this = *this * o; }
  template <class X> requires(vdetail::operands<vec, X>()) MTLEMU_INLINE vec& operator/=(const X& o) { return *this = *this / o; }
  template <class X> requires(vdetail::operands<vec, X>()) MTLEMU_INLINE vec& operator%=(const X& o) { return *this = *this % o; }
  template <class X> requires(vdetail::operands<vec, X>()) MTLEMU_INLINE vec& operator&=(const X& o) { return *this = *this & o; }
  template <class X> requires(vdetail::operands<vec, X>()) MTLEMU_INLINE vec& operator|=(const X& o) { return *this = *this | o; }
  template <class X> requires(vdetail::operands<vec, X>()) MTLEMU_INLINE vec& operator^=(const X& o) { return *this = *this ^ o; }
  template <class X> requires(vdetail::operands<vec, X>()) MTLEMU_INLINE vec& operator<<=(const X& o) { return *this = *this << o; }
  template <class X> requires(vdetail::operands<vec, X>()) MTLEMU_INLINE vec& operator>>=(const X& o) { return *this = *this >> o; }

 private:
  template <class A> MTLEMU_INLINE void put(int& k, const A& a) {
    if constexpr (vec_like<A>) {
      const typename vec_traits<mtlemu::bare_t<A>>::type v(a);
      for (int i = 0; i < vec_size_v<A>; ++i) this->v_[k++] = v[i];
    } else {
      this->v_[k++] = static_cast<T>(a);
    }
  }
};

// ---- operators ----------------------------------------------------------------

#define MTLEMU_VEC_BINARY(OP)                                                       \
  template <class A, class B>                                                       \
    requires(vdetail::operands<A, B>())                                             \
  MTLEMU_INLINE auto operator OP(const A& a, const B& b) {                          \
    using V = vdetail::result_t<A, B>;                                              \
    const V x = vdetail::lift<V>(a), y = vdetail::lift<V>(b);                       \
    V r;                                                                            \
    for (int i = 0; i < vec_traits<V>::size; ++i)                                   \
      r[i] = static_cast<typename vec_traits<V>::elem>(x[i] OP y[i]);               \
    return r;                                                                       \
  }
MTLEMU_VEC_BINARY(+)
MTLEMU_VEC_BINARY(-)
MTLEMU_VEC_BINARY(*)
MTLEMU_VEC_BINARY(/)
MTLEMU_VEC_BINARY(%)
MTLEMU_VEC_BINARY(&)
MTLEMU_VEC_BINARY(|)
MTLEMU_VEC_BINARY(^)
MTLEMU_VEC_BINARY(<<)
MTLEMU_VEC_BINARY(>>)
#undef MTLEMU_VEC_BINARY

// Comparisons give a bool vector, as in Metal.
#define MTLEMU_VEC_COMPARE(OP)                                                      \
  template <class A, class B>                                                       \
    requires(vdetail::operands<A, B>())                                             \
  MTLEMU_INLINE auto operator OP(const A& a, const B& b) {                          \
    using V = vdetail::result_t<A, B>;                                              \
    const V x = vdetail::lift<V>(a), y = vdetail::lift<V>(b);                       \
    vec<bool, vec_traits<V>::size> r;                                               \
    for (int i = 0; i < vec_traits<V>::size; ++i) r[i] = x[i] OP y[i];              \
    return r;                                                                       \
  }
MTLEMU_VEC_COMPARE(==)
MTLEMU_VEC_COMPARE(!=)
MTLEMU_VEC_COMPARE(<)
MTLEMU_VEC_COMPARE(<=)
MTLEMU_VEC_COMPARE(>)
MTLEMU_VEC_COMPARE(>=)
MTLEMU_VEC_COMPARE(&&)
MTLEMU_VEC_COMPARE(||)
#undef MTLEMU_VEC_COMPARE

#define MTLEMU_VEC_UNARY(OP)                                                        \
  template <vec_like A>                                                             \
  MTLEMU_INLINE auto operator OP(const A& a) {                                      \
    using V = typename vec_traits<mtlemu::bare_t<A>>::type;                         \
    const V x(a);                                                                   \
    V r;                                                                            \
    for (int i = 0; i < vec_traits<V>::size; ++i)                                   \
      r[i] = static_cast<typename vec_traits<V>::elem>(OP x[i]);                    \
    return r;                                                                       \
  }
MTLEMU_VEC_UNARY(-)
MTLEMU_VEC_UNARY(+)
MTLEMU_VEC_UNARY(~)
MTLEMU_VEC_UNARY(!)
#undef MTLEMU_VEC_UNARY

// ---- relational helpers -----------------------------------------------------

MTLEMU_INLINE bool all(bool b) { return b; }
MTLEMU_INLINE bool any(bool b) { return b; }
template <int N> MTLEMU_INLINE bool all(const vec<bool, N>& v) {
  for (int i = 0; i < N; ++i)
    if (!v[i]) return false;
  return true;
}
template <int N> MTLEMU_INLINE bool any(const vec<bool, N>& v) {
  for (int i = 0; i < N; ++i)
    if (v[i]) return true;
  return false;
}

// select(a, b, c) = c ? b : a, per component for vectors.
template <class T> requires vdetail::scalar<T>
MTLEMU_INLINE T select(T a, T b, bool c) { return c ? b : a; }
template <class T, int N>
MTLEMU_INLINE vec<T, N> select(const vec<T, N>& a, const vec<T, N>& b, const vec<bool, N>& c) {
  vec<T, N> r;
  for (int i = 0; i < N; ++i) r[i] = c[i] ? b[i] : a[i];
  return r;
}

// Reinterprets the bits of a value as another type of the same size.
template <class To, class From> MTLEMU_INLINE To as_type(const From& x) {
  static_assert(sizeof(To) == sizeof(mtlemu::bare_t<From>), "as_type needs types of the same size");
  To r;
  __builtin_memcpy((void*)&r, (const void*)&x, sizeof(To));
  return r;
}
}  // namespace metal

#define MTLEMU_VEC_TYPEDEFS(T, NAME)    \
  typedef ::metal::vec<T, 2> NAME##2;   \
  typedef ::metal::vec<T, 3> NAME##3;   \
  typedef ::metal::vec<T, 4> NAME##4;
MTLEMU_VEC_TYPEDEFS(bool, bool)
MTLEMU_VEC_TYPEDEFS(char, char)
MTLEMU_VEC_TYPEDEFS(unsigned char, uchar)
MTLEMU_VEC_TYPEDEFS(short, short)
MTLEMU_VEC_TYPEDEFS(unsigned short, ushort)
MTLEMU_VEC_TYPEDEFS(int, int)
MTLEMU_VEC_TYPEDEFS(unsigned int, uint)
MTLEMU_VEC_TYPEDEFS(long, long)
MTLEMU_VEC_TYPEDEFS(unsigned long, ulong)
MTLEMU_VEC_TYPEDEFS(half, half)
MTLEMU_VEC_TYPEDEFS(float, float)
MTLEMU_VEC_TYPEDEFS(bfloat, bfloat)
#undef MTLEMU_VEC_TYPEDEFS
