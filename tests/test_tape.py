"""The vjp's tape (csrc/cpu/tape.h): under mx.vjp/mx.grad on the CPU, exp(A)
for n >= 64 records its products and the vjp replays them.

Judged against SciPy's Frechet derivative in float64 (scipy.linalg.
expm_frechet, Al-Mohy & Higham 2009) of the widened inputs, with the
tolerance of tests/accuracy.py for the 2n x 2n block matrix (kappa <~ 2 ||A||_1
for these random matrices, as in test_transforms.py); through every
transformation that can meet a tape (vmap either side of grad, compile,
second derivatives); and by the graph: the tape must be there when it should
and absent when the forward ran before the vjp was asked for."""

import io
import re

import mlx.core as mx
import numpy as np
import pytest
import scipy.linalg

from accuracy import to_numpy, tolerance
from mlx_expm_ext import matrix_exp
from samples import random_matrices

pytestmark = pytest.mark.device("cpu")

NAMES = {mx.float32: "float32", mx.float64: "float64", mx.complex64: "complex64"}


def expm_cpu(x):
    return matrix_exp(x, stream=mx.cpu)


def scipy_vjp(a, g):
    """L(A^H, G) per matrix, float64/complex128."""
    a, g = to_numpy(a), to_numpy(g)
    return np.stack([scipy.linalg.expm_frechet(x.conj().T, y, compute_expm=False)
                     for x, y in zip(a.reshape(-1, *a.shape[-2:]), g.reshape(-1, *g.shape[-2:]))]
                    ).reshape(a.shape)


def relative_errors(x, ref):
    x = to_numpy(x)
    return np.abs(x - ref).sum(-2).max(-1) / np.abs(ref).sum(-2).max(-1)


def frechet_inputs(vjp_arrays):
    """The number of inputs of each MatrixExpFrechet node of the graph behind
    vjp_arrays (mx.export_to_dot: a node per primitive, an edge per input)."""
    out = io.StringIO()
    mx.export_to_dot(out, *vjp_arrays)
    dot = out.getvalue()
    nodes = re.findall(r'(\d+) \[label ="MatrixExpFrechet"', dot)
    return [len(re.findall(rf'" -> {node}\n', dot)) for node in nodes]


@pytest.mark.parametrize("dtype", [mx.float32, mx.float64, mx.complex64])
@pytest.mark.parametrize("n,norms", [
    (64, [0.3, 4.0, 60.0]),
    (72, [0.02, 1.5, 200.0]),  # not a multiple of the vector width
])
def test_vjp_with_tape_matches_scipy(dtype, n, norms):
    a = random_matrices((len(norms), n, n), np.array(norms), dtype, n)
    g = random_matrices((len(norms), n, n), 1.0, dtype, n + 1)
    _, (vjp,) = mx.vjp(expm_cpu, [a], [g])
    assert frechet_inputs([vjp]) == [3]
    err = relative_errors(vjp, scipy_vjp(a, g))
    for e, norm in zip(err, norms):
        assert e <= tolerance(NAMES[dtype], 2 * norm, 2 * n)


def test_more_squarings_than_the_tape_holds():
    """||A||_1 = 3000 in float64: s = 12 squarings after T18's 5 products,
    past the tape's 12; the rest are recomputed."""
    a = random_matrices((2, 64, 64), np.array([3000.0, 700.0]), mx.float64, 11)
    g = random_matrices((2, 64, 64), 1.0, mx.float64, 12)
    _, (vjp,) = mx.vjp(expm_cpu, [a], [g])
    err = relative_errors(vjp, scipy_vjp(a, g))
    assert err[0] <= tolerance("float64", 6000.0, 128)
    assert err[1] <= tolerance("float64", 1400.0, 128)


def test_no_tape_when_the_forward_ran_first():
    """A forward evaluated before the vjp asks for its tape did not record it:
    the vjp then runs the whole dual scheme, with the same result."""
    a = random_matrices((2, 64, 64), 5.0, mx.float32, 21)
    g = random_matrices((2, 64, 64), 1.0, mx.float32, 22)

    def evaluated_first(x):
        y = expm_cpu(x)
        mx.eval(y)
        return y

    _, (vjp,) = mx.vjp(evaluated_first, [a], [g])
    assert frechet_inputs([vjp]) == [2]
    assert relative_errors(vjp, scipy_vjp(a, g)).max() <= tolerance("float32", 10.0, 128)


def test_no_tape_below_the_threshold():
    a = random_matrices((2, 63, 63), 5.0, mx.float32, 23)
    g = random_matrices((2, 63, 63), 1.0, mx.float32, 24)
    _, (vjp,) = mx.vjp(expm_cpu, [a], [g])
    assert frechet_inputs([vjp]) == [2]


def loss(w):
    return lambda x: mx.sum(expm_cpu(x) * w)


def test_grad_of_vmap_and_vmap_of_grad():
    a = random_matrices((3, 64, 64), 8.0, mx.float32, 31)
    w = random_matrices((64, 64), 1.0, mx.float32, 32)
    expected = scipy_vjp(a, mx.broadcast_to(w, a.shape))
    f = loss(w)
    by_vmap_of_grad = mx.vmap(mx.grad(f))(a)
    by_grad_of_vmap = mx.grad(lambda x: mx.sum(mx.vmap(expm_cpu)(x) * w))(a)
    # the batch in the middle: vmap moves it to the front, tape included
    by_vmap_axis_1 = mx.vmap(mx.grad(f), in_axes=1, out_axes=1)(mx.swapaxes(a, 0, 1))
    for result in (by_vmap_of_grad, by_grad_of_vmap, mx.swapaxes(by_vmap_axis_1, 0, 1)):
        assert relative_errors(result, expected).max() <= tolerance("float32", 16.0, 128)


def test_vmap_of_vjp_with_unbatched_cotangent():
    """Under vmap the tape and A are batched and the cotangent is not: the
    vjp broadcasts them to one batch."""
    a = random_matrices((3, 64, 64), 3.0, mx.float64, 33)
    g = random_matrices((64, 64), 1.0, mx.float64, 34)
    vjp = mx.vmap(lambda x: mx.vjp(expm_cpu, [x], [g])[1][0])(a)
    expected = scipy_vjp(a, mx.broadcast_to(g, a.shape))
    assert relative_errors(vjp, expected).max() <= tolerance("float64", 6.0, 128)


def test_compile_of_grad_and_of_value_and_grad():
    a = random_matrices((2, 64, 64), 8.0, mx.float32, 41)
    w = random_matrices((2, 64, 64), 1.0, mx.float32, 42)
    expected = scipy_vjp(a, w)
    compiled = mx.compile(mx.grad(loss(w)))
    for _ in range(2):  # a compiled graph is replayed with its primitives
        assert relative_errors(compiled(a), expected).max() <= tolerance("float32", 16.0, 128)
    value, grad = mx.compile(mx.value_and_grad(loss(w)))(a)
    assert relative_errors(grad, expected).max() <= tolerance("float32", 16.0, 128)
    assert value.item() == pytest.approx(loss(w)(a).item(), rel=1e-5)


def test_compile_keeps_a_recording_forward_apart_from_another():
    """Common-subexpression elimination under mx.compile must not merge the
    forward whose tape the vjp reads with an equal forward that records none."""
    a = random_matrices((2, 64, 64), 8.0, mx.float32, 43)
    w = random_matrices((2, 64, 64), 1.0, mx.float32, 44)

    w2 = random_matrices((2, 64, 64), 1.0, mx.float32, 45)

    def f(x):
        return mx.grad(loss(w))(x) + expm_cpu(x)

    def two_recording(x):  # these two may merge: both record
        return mx.grad(loss(w))(x) + mx.grad(loss(w2))(x)

    for fun in (f, two_recording):
        assert mx.allclose(mx.compile(fun)(a), fun(a), rtol=1e-5, atol=1e-5).item()


def test_forward_under_compile_and_jvp_with_a_tape_output():
    """Traced without a vjp, the forward carries an unwritten tape: its value,
    and jvp through it, are unaffected."""
    a = random_matrices((2, 64, 64), 8.0, mx.float64, 46)
    e = random_matrices((2, 64, 64), 1.0, mx.float64, 47)
    assert mx.allclose(mx.compile(expm_cpu)(a), expm_cpu(a), rtol=1e-13, atol=0).item()
    _, (jvp,) = mx.jvp(expm_cpu, [a], [e])
    expected = np.stack([scipy.linalg.expm_frechet(x, y, compute_expm=False)
                         for x, y in zip(to_numpy(a), to_numpy(e))])
    assert relative_errors(jvp, expected).max() <= tolerance("float64", 16.0, 128)


def test_grad_of_grad_through_a_tape():
    """Second derivative in float64 against central differences of the first."""
    a = random_matrices((64, 64), 2.0, mx.float64, 51)
    w = random_matrices((64, 64), 1.0, mx.float64, 52)
    v = random_matrices((64, 64), 1.0, mx.float64, 53)
    e = random_matrices((64, 64), 1.0, mx.float64, 54)
    g = lambda x: mx.sum(mx.grad(loss(w))(x) * v)  # noqa: E731
    h = 1e-5
    fd = (g(a + h * e) - g(a - h * e)).item() / (2 * h)
    assert mx.sum(mx.grad(g)(a) * e).item() == pytest.approx(fd, rel=1e-7)


@pytest.mark.parametrize("dtype", [mx.float16, mx.bfloat16])
def test_half_types_record_a_float32_tape(dtype):
    """The tape holds the compute type: the half-precision vjp is the float32
    vjp rounded, as without a tape (test_transforms.py)."""
    a = random_matrices((2, 64, 64), 2.0, mx.float32, 61).astype(dtype)
    g = random_matrices((2, 64, 64), 1.0, mx.float32, 62).astype(dtype)
    _, (ours,) = mx.vjp(expm_cpu, [a], [g])
    _, (wide,) = mx.vjp(expm_cpu, [a.astype(mx.float32)], [g.astype(mx.float32)])
    assert frechet_inputs([ours]) == [3]
    assert ours.dtype == dtype
    assert mx.array_equal(ours, wide.astype(dtype)).item()
