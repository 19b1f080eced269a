// The CPU kernels are compiled once per instruction set (kernels_*.cpp) and
// picked at run time (eval.cpp). Two builds of one inline function or
// template instantiation must never share a symbol, or the linker could keep
// the AVX2 copy and run it on a CPU without AVX2. So: our own templates live
// in a namespace named after the instruction set (below) or have internal
// linkage (metal/matrix_exp_scheme.h); the standard library's and MLX's are
// declared in a baseline region at the top of kernels_x86_64_v3.cpp, hence
// compiled for the baseline in both objects; .ci/check_isa.py fails the build
// if a weak symbol of the x86-64-v3 object holds an instruction above the
// baseline.

#pragma once

#ifndef MLX_EXPM_ISA
#error \
    "Define MLX_EXPM_ISA (the instruction-set namespace) before including CPU kernel headers."
#endif

#define MLX_EXPM_CPU_BEGIN  \
  namespace mlx_expm::cpu { \
  namespace MLX_EXPM_ISA {
#define MLX_EXPM_CPU_END \
  }                      \
  }
