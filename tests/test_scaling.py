"""The choice of degree and squarings on the CPU (metal/matrix_exp_scheme.h).

Matrices run one at a time (real n > 8, complex) start from the 1-norm plan
and drop the squarings that alpha = max(||A^2||^(1/2), ||A^3||^(1/3)) shows
to be unneeded (Al-Mohy & Higham 2009, Thm 4.2); real n <= 8 (matrices
vectorised across the batch) keep the 1-norm plan. Read through the private
hook _ext._cpu_plans; the accuracy of the results is tested against the
references (test_accuracy.py, which includes the overscaling cases).
"""

import math

import mlx.core as mx
import numpy as np
import pytest

import cases
import mlx_expm_ext
from cases import THETA
from mlx_expm_ext import _ext

pytestmark = pytest.mark.device("cpu")

DEGREES = (1, 2, 4, 8, 12, 18)


def one_norm(a):
    return float(np.abs(a).sum(axis=-2).max())


def one_norm_plan(norm, precision):
    """(degree, squarings) of the 1-norm rule, as in PyTorch."""
    thetas = THETA[precision]
    for degree, theta in zip(DEGREES, thetas):
        if norm <= theta:
            return degree, 0
    return 18, math.ceil(math.log2(norm / thetas[-1]))


def alpha(a):
    a = a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)
    a2 = a @ a
    return max(one_norm(a2) ** 0.5, one_norm(a2 @ a) ** (1 / 3))


def plans(a, dtype):
    x = mx.array(a.astype(dtype), dtype=getattr(mx, np.dtype(dtype).name))
    return [tuple(p) for p in _ext._cpu_plans(x)]


def overscaled(n, b, seed):
    return cases.overscaled(n, b, np.random.default_rng(seed))


# float32 stops at b = 1e4: beyond, the rounding error of the computed A^2
# (about u b^2) outgrows its true norm, and alpha is what the kernels compute.
@pytest.mark.parametrize(
    "dtype, precision, b",
    [
        (np.float32, "float32", 1e2),
        (np.float32, "float32", 1e4),
        (np.float64, "float64", 1e2),
        (np.float64, "float64", 1e4),
        (np.float64, "float64", 1e6),
    ],
)
@pytest.mark.parametrize("n", [9, 16, 17, 40])
def test_powers_remove_needless_squarings(dtype, precision, b, n):
    a = overscaled(n, b, seed=n).astype(dtype)
    [(degree, s)] = plans(a, dtype)
    _, s_norm = one_norm_plan(one_norm(a), precision)
    ratio = alpha(a) / THETA[precision][-1]
    s_alpha = max(0, math.ceil(math.log2(ratio)))
    assert abs(math.log2(ratio) - round(math.log2(ratio))) > 1e-3, "too close to a boundary"
    assert (degree, s) == (18, s_alpha)
    assert s <= s_norm - math.floor(math.log2(b) * 2 / 3) + 1  # the bulk of log2(b) saved


@pytest.mark.parametrize("n", [9, 24])
def test_normal_matrices_keep_the_one_norm_plan(n):
    """For a diagonal matrix alpha = ||A||: nothing to reduce."""
    d = np.diag(np.linspace(-40.0, 5.0, n))
    [plan] = plans(d, np.float64)
    assert plan == one_norm_plan(40.0, "float64")


def test_small_powers_select_degree_12():
    """theta_12 < ||A||_1 <= theta_18 but A^2 = 0: T12 (one product fewer) suffices."""
    a = np.zeros((10, 10))
    a[0, 9] = 0.9  # float64: theta_12 = 0.2996 < 0.9 <= theta_18 = 1.0909
    assert one_norm_plan(0.9, "float64") == (18, 0)
    assert plans(a, np.float64) == [(12, 0)]


def test_complex_matrices_are_reduced_too():
    a = overscaled(3, 1e3, seed=1).astype(np.complex64) * (1 + 1j) / np.sqrt(2)
    [(degree, s)] = plans(a, np.complex64)
    assert (degree, s) == (18, max(0, math.ceil(math.log2(alpha(a) / THETA["float32"][-1]))))
    assert s < one_norm_plan(one_norm(a), "float32")[1] - 3


@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_vectorised_small_matrices_keep_the_one_norm_plan(n):
    a = overscaled(n, 1e4, seed=n)
    assert plans(a, np.float64) == [one_norm_plan(one_norm(a), "float64")]


def test_each_matrix_is_planned_on_its_own():
    a = np.stack([overscaled(12, 1e4, seed=0), np.diag(np.linspace(-40.0, 5.0, 12))])
    assert plans(a, np.float64) == plans(a[:1], np.float64) + plans(a[1:], np.float64)


def test_nan_matrices_have_no_plan():
    a = np.zeros((2, 12, 12))
    a[1, 3, 4] = np.nan
    assert plans(a, np.float64)[1] == (0, 0)


@pytest.mark.parametrize(
    "dtype, sizes", [(np.float32, (1e3, 1e15, 1e30, 1e37)), (np.float64, (1e3, 1e30, 1e150, 1e300))]
)
def test_huge_matrices_with_tiny_powers(dtype, sizes):
    """A^2 = 0, so exp(A) = I + A and alpha = 0 however large A is: the reduced
    scaling must stop before the polynomial's products overflow."""
    for big in sizes:
        a = np.zeros((10, 10))
        a[0, 9], a[2, 5] = big, -big / 3
        x = mx.array(a, dtype=getattr(mx, np.dtype(dtype).name))
        x = np.array(mlx_expm_ext.matrix_exp(x, stream=mx.cpu))
        expected = np.eye(10) + a.astype(dtype)
        assert np.all(np.isfinite(x)), big
        assert np.abs(x - expected).max() <= 8 * np.finfo(dtype).eps * big, big
