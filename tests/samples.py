"""One description of the inputs every transform test runs on (after PyTorch's
OpInfo sample inputs): shapes with and without batch axes, empty arrays, 1x1,
non-contiguous views, mixed norms; each in every supported dtype.

A sample is built from a seed, so that each test sees the same values."""

import dataclasses
from typing import Callable

import mlx.core as mx
import numpy as np

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
    Sample("broadcast", lambda dt: mx.broadcast_to(random_matrices((1, 4, 4), 2.0, dt, 11), (5, 4, 4))),
    Sample("strided_slice", lambda dt: random_matrices((4, 11, 11), 4.0, dt, 12)[::2, 1::2, 1::2]),
    Sample("batch_axis_last", lambda dt: mx.moveaxis(random_matrices((3, 5, 5), 1.0, dt, 13), 0, -1)
           .transpose(2, 0, 1)),
]


def samples(dtypes=DTYPES):
    """(sample, dtype) pairs for pytest.mark.parametrize."""
    return [(s, d) for s in SAMPLES for d in dtypes]
