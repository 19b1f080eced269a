"""Identities exp must satisfy, on fixed and on hypothesis-generated matrices.
Tolerances are a few units of roundoff times the size of the quantities
involved, stated per test."""

import math

import hypothesis
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import mlx.core as mx
import numpy as np
import pytest

from accuracy import to_numpy
from mlx_expm_ext import matrix_exp
from samples import REAL_DTYPES

pytestmark = pytest.mark.device("cpu")

EPS = {mx.float32: 2.0**-24, mx.float64: 2.0**-53, mx.complex64: 2.0**-24}


def expm(a, dtype):
    return to_numpy(
        matrix_exp(
            mx.array(a, dtype=dtype) if dtype == mx.float64 else mx.array(a).astype(dtype),
            stream=mx.cpu,
        )
    )


@pytest.mark.parametrize("dtype", [mx.float32, mx.float64, mx.complex64, mx.float16, mx.bfloat16])
@pytest.mark.parametrize("n", [2, 3, 8, 40])
def test_zero_gives_identity_exactly(dtype, n):
    out = matrix_exp(mx.zeros((3, n, n), dtype=dtype), stream=mx.cpu)
    assert mx.array_equal(out, mx.broadcast_to(mx.eye(n, dtype=dtype), (3, n, n))).item()


def squarings(norm):
    """s of the scaling step for a 1-norm (T18 threshold of float64: the
    larger count of the two precisions)."""
    return max(0, math.ceil(math.log2(norm / 1.090863719290036)))


@pytest.mark.parametrize("dtype", REAL_DTYPES)
@pytest.mark.parametrize("scale", [0.5, 3.0, 40.0])
def test_diagonal_gives_exp_of_diagonal(dtype, scale):
    d = scale * np.array([-1.0, -0.3, -1e-6, 0.0, 1e-9, 0.3, 0.7, 1.0])
    if dtype == mx.float32:
        d = d.astype(np.float32).astype(np.float64)
    out = expm(np.diag(d), dtype)
    assert np.count_nonzero(out - np.diag(np.diag(out))) == 0
    # Normwise: the largest entry e^scale carries the error; each of the s
    # squarings doubles the relative error of T18 (a few u).
    err = np.abs(np.diag(out) - np.exp(d)).max() / np.exp(d).max()
    assert err <= 8 * 2 ** squarings(scale) * EPS[dtype]


@pytest.mark.parametrize("dtype", REAL_DTYPES)
@pytest.mark.parametrize("n", [3, 6, 12])
def test_nilpotent_gives_finite_taylor_sum(dtype, n):
    rng = np.random.default_rng(n)
    a = np.triu(rng.uniform(-3, 3, (n, n)), 1)
    if dtype == mx.float32:
        a = a.astype(np.float32).astype(np.float64)
    expected = sum(np.linalg.matrix_power(a, k) / math.factorial(k) for k in range(n))
    out = expm(a, dtype)
    scale = np.abs(expected).sum(0).max()
    assert np.abs(out - expected).sum(0).max() <= 64 * n * EPS[dtype] * scale


@pytest.mark.parametrize("dtype", REAL_DTYPES)
@pytest.mark.parametrize("norm", [0.01, 1.0, 30.0, 1e3])
def test_skew_symmetric_gives_orthogonal(dtype, norm):
    rng = np.random.default_rng(7)
    g = rng.standard_normal((4, 6, 6))
    a = g - np.swapaxes(g, -1, -2)
    a *= norm / np.abs(a).sum(-2).max(-1)[:, None, None]
    q = expm(a, dtype)
    err = np.abs(np.swapaxes(q, -1, -2) @ q - np.eye(6)).max()
    # Each squaring doubles the loss of orthogonality of T18(A / 2^s).
    assert err <= 16 * 2 ** squarings(norm) * EPS[dtype]


def test_hermitian_times_i_gives_unitary():
    rng = np.random.default_rng(8)
    z = rng.standard_normal((3, 5, 5)) + 1j * rng.standard_normal((3, 5, 5))
    h = z + np.conj(np.swapaxes(z, -1, -2))
    u = expm(1j * h, mx.complex64)
    err = np.abs(np.conj(np.swapaxes(u, -1, -2)) @ u - np.eye(5)).max()
    assert err <= 32 * 5 * EPS[mx.complex64]


def matrices(max_n=6, bound=4.0):
    return st.integers(1, max_n).flatmap(
        lambda n: hnp.arrays(
            np.float64, (n, n), elements=st.floats(-bound, bound, allow_subnormal=False)
        )
    )


@hypothesis.given(matrices(bound=0.5))
def test_det_of_exp_is_exp_of_trace(a):
    """A normwise relative error e in X = exp(A) moves det(X) by up to
    n cond(X) e relatively. Entries of at most 0.5 keep ||A||_1 <= n / 2 <= 3,
    so cond(X) <= e^(2 ||A||_1) <= e^6 and e <= 1e-15: the bound is at most
    1e-15 n e^6 < 3e-12."""
    out = expm(a, mx.float64)
    n = a.shape[0]
    expected = np.exp(np.trace(a))
    rel = 1e-15 * n * np.linalg.cond(out, 1)
    assert rel < 3e-12
    assert np.linalg.det(out) == pytest.approx(expected, rel=rel, abs=0)


@hypothesis.given(matrices(bound=1.0))
def test_exp_a_times_exp_minus_a_is_identity(a):
    """For ||A|| <= n, exp(A) and exp(-A) are well conditioned enough that
    the product is I to about 1e-13."""
    product = expm(a, mx.float64) @ expm(-a, mx.float64)
    assert np.abs(product - np.eye(a.shape[0])).max() <= 1e-12


@hypothesis.given(matrices())
def test_exp_of_transpose_is_transpose_of_exp(a):
    out = expm(a, mx.float64)
    out_t = expm(np.ascontiguousarray(a.T), mx.float64)
    scale = np.abs(out).max()
    assert np.abs(out_t - out.T).max() <= 1e-13 * a.shape[0] * max(scale, 1.0)


@hypothesis.given(matrices(bound=2.0), st.floats(-2.0, 2.0))
def test_commuting_exponents_add(a, t):
    """exp(A) exp(tA) = exp((1 + t) A): A and tA commute."""
    left = expm(a, mx.float64) @ expm(t * a, mx.float64)
    right = expm((1 + t) * a, mx.float64)
    scale = np.abs(expm(a, mx.float64)).max() * np.abs(expm(t * a, mx.float64)).max()
    assert np.abs(left - right).max() <= 1e-12 * a.shape[0] * max(scale, 1.0)


@hypothesis.given(
    st.lists(
        matrices(max_n=4, bound=50.0).filter(lambda a: a.shape[0] == 4), min_size=1, max_size=6
    )
)
def test_batch_equals_matrices_one_at_a_time(mats):
    x = mx.array(np.stack(mats), dtype=mx.float64)
    batched = matrix_exp(x, stream=mx.cpu)
    for i in range(len(mats)):
        assert mx.array_equal(batched[i], matrix_exp(x[i], stream=mx.cpu), equal_nan=True).item()
