"""The forward op's own promises: 1 x 1 is the scalar exp, integer input
promotes, half types are float32 results rounded, the default stream is
used, mixed norms in one batch, the lanes' grouping by plan. (Shapes, dtypes,
layouts and batching of every sample under every transform: test_transforms.)"""

import mlx.core as mx
import numpy as np
import pytest
import scipy.linalg

from accuracy import error, to_numpy, tolerance
from mlx_expm_ext import matrix_exp
from reference import expm_hi_lo
from samples import DTYPES, MIXED_NORMS, random_matrices

pytestmark = pytest.mark.device("cpu")


def one_by_one(x):
    """matrix_exp of each matrix of x separately, from a contiguous copy."""
    batch = x.shape[:-2]
    n = x.shape[-1]
    flat = x.reshape(-1, n, n) if x.size else x
    outs = [matrix_exp(mx.contiguous(flat[i]), stream=mx.cpu) for i in range(flat.shape[0])]
    return mx.stack(outs).reshape(*batch, n, n) if outs else None


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_by_one_is_scalar_exp(dtype):
    """1 x 1 is exp of the entry, to within 2 units in the last place of the
    dtype (MLX's own mx.exp is only float32-accurate in float64)."""
    x = random_matrices((6, 1, 1), np.linspace(0.1, 10, 6), dtype, 0)
    x = x * mx.array([1, -1, 1, -1, 1, -1]).reshape(6, 1, 1).astype(dtype)
    out = to_numpy(matrix_exp(x, stream=mx.cpu))
    expected = np.exp(to_numpy(x))
    ulp = {
        mx.float64: 2.0**-52,
        mx.float32: 2.0**-23,
        mx.complex64: 2.0**-23,
        mx.float16: 2.0**-10,
        mx.bfloat16: 2.0**-7,
    }[dtype]
    assert np.all(np.abs(out - expected) <= 2 * ulp * np.abs(expected))


@pytest.mark.parametrize("dtype", [mx.int32, mx.int64, mx.uint8, mx.bool_])
def test_integer_and_bool_promote_to_float32(dtype):
    x = mx.array([[1, 0], [1, 1]]).astype(dtype)
    out = matrix_exp(x, stream=mx.cpu)
    assert out.dtype == mx.float32
    e = np.e
    assert np.allclose(np.array(out), [[e, 0], [e, e]], rtol=1e-6)


def test_half_types_are_float32_results_rounded():
    x = random_matrices((4, 5, 5), 2.0, mx.float32, 1)
    for dtype in (mx.float16, mx.bfloat16):
        xh = x.astype(dtype)
        expected = matrix_exp(xh.astype(mx.float32), stream=mx.cpu).astype(dtype)
        assert mx.array_equal(matrix_exp(xh, stream=mx.cpu), expected).item()


def test_default_stream_is_used():
    x = random_matrices((3, 3), 1.0, mx.float32, 2)
    with mx.stream(mx.cpu):
        assert mx.array_equal(matrix_exp(x), matrix_exp(x, stream=mx.cpu)).item()  # device: with


@pytest.mark.parametrize("dtype", [mx.float32, mx.float64])
def test_mixed_norm_batch_keeps_every_member_accurate(dtype):
    """One norm for the whole batch would compute the 1e-9-scale member with
    the scaling of the 300-scale one and lose all its digits."""
    x = random_matrices((9, 6, 6), MIXED_NORMS, dtype, 8)
    out = matrix_exp(x, stream=mx.cpu)
    name = "float64" if dtype == mx.float64 else "float32"
    for i in range(x.shape[0]):
        a = to_numpy(x[i])
        hi, lo = expm_hi_lo(a)
        assert error(out[i], hi, lo) <= tolerance(name, scipy.linalg.expm_cond(a), 6), i


@pytest.mark.parametrize("distinct_plans", [5, 200])
@pytest.mark.parametrize("n", [3, 8])
def test_lanes_group_matrices_of_many_plans(distinct_plans, n):
    """Real n <= 8 run eight matrices per vector, grouped by plan (a counting
    sort over the plans present, an ordinary sort past 64 of them): in a
    shuffled batch of norms 1e-3..1e30 (200 squaring counts), each matrix
    still gets, bit for bit, its result alone."""
    rng = np.random.default_rng(distinct_plans + n)
    norms = rng.permutation(np.repeat(np.logspace(-3, 30, distinct_plans), 3))
    x = random_matrices((len(norms), n, n), norms, mx.float64, n)
    assert mx.array_equal(matrix_exp(x, stream=mx.cpu), one_by_one(x), equal_nan=True).item()
