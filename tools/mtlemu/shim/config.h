// Address spaces and compiler glue shared by the whole shim.
#pragma once
#pragma GCC system_header

#ifndef __METAL_VERSION__
#define __METAL_VERSION__ 310  // MSL 3.1: the first version with bfloat
#endif

// Address spaces. Three configurations (see README.md):
//  * MTLEMU_ADDRESS_SPACES: the clang check pass, run with -fsyntax-only in
//    SYCL device mode. There the OpenCL address spaces are distinct from each
//    other, so passing a threadgroup pointer where a device pointer is
//    expected is an error, but every one of them converts to the default
//    address space. That second property is why numbered
//    __attribute__((address_space(N))) is not used: in plain C++ it makes
//    every member function (copy assignment of a struct, bfloat's conversion
//    operator, vector operators) unusable on an object in device or constant
//    memory, so valid MSL such as `Params p = *params;` fails to compile.
//    `constant` also carries `const`: a store through it is an error.
//  * executable builds (clang, g++): no address spaces; `constant` is still
//    const. (The source rewrite drops a `const` next to `constant`: g++
//    rejects the duplicate in the common spelling `constant const T*`.)
#if defined(MTLEMU_ADDRESS_SPACES)
#define device __attribute__((opencl_global))
#define threadgroup __attribute__((opencl_local))
#define constant const __attribute__((opencl_private))
#else
#define device
#define threadgroup
#define constant const
#endif
// Automatic variables live in the thread address space, i.e. the default one.
#define thread

// MLX's kernels spell their helpers METAL_FUNC; metal_stdlib defines it.
#define METAL_FUNC inline __attribute__((always_inline))

#define MTLEMU_INLINE inline __attribute__((always_inline))

// Code that reads or writes another lane's registers (the combine step of a
// SIMD-group collective) must be invisible to ThreadSanitizer: on a GPU that
// data moves through registers, not memory, and is no race.
#if defined(__clang__)
#define MTLEMU_NO_TSAN __attribute__((no_sanitize("thread")))
#else
#define MTLEMU_NO_TSAN
#endif

namespace mtlemu {
// Strips a Metal address space from a type (the identity outside the check
// pass), so that traits written for `float` also accept `device float`.
template <class T> struct strip_as { using type = T; static constexpr int space = 0; };
#if defined(MTLEMU_ADDRESS_SPACES)
template <class T> struct strip_as<__attribute__((opencl_global)) T> { using type = T; static constexpr int space = 1; };
template <class T> struct strip_as<__attribute__((opencl_private)) T> { using type = T; static constexpr int space = 2; };
template <class T> struct strip_as<__attribute__((opencl_local)) T> { using type = T; static constexpr int space = 3; };
#endif
template <class T> using strip_as_t = typename strip_as<T>::type;
template <class T> using bare_t = std::remove_cv_t<strip_as_t<std::remove_cvref_t<T>>>;

// Address space numbers used in diagnostics: 0 thread, 1 device,
// 2 constant, 3 threadgroup.
inline constexpr int kThread = 0, kDevice = 1, kConstant = 2, kThreadgroup = 3;
}  // namespace mtlemu
