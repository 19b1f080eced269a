// The CPU kernels for the compiler's default target (SSE2 on x86-64, NEON on
// arm64).
#include "cpu/kernel_libraries.h"

#define MLX_EXPM_ISA baseline
#include "cpu/kernels.h"
