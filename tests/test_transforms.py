"""Derivatives (vjp, jvp, grad, grad of grad), vmap and compile.

Derivatives are judged against 60-digit Frechet derivatives L(A, E) (jvp) and
L(A^H, G) (vjp) of tests/data/references.npz, with the forward tolerance of
tests/accuracy.py for the 2n x 2n block matrix the derivative is computed
from; against central finite differences in float64; and, for complex input,
against MLX's own autodiff of a Taylor series built from mx.matmul."""

import math

import mlx.core as mx
import numpy as np
import pytest

from accuracy import references, to_mlx, to_numpy, tolerance
from mlx_expm_ext import matrix_exp
from reference import relative_error
from samples import TRANSFORM_BY_NAME, TRANSFORMS, random_matrices, sample_transforms

pytestmark = pytest.mark.device("cpu")

FRECHET = sorted(
    {
        (k.split("/")[1], k.split("/")[2])
        for k in references()
        if k.startswith("frechet/") and k.endswith("/e")
    }
)


def expm_cpu(x):
    return matrix_exp(x, stream=mx.cpu)


def frechet_case(name, dtype):
    refs = references()
    key = f"frechet/{name}/{dtype}"
    return refs[f"{key}/a"], refs[f"{key}/e"], float(refs[f"{name}/cond"]), refs, key


@pytest.mark.parametrize("name,dtype", FRECHET)
def test_jvp_is_frechet_derivative(name, dtype):
    a, e, kappa, refs, key = frechet_case(name, dtype)
    out, jvp = mx.jvp(expm_cpu, [to_mlx(a, dtype)], [to_mlx(e, dtype)])
    assert jvp[0].dtype == getattr(mx, dtype)
    err = relative_error(to_numpy(jvp[0]), refs[f"{key}/jvp_hi"], refs[f"{key}/jvp_lo"])
    assert err <= tolerance(dtype, kappa, 2 * a.shape[0])


@pytest.mark.parametrize("name,dtype", FRECHET)
def test_vjp_is_adjoint_frechet_derivative(name, dtype):
    a, g, kappa, refs, key = frechet_case(name, dtype)
    _, vjp = mx.vjp(expm_cpu, [to_mlx(a, dtype)], [to_mlx(g, dtype)])
    err = relative_error(to_numpy(vjp[0]), refs[f"{key}/vjp_hi"], refs[f"{key}/vjp_lo"])
    assert err <= tolerance(dtype, kappa, 2 * a.shape[0])


@pytest.mark.parametrize("n,norm", [(1, 0.7), (3, 0.5), (4, 3.0), (7, 12.0)])
def test_grad_matches_central_differences(n, norm):
    a = random_matrices((n, n), norm, mx.float64, n)
    w = random_matrices((n, n), 1.0, mx.float64, n + 100)
    e = random_matrices((n, n), 1.0, mx.float64, n + 200)

    def f(x):
        return mx.sum(expm_cpu(x) * w)

    h = 1e-5
    fd = (f(a + h * e) - f(a - h * e)).item() / (2 * h)
    directional = mx.sum(mx.grad(f)(a) * e).item()
    # Central differences: O(h^2 |f'''|) truncation + O(u |f| / h) rounding.
    scale = math.exp(norm)
    assert directional == pytest.approx(fd, rel=1e-8, abs=1e-8 * scale)


@pytest.mark.parametrize("n,norm", [(2, 0.6), (3, 4.0)])
def test_jvp_matches_central_differences(n, norm):
    a = random_matrices((2, n, n), norm, mx.float64, 10 + n)
    e = random_matrices((2, n, n), 1.0, mx.float64, 20 + n)
    h = 1e-5
    fd = (expm_cpu(a + h * e) - expm_cpu(a - h * e)) / (2 * h)
    _, (jvp,) = mx.jvp(expm_cpu, [a], [e])
    scale = math.exp(norm)
    assert np.allclose(np.array(jvp), np.array(fd), rtol=1e-8, atol=1e-8 * scale)


@pytest.mark.parametrize("n", [2, 4])
def test_grad_of_grad_matches_central_differences(n):
    """g(A) = <grad f(A), V>; its gradient needs the derivative of the vjp."""
    a = random_matrices((n, n), 1.5, mx.float64, 30 + n)
    w = random_matrices((n, n), 1.0, mx.float64, 40 + n)
    v = random_matrices((n, n), 1.0, mx.float64, 50 + n)
    e = random_matrices((n, n), 1.0, mx.float64, 60 + n)

    def f(x):
        return mx.sum(expm_cpu(x) * w)

    def g(x):
        return mx.sum(mx.grad(f)(x) * v)

    h = 1e-5
    fd = (g(a + h * e) - g(a - h * e)).item() / (2 * h)
    directional = mx.sum(mx.grad(g)(a) * e).item()
    assert directional == pytest.approx(fd, rel=1e-7, abs=1e-7)


def taylor_exp(x, terms=40):
    """exp by its Taylor series with mx.matmul, for small norms: MLX's own
    autodiff of it is an independent derivative (Matmul::vjp conjugates)."""
    n = x.shape[-1]
    out = mx.broadcast_to(mx.eye(n, dtype=x.dtype), x.shape)
    term = out
    for k in range(1, terms):
        term = mx.matmul(term, x) / k
        out = out + term
    return out


@pytest.mark.parametrize("dtype", [mx.complex64, mx.float32, mx.float64])
def test_derivatives_match_autodiff_of_taylor_series(dtype):
    a = random_matrices((3, 4, 4), 0.5, dtype, 70)
    g = random_matrices((3, 4, 4), 1.0, dtype, 71)
    _, (ours,) = mx.vjp(expm_cpu, [a], [g])
    _, (theirs,) = mx.vjp(lambda x: taylor_exp(x), [a], [g])
    _, (ours_t,) = mx.jvp(expm_cpu, [a], [g])
    _, (theirs_t,) = mx.jvp(lambda x: taylor_exp(x), [a], [g])
    tol = 1e-5 if dtype != mx.float64 else 1e-13
    for x, y in ((ours, theirs), (ours_t, theirs_t)):
        assert np.abs(to_numpy(x) - to_numpy(y)).max() <= tol * np.abs(to_numpy(y)).max()


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_vmap_over_any_axis_equals_batched_call(axis):
    x = random_matrices((4, 5, 5), 2.0, mx.float32, 80)
    moved = mx.moveaxis(x, 0, axis)  # the vmapped axis sits at `axis`
    out = mx.vmap(expm_cpu, in_axes=axis, out_axes=0)(moved)
    assert mx.array_equal(out, expm_cpu(x)).item()


def test_vmap_of_vmap_and_of_grad():
    x = random_matrices((2, 3, 4, 4), 1.0, mx.float64, 81)
    out = mx.vmap(mx.vmap(expm_cpu))(x)
    assert mx.array_equal(out, expm_cpu(x)).item()
    f = lambda m: mx.sum(expm_cpu(m))  # noqa: E731
    per_matrix = mx.vmap(mx.grad(f))(x[0])
    assert np.allclose(np.array(per_matrix), np.array(mx.grad(f)(x[0])), rtol=1e-13, atol=0)


def per_matrix(transform, x):
    """transform run on each matrix of x alone, from a contiguous copy,
    stacked back into x's shape."""
    n = x.shape[-1]
    flat = x.reshape(-1, n, n)
    outs = [transform.run(mx.contiguous(flat[i])) for i in range(flat.shape[0])]
    return [mx.stack([o[k] for o in outs]).reshape(x.shape) for k in range(len(outs[0]))]


@pytest.mark.parametrize("sample,dtype,transform", sample_transforms(), ids=str)
def test_shape_and_dtype(sample, dtype, transform):
    x = sample(dtype)
    for out in transform.run(x):
        assert out.shape == x.shape
        assert out.dtype == dtype


@pytest.mark.parametrize("sample,dtype,transform", sample_transforms(), ids=str)
def test_equals_matrix_by_matrix(sample, dtype, transform):
    """Batches, strides, broadcasts and empty arrays change nothing: the
    result is, bit for bit, that of each matrix alone and contiguous."""
    x = sample(dtype)
    if x.size == 0:
        assert all(out.size == 0 for out in transform.run(x))
        return
    for out, expected in zip(transform.run(x), per_matrix(transform, x)):
        assert mx.array_equal(out, expected, equal_nan=True).item()


@pytest.mark.parametrize(
    "sample,dtype,transform",
    sample_transforms(transforms=[t for t in TRANSFORMS if t.eager]),
    ids=str,
)
def test_equals_its_eager_form(sample, dtype, transform):
    """vmap and compile change nothing either, bit for bit."""
    x = sample(dtype)
    eager = TRANSFORM_BY_NAME[transform.eager].run(x)
    for out, expected in zip(transform.run(x), eager):
        assert mx.array_equal(out, expected, equal_nan=True).item()


def test_shapeless_compile_handles_new_shapes():
    compiled = mx.compile(lambda x: expm_cpu(x) * 2.0, shapeless=True)
    for shape in [(3, 4, 4), (5, 4, 4), (2, 6, 6)]:
        x = random_matrices(shape, 1.0, mx.float32, 90)
        assert mx.array_equal(compiled(x), expm_cpu(x) * 2.0).item()


def test_compile_of_grad():
    w = random_matrices((3, 3), 1.0, mx.float32, 91)
    f = lambda x: mx.sum(expm_cpu(x) * w)  # noqa: E731
    x = random_matrices((3, 3), 1.0, mx.float32, 92)
    assert mx.allclose(mx.compile(mx.grad(f))(x), mx.grad(f)(x)).item()


def block_formula(a, e):
    """L(A, E) as the top-right block of exp([[A, E], [0, A]]) (Mathias 1996),
    with the forward primitive: the reference the Frechet primitive, which
    differentiates the Taylor scheme itself, is checked against."""
    n = a.shape[-1]
    top = mx.concatenate([a, e], axis=-1)
    bottom = mx.concatenate([mx.zeros_like(a), a], axis=-1)
    big = expm_cpu(mx.concatenate([top, bottom], axis=-2))
    return big[..., :n, n:]


@pytest.mark.parametrize("dtype", [mx.float32, mx.float64, mx.complex64])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 9, 17, 30, 33, 40])
@pytest.mark.parametrize("norm", [0.01, 0.9, 12.0])
def test_frechet_primitive_matches_block_formula(dtype, n, norm):
    a = random_matrices((3, n, n), norm, dtype, n)
    e = random_matrices((3, n, n), 1.0, dtype, n + 1)
    _, (jvp,) = mx.jvp(expm_cpu, [a], [e])
    expected = to_numpy(block_formula(a, e))
    err = np.abs(to_numpy(jvp) - expected).sum(-2).max(-1) / np.abs(expected).sum(-2).max(-1)
    # Both are accurate to about u kappa, kappa <~ ||A||_1 for these matrices.
    name = {mx.float32: "float32", mx.float64: "float64", mx.complex64: "complex64"}[dtype]
    assert err.max() <= 2 * tolerance(name, 2 * norm, 2 * n)


@pytest.mark.parametrize("dtype", [mx.float16, mx.bfloat16])
def test_half_derivatives_are_float32_derivatives_rounded(dtype):
    a = random_matrices((2, 6, 6), 2.0, mx.float32, 3).astype(dtype)
    g = random_matrices((2, 6, 6), 1.0, mx.float32, 4).astype(dtype)
    _, (ours,) = mx.vjp(expm_cpu, [a], [g])
    _, (wide,) = mx.vjp(expm_cpu, [a.astype(mx.float32)], [g.astype(mx.float32)])
    assert ours.dtype == dtype
    assert mx.array_equal(ours, wide.astype(dtype)).item()


def test_second_derivative_of_a_large_matrix_uses_blas_path():
    """grad of grad at n = 20 works through the 2n = 40 Frechet primitive."""
    a = random_matrices((20, 20), 1.0, mx.float64, 5)
    w = random_matrices((20, 20), 1.0, mx.float64, 6)
    v = random_matrices((20, 20), 1.0, mx.float64, 7)
    e = random_matrices((20, 20), 1.0, mx.float64, 8)
    f = lambda x: mx.sum(expm_cpu(x) * w)  # noqa: E731
    g = lambda x: mx.sum(mx.grad(f)(x) * v)  # noqa: E731
    h = 1e-5
    fd = (g(a + h * e) - g(a - h * e)).item() / (2 * h)
    assert mx.sum(mx.grad(g)(a) * e).item() == pytest.approx(fd, rel=1e-7)
