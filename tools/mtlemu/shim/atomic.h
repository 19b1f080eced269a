// metal_atomic: atomic_int, atomic_uint, atomic_float, atomic_bool and the
// *_explicit functions, with relaxed ordering as on Metal. Real atomics,
// because threadgroups may run on several OS threads at once.
#pragma once
#pragma GCC system_header

namespace metal {
enum memory_order { memory_order_relaxed = 0, memory_order_seq_cst = 5 };

template <class T> struct atomic {
  T value_;
  atomic(const atomic&) = delete;
  atomic& operator=(const atomic&) = delete;
};
typedef atomic<int> atomic_int;
typedef atomic<unsigned int> atomic_uint;
typedef atomic<bool> atomic_bool;
typedef atomic<float> atomic_float;

namespace adetail {
template <class A> struct value_of;
template <class T> struct value_of<atomic<T>> { using type = T; };
template <class A> using value_t = typename value_of<mtlemu::bare_t<A>>::type;
template <class A> concept atomic_object = requires { typename value_t<A>; };
// The atomic's value as a plain pointer (drops the address space).
template <class A> MTLEMU_INLINE value_t<A>* raw(A* obj) { return (value_t<A>*)(void*)obj; }

template <class T, class F> MTLEMU_INLINE T update(T* p, F f) {
  T old = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (!__atomic_compare_exchange_n(p, &old, f(old), true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
template <class T, class F> MTLEMU_INLINE T update_float(T* p, F f) {
  T old, next;
  __atomic_load(p, &old, __ATOMIC_RELAXED);
  do {
    next = f(old);
  } while (!__atomic_compare_exchange(p, &old, &next, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  return old;
}
}  // namespace adetail

template <adetail::atomic_object A>
MTLEMU_INLINE void atomic_store_explicit(A* obj, adetail::value_t<A> v, memory_order) {
  __atomic_store(adetail::raw(obj), &v, __ATOMIC_RELAXED);
}
template <adetail::atomic_object A>
MTLEMU_INLINE adetail::value_t<A> atomic_load_explicit(A* obj, memory_order) {
  adetail::value_t<A> v;
  __atomic_load(adetail::raw(obj), &v, __ATOMIC_RELAXED);
  return v;
}
template <adetail::atomic_object A>
MTLEMU_INLINE adetail::value_t<A> atomic_exchange_explicit(A* obj, adetail::value_t<A> v, memory_order) {
  adetail::value_t<A> old;
  __atomic_exchange(adetail::raw(obj), &v, &old, __ATOMIC_RELAXED);
  return old;
}
template <adetail::atomic_object A>
MTLEMU_INLINE bool atomic_compare_exchange_weak_explicit(A* obj, thread adetail::value_t<A>* expected,
                                                         adetail::value_t<A> desired, memory_order, memory_order) {
  return __atomic_compare_exchange(adetail::raw(obj), expected, &desired, false, __ATOMIC_RELAXED,
                                   __ATOMIC_RELAXED);
}

#define MTLEMU_ATOMIC_FETCH(name, expr)                                                         \
  template <adetail::atomic_object A>                                                          \
  MTLEMU_INLINE adetail::value_t<A> atomic_fetch_##name##_explicit(A* obj, adetail::value_t<A> v, \
                                                                   memory_order) {            \
    using T = adetail::value_t<A>;                                                             \
    auto f = [v](T old) -> T { return expr; };                                                 \
    if constexpr (std::is_floating_point_v<T>) return adetail::update_float(adetail::raw(obj), f); \
    else return adetail::update(adetail::raw(obj), f);                                         \
  }
MTLEMU_ATOMIC_FETCH(add, old + v)
MTLEMU_ATOMIC_FETCH(sub, old - v)
MTLEMU_ATOMIC_FETCH(min, v < old ? v : old)
MTLEMU_ATOMIC_FETCH(max, old < v ? v : old)
MTLEMU_ATOMIC_FETCH(and, old & v)
MTLEMU_ATOMIC_FETCH(or, old | v)
MTLEMU_ATOMIC_FETCH(xor, old ^ v)
#undef MTLEMU_ATOMIC_FETCH
}  // namespace metal
