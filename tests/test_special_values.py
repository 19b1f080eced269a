"""NaN and Inf, huge norms, and the matrices of a batch not affecting each
other."""

import subprocess
import sys
import textwrap

import mlx.core as mx
import numpy as np
import pytest

from accuracy import to_numpy
from mlx_expm_ext import matrix_exp
from samples import DTYPES, random_matrices

pytestmark = pytest.mark.device("cpu")

NONFINITE = [np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bad", NONFINITE)
@pytest.mark.parametrize("n", [1, 2, 5, 40])
def test_nonfinite_entry_gives_nan_matrix_and_spares_the_others(dtype, bad, n):
    x = random_matrices((3, n, n), 2.0, dtype, 0)
    a = np.array(x.astype(mx.complex64 if dtype == mx.complex64 else mx.float32))
    a[1, n // 2, (n - 1) // 2] = bad
    y = mx.array(a).astype(dtype)
    out = matrix_exp(y, stream=mx.cpu)
    assert np.isnan(to_numpy(out[1])).all()
    for i in (0, 2):
        assert mx.array_equal(out[i], matrix_exp(y[i], stream=mx.cpu)).item()
        assert np.isfinite(to_numpy(out[i])).all()


HUGE = textwrap.dedent("""
    import mlx.core as mx, numpy as np
    from mlx_expm_ext import matrix_exp
    for dtype in (mx.float32, mx.float64):
        for norm in (1e4, 1e30, 1e38):
            rng = np.random.default_rng(0)
            a = rng.standard_normal((4, 32, 32))
            a *= norm / np.abs(a).sum(-2).max(-1)[:, None, None]
            x = mx.array(a, dtype=dtype) if dtype == mx.float64 else mx.array(a.astype(np.float32))
            mx.eval(matrix_exp(x, stream=mx.cpu))
    print("done")
""")


def test_huge_norms_terminate():
    """The squaring count is bounded by the largest finite norm (s <= 128 in
    float32, <= 1025 in float64); a hang would show as a timeout here."""
    result = subprocess.run(
        [sys.executable, "-c", HUGE], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"


@pytest.mark.parametrize("dtype", [mx.float32, mx.float64, mx.complex64])
def test_huge_negative_diagonal_underflows_to_zero(dtype):
    x = (-1e30 * mx.eye(4)).astype(dtype)
    assert mx.array_equal(matrix_exp(x, stream=mx.cpu), mx.zeros((4, 4), dtype=dtype)).item()


def overflowing_norm(n, dtype):
    """Finite entries whose column sums pass the largest finite number:
    -v in the first column and on the diagonal, 2v > max finite. exp = 0."""
    v = 2e38 if dtype == mx.float32 else 1e308
    a = np.zeros((n, n))
    a[:, 0] = -v
    a[np.arange(n), np.arange(n)] = -v
    return mx.array(a, dtype=dtype)


@pytest.mark.parametrize("dtype", [mx.float32, mx.float64])
@pytest.mark.parametrize("n", [2, 12, 40])
def test_finite_entries_whose_norm_overflows(dtype, n):
    """The 1-norm is taken of A / 2^h (h = ceil(log2 n) + 1) when the columns
    sum past the largest finite number: exp(A) = 0 exactly, on every path
    (lanes, loops, BLAS), and L(A, E) = 0 too."""
    a = overflowing_norm(n, dtype)
    zero = mx.zeros((n, n), dtype=dtype)
    assert mx.array_equal(matrix_exp(a, stream=mx.cpu), zero).item()
    _, jvp = mx.jvp(lambda x: matrix_exp(x, stream=mx.cpu), [a], [mx.ones_like(a)])
    assert mx.array_equal(jvp[0], zero).item()


@pytest.mark.parametrize("dtype", [mx.float32, mx.float64])
@pytest.mark.parametrize("big", [1e4, 1e30])
def test_huge_nilpotent(dtype, big):
    """exp([[0, b], [0, 0]]) = [[1, b], [0, 1]]. With N^2 = 0, T18(N / 2^s) is
    I + c N / 2^s, c the x-coefficient of T18 as rounded (1 to a few u), and
    the squarings are exact: no growth of error with s."""
    x = mx.array([[0.0, big], [0.0, 0.0]], dtype=dtype)
    out = to_numpy(matrix_exp(x, stream=mx.cpu))
    eps = 2.0**-24 if dtype == mx.float32 else 2.0**-53
    assert out[0, 0] == 1 and out[1, 1] == 1 and out[1, 0] == 0
    assert abs(out[0, 1] / to_numpy(x)[0, 1] - 1) <= 8 * eps


@pytest.mark.parametrize("dtype", [mx.float32, mx.float64])
def test_huge_rotation_stays_orthogonal(dtype):
    t = 1e4
    q = to_numpy(matrix_exp(mx.array([[0.0, -t], [t, 0.0]], dtype=dtype), stream=mx.cpu))
    eps = 2.0**-24 if dtype == mx.float32 else 2.0**-53
    assert np.abs(q.T @ q - np.eye(2)).max() <= 16 * 2**14 * eps
