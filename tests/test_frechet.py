"""frechet(a, e): (exp(A), L(A, E)) for each pair, judged against the 60-digit
references of tests/data/references.npz and against SciPy's expm_frechet;
the same bits as matrix_exp and its jvp; broadcasting, dtypes, special
values, bad input, derivatives and transforms."""

import math
import re

import mlx.core as mx
import numpy as np
import pytest
import scipy.linalg

from accuracy import case, references, to_mlx, to_numpy, tolerance
from mlx_expm_ext import frechet, matrix_exp
from reference import relative_error
from samples import random_matrices

pytestmark = pytest.mark.device("cpu")

FRECHET = sorted(
    {
        (k.split("/")[1], k.split("/")[2])
        for k in references()
        if k.startswith("frechet/") and k.endswith("/e")
    }
)


def frechet_cpu(a, e):
    return frechet(a, e, stream=mx.cpu)


@pytest.mark.parametrize("name,dtype", FRECHET)
def test_both_results_match_the_references(name, dtype):
    refs = references()
    key = f"frechet/{name}/{dtype}"
    a, exp_hi, exp_lo, kappa = case(name, dtype)
    assert np.array_equal(refs[f"{key}/a"], a)
    x, dexp = frechet_cpu(to_mlx(a, dtype), to_mlx(refs[f"{key}/e"], dtype))
    assert x.dtype == dexp.dtype == getattr(mx, dtype)
    assert relative_error(to_numpy(x), exp_hi, exp_lo) <= tolerance(dtype, kappa, a.shape[0])
    err = relative_error(to_numpy(dexp), refs[f"{key}/jvp_hi"], refs[f"{key}/jvp_lo"])
    assert err <= tolerance(dtype, kappa, 2 * a.shape[0])


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 9, 17, 40])
@pytest.mark.parametrize("norm", [0.05, 2.0, 40.0])
def test_matches_scipy_expm_frechet(n, norm):
    """float64 against SciPy (Pade 13 with the same derivative idea): both are
    accurate to about u kappa, and kappa <~ ||A||_1 for these matrices."""
    a = random_matrices((3, n, n), norm, mx.float64, n)
    e = random_matrices((3, n, n), 1.0, mx.float64, n + 1)
    x, dexp = frechet_cpu(a, e)
    for i in range(3):
        expected_x, expected_l = scipy.linalg.expm_frechet(np.array(a[i]), np.array(e[i]))
        for ours, theirs in ((x[i], expected_x), (dexp[i], expected_l)):
            err = np.abs(np.array(ours) - theirs).sum(0).max() / np.abs(theirs).sum(0).max()
            assert err <= 2 * tolerance("float64", 2 * norm, 2 * n), (i, err)


@pytest.mark.parametrize("dtype", [mx.float32, mx.float64, mx.complex64])
@pytest.mark.parametrize("n", [2, 3, 6, 12, 33])
def test_same_bits_as_matrix_exp_and_its_jvp(dtype, n):
    a = random_matrices((4, n, n), 3.0, dtype, n)
    e = random_matrices((4, n, n), 1.0, dtype, n + 1)
    x, dexp = frechet_cpu(a, e)
    _, (jvp,) = mx.jvp(lambda y: matrix_exp(y, stream=mx.cpu), [a], [e])
    assert mx.array_equal(x, matrix_exp(a, stream=mx.cpu)).item()
    assert mx.array_equal(dexp, jvp).item()


def test_batch_axes_broadcast():
    """a (3, 1, n, n) with e (4, n, n): every one of the 3 x 4 pairs, each as
    if computed alone."""
    a = random_matrices((3, 1, 5, 5), 2.0, mx.float32, 1)
    e = random_matrices((4, 5, 5), 1.0, mx.float32, 2)
    x, dexp = frechet_cpu(a, e)
    assert x.shape == dexp.shape == (3, 4, 5, 5)
    for i in range(3):
        for j in range(4):
            xi, lij = frechet_cpu(a[i, 0], e[j])
            assert mx.array_equal(x[i, j], xi).item()
            assert mx.array_equal(dexp[i, j], lij).item()


def test_one_direction_for_many_matrices():
    a = random_matrices((6, 4, 4), 2.0, mx.float64, 3)
    e = random_matrices((4, 4), 1.0, mx.float64, 4)
    _, dexp = frechet_cpu(a, e)
    _, expected = frechet_cpu(a, mx.broadcast_to(e, a.shape))
    assert mx.array_equal(dexp, expected).item()


@pytest.mark.parametrize(
    "a_dtype, e_dtype, result",
    [
        (mx.int32, mx.int32, mx.float32),
        (mx.float16, mx.float16, mx.float16),
        (mx.bfloat16, mx.float32, mx.float32),
        (mx.float32, mx.complex64, mx.complex64),
        (mx.float32, mx.float64, mx.float64),
    ],
)
def test_dtypes_promote(a_dtype, e_dtype, result):
    a = (random_matrices((2, 3, 3), 2.0, mx.float32, 5) * 4).astype(a_dtype)
    e = random_matrices((2, 3, 3), 1.0, mx.float32, 6).astype(e_dtype)
    x, dexp = frechet_cpu(a, e)
    assert x.dtype == dexp.dtype == result
    wide = mx.complex64 if result == mx.complex64 else mx.float64
    if result == mx.complex64:
        wide_x, wide_l = frechet_cpu(a.astype(mx.float32), e.astype(wide))
    else:
        wide_x, wide_l = frechet_cpu(a.astype(wide), e.astype(wide))
    u = {mx.float16: 2**-11, mx.bfloat16: 2**-8}.get(result, 2**-24)
    for ours, wider in ((x, wide_x), (dexp, wide_l)):
        ours, wider = np.array(ours.astype(wide)), np.array(wider)
        assert np.abs(ours - wider).max() <= 8 * u * np.abs(wider).max()


def test_half_precision_is_float32_rounded():
    a = random_matrices((2, 6, 6), 2.0, mx.float32, 7).astype(mx.bfloat16)
    e = random_matrices((2, 6, 6), 1.0, mx.float32, 8).astype(mx.bfloat16)
    x, dexp = frechet_cpu(a, e)
    wide_x, wide_l = frechet_cpu(a.astype(mx.float32), e.astype(mx.float32))
    assert mx.array_equal(x, wide_x.astype(mx.bfloat16)).item()
    assert mx.array_equal(dexp, wide_l.astype(mx.bfloat16)).item()


@pytest.mark.parametrize("where", ["a", "e"])
def test_a_nan_spoils_its_pair_only(where):
    a = random_matrices((3, 4, 4), 2.0, mx.float32, 9)
    e = random_matrices((3, 4, 4), 1.0, mx.float32, 10)
    a_np, e_np = np.array(a), np.array(e)
    (a_np if where == "a" else e_np)[1, 2, 3] = np.nan
    x, dexp = frechet_cpu(mx.array(a_np), mx.array(e_np))
    clean_x, clean_l = frechet_cpu(a, e)
    assert np.isnan(np.array(dexp[1])).all()
    assert np.isnan(np.array(x[1])).all() == (where == "a")
    for i in (0, 2):
        assert mx.array_equal(dexp[i], clean_l[i]).item()
        assert mx.array_equal(x[i], clean_x[i]).item()


@pytest.mark.parametrize("shape", [(0, 3, 3), (2, 0, 0)])
def test_empty(shape):
    x, dexp = frechet_cpu(mx.zeros(shape), mx.zeros(shape))
    assert x.shape == dexp.shape == shape


def test_one_by_one_is_exp_and_its_derivative():
    a = mx.array([[[0.3]], [[-2.0]]], dtype=mx.float64)
    e = mx.array([[[1.5]], [[0.25]]], dtype=mx.float64)
    x, dexp = frechet_cpu(a, e)
    expected = np.exp(np.array(a))
    assert np.allclose(np.array(x), expected, rtol=1e-15)
    assert np.allclose(np.array(dexp), expected * np.array(e), rtol=1e-15)


def _message(text):
    return "^" + re.escape(text) + "$"


@pytest.mark.parametrize(
    "a_shape, e_shape, message",
    [
        (
            (3,),
            (3, 3),
            "[frechet] Expected a with at least 2 dimensions (..., n, n), got shape (3,).",
        ),
        ((3, 3), (), "[frechet] Expected e with at least 2 dimensions (..., n, n), got shape ()."),
        (
            (2, 3),
            (3, 3),
            "[frechet] Expected square matrices in the last two axes of a, got shape (2, 3).",
        ),
        (
            (3, 3),
            (4, 3, 2),
            "[frechet] Expected square matrices in the last two axes of e, got shape (4, 3, 2).",
        ),
        (
            (3, 3),
            (4, 4),
            "[frechet] Expected a and e of the same matrix size with batch shapes that broadcast, "
            "got shapes (3, 3) and (4, 4).",
        ),
        (
            (2, 3, 3),
            (5, 3, 3),
            "[frechet] Expected a and e of the same matrix size with batch shapes that broadcast, "
            "got shapes (2, 3, 3) and (5, 3, 3).",
        ),
    ],
)
def test_bad_shapes_are_refused_with_a_message_that_names_them(a_shape, e_shape, message):
    with pytest.raises(ValueError, match=_message(message)):
        frechet_cpu(mx.zeros(a_shape), mx.zeros(e_shape))


@pytest.mark.parametrize("bad", [np.eye(2), [[1.0, 0.0], [0.0, 1.0]], 3.0])
def test_non_arrays_are_refused(bad):
    signature = r"incompatible function arguments(?s:.*)a: mlx.core.array, e: mlx.core.array"
    with pytest.raises(TypeError, match=signature):
        frechet(bad, mx.eye(2), stream=mx.cpu)
    with pytest.raises(TypeError, match=signature):
        frechet(mx.eye(2), bad, stream=mx.cpu)


@pytest.mark.device("any")
@pytest.mark.skipif(not mx.is_available(mx.gpu), reason="needs a GPU backend of MLX")
def test_float64_on_the_gpu():
    with pytest.raises(ValueError, match=r"^\[frechet\] float64 is not supported on the GPU"):
        frechet(mx.eye(2, dtype=mx.float64), mx.eye(2), stream=mx.gpu)


@pytest.mark.parametrize("n,norm", [(1, 0.7), (3, 0.5), (5, 6.0)])
def test_grad_of_both_results_matches_central_differences(n, norm):
    a = random_matrices((n, n), norm, mx.float64, n)
    e = random_matrices((n, n), 1.0, mx.float64, n + 1)
    w_x = random_matrices((n, n), 1.0, mx.float64, n + 2)
    w_l = random_matrices((n, n), 1.0, mx.float64, n + 3)
    da = random_matrices((n, n), 1.0, mx.float64, n + 4)
    de = random_matrices((n, n), 1.0, mx.float64, n + 5)

    def f(a, e):
        x, dexp = frechet_cpu(a, e)
        return mx.sum(x * w_x) + mx.sum(dexp * w_l)

    h = 1e-5
    fd = (f(a + h * da, e + h * de) - f(a - h * da, e - h * de)).item() / (2 * h)
    ga, ge = mx.grad(f, argnums=(0, 1))(a, e)
    directional = (mx.sum(ga * da) + mx.sum(ge * de)).item()
    # Central differences: O(h^2 |f'''|) truncation + O(u |f| / h) rounding.
    assert directional == pytest.approx(fd, rel=1e-7, abs=1e-7 * math.exp(norm))


def test_jvp_of_both_results():
    """The tangent of exp(A) is L(A, dA); that of L(A, E) is the top right
    block of L at [[A, E], [0, A]] in the direction [[dA, dE], [0, dA]]."""
    n = 4
    a = random_matrices((n, n), 2.0, mx.float64, 11)
    e = random_matrices((n, n), 1.0, mx.float64, 12)
    da = random_matrices((n, n), 1.0, mx.float64, 13)
    de = random_matrices((n, n), 1.0, mx.float64, 14)
    _, (dx, dl) = mx.jvp(lambda a, e: list(frechet_cpu(a, e)), [a, e], [da, de])
    _, l_da = frechet_cpu(a, da)
    z = mx.zeros_like(a)
    big = mx.concatenate([mx.concatenate([a, e], -1), mx.concatenate([z, a], -1)], -2)
    d_big = mx.concatenate([mx.concatenate([da, de], -1), mx.concatenate([z, da], -1)], -2)
    _, l_big = frechet_cpu(big, d_big)
    assert np.allclose(np.array(dx), np.array(l_da), rtol=0, atol=1e-14 * np.abs(l_da).max())
    expected = np.array(l_big)[:n, n:]
    assert np.allclose(np.array(dl), expected, rtol=0, atol=1e-13 * np.abs(expected).max())


def test_vmap_and_compile_give_the_same_bits():
    a = random_matrices((5, 6, 6), 3.0, mx.float32, 15)
    e = random_matrices((5, 6, 6), 1.0, mx.float32, 16)
    x, dexp = frechet_cpu(a, e)
    vx, vl = mx.vmap(frechet_cpu, in_axes=(0, 0))(a, e)
    cx, cl = mx.compile(frechet_cpu)(a, e)
    for ours in ((vx, vl), (cx, cl)):
        assert mx.array_equal(ours[0], x).item()
        assert mx.array_equal(ours[1], dexp).item()


def test_vmap_over_the_directions_only():
    a = random_matrices((6, 6), 3.0, mx.float32, 17)
    e = random_matrices((5, 6, 6), 1.0, mx.float32, 18)
    _, vl = mx.vmap(frechet_cpu, in_axes=(None, 0))(a, e)
    _, dexp = frechet_cpu(a, e)
    assert mx.array_equal(vl, dexp).item()
