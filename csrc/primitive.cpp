// Derivatives and batching of MatrixExp and MatrixExpFrechet.
//
// d exp(A)[E] = L(A, E), computed by the MatrixExpFrechet primitive; the vjp of
// a cotangent G is L(A^H, G). Derivatives of L itself come from the block
// identity exp([[A, E], [0, A]]) = [[exp(A), L(A, E)], [0, exp(A)]] (Mathias,
// SIAM J. Matrix Anal. Appl. 17, 1996): L is a block of exp at a 2n x 2n
// matrix, so its derivatives are blocks of L at that matrix, and derivatives
// of every order exist.

#include "block_matrix.h"
#include "matrix_exp.h"

namespace mlx_expm {

namespace {

// A^H over the last two axes (A^T for real dtypes).
mx::array adjoint(const mx::array& a, mx::Stream s) {
  auto t = mx::swapaxes(a, -1, -2, s);
  return mx::issubdtype(a.dtype(), mx::complexfloating) ? mx::conjugate(t, s)
                                                        : t;
}

// The batched axis to the front, or a new leading axis of size 1 for an
// input that is not batched (MatrixExpFrechet's op broadcasts it).
mx::array batch_first(const mx::array& x, int axis, mx::Stream s) {
  if (axis < 0) {
    return mx::expand_dims(x, 0, s);
  }
  return axis > 0 ? mx::moveaxis(x, axis, 0, s) : x;
}

} // namespace

std::vector<mx::array> MatrixExp::jvp(
    const std::vector<mx::array>& primals,
    const std::vector<mx::array>& tangents,
    const std::vector<int>&) {
  return {matrix_exp_frechet(primals[0], tangents[0], stream())};
}

// <G, L(A, E)> = <L(A^H, G), E> for the real inner product Re tr(X^H Y).
std::vector<mx::array> MatrixExp::vjp(
    const std::vector<mx::array>& primals,
    const std::vector<mx::array>& cotangents,
    const std::vector<int>&,
    const std::vector<mx::array>&) {
  auto s = stream();
  return {matrix_exp_frechet(adjoint(primals[0], s), cotangents[0], s)};
}

// The matrices are the last two axes of the unbatched input: moving the
// batched axis to the front keeps them there.
std::pair<std::vector<mx::array>, std::vector<int>> MatrixExp::vmap(
    const std::vector<mx::array>& inputs,
    const std::vector<int>& axes) {
  auto s = stream();
  return {{matrix_exp(batch_first(inputs[0], axes[0], s), s)}, {0}};
}

// dL = L(X, dX) top-right, X = [[A, E], [0, A]], dX = [[dA, dE], [0, dA]].
std::vector<mx::array> MatrixExpFrechet::jvp(
    const std::vector<mx::array>& primals,
    const std::vector<mx::array>& tangents,
    const std::vector<int>& argnums) {
  auto s = stream();
  mx::array da = mx::zeros_like(primals[0], s);
  mx::array de = mx::zeros_like(primals[1], s);
  for (size_t i = 0; i < argnums.size(); ++i) {
    (argnums[i] == 0 ? da : de) = tangents[i];
  }
  auto x = upper_block(primals[0], primals[1], s);
  auto dx = upper_block(da, de, s);
  return {block(matrix_exp_frechet(x, dx, s), 0, 1, s)};
}

// With Y = L(X^H, [[0, H], [0, 0]]): dA = Y00 + Y11, dE = Y01.
std::vector<mx::array> MatrixExpFrechet::vjp(
    const std::vector<mx::array>& primals,
    const std::vector<mx::array>& cotangents,
    const std::vector<int>& argnums,
    const std::vector<mx::array>&) {
  auto s = stream();
  const auto& h = cotangents[0];
  auto zero = mx::zeros_like(h, s);
  auto h_block = mx::concatenate(
      {mx::concatenate({zero, h}, -1, s), mx::concatenate({zero, zero}, -1, s)},
      -2,
      s);
  auto x = upper_block(primals[0], primals[1], s);
  auto y = matrix_exp_frechet(adjoint(x, s), h_block, s);
  std::vector<mx::array> grads;
  for (int arg : argnums) {
    grads.push_back(
        arg == 0 ? mx::add(block(y, 0, 0, s), block(y, 1, 1, s), s)
                 : block(y, 0, 1, s));
  }
  return grads;
}

std::pair<std::vector<mx::array>, std::vector<int>> MatrixExpFrechet::vmap(
    const std::vector<mx::array>& inputs,
    const std::vector<int>& axes) {
  auto s = stream();
  auto a = batch_first(inputs[0], axes[0], s);
  auto e = batch_first(inputs[1], axes[1], s);
  return {{matrix_exp_frechet(a, e, s)}, {0}};
}

} // namespace mlx_expm
