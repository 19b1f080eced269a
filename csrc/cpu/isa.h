// The CPU kernels are compiled once per instruction set (kernels_*.cpp) and
// picked at run time (eval.cpp). Everything they instantiate lives in a
// namespace named after the instruction set, so that two builds of one
// template never share a symbol: the linker could otherwise keep the AVX2
// copy and run it on a CPU without AVX2.

#pragma once

#ifndef MLX_EXPM_ISA
#error "Define MLX_EXPM_ISA (the instruction-set namespace) before including CPU kernel headers."
#endif

#define MLX_EXPM_CPU_BEGIN   \
  namespace mlx_expm::cpu {  \
  namespace MLX_EXPM_ISA {
#define MLX_EXPM_CPU_END \
  }                      \
  }
