#include "block_matrix.h"

namespace mlx_expm {

mx::array upper_block(
    const mx::array& top_left,
    const mx::array& top_right,
    mx::Stream s) {
  auto top = mx::concatenate({top_left, top_right}, -1, s);
  auto bottom = mx::concatenate({mx::zeros_like(top_left, s), top_left}, -1, s);
  return mx::concatenate({top, bottom}, -2, s);
}

mx::array block(const mx::array& x, int row, int col, mx::Stream s) {
  const int nd = x.ndim();
  const int n = x.shape(-1) / 2;
  mx::Shape start(nd, 0);
  mx::Shape stop = x.shape();
  start[nd - 2] = row * n;
  start[nd - 1] = col * n;
  stop[nd - 2] = start[nd - 2] + n;
  stop[nd - 1] = start[nd - 1] + n;
  return mx::slice(x, start, stop, s);
}

mx::array real_embedding(const mx::array& z, mx::Stream s) {
  auto re = mx::real(z, s);
  auto im = mx::imag(z, s);
  auto top = mx::concatenate({re, mx::negative(im, s)}, -1, s);
  auto bottom = mx::concatenate({im, re}, -1, s);
  return mx::concatenate({top, bottom}, -2, s);
}

mx::array from_real_embedding(const mx::array& x, mx::Stream s) {
  auto re = mx::astype(block(x, 0, 0, s), mx::complex64, s);
  auto im = mx::astype(block(x, 1, 0, s), mx::complex64, s);
  return mx::add(
      re, mx::multiply(im, mx::array(mx::complex64_t(0.0f, 1.0f)), s), s);
}

} // namespace mlx_expm
