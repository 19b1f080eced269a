// The 2n x 2n block matrices of the Frechet derivative,
// exp([[A, E], [0, A]]) = [[exp(A), L(A, E)], [0, exp(A)]] (Mathias, SIAM J.
// Matrix Anal. Appl. 17, 1996), and of a complex matrix's real embedding.

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

// The real embedding [[Re Z, -Im Z], [Im Z, Re Z]] of complex Z: a
// homomorphism of real algebras (sums, products, real scalings, limits), so
// exp and its Frechet derivative commute with it, exactly. 2n x 2n float32.
mx::array real_embedding(const mx::array& z, mx::Stream s);

// Z (complex64) from its real embedding: its first block column.
mx::array from_real_embedding(const mx::array& x, mx::Stream s);

} // namespace mlx_expm
