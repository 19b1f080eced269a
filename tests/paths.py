"""exp(A) and its plan on each path a matrix can take: its own size (the lanes
for real n <= 8), zero-padded to at least 9 (loops) or to 40 (BLAS), as
complex64 (loops), or the fused Metal kernel on the emulator. Zero padding
leaves every norm of every power unchanged, so every path must take the same
plan."""

import mlx.core as mx
import numpy as np
import pytest

import metal_emulator
from accuracy import to_mlx, to_numpy
from metal_emulator import matrix_exp as emulated
from mlx_expm_ext import _ext, matrix_exp

EMULATOR = metal_emulator.available()  # why the emulator cannot run, or ""

PATHS = {
    "float64": ["own", "loops", "blas"],
    "float32": ["own", "loops", "blas", "complex64", "metal"],
}


def padded(a, n):
    out = np.zeros((n, n), dtype=a.dtype)
    out[: len(a), : len(a)] = a
    return out


def _size(path, n):
    return {"own": n, "loops": max(n, 9), "blas": 40}[path]


def compute(a, dtype, path):
    """exp(a) in dtype on one path, as float64."""
    n = len(a)
    if path == "metal":
        if EMULATOR:
            pytest.skip(EMULATOR)
        return emulated(a.astype(np.float32)).astype(np.float64)
    if path == "complex64":
        x = matrix_exp(mx.array(a.astype(np.complex64)), stream=mx.cpu)
        return np.array(x).astype(np.complex128).real
    x = matrix_exp(to_mlx(padded(a, _size(path, n)), dtype), stream=mx.cpu)
    return to_numpy(x)[:n, :n]


def plan(a, dtype, path):
    """(degree, squarings) of a in dtype on one path."""
    if path == "metal":
        if EMULATOR:
            pytest.skip(EMULATOR)
        return metal_emulator.plans(a.astype(np.float32))[0]
    if path == "complex64":
        return tuple(_ext._cpu_plans(mx.array(a.astype(np.complex64)))[0])
    return tuple(_ext._cpu_plans(to_mlx(padded(a, _size(path, len(a))), dtype))[0])
