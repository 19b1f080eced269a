// The 2n x 2n block matrices of the Frechet derivative,
// exp([[A, E], [0, A]]) = [[exp(A), L(A, E)], [0, exp(A)]] (Mathias, SIAM J.
// Matrix Anal. Appl. 17, 1996).

#pragma once

#include "mlx/ops.h"

namespace mlx_expm {

namespace mx = mlx::core;

// [[top_left, top_right], [0, top_left]] over the last two axes.
mx::array upper_block(
    const mx::array& top_left,
    const mx::array& top_right,
    mx::Stream s);

// Block (row, col), n x n, of a (..., 2n, 2n) array.
mx::array block(const mx::array& x, int row, int col, mx::Stream s);

} // namespace mlx_expm
