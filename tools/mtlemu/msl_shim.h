// The Metal Shading Language as a C++20 library, so that an unchanged .metal
// file compiles with clang++ or g++ and its kernels run on the CPU emulator
// (runtime/). Force-included (-include) before the rewritten kernel source;
// see README.md for the whole pipeline and for what is and is not checked.
//
// Order matters: the standard headers come first because from shim/config.h
// on, `device`, `threadgroup`, `constant` and `thread` are macros; the last
// line poisons `double`, so only the kernel source is checked for it.
#pragma once
#pragma GCC system_header

#include <cstddef>
#include <cstdint>
#include <limits>
#include <source_location>
#include <type_traits>

#include "shim/config.h"
#include "shim/scalars.h"
#include "shim/vectors.h"
#include "shim/math.h"
#include "shim/abi.h"
#include "shim/sync.h"
#include "shim/atomic.h"
#include "shim/simd.h"
#include "shim/simdgroup_matrix.h"
#include "shim/binding.h"

// Metal has no double. Unsuffixed float literals are caught separately by
// -Werror=double-promotion (x * 0.5 promotes x to double).
#pragma GCC poison double
