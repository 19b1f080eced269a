// metal_simdgroup: SIMD-group reductions, scans, shuffles, broadcasts and
// votes, as collectives across the 32 lanes of a SIMD-group (see
// abi.h for the protocol).
//
// Faithful where Metal defines the result: only active lanes take part
// (lanes that returned, or that a partial last SIMD-group lacks). Reading
// from an inactive or invalid lane is undefined on Metal and yields 0xFF
// bytes here (a NaN for floats), so that its use shows in the results.
// Arguments that Metal requires to be the same across the SIMD-group (the
// delta of simd_shuffle_down, the lane of simd_broadcast, ...) are checked.
// Reductions add in lane order (the GPU's order is unspecified).
#pragma once
#pragma GCC system_header

namespace metal {
namespace sdetail {
template <class T> constexpr bool scalar_ok() {
  using B = mtlemu::bare_t<T>;
  return std::is_same_v<B, char> || std::is_same_v<B, signed char> || std::is_same_v<B, unsigned char> ||
         std::is_same_v<B, short> || std::is_same_v<B, unsigned short> || std::is_same_v<B, int> ||
         std::is_same_v<B, unsigned int> || std::is_same_v<B, half> || std::is_same_v<B, float> ||
         std::is_same_v<B, bfloat>;
}
template <class T> constexpr bool type_ok() {
  if constexpr (vec_like<T>) return scalar_ok<vec_elem_t<T>>();
  else return scalar_ok<T>();
}
template <class T> constexpr bool int_ok() {
  if constexpr (vec_like<T>) return type_ok<T>() && std::is_integral_v<vec_elem_t<T>>;
  else return type_ok<T>() && std::is_integral_v<mtlemu::bare_t<T>>;
}
#define MTLEMU_SIMD_TYPE_CHECK(T, name)                                                              \
  static_assert(::metal::sdetail::type_ok<T>(),                                                      \
                "[" name "] Metal's SIMD-group functions take a scalar or vector of 8-, 16- or "    \
                "32-bit integers, half, bfloat or float; not bool, long, ulong or size_t")
#define MTLEMU_SIMD_INT_CHECK(T, name) \
  static_assert(::metal::sdetail::int_ok<T>(), "[" name "] needs a scalar or vector of 8-, 16- or 32-bit integers")

template <class T> MTLEMU_INLINE T garbage() {
  T r;
  __builtin_memset((void*)&r, 0xff, sizeof r);
  return r;
}
MTLEMU_INLINE bool on(const mtlemu::gather& g, unsigned lane) { return lane < 32 && (g.active >> lane & 1u); }
MTLEMU_INLINE unsigned first_active(const mtlemu::gather& g) { return (unsigned)__builtin_ctz(g.active); }

struct op_sum { template <class T> T operator()(const T& a, const T& b) const { return a + b; } };
struct op_product { template <class T> T operator()(const T& a, const T& b) const { return a * b; } };
struct op_min { template <class T> T operator()(const T& a, const T& b) const { return min(a, b); } };
struct op_max { template <class T> T operator()(const T& a, const T& b) const { return max(a, b); } };
struct op_and { template <class T> T operator()(const T& a, const T& b) const { return a & b; } };
struct op_or { template <class T> T operator()(const T& a, const T& b) const { return a | b; } };
struct op_xor { template <class T> T operator()(const T& a, const T& b) const { return a ^ b; } };

// Combine steps. They read other lanes' inputs and write other lanes'
// outputs: register traffic on a GPU, so hidden from ThreadSanitizer.
template <class T, class Op> MTLEMU_NO_TSAN void reduce(mtlemu::gather& g) {
  T acc = *(const T*)g.in[first_active(g)];
  for (unsigned i = first_active(g) + 1; i < g.lanes; ++i)
    if (on(g, i)) acc = Op()(acc, *(const T*)g.in[i]);
  for (unsigned i = 0; i < g.lanes; ++i)
    if (on(g, i)) *(T*)g.out[i] = acc;
}
template <class T, class Op, int Identity, bool Inclusive> MTLEMU_NO_TSAN void scan(mtlemu::gather& g) {
  T acc = T(Identity);
  for (unsigned i = 0; i < g.lanes; ++i) {
    if (!on(g, i)) continue;
    const T x = *(const T*)g.in[i];
    if (Inclusive) acc = Op()(acc, x);
    *(T*)g.out[i] = acc;
    if (!Inclusive) acc = Op()(acc, x);
  }
}

// Shuffles: each lane sends its value and a lane-index argument.
template <class T> struct shuffle_in {
  T value;
  T fill;
  unsigned arg;
  unsigned modulo;
};
enum class shuffle { lane, xor_, down, up, rotate_down, rotate_up, broadcast, broadcast_first, fill_down, fill_up };

template <class T, shuffle K> MTLEMU_NO_TSAN void shuffle_combine(mtlemu::gather& g) {
  auto in = [&](unsigned i) -> const shuffle_in<T>& { return *(const shuffle_in<T>*)g.in[i]; };
  const unsigned first = first_active(g);
  if constexpr (K != shuffle::lane && K != shuffle::broadcast_first) {
    // Metal requires the same delta / mask / lane on every lane.
    for (unsigned i = 0; i < g.lanes; ++i)
      if (on(g, i) && (in(i).arg != in(first).arg || in(i).modulo != in(first).modulo))
        mtlemu::rt::fail("[%s] %s:%u: lane %u passes %u but lane %u passes %u; Metal requires the same "
                         "value on every lane of the SIMD-group",
                         g.what, mtlemu::file_of(g), mtlemu::line_of(g), first, in(first).arg, i, in(i).arg);
  }
  for (unsigned i = 0; i < g.lanes; ++i) {
    if (!on(g, i)) continue;
    const unsigned a = in(i).arg;
    T r = garbage<T>();
    if constexpr (K == shuffle::lane || K == shuffle::broadcast) {
      if (on(g, a)) r = in(a).value;
    } else if constexpr (K == shuffle::xor_) {
      if (on(g, i ^ a)) r = in(i ^ a).value;
    } else if constexpr (K == shuffle::down) {
      if (i + a >= 32) r = in(i).value;  // the upper lanes keep their value
      else if (on(g, i + a)) r = in(i + a).value;
    } else if constexpr (K == shuffle::up) {
      if (i < a) r = in(i).value;  // the lower lanes keep their value
      else if (on(g, i - a)) r = in(i - a).value;
    } else if constexpr (K == shuffle::rotate_down) {
      if (on(g, (i + a) % 32)) r = in((i + a) % 32).value;
    } else if constexpr (K == shuffle::rotate_up) {
      if (on(g, (i + 32 - a % 32) % 32)) r = in((i + 32 - a % 32) % 32).value;
    } else if constexpr (K == shuffle::broadcast_first) {
      r = in(first).value;
    } else {
      // shuffle_and_fill within segments of `modulo` lanes.
      const unsigned m = in(i).modulo, seg = i / m * m, j = i - seg;
      unsigned src;
      bool from_fill;
      if constexpr (K == shuffle::fill_down) {
        from_fill = j + a >= m;
        src = seg + (from_fill ? j + a - m : j + a);
      } else {
        from_fill = j < a;
        src = seg + (from_fill ? j + m - a : j - a);
      }
      if (on(g, src)) r = from_fill ? in(src).fill : in(src).value;
    }
    *(T*)g.out[i] = r;
  }
}

template <class T> MTLEMU_INLINE T run(const void* in, mtlemu::combine_fn f, const char* what, const mtlemu::where& loc) {
  T out;
  mtlemu::rt::simd_op(mtlemu::simd_kind::collective, 0, in, &out, f, what, loc);
  return out;
}
template <class T, shuffle K>
MTLEMU_INLINE T shuffled(const T& x, unsigned arg, const char* what, const mtlemu::where& loc, const T& fill = T(),
                         unsigned modulo = 32) {
  const shuffle_in<T> in{x, fill, arg, modulo};
  return run<T>(&in, &shuffle_combine<T, K>, what, loc);
}

MTLEMU_NO_TSAN inline void ballot_combine(mtlemu::gather& g) {
  unsigned long bits = 0;
  for (unsigned i = 0; i < g.lanes; ++i)
    if (on(g, i) && *(const bool*)g.in[i]) bits |= 1ul << i;
  for (unsigned i = 0; i < g.lanes; ++i)
    if (on(g, i)) *(unsigned long*)g.out[i] = bits;
}
MTLEMU_NO_TSAN inline void active_combine(mtlemu::gather& g) {
  for (unsigned i = 0; i < g.lanes; ++i)
    if (on(g, i)) *(unsigned long*)g.out[i] = g.active;
}
}  // namespace sdetail

// ---- reductions and scans ---------------------------------------------------

#define MTLEMU_SIMD_REDUCE(name, OP, CHECK)                                                     \
  template <class T> MTLEMU_INLINE T name(T x, const mtlemu::where& loc = mtlemu::where::current()) { \
    CHECK(T, #name);                                                                           \
    return sdetail::run<T>(&x, &sdetail::reduce<T, sdetail::OP>, #name, loc);                 \
  }
MTLEMU_SIMD_REDUCE(simd_sum, op_sum, MTLEMU_SIMD_TYPE_CHECK)
MTLEMU_SIMD_REDUCE(simd_product, op_product, MTLEMU_SIMD_TYPE_CHECK)
MTLEMU_SIMD_REDUCE(simd_min, op_min, MTLEMU_SIMD_TYPE_CHECK)
MTLEMU_SIMD_REDUCE(simd_max, op_max, MTLEMU_SIMD_TYPE_CHECK)
MTLEMU_SIMD_REDUCE(simd_and, op_and, MTLEMU_SIMD_INT_CHECK)
MTLEMU_SIMD_REDUCE(simd_or, op_or, MTLEMU_SIMD_INT_CHECK)
MTLEMU_SIMD_REDUCE(simd_xor, op_xor, MTLEMU_SIMD_INT_CHECK)
#undef MTLEMU_SIMD_REDUCE

#define MTLEMU_SIMD_SCAN(name, OP, ID, INCL)                                                    \
  template <class T> MTLEMU_INLINE T name(T x, const mtlemu::where& loc = mtlemu::where::current()) { \
    MTLEMU_SIMD_TYPE_CHECK(T, #name);                                                          \
    return sdetail::run<T>(&x, &sdetail::scan<T, sdetail::OP, ID, INCL>, #name, loc);         \
  }
MTLEMU_SIMD_SCAN(simd_prefix_exclusive_sum, op_sum, 0, false)
MTLEMU_SIMD_SCAN(simd_prefix_inclusive_sum, op_sum, 0, true)
MTLEMU_SIMD_SCAN(simd_prefix_exclusive_product, op_product, 1, false)
MTLEMU_SIMD_SCAN(simd_prefix_inclusive_product, op_product, 1, true)
#undef MTLEMU_SIMD_SCAN

// ---- shuffles and broadcasts ------------------------------------------------

#define MTLEMU_SIMD_SHUFFLE(name, KIND, CHECK)                                                  \
  template <class T>                                                                           \
  MTLEMU_INLINE T name(T x, ushort arg, const mtlemu::where& loc = mtlemu::where::current()) { \
    CHECK(T, #name);                                                                           \
    return sdetail::shuffled<T, sdetail::shuffle::KIND>(x, arg, #name, loc);                  \
  }
MTLEMU_SIMD_SHUFFLE(simd_shuffle, lane, MTLEMU_SIMD_TYPE_CHECK)
MTLEMU_SIMD_SHUFFLE(simd_shuffle_xor, xor_, MTLEMU_SIMD_TYPE_CHECK)
MTLEMU_SIMD_SHUFFLE(simd_shuffle_down, down, MTLEMU_SIMD_TYPE_CHECK)
MTLEMU_SIMD_SHUFFLE(simd_shuffle_up, up, MTLEMU_SIMD_TYPE_CHECK)
MTLEMU_SIMD_SHUFFLE(simd_shuffle_rotate_down, rotate_down, MTLEMU_SIMD_TYPE_CHECK)
MTLEMU_SIMD_SHUFFLE(simd_shuffle_rotate_up, rotate_up, MTLEMU_SIMD_TYPE_CHECK)
MTLEMU_SIMD_SHUFFLE(simd_broadcast, broadcast, MTLEMU_SIMD_TYPE_CHECK)
#undef MTLEMU_SIMD_SHUFFLE

template <class T> MTLEMU_INLINE T simd_broadcast_first(T x, const mtlemu::where& loc = mtlemu::where::current()) {
  MTLEMU_SIMD_TYPE_CHECK(T, "simd_broadcast_first");
  return sdetail::shuffled<T, sdetail::shuffle::broadcast_first>(x, 0, "simd_broadcast_first", loc);
}
template <class T>
MTLEMU_INLINE T simd_shuffle_and_fill_down(T x, T fill, ushort delta, ushort modulo = 32,
                                           const mtlemu::where& loc = mtlemu::where::current()) {
  MTLEMU_SIMD_TYPE_CHECK(T, "simd_shuffle_and_fill_down");
  return sdetail::shuffled<T, sdetail::shuffle::fill_down>(x, delta, "simd_shuffle_and_fill_down", loc, fill, modulo);
}
template <class T>
MTLEMU_INLINE T simd_shuffle_and_fill_up(T x, T fill, ushort delta, ushort modulo = 32,
                                         const mtlemu::where& loc = mtlemu::where::current()) {
  MTLEMU_SIMD_TYPE_CHECK(T, "simd_shuffle_and_fill_up");
  return sdetail::shuffled<T, sdetail::shuffle::fill_up>(x, delta, "simd_shuffle_and_fill_up", loc, fill, modulo);
}

// ---- votes ------------------------------------------------------------------

typedef ulong vote_t;
class simd_vote {
 public:
  explicit constexpr simd_vote(vote_t v = 0) : v_(v) {}
  explicit constexpr operator vote_t() const { return v_; }
  // Whether the bits of all 32 lanes are set (not only the active ones).
  constexpr bool all() const { return (v_ & 0xffffffffu) == 0xffffffffu; }
  constexpr bool any() const { return (v_ & 0xffffffffu) != 0; }

 private:
  vote_t v_;
};

MTLEMU_INLINE simd_vote simd_ballot(bool b, const mtlemu::where& loc = mtlemu::where::current()) {
  return simd_vote(sdetail::run<vote_t>(&b, &sdetail::ballot_combine, "simd_ballot", loc));
}
MTLEMU_INLINE simd_vote simd_active_threads_mask(const mtlemu::where& loc = mtlemu::where::current()) {
  return simd_vote(sdetail::run<vote_t>(nullptr, &sdetail::active_combine, "simd_active_threads_mask", loc));
}
MTLEMU_INLINE bool simd_all(bool b, const mtlemu::where& loc = mtlemu::where::current()) {
  const vote_t yes = sdetail::run<vote_t>(&b, &sdetail::ballot_combine, "simd_all", loc);
  const vote_t act = sdetail::run<vote_t>(nullptr, &sdetail::active_combine, "simd_all", loc);
  return yes == act;
}
MTLEMU_INLINE bool simd_any(bool b, const mtlemu::where& loc = mtlemu::where::current()) {
  return sdetail::run<vote_t>(&b, &sdetail::ballot_combine, "simd_any", loc) != 0;
}
MTLEMU_INLINE bool simd_is_first(const mtlemu::where& loc = mtlemu::where::current()) {
  const vote_t act = sdetail::run<vote_t>(nullptr, &sdetail::active_combine, "simd_is_first", loc);
  return (unsigned)__builtin_ctzl(act) == mtlemu::rt::simd_lane();
}
}  // namespace metal
