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

} // namespace mlx_expm
