// Derivatives and batching of MatrixExp.
//
// The Frechet derivative of exp at A in direction E is the top-right block of
// exp([[A, E], [0, A]]) (Mathias, SIAM J. Matrix Anal. Appl. 17, 1996). It is
// built from matrix_exp itself, so derivatives of any order exist.

#include "matrix_exp.h"

namespace mlx_expm {

namespace {

// L(A, E) for every matrix pair of the batch.
mx::array frechet_block(const mx::array& a, const mx::array& e, mx::Stream s) {
  const int n = a.shape(-1);
  const int nd = a.ndim();
  auto top = mx::concatenate({a, e}, -1, s);
  auto bottom = mx::concatenate({mx::zeros_like(a, s), a}, -1, s);
  auto big = matrix_exp(mx::concatenate({top, bottom}, -2, s), s);
  mx::Shape start(nd, 0);
  mx::Shape stop = big.shape();
  start[nd - 1] = n;
  stop[nd - 2] = n;
  return mx::slice(big, start, stop, s);
}

// A^H over the last two axes (A^T for real dtypes).
mx::array adjoint(const mx::array& a, mx::Stream s) {
  auto t = mx::swapaxes(a, -1, -2, s);
  return mx::issubdtype(a.dtype(), mx::complexfloating) ? mx::conjugate(t, s) : t;
}

} // namespace

std::vector<mx::array> MatrixExp::jvp(
    const std::vector<mx::array>& primals,
    const std::vector<mx::array>& tangents,
    const std::vector<int>&) {
  return {frechet_block(primals[0], tangents[0], stream())};
}

// <G, L(A, E)> = <L(A^H, G), E> for the real inner product Re tr(X^H Y).
std::vector<mx::array> MatrixExp::vjp(
    const std::vector<mx::array>& primals,
    const std::vector<mx::array>& cotangents,
    const std::vector<int>&,
    const std::vector<mx::array>&) {
  return {frechet_block(adjoint(primals[0], stream()), cotangents[0], stream())};
}

// The matrices are the last two axes of the unbatched input: moving the
// batched axis to the front keeps them there.
std::pair<std::vector<mx::array>, std::vector<int>> MatrixExp::vmap(
    const std::vector<mx::array>& inputs,
    const std::vector<int>& axes) {
  auto x = axes[0] > 0 ? mx::moveaxis(inputs[0], axes[0], 0, stream()) : inputs[0];
  return {{matrix_exp(x, stream())}, {axes[0] >= 0 ? 0 : -1}};
}

} // namespace mlx_expm
