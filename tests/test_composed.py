"""The composition of MLX operations that GPUs without the fused kernel use
(n > 32, complex64, CUDA), forced onto the CPU stream through a test hook and
judged against the same references and tolerance as the primitive."""

import mlx.core as mx
import numpy as np
import pytest

from accuracy import case, case_names, error, to_mlx, tolerance
from mlx_expm_ext import _ext, matrix_exp
from samples import MIXED_NORMS, random_matrices

pytestmark = pytest.mark.device("cpu")


def composed(x):
    return _ext._matrix_exp_composed(x, stream=mx.cpu)


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "float16", "bfloat16"])
def test_against_reference(dtype):
    for name in case_names(dtype):
        a, hi, lo, kappa = case(name, dtype)
        if dtype == "float16" and np.abs(hi).max() >= np.finfo(np.float16).max:
            continue  # overflow: covered by test_accuracy
        out = composed(to_mlx(a, dtype))
        assert out.dtype == getattr(mx, dtype)
        assert error(out, hi, lo) <= tolerance(dtype, kappa, a.shape[0]), name


def test_per_matrix_scaling_and_nan():
    x = random_matrices((9, 6, 6), MIXED_NORMS, mx.float64, 8)
    a = np.array(x)
    a[4, 2, 3] = np.nan
    x = mx.array(a, dtype=mx.float64)
    out = np.array(composed(x))
    assert np.isnan(out[4]).all()
    primitive = np.array(matrix_exp(x, stream=mx.cpu))
    keep = [i for i in range(9) if i != 4]
    err = np.abs(out[keep] - primitive[keep]).sum(-2).max(-1) / np.abs(primitive[keep]).sum(-2).max(-1)
    assert err.max() < 1e-13


def test_under_compile_and_vmap_falls_back_to_the_cpu_primitive():
    """Nothing can be read back inside mx.compile or mx.vmap: the result then
    comes from the CPU primitive, bit for bit."""
    x = random_matrices((3, 5, 5), 4.0, mx.float32, 1)
    expected = matrix_exp(x, stream=mx.cpu)
    assert mx.array_equal(mx.compile(composed)(x), expected).item()
    assert mx.array_equal(mx.vmap(composed)(x), expected).item()


def test_differentiable():
    x = random_matrices((2, 4, 4), 1.0, mx.float64, 2)
    g = random_matrices((2, 4, 4), 1.0, mx.float64, 3)
    _, (ours,) = mx.vjp(composed, [x], [g])
    _, (primitive,) = mx.vjp(lambda a: matrix_exp(a, stream=mx.cpu), [x], [g])
    assert np.allclose(np.array(ours), np.array(primitive), rtol=1e-12, atol=0)
