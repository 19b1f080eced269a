"""BLAS-sized matrices: scratch memory that MLX's allocator hands back from
its cache must give the same answers when reused by a smaller matrix, by a
larger one, and by two threads of one batch at once (each with its own part
of one block, csrc/cpu/eval.cpp).

References: symmetric A = Q diag(d) Q^T rounded to float32, exponentiated in
float64 through its eigendecomposition (exp of a symmetric matrix is
perfectly conditioned in the 2-norm, so float64 is a reference for float32).
"""

import mlx.core as mx
import numpy as np
import pytest

import mlx_expm_ext
from accuracy import UNIT_ROUNDOFF, C
from reference import relative_error

pytestmark = pytest.mark.device("cpu")


def symmetric_batch(batch, n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(batch):
        q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        d = rng.uniform(-8.0, 2.0 + k, n)
        out.append(((q * d) @ q.T).astype(np.float32))
    return np.stack(out)


def reference(a32):
    a = a32.astype(np.float64)
    a = (a + np.swapaxes(a, -1, -2)) / 2  # symmetric after rounding too
    w, v = np.linalg.eigh(a)
    return (v * np.exp(w)[..., None, :]) @ np.swapaxes(v, -1, -2)


def check(a32):
    x = np.array(mlx_expm_ext.matrix_exp(mx.array(a32), stream=mx.cpu))
    errors = relative_error(x, reference(a32), 0.0)
    n = a32.shape[-1]
    # for a normal A the relative condition number of exp is ||A||_2 (Van Loan 1977)
    kappas = np.linalg.norm(a32.astype(np.float64), 2, axis=(-2, -1))
    bounds = C * UNIT_ROUNDOFF["float32"] * (kappas + np.sqrt(n))
    assert np.all(errors <= bounds), errors / bounds


@pytest.mark.parametrize("sizes", [(400, 380, 400), (380, 420)])
def test_cached_scratch_is_reused_correctly(sizes):
    for i, n in enumerate(sizes):
        check(symmetric_batch(1, n, seed=i))


def test_threads_of_one_batch_take_separate_scratch():
    check(symmetric_batch(3, 400, seed=7))
