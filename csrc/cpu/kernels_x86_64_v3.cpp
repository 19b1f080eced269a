// The CPU kernels for x86-64-v3 (AVX2, FMA): built with -march=x86-64-v3 and
// used when the CPU has AVX2 and FMA.
#define MLX_EXPM_ISA x86_64_v3
#include "cpu/kernels.h"
