// The CPU kernels for x86-64-v3 (AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE), used
// when the CPU has all of them (eval.cpp); CMakeLists.txt compiles this file
// with -march=x86-64-v3. The standard-library and MLX headers the kernels use
// come first, in a region compiled for the x86-64 baseline: their inline
// functions, which both kernel objects define as weak symbols and the linker
// keeps from either, are then baseline code in both (isa.h).
#if defined(__clang__)
#pragma clang attribute push( \
    __attribute__((target("arch=x86-64"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("arch=x86-64")
#endif

#include "cpu/kernel_libraries.h"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#define MLX_EXPM_ISA x86_64_v3
#include "cpu/kernels.h"
