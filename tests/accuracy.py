"""The stored references and the tolerance results are judged by.

Tolerance. A backward-stable exp has normwise relative forward error of order
u * kappa, kappa = the relative condition number of exp at A (stored with the
references, Frobenius norm: from the 60-digit Frechet derivative for n <= 6,
scipy.linalg.expm_cond above), plus rounding in the
matrix products, which grows like sqrt(n) u for random data. We require

    ||X - exp(A)||_1 / ||exp(A)||_1 <= C u (kappa + sqrt(n)),   C = 16,

u the unit roundoff of the compute precision (2^-24 for float32, complex64
and the half types, which compute in float32; 2^-53 for float64). Over all
stored cases the largest ratio observed here is below 4; C = 16 leaves a
factor 4 for other compilers and BLAS. torch.linalg.matrix_exp 2.13 reaches 8
in float32 and 1.6e4 in float64, both where it uses its T8 with the wrong x7
coefficient (||A||_1 just below theta_8): this bound fails that bug.
float16 and bfloat16 results are float32 results rounded once more, so their
bound adds 2 u_half.
"""

import functools
import pathlib

import mlx.core as mx
import numpy as np

from reference import relative_error

DATA = pathlib.Path(__file__).parent / "data" / "references.npz"

UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24, "complex64": 2.0**-24}
HALF_ROUNDOFF = {"float16": 2.0**-11, "bfloat16": 2.0**-8}
C = 16
DTYPES = ("float32", "float64", "complex64", "float16", "bfloat16")


@functools.cache
def references():
    with np.load(DATA) as data:
        return dict(data)


def case_names(dtype):
    refs = references()
    return sorted(
        k.split("/")[0] for k in refs if k.endswith(f"/{dtype}/a") and not k.startswith("frechet/")
    )


def case(name, dtype):
    """(input, reference hi, reference lo, kappa) of a stored case."""
    refs = references()
    key = f"{name}/{dtype}"
    return refs[f"{key}/a"], refs[f"{key}/hi"], refs[f"{key}/lo"], float(refs[f"{name}/cond"])


def tolerance(dtype, kappa, n):
    u = UNIT_ROUNDOFF.get(dtype, 2.0**-24)
    return C * u * (kappa + np.sqrt(n)) + 2 * HALF_ROUNDOFF.get(dtype, 0.0)


def to_mlx(a, dtype):
    """A float64/complex128 numpy array as an MLX array of dtype (exactly, when
    a is representable in dtype)."""
    if dtype == "float64":
        return mx.array(a, dtype=mx.float64)
    if dtype == "complex64":
        return mx.array(a.astype(np.complex64))
    return mx.array(a.astype(np.float32)).astype(getattr(mx, dtype))


def to_numpy(x):
    """An MLX result widened to float64/complex128."""
    if x.dtype == mx.complex64:
        return np.array(x).astype(np.complex128)
    if x.dtype != mx.float64:
        x = x.astype(mx.float32)
    return np.array(x).astype(np.float64)


def error(x, hi, lo):
    return relative_error(to_numpy(x), hi, lo)
