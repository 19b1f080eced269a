"""Badly scaled and strongly nonnormal matrices (Al-Mohy & Higham 2009), where
the 1-norm overstates what the Taylor polynomial needs and every needless
squaring doubles the rounding error: SciPy's own tolerances on the matrices
of its expm tests, on every path, and bounds that the 1-norm plan fails on
the others (tests/cases.py: badly_scaled_cases, references from mpmath)."""

import mlx.core as mx
import numpy as np
import pytest
import scipy.linalg

import cases
import metal_emulator
from accuracy import UNIT_ROUNDOFF, C, case, tolerance
from mlx_expm_ext import _ext, matrix_exp
from paths import EMULATOR, PATHS, compute

pytestmark = pytest.mark.device("cpu")

# exp of Al-Mohy & Higham's 4 x 4 to 5 digits: the triangular matrix whose
# logarithm it is (SciPy's test_triangularity_perturbation compares with rtol
# 1e-4).
AL_MOHY_HIGHAM_EXP = np.array(
    [
        [3.2346e-1, 3e4, 3e4, 3e4],
        [0, 3.0089e-1, 3e4, 3e4],
        [0, 0, 3.221e-1, 3e4],
        [0, 0, 0, 3.0744e-1],
    ]
)

PARAMS = [(dtype, path) for dtype, paths in PATHS.items() for path in paths]


def exact(name, dtype):
    a, hi, lo, kappa = case(name, dtype)
    return a, hi + lo, kappa


@pytest.mark.parametrize("path", PATHS["float64"])
def test_al_mohy_higham_4x4_to_scipys_tolerances(path):
    """SciPy: test_triangularity_perturbation (rtol 1e-4 against the matrix
    the logarithm came from) and 5e-5; ours against the 60-digit exp of the
    same input, entry by entry (the zeros below the diagonal exactly)."""
    a, ref, _ = exact("al_mohy_higham_4x4", "float64")
    x = compute(a, "float64", path)
    np.testing.assert_allclose(x, ref, rtol=5e-5, atol=0)
    np.testing.assert_allclose(x, AL_MOHY_HIGHAM_EXP, rtol=1e-4, atol=0)


@pytest.mark.parametrize("path", PATHS["float64"])
def test_molers_badly_scaled_3x3_to_scipys_tolerance(path):
    """SciPy: test_burkardt_14, assert_allclose's default rtol 1e-7."""
    a, ref, _ = exact("moler_badly_scaled", "float64")
    np.testing.assert_allclose(compute(a, "float64", path), ref, rtol=1e-7, atol=0)


@pytest.mark.parametrize("dtype, path", PARAMS)
@pytest.mark.parametrize("name", ["al_mohy_higham_4x4", "moler_badly_scaled"])
def test_the_two_within_the_kappa_tolerance(name, dtype, path):
    """In float32 (kappa 2e36 and 3e18) only the normwise bound of
    tests/accuracy.py holds: finite, and within C u (kappa + sqrt n)."""
    a, ref, kappa = exact(name, dtype)
    x = compute(a, dtype, path)
    assert np.isfinite(x).all()
    error = np.abs(x - ref).sum(axis=0).max() / np.abs(ref).sum(axis=0).max()
    assert error <= tolerance(dtype, kappa, len(a))


@pytest.mark.parametrize("dtype", ["float32"])
@pytest.mark.parametrize(
    "name", ["al_mohy_higham_4x4", "moler_badly_scaled", "similarity_nag_f01ecf"]
)
def test_the_fused_kernel_takes_the_cpus_plan(dtype, name):
    if EMULATOR:
        pytest.skip(EMULATOR)
    a, _, _ = exact(name, dtype)
    x = a.astype(np.float32)
    assert metal_emulator.plans(x) == [tuple(p) for p in _ext._cpu_plans(mx.array(x))]


@pytest.mark.parametrize("dtype, path", PARAMS)
@pytest.mark.parametrize("b", ["100", "10000", "1e+06", "1e+08"])
def test_triangular_family_entry_by_entry(b, dtype, path):
    """[[1, b], [0, -1]]: ||A||_1 = b + 1 but A^2 = I, so the powers ask for
    no squaring at all. Every entry of exp(A) within 64 u (the 1-norm plan
    squares log2(b) times and loses as many bits: 7e-9 at b = 1e8 in
    float64)."""
    a, ref, _ = exact(f"triangular_b{b}", dtype)
    x = compute(a, dtype, path)
    np.testing.assert_allclose(x, ref, rtol=64 * UNIT_ROUNDOFF[dtype], atol=0)


SIMILAR = ["nag_f01ecf", "random_n5", "random_n12"]


def balanced_base(name):
    """The well-scaled matrix B of similarity_<name> = D B D^-1."""
    if name == "nag_f01ecf":
        return cases.classic_cases()["nag_f01ecf"]
    a = cases.badly_scaled_cases()[f"similarity_{name}"]
    d = np.logspace(-8, 8, len(a))
    return a * d[None, :] / d[:, None]


@pytest.mark.parametrize("dtype, path", [p for p in PARAMS if p[1] != "complex64"])
@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("name", SIMILAR)
def test_diagonal_similarity_keeps_the_balanced_accuracy(name, inverse, dtype, path):
    """exp(D B D^-1) = D exp(B) D^-1 with D from 1e-8 to 1e8: measured back in
    B's frame, the error stays within 2^6 of the bound of the balanced problem,
    C u (kappa(B) + sqrt n). (The 1-norm plan, 28 more squarings, loses all
    digits in float64 on the NAG matrix; 2^6 is what the window's d_7 above the
    spectral radius leaves.)"""
    full = f"similarity_{'inverse_' if inverse else ''}{name}"
    a, ref, _ = exact(full, dtype)
    n = len(a)
    if path == "metal" and n > metal_emulator.MAX_N:
        pytest.skip("beyond the fused kernel")
    d = np.logspace(-8, 8, n)
    if inverse:
        d = 1 / d
    back = d[None, :] / d[:, None]  # X -> D^-1 X D
    x = compute(a, dtype, path) * back
    ref = ref * back
    error = np.abs(x - ref).sum(axis=0).max() / np.abs(ref).sum(axis=0).max()
    kappa = scipy.linalg.expm_cond(balanced_base(name))
    assert error <= 2**6 * C * UNIT_ROUNDOFF[dtype] * (kappa + np.sqrt(n))


def kronecker_condition_number(a):
    """kappa_exp(A) in the Frobenius norm from n^2 Frechet derivatives taken by
    matrix_exp's jvp: ||K||_2 ||A||_F / ||exp(A)||_F."""
    n = len(a)
    x = mx.array(a, dtype=mx.float64)
    columns = []
    for k in range(n * n):
        e = np.zeros(n * n)
        e[k] = 1.0
        direction = mx.array(e.reshape(n, n), dtype=mx.float64)
        _, (derivative,) = mx.jvp(lambda m: matrix_exp(m, stream=mx.cpu), (x,), (direction,))
        columns.append(np.array(derivative).reshape(-1))
    expa = np.array(matrix_exp(x, stream=mx.cpu))
    return np.linalg.norm(np.stack(columns, 1), 2) * np.linalg.norm(a) / np.linalg.norm(expa)


@pytest.mark.parametrize(
    "name", ["al_mohy_higham_4x4", "moler_badly_scaled", "similarity_nag_f01ecf"]
)
def test_condition_number_through_the_jvp(name):
    """The Frechet derivatives of matrix_exp reproduce kappa_exp to a few per
    cent where it is 1e18 to 1e36: against the 60-digit value stored with the
    references (scipy.linalg.expm_cond gives 1.94e36 for the 4 x 4, 1.5% low,
    and 5e35 for Moler's matrix, whose kappa is 3.2e18)."""
    a, _, kappa = exact(name, "float64")
    assert kronecker_condition_number(a) == pytest.approx(kappa, rel=0.05)
