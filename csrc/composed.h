// exp(A) composed from MLX operations, for the GPU cases the fused Metal kernel
// does not cover (n > 32, complex64) and for GPU backends without Metal
// (CUDA). MLX's own fast:: ops fall back the same way; fast::Custom is not
// exported from libmlx, so this is our own.

#pragma once

#include "mlx/ops.h"

namespace mlx_expm {

namespace mx = mlx::core;

// x: (..., n, n), an inexact dtype. T18 with each matrix's own scaling
// exponent s (as the kernels: Bader, Blanes & Casas 2019), then s masked
// squarings. The exponents are read back to the host: one synchronisation per
// call. Where nothing may be evaluated (inside mx.compile or mx.vmap), the
// CPU primitive computes the result instead.
mx::array matrix_exp_composed(const mx::array& x, mx::Stream s);

} // namespace mlx_expm
