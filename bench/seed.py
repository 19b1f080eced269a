"""The baseline: a pure-MLX port of PyTorch's ``linalg_matrix_exp`` algorithm.

Bader, Blanes & Casas, "Computing the matrix exponential with an optimized
Taylor polynomial approximation", Mathematics 7(12) 1174, 2019: Taylor
polynomials of degree 1, 2, 4, 8, 12 and 18 evaluated with 0, 1, 2, 3, 4 and 5
matrix products, and T18 with scaling and squaring above the last threshold.
PyTorch implements it in aten/src/ATen/native/LinearAlgebra.cpp; this file
writes the same evaluation scheme with ``mx.matmul`` and lets MLX's autodiff
differentiate through it.

This is the design that ``mlx_expm_ext`` is measured against, so it keeps two
known flaws on purpose (they belong to this bench copy only):

* one norm for the whole batch (the Frobenius norm of all matrices together,
  or with ``norm="max"`` the largest per-matrix Frobenius norm) picks a single
  degree and squaring count for every matrix, read back to the host with
  ``.item()``;
* PyTorch's T8 coefficient ``x7 = (89 - sqrt(177)) / (5040 * x3)``, which
  makes T8 only 4th-order accurate (pytorch/pytorch#196592; the paper's value
  divides by ``x3**2``).

Importable with MLX alone; no other dependency.
"""

from __future__ import annotations

import math

import mlx.core as mx

# Largest norm for which each degree is accurate to the unit roundoff
# (Bader, Blanes & Casas 2019, Table 1; the values PyTorch uses).
DEGREES = (1, 2, 4, 8, 12, 18)
PRODUCTS = (0, 1, 2, 3, 4, 5)
THETAS = {
    "single": (
        1.192092800768788e-07,
        5.978858893805233e-04,
        5.116619363445086e-02,
        5.800524627688768e-01,
        1.461661507209034e00,
        3.010066362817634e00,
    ),
    "double": (
        2.220446049250313e-16,
        2.580956802971767e-08,
        3.397168839976962e-04,
        4.991228871115323e-02,
        2.996158913811580e-01,
        1.090863719290036e00,
    ),
}


def precision_of(dtype) -> str:
    """'single' for float32/complex64 (and lower), 'double' for float64."""
    name = str(dtype).rsplit(".", 1)[-1]
    return "double" if name in ("float64", "complex128") else "single"


def plan(norm: float, precision: str = "single") -> tuple[int, int, int]:
    """(degree, squarings, matrix products) chosen for a matrix of this norm.

    Shared by the seed and by the bench's floor estimate, which applies it to
    each matrix's own 1-norm (what PyTorch and mlx_expm_ext do).
    """
    thetas = THETAS[precision]
    if not math.isfinite(norm):
        return 18, 0, PRODUCTS[-1]
    for degree, products, theta in zip(DEGREES[:-1], PRODUCTS[:-1], thetas[:-1]):
        if norm <= theta:
            return degree, 0, products
    s = max(0, math.ceil(math.log2(norm / thetas[-1])))
    return 18, s, PRODUCTS[-1] + s


def _lincomb(coeffs, mats):
    """sum(c * M) over the nonzero coefficients."""
    out = None
    for c, m in zip(coeffs, mats):
        if c == 0.0:
            continue
        term = m * c
        out = term if out is None else out + term
    return out


def _t1(a, eye):
    return eye + a


def _t2(a, eye):
    return eye + a + mx.matmul(a, a) * 0.5


def _t4(a, eye):
    a2 = mx.matmul(a, a)
    return eye + a + mx.matmul(a2, _lincomb((1 / 2, 1 / 6, 1 / 24), (eye, a, a2)))


def _t8(a, eye):
    sqrt_177 = math.sqrt(177.0)
    x3 = 2.0 / 3.0
    x1 = x3 * ((1.0 + sqrt_177) / 88.0)
    x2 = x3 * ((1.0 + sqrt_177) / 352.0)
    x4 = (-271.0 + 29.0 * sqrt_177) / (315.0 * x3)
    x5 = (-11.0 + 11.0 * sqrt_177) / (1260.0 * x3)
    x6 = (-99.0 + 11.0 * sqrt_177) / (5040.0 * x3)
    x7 = (89.0 - sqrt_177) / (5040.0 * x3)  # PyTorch's value, kept on purpose
    y2 = (857.0 - 58.0 * sqrt_177) / 630.0
    a2 = mx.matmul(a, a)
    a4 = mx.matmul(a2, x1 * a + x2 * a2)
    a8 = mx.matmul(x3 * a2 + a4, _lincomb((x4, x5, x6, x7), (eye, a, a2, a4)))
    return eye + a + y2 * a2 + a8


# Coefficients of the degree-12 and degree-18 schemes (Bader, Blanes & Casas
# 2019, Sections 4.2 and 4.3); row i gives B_i as a combination of the powers
# (I, A, A^2, A^3) or (I, A, A^2, A^3, A^6).
_B12 = (
    (9.0198e-16, 0.46932117595418237389, -0.20099424927047284052, -0.04623946134063071740),
    (
        5.31597895759871264183,
        1.19926790417132231573,
        0.01179296240992997031,
        0.01108844528519167989,
    ),
    (
        0.18188869982170434744,
        0.05502798439925399070,
        0.09351590770535414968,
        0.00610700528898058230,
    ),
    (-2.0861320e-13, -0.13181061013830184015, -0.02027855540589259079, -0.00675951846863086359),
)
_B18 = (
    (
        0.0,
        -1.00365581030144618291e-01,
        -8.02924648241156932449e-03,
        -8.92138498045729985177e-04,
        0.0,
    ),
    (
        0.0,
        3.97849749499645077844e-01,
        1.36783778460411720168e00,
        4.98289622525382669416e-01,
        -6.37898194594723280150e-04,
    ),
    (
        -1.09676396052962061844e01,
        1.68015813878906206114e00,
        5.71779846478865511061e-02,
        -6.98210122488052056106e-03,
        3.34975017086070470649e-05,
    ),
    (
        -9.04316832390810593223e-02,
        -6.76404519071381882256e-02,
        6.75961301770459654925e-02,
        2.95552570429315521194e-02,
        -1.39180257516060693404e-05,
    ),
    (
        0.0,
        0.0,
        -9.23364619367118555360e-02,
        -1.69364939002081722752e-02,
        -1.40086798182036094347e-05,
    ),
)


def _t12(a, eye):
    a2 = mx.matmul(a, a)
    a3 = mx.matmul(a, a2)
    powers = (eye, a, a2, a3)
    b0, b1, b2, b3 = (_lincomb(row, powers) for row in _B12)
    b2 = b2 + mx.matmul(b3, b3)
    return b0 + mx.matmul(b1 + b2, b2)


def _t18(a, eye):
    a2 = mx.matmul(a, a)
    a3 = mx.matmul(a, a2)
    a6 = mx.matmul(a3, a3)
    powers = (eye, a, a2, a3, a6)
    b0, b1, b2, b3, b4 = (_lincomb(row, powers) for row in _B18)
    b3 = b3 + mx.matmul(b0, b4)
    return b1 + mx.matmul(b2 + b3, b3)


_TAYLOR = {1: _t1, 2: _t2, 4: _t4, 8: _t8, 12: _t12, 18: _t18}


def batch_norm(a: mx.array, norm: str = "batch") -> float:
    """The one norm that picks the degree for the whole batch (a host sync)."""
    a = mx.stop_gradient(a)
    sq = mx.abs(a).astype(mx.float32 if precision_of(a.dtype) == "single" else mx.float64)
    sq = sq * sq
    if norm == "batch":
        return math.sqrt(mx.sum(sq).item())
    if norm == "max":
        return math.sqrt(mx.max(mx.sum(sq, axis=(-2, -1))).item()) if a.size else 0.0
    raise ValueError(f"[seed.matrix_exp] norm must be 'batch' or 'max', got {norm!r}.")


def matrix_exp(a: mx.array, norm: str = "batch") -> mx.array:
    """exp of each matrix of ``a`` (..., n, n), with one degree for the batch."""
    n = a.shape[-1]
    if a.ndim < 2 or a.shape[-2] != n:
        raise ValueError(f"[seed.matrix_exp] Expected square matrices, got shape {a.shape}.")
    if n == 0 or a.size == 0:
        return a
    if n == 1:
        return mx.exp(a)
    degree, s, _ = plan(batch_norm(a, norm), precision_of(a.dtype))
    eye = mx.eye(n, dtype=a.dtype)
    if s:
        a = a * (2.0**-s)
    x = _TAYLOR[degree](a, eye)
    for _ in range(s):
        x = mx.matmul(x, x)
    return x
