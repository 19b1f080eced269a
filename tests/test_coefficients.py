"""Each Taylor scheme of metal/matrix_exp_constants.h, expanded as a polynomial
in 50-digit arithmetic, must reproduce the Taylor coefficients 1/k! of exp.

PyTorch's T8 (x7 = (89 - sqrt(177)) / (5040 x3), pytorch/pytorch#196592) fails
this: its x^8 coefficient is 2/3 of 1/8!. These tests read the header itself,
the one source of the constants for the C++ and the Metal code."""

import pathlib
import re

import mpmath
import pytest

from cases import THETA

pytestmark = pytest.mark.device("cpu")

HEADER = pathlib.Path(__file__).parents[1] / "metal" / "matrix_exp_constants.h"
SOURCE = HEADER.read_text()
mpmath.mp.dps = 50


def constant(name):
    match = re.search(name + r"(\[[^=]*)?\s*=\s*(\{.*?\};|MATRIX_EXP_REAL\([^)]*\);)", SOURCE, re.S)
    assert match, name
    values = [mpmath.mpf(v) for v in re.findall(r"MATRIX_EXP_REAL\(([-+0-9.e]+)\)", match.group(2))]
    return values if match.group(1) else values[0]


# Polynomials as coefficient lists, lowest degree first.
def mul(p, q):
    out = [mpmath.mpf(0)] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            out[i + j] += a * b
    return out


def add(*ps):
    out = [mpmath.mpf(0)] * max(len(p) for p in ps)
    for p in ps:
        for i, a in enumerate(p):
            out[i] += a
    return out


def scale(c, p):
    return [c * a for a in p]


ONE, X = [mpmath.mpf(1)], [mpmath.mpf(0), mpmath.mpf(1)]
X2, X3 = mul(X, X), mul(X, mul(X, X))
X6 = mul(X3, X3)


def combination(row, basis):
    return add(*[scale(c, b) for c, b in zip(row, basis)])


def t4():
    c = constant("kT4")
    return add(ONE, X, mul(X2, combination(c, [ONE, X, X2])))


def t8(x7=None):
    x1, x2, x3, x4, x5, x6, x7_header, y2 = (
        constant(f"kT8{s}") for s in ("X1", "X2", "X3", "X4", "X5", "X6", "X7", "Y2")
    )
    x7 = x7_header if x7 is None else x7
    a4 = mul(X2, add(scale(x1, X), scale(x2, X2)))
    a8 = mul(add(scale(x3, X2), a4), add([x4], scale(x5, X), scale(x6, X2), scale(x7, a4)))
    return add(ONE, X, scale(y2, X2), a8)


def t12():
    c = constant("kT12")
    b = [combination(c[4 * i : 4 * i + 4], [ONE, X, X2, X3]) for i in range(4)]
    a6 = add(b[2], mul(b[3], b[3]))
    return add(b[0], mul(add(b[1], a6), a6))


def t18():
    c = constant("kT18")
    b = [combination(c[5 * i : 5 * i + 5], [ONE, X, X2, X3, X6]) for i in range(5)]
    a9 = add(b[3], mul(b[0], b[4]))
    return add(b[1], mul(add(b[2], a9), a9))


SCHEMES = {4: t4, 8: t8, 12: t12, 18: t18}
DEGREE_INDEX = {4: 2, 8: 3, 12: 4, 18: 5}


def taylor_defect(poly, degree):
    """max_k<=m |c_k k! - 1|, and the largest coefficient beyond degree m."""
    low = max(abs(c * mpmath.factorial(k) - 1) for k, c in enumerate(poly[: degree + 1]))
    high = max((abs(c) for c in poly[degree + 1 :]), default=mpmath.mpf(0))
    return low, high


@pytest.mark.parametrize("degree", SCHEMES)
def test_scheme_reproduces_taylor_coefficients(degree):
    low, high = taylor_defect(SCHEMES[degree](), degree)
    assert low <= 1e-14
    assert high < mpmath.mpf(10) ** -40  # an exact polynomial of degree m


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("degree", SCHEMES)
def test_coefficient_error_is_below_unit_roundoff_at_threshold(dtype, degree):
    """sum_k |c_k - 1/k!| theta_m^k bounds the extra error the rounded
    coefficients add at the largest norm T_m is used for; it must stay below
    2u (u = 2^-53 or 2^-24): the coefficients are as good as the precision."""
    theta = mpmath.mpf(THETA[dtype][DEGREE_INDEX[degree]])
    poly = SCHEMES[degree]()
    excess = sum(
        abs(c - 1 / mpmath.factorial(k)) * theta**k for k, c in enumerate(poly[: degree + 1])
    )
    u = mpmath.mpf(2) ** (-53 if dtype == "float64" else -24)
    assert excess <= 2 * u


def test_t8_coefficients_follow_their_closed_form():
    r = mpmath.sqrt(177)
    x3 = mpmath.mpf(2) / 3
    exact = {
        "X1": x3 * (1 + r) / 88,
        "X2": x3 * (1 + r) / 352,
        "X3": x3,
        "X4": (-271 + 29 * r) / (315 * x3),
        "X5": (-11 + 11 * r) / (1260 * x3),
        "X6": (-99 + 11 * r) / (5040 * x3),
        "X7": (89 - r) / (5040 * x3**2),
        "Y2": (857 - 58 * r) / 630,
    }
    for name, value in exact.items():
        assert abs(constant(f"kT8{name}") - value) <= 1e-20 * abs(value), name


def test_pytorch_t8_fails_the_same_check():
    """PyTorch's x7 = (89 - sqrt(177)) / (5040 x3) leaves 2/3 of 1/8! as the x^8
    coefficient: the check above is able to fail."""
    x3 = mpmath.mpf(2) / 3
    low, _ = taylor_defect(t8(x7=(89 - mpmath.sqrt(177)) / (5040 * x3)), 8)
    assert abs(low - mpmath.mpf(1) / 3) < 1e-15


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_thresholds_increase(dtype):
    assert THETA[dtype] == sorted(THETA[dtype])
    pattern = "kThetaFloat32" if dtype == "float32" else "kThetaFloat64"
    block = re.search(pattern + r"\[[^=]*=\s*\{(.*?)\};", SOURCE, re.S).group(1)
    values = [float(v.rstrip("f")) for v in re.findall(r"([0-9.]+e[-+][0-9]+f?)", block)]
    assert values == THETA[dtype]
