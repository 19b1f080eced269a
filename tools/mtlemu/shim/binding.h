// Binding a kernel's parameters by their attributes. For every instantiated
// kernel the source rewrite (_source.py) emits, right after the
// instantiation, a small entry function such as
//
//   static void mtlemu_entry_0(const ::mtlemu::lane_env& e) {
//     using F = decltype(reduce<float>);
//     reduce<float>(::mtlemu::bind_buffer<::mtlemu::param_t<F, 0>>(e, 0, "in"),
//                   ::mtlemu::bind_position<::mtlemu::param_t<F, 1>,
//                                           ::mtlemu::pos::thread_index_in_threadgroup>(e), ...);
//   }
//
// plus a table describing the parameters and a registrar, so that the
// runtime can look the kernel up by its host_name and check the buffers
// given to dispatch() against what the kernel expects. The parameter types
// come from the instantiated function type, so the checks below (address
// space of a buffer, legal types of position attributes) see exactly what
// the kernel declared.
#pragma once
#pragma GCC system_header

namespace mtlemu {
struct registrar {
  explicit registrar(const kernel_info& k) { rt::register_kernel(k); }
};

// The I-th parameter type of a function type.
template <int I, class A0, class... A> struct nth { using type = typename nth<I - 1, A...>::type; };
template <class A0, class... A> struct nth<0, A0, A...> { using type = A0; };
template <class F> struct fn;
template <class R, class... A> struct fn<R(A...)> {
  template <int I> using arg = typename nth<I, A...>::type;
};
template <class F, int I> using param_t = typename fn<F>::template arg<I>;

template <class P> using pointee_t = std::remove_reference_t<std::remove_pointer_t<std::remove_reference_t<P>>>;
template <class P> constexpr int space_of() { return strip_as<std::remove_cv_t<pointee_t<P>>>::space; }

template <class P> MTLEMU_INLINE P bind_buffer(const lane_env& e, int index) {
  static_assert(std::is_pointer_v<P> || std::is_reference_v<P>,
                "a [[buffer(i)]] parameter must be a pointer or a reference");
#if defined(MTLEMU_ADDRESS_SPACES)
  static_assert(space_of<P>() == kDevice || space_of<P>() == kConstant,
                "a [[buffer(i)]] parameter must point to the device or constant address space");
#endif
  if constexpr (std::is_pointer_v<P>) return (P)e.buffers[index];
  else return *(std::remove_reference_t<P>*)e.buffers[index];
}

template <class P> MTLEMU_INLINE P bind_threadgroup(const lane_env& e, int index) {
  static_assert(std::is_pointer_v<P>, "a [[threadgroup(i)]] parameter must be a pointer");
#if defined(MTLEMU_ADDRESS_SPACES)
  static_assert(space_of<P>() == kThreadgroup,
                "a [[threadgroup(i)]] parameter must point to the threadgroup address space");
#endif
  return (P)e.tg[index];
}

template <class P, pos A> MTLEMU_INLINE P bind_position(const lane_env& e) {
  using B = bare_t<P>;
  constexpr bool scalar = std::is_same_v<B, uint> || std::is_same_v<B, ushort>;
  constexpr bool vector2 = std::is_same_v<B, uint2> || std::is_same_v<B, ushort2>;
  constexpr bool vector3 = std::is_same_v<B, uint3> || std::is_same_v<B, ushort3>;
  static_assert(scalar || (pos_is_vector(A) && (vector2 || vector3)),
                "a position attribute has type uint or ushort (or, for the grid and threadgroup positions "
                "and sizes, uint2/uint3/ushort2/ushort3)");
  const unsigned* v = e.position[(int)A];
  if constexpr (scalar) return (B)v[0];
  else if constexpr (vector2) return B(v[0], v[1]);
  else return B(v[0], v[1], v[2]);
}

template <class P> constexpr param_info describe(bind_kind kind, int index, const char* name) {
  if (kind == bind_kind::position) return {kind, index, 0, 0, false, false, name};
  using T = std::remove_cv_t<strip_as_t<std::remove_cv_t<pointee_t<P>>>>;
  constexpr bool is_void = std::is_void_v<T>;
  return {kind,
          index,
          is_void ? 1ul : (unsigned long)sizeof(std::conditional_t<is_void, char, T>),
          is_void ? 1ul : (unsigned long)alignof(std::conditional_t<is_void, char, T>),
          std::is_reference_v<P>,
          !std::is_const_v<strip_as_t<std::remove_cv_t<pointee_t<P>>>> && !std::is_const_v<pointee_t<P>>,
          name};
}
}  // namespace mtlemu

namespace mtlemu {
// A kernel parameter without [[buffer(i)]], [[threadgroup(i)]] or a position
// attribute (often a misspelt one, reported separately by the compiler).
template <class P> struct always_false : std::false_type {};
template <class P> P unbound() {
  static_assert(always_false<P>::value,
                "a kernel parameter has no [[buffer(i)]], [[threadgroup(i)]] or position attribute");
  return *(std::remove_reference_t<P>*)nullptr;
}
}  // namespace mtlemu
