"""High-precision references, and how far a result is from one.

References are computed with mpmath at 60 significant digits (mpmath.expm:
Taylor series with scaling and squaring in extended working precision) and
cross-checked against mpmath's Pade method; they are stored as a pair of
float64 (or complex128) arrays hi + lo, so that even float64 results can be
measured to well below their unit roundoff.
"""

import hashlib
import pathlib

import mpmath
import numpy as np

DIGITS = 60

# What tests/data/references.npz is computed from: the stored file records
# the digest of these sources, so that a change to any of them without a new
# `python tests/make_references.py` is a failing test, not stale references.
SOURCES = ("cases.py", "reference.py", "make_references.py")


def sources_digest():
    here = pathlib.Path(__file__).parent
    return hashlib.sha256(b"".join((here / name).read_bytes() for name in SOURCES)).hexdigest()


def _to_mp(a):
    return mpmath.matrix(
        [
            [mpmath.mpmathify(complex(x) if np.iscomplexobj(a) else float(x)) for x in row]
            for row in np.asarray(a)
        ]
    )


def _hi_lo(m, complex_):
    n = m.rows
    dtype = np.complex128 if complex_ else np.float64
    hi = np.zeros((n, n), dtype)
    lo = np.zeros((n, n), dtype)
    for i in range(n):
        for j in range(n):
            x = m[i, j]
            if complex_:
                parts = []
                for part in (mpmath.re(x), mpmath.im(x)):
                    h = float(part)
                    parts.append((h, float(part - h)))
                hi[i, j] = complex(parts[0][0], parts[1][0])
                lo[i, j] = complex(parts[0][1], parts[1][1])
            else:
                x = mpmath.re(x)
                h = float(x)
                hi[i, j] = h
                lo[i, j] = float(x - h)
    return hi, lo


def expm_hi_lo(a):
    """exp(a) to 40 digits or more, as (hi, lo): computed with DIGITS digits,
    twice as many when Taylor and Pade differ in more than the last 20 (the
    ill-conditioned cases, kappa up to 1e36, lose that many); raises if they
    still disagree."""
    for digits in (DIGITS, 2 * DIGITS):
        with mpmath.workdps(digits):
            m = _to_mp(a)
            taylor = mpmath.expm(m)
            pade = mpmath.expm(m, method="pade")
            scale = mpmath.mnorm(taylor, 1)
            if scale == 0 or mpmath.mnorm(taylor - pade, 1) <= scale * mpmath.mpf(10) ** (
                20 - digits
            ):
                return _hi_lo(taylor, np.iscomplexobj(a))
    raise ArithmeticError("mpmath's Taylor and Pade exponentials disagree")


def frechet_hi_lo(a, e):
    """L(a, e), the Frechet derivative of exp at a in direction e, to 60 digits:
    the top-right block of exp([[a, e], [0, a]])."""
    n = a.shape[0]
    big = np.block([[a, e], [np.zeros_like(a), a]])
    hi, lo = expm_hi_lo(big)
    return hi[:n, n:], lo[:n, n:]


def exp_condition_number(a):
    """The relative condition number of exp at a in the Frobenius norm,
    ||K||_2 ||a||_F / ||exp(a)||_F with K the n^2 x n^2 matrix of the Frechet
    derivative, its columns L(a, E_ij) from frechet_hi_lo: what
    scipy.linalg.expm_cond computes in float64 (which is 1e17 times too large
    on Moler's badly scaled 3 x 3)."""
    n = a.shape[0]
    columns = []
    for k in range(n * n):
        e = np.zeros(n * n, dtype=a.dtype)
        e[k] = 1
        hi, lo = frechet_hi_lo(a, e.reshape(n, n))
        columns.append((hi + lo).reshape(-1))
    hi, lo = expm_hi_lo(a)
    kron = np.stack(columns, axis=1)
    return np.linalg.norm(kron, 2) * np.linalg.norm(a) / np.linalg.norm(hi + lo)


def relative_error(x, hi, lo):
    """||x - ref||_1 / ||ref||_1 with ref = hi + lo, in float64 arithmetic
    (x - hi is exact where x and hi agree to within a factor of 2)."""
    x = np.asarray(x, dtype=np.complex128 if np.iscomplexobj(hi) else np.float64)
    diff = (x - hi) - lo
    norm = np.abs(hi).sum(axis=-2).max(axis=-1)
    return np.abs(diff).sum(axis=-2).max(axis=-1) / norm
