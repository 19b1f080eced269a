"""One description of what the tests run (after PyTorch's OpInfo): the sample
inputs (shapes with and without batch axes, empty arrays, 1x1, non-contiguous
views, mixed norms; each in every supported dtype), the transforms every
sample goes through (exp, jvp, vjp, grad, vmap, compile, compiled grad), and
the bad inputs every error test uses. A new dtype, layout, transform or bad
input is one line here.

A sample is built from a seed, so that each test sees the same values."""

import dataclasses
import re
from typing import Callable

import mlx.core as mx
import numpy as np

from mlx_expm_ext import matrix_exp

DTYPES = (mx.float32, mx.float64, mx.complex64, mx.float16, mx.bfloat16)
REAL_DTYPES = (mx.float32, mx.float64)


@dataclasses.dataclass(frozen=True)
class Sample:
    name: str
    build: Callable[[mx.Dtype], mx.array]

    def __call__(self, dtype):
        return self.build(dtype)

    def __repr__(self):
        return self.name


def random_matrices(shape, norm, dtype, seed):
    """Random matrices of the given shape, each scaled to 1-norm `norm`
    (a scalar, or one per matrix)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if dtype == mx.complex64:
        a = a + 1j * rng.standard_normal(shape)
    if shape[-1] > 0 and a.size:
        col = np.abs(a).sum(axis=-2).max(axis=-1)[..., None, None]
        a = a * (np.reshape(norm, np.shape(norm) + (1, 1)) / col)
    if dtype == mx.float64:
        return mx.array(a, dtype=mx.float64)
    return mx.array(a.astype(np.complex64 if dtype == mx.complex64 else np.float32)).astype(dtype)


def _plain(shape, norm=1.0, seed=0):
    return lambda dtype: random_matrices(shape, norm, dtype, seed)


MIXED_NORMS = np.array([1e-9, 3e-5, 1e-3, 0.07, 0.5, 1.2, 2.9, 40.0, 300.0])

SAMPLES = [
    Sample("2x2", _plain((2, 2), 0.7, 1)),
    Sample("3x3", _plain((3, 3), 2.0, 2)),
    Sample("batch_7x4x4", _plain((7, 4, 4), 5.0, 3)),
    Sample("batch_2x3x5x5", _plain((2, 3, 5, 5), 1.5, 4)),
    Sample("batch_3x16x16", _plain((3, 16, 16), 8.0, 5)),
    Sample("batch_2x33x33", _plain((2, 33, 33), 3.0, 6)),
    Sample("64x64", _plain((64, 64), 10.0, 7)),
    Sample("mixed_norms_9x6x6", _plain((9, 6, 6), MIXED_NORMS, 8)),
    Sample("1x1_batch", _plain((5, 1, 1), 3.0, 9)),
    Sample("empty_batch", _plain((0, 3, 3))),
    Sample("empty_matrices", _plain((4, 0, 0))),
    Sample("transposed", lambda dt: mx.swapaxes(random_matrices((3, 6, 6), 2.0, dt, 10), -1, -2)),
    Sample(
        "broadcast", lambda dt: mx.broadcast_to(random_matrices((1, 4, 4), 2.0, dt, 11), (5, 4, 4))
    ),
    Sample("strided_slice", lambda dt: random_matrices((4, 11, 11), 4.0, dt, 12)[::2, 1::2, 1::2]),
    Sample(
        "batch_axis_last",
        lambda dt: mx.moveaxis(random_matrices((3, 5, 5), 1.0, dt, 13), 0, -1).transpose(2, 0, 1),
    ),
]


def samples(dtypes=DTYPES):
    """(sample, dtype) pairs for pytest.mark.parametrize."""
    return [(s, d) for s in SAMPLES for d in dtypes]


# ---- transforms: what every sample is run through ---------------------------


def expm(x):
    return matrix_exp(x, stream=mx.cpu)


def direction(x):
    """The direction of a derivative at x: sin of x's entries, each matrix's
    own, so that batches, slices and single matrices agree."""
    return mx.sin(x, stream=mx.cpu)


def _loss(y):
    return (expm(y) * mx.stop_gradient(direction(y))).sum().real


def _batched(f, x):
    """f vectorised over x's first axis (a single matrix gets one)."""
    if x.ndim < 3:
        return mx.vmap(f)(x[None])[0]
    return mx.vmap(f)(x)


@dataclasses.dataclass(frozen=True)
class Transform:
    """A way to call matrix_exp; `run` returns its outputs for input x. A
    transform with `eager` must give, bit for bit, what that one gives."""

    name: str
    run: Callable[[mx.array], list]
    eager: str = ""

    def __repr__(self):
        return self.name


TRANSFORMS = [
    Transform("exp", lambda x: [expm(x)]),
    Transform("jvp", lambda x: mx.jvp(expm, [x], [direction(x)])[1]),
    Transform("vjp", lambda x: mx.vjp(expm, [x], [direction(x)])[1]),
    Transform("grad", lambda x: [mx.grad(_loss)(x)]),
    Transform("vmap", lambda x: [_batched(expm, x)], eager="exp"),
    Transform("compile", lambda x: [mx.compile(expm)(x)], eager="exp"),
    Transform("compile_grad", lambda x: [mx.compile(mx.grad(_loss))(x)], eager="grad"),
]
TRANSFORM_BY_NAME = {t.name: t for t in TRANSFORMS}


def sample_transforms(dtypes=DTYPES, transforms=TRANSFORMS):
    """(sample, dtype, transform) triples for pytest.mark.parametrize."""
    return [(s, d, t) for s in SAMPLES for d in dtypes for t in transforms]


# ---- bad input: what every error test runs ----------------------------------


@dataclasses.dataclass(frozen=True)
class BadInput:
    """An argument matrix_exp must refuse with `error`, whose message matches
    message(shape). `shape`: the shape of the mx.array it is, or None (not an
    array, which transformations do not take)."""

    name: str
    value: Callable[[], object]
    error: type
    message: Callable[[tuple], str]
    shape: tuple = None

    def __repr__(self):
        return self.name


def _shape_message(what):
    return lambda shape: f"^\\[matrix_exp\\] {what}, got shape " + re.escape(str(shape)) + r"\.$"


BAD_INPUTS = [
    *(
        BadInput(
            f"ndim_{len(shape)}",
            lambda shape=shape: mx.zeros(shape),
            ValueError,
            _shape_message(r"Expected an array with at least 2 dimensions \(\.\.\., n, n\)"),
            shape,
        )
        for shape in [(), (3,), (0,)]
    ),
    *(
        BadInput(
            f"non_square_{'x'.join(map(str, shape))}",
            lambda shape=shape: mx.zeros(shape),
            ValueError,
            _shape_message("Expected square matrices in the last two axes"),
            shape,
        )
        for shape in [(2, 3), (4, 3, 5), (1, 0)]
    ),
    *(
        BadInput(
            name,
            lambda value=value: value,
            TypeError,
            lambda shape: r"incompatible function arguments(?s:.*)a: mlx.core.array",
        )
        for name, value in [
            ("numpy", np.eye(2)),
            ("list", [[1.0, 0.0], [0.0, 1.0]]),
            ("float", 3.0),
        ]
    ),
]
