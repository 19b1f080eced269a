"""The calls the stress tests make: every CPU path (lanes, loops, BLAS with a
matrix per thread and one at a time, complex, half types) under every
transformation, each a function of nothing but its own seed."""

import dataclasses
import zlib

import mlx.core as mx
import numpy as np

from mlx_expm_ext import matrix_exp
from samples import random_matrices

SHAPES = [
    (1, 1, 1),
    (2000, 3, 3),
    (700, 5, 5),
    (300, 8, 8),
    (64, 12, 12),
    (9, 17, 17),
    (4, 40, 40),
    (3, 64, 64),
    (2, 130, 130),
    (1, 260, 260),
]
DTYPES = [mx.float32, mx.float64, mx.complex64, mx.float16]
OPS = ["exp", "vjp", "jvp", "vmap", "compile_grad"]


@dataclasses.dataclass(frozen=True)
class Call:
    shape: tuple
    dtype: mx.Dtype
    op: str
    norm: float

    def inputs(self):
        rng = np.random.default_rng(zlib.crc32(repr((self.shape, self.op, self.norm)).encode()))
        norms = self.norm * rng.uniform(0.01, 1.0, self.shape[0])
        return random_matrices(self.shape, norms, self.dtype, int(rng.integers(1 << 30)))

    def __call__(self, a, stream):
        """The outputs of the call on `a`, evaluated, as NumPy arrays."""
        f = lambda x: matrix_exp(x, stream=stream)  # noqa: E731
        if self.op == "exp":
            out = [f(a)]
        elif self.op == "vjp":
            out = mx.vjp(f, [a], [mx.sin(a, stream=stream)])[1]
        elif self.op == "jvp":
            out = mx.jvp(f, [a], [mx.cos(a, stream=stream)])[1]
        elif self.op == "vmap":
            out = [mx.vmap(f)(a)]
        else:
            loss = lambda x: (f(x) * mx.sin(x, stream=stream)).sum(stream=stream).real  # noqa: E731
            out = [mx.compile(mx.grad(loss))(a)]
        if self.dtype == mx.float16:
            out = [o.astype(mx.float32, stream=stream) for o in out]
        return [np.array(o) for o in out]


def all_calls():
    return [
        Call(shape, dtype, op, norm)
        for shape in SHAPES
        for dtype in DTYPES
        for op in OPS
        for norm in (0.5, 40.0)
        if not (op == "compile_grad" and dtype == mx.float16)
    ]
