"""The plan rule of metal/matrix_exp_scheme.h restated in NumPy, from exact
float64 norms of the matrix's powers (and, for the rounding check after the
evaluation, T18 evaluated in float64): what the tests hold the kernels' plans
to (they compute the same norms in their own precision, so a plan is only
compared where no decision is within `margin` of its threshold).

plan(a, precision) returns a Plan: the degree and squarings, how each was
reached (undone by the low powers, by the window, added for rounding, T12
switch, powers formed again, halvings the evaluation's rounding check added),
and the margin: the smallest distance, in binades, of any decision's quantity
from its threshold.
"""

import dataclasses
import math
import pathlib
import re

import numpy as np

from cases import THETA

DEGREES = (1, 2, 4, 8, 12, 18)
LOG2_UNIT_ROUNDOFF = {"float32": -24, "float64": -53}
MAX_EXPONENT = {"float32": 128, "float64": 1024}
WINDOW_PRODUCTS = 4  # matrix_exp_constants.h: kWindowProducts
REFORM_HALVINGS = 8  # kReformHalvings
WINDOW = (7, 8, 9, 10)
RELIABLE_BINADES = 7  # a norm 2^7 above its rounding error
_HEADER = (pathlib.Path(__file__).parents[1] / "metal" / "matrix_exp_constants.h").read_text()
ROUNDING_RATIO = int(re.search(r"kRoundingRatio = (\d+);", _HEADER).group(1))
_T18_ROWS = re.search(r"kT18\[5\]\[5\] = \{(.*?)\};", _HEADER, re.S).group(1)
T18 = np.array(re.findall(r"MATRIX_EXP_REAL\(([-+0-9.e]+)\)", _T18_ROWS), float).reshape(5, 5)


@dataclasses.dataclass
class Plan:
    degree: int
    squarings: int
    one_norm_squarings: int = 0
    undone_low: int = 0
    undone_window: int = 0
    rounding: int = 0
    halved: int = 0
    to_t12: bool = False
    reformed: bool = False
    margin: float = math.inf


def norm1(x):
    return float(np.abs(x).sum(axis=0).max())


def _log2(x):
    return math.log2(x) if x > 0 else -math.inf


def _distance_to_integer(x):
    return abs(x - round(x)) if math.isfinite(x) else math.inf


def _undoable(log2_norms, squarings, log2_norm_x, log2_limit, log2_theta):
    """Halvings the powers allow to undo (undoable_halvings): the largest k <=
    squarings with 2^(k j) ||X^j|| <= theta^j for each j and 2^k ||X|| <=
    limit (on the rescaled X); and the distance of the binding bound from an
    integer."""
    capacity = min([log2_theta - n / j for j, n in log2_norms.items()] + [log2_limit - log2_norm_x])
    k = min(squarings, max(0, math.floor(capacity)))
    margin = _distance_to_integer(capacity) if 0 <= capacity < squarings else math.inf
    return k, margin


def _log2_norms(a, s, js, precision):
    """log2 ||X^j||_1 of X = a / 2^s for each j, and log2 ||X||_1; and whether
    every ||X^j|| stands well above the rounding error of forming X^j, (j - 1)
    n u || |X|^j ||: below, a kernel's computed norm is that error, which
    no restatement reproduces."""
    x = a / 2.0**s
    u = 2.0 ** LOG2_UNIT_ROUNDOFF[precision]
    norms, reliable = {}, True
    for j in js:
        norms[j] = _log2(norm1(np.linalg.matrix_power(x, j)))
        floor = (j - 1) * len(x) * u * norm1(np.linalg.matrix_power(np.abs(x), j))
        reliable = reliable and norms[j] - _log2(floor) > RELIABLE_BINADES
    return norms, _log2(norm1(x)), reliable


def plan(a, precision):
    thetas = THETA[precision]
    log2_theta = math.log2(thetas[-1])
    a = np.asarray(a, dtype=np.complex128 if np.iscomplexobj(a) else np.float64)
    norm = norm1(a)
    for degree, theta in zip(DEGREES[:-1], thetas[:-1]):
        if norm <= theta:
            return Plan(degree, 0, margin=abs(_log2(norm / theta)))
    s0 = max(0, math.ceil(math.log2(norm) - log2_theta))
    margins = [_distance_to_integer(math.log2(norm) - log2_theta)]
    log2_limit = MAX_EXPONENT[precision] / 2 - 4

    low, log2_x, reliable = _log2_norms(a, s0, (2, 3), precision)
    k, m = _undoable(low, s0, log2_x, log2_limit, log2_theta)
    margins.append(m if reliable else 0.0)
    out = Plan(18, s0 - k, one_norm_squarings=s0, undone_low=k, reformed=k >= REFORM_HALVINGS)
    if k == s0:  # T12 where alpha_2 <= theta_12 at the final scale
        q = max(n / j for j, n in low.items()) + s0 - math.log2(thetas[-2])
        margins.append(abs(q))
        if q <= 0:
            out.degree, out.to_t12, out.margin = 12, True, min(margins)
            return out
    s = out.squarings
    mid, log2_x, reliable = _log2_norms(a, s, (3, 6), precision)
    if s > WINDOW_PRODUCTS and mid[6] > -math.inf:
        gate = 7 / 30 * mid[6] - 2 / 15 * mid[3] - (log2_theta - WINDOW_PRODUCTS - 1)
        margins.append(abs(gate) if reliable else 0.0)
        if gate <= 0:
            window, _, reliable = _log2_norms(a, s, WINDOW, precision)
            kw, m = _undoable(window, s, log2_x, log2_limit, log2_theta)
            margins.append(m if reliable else 0.0)
            out.undone_window, s = kw, s - kw
    x = a / 2.0**s
    log2_u = LOG2_UNIT_ROUNDOFF[precision]
    x6 = np.abs(np.linalg.matrix_power(x, 6))
    chain = np.ones(len(x)) @ x6 @ x6 @ x6 @ np.abs(x)
    log2_alpha = _log2(chain.max()) - math.log2(math.factorial(19)) - _log2(norm1(x))
    if log2_alpha > log2_u:
        ell = math.ceil((log2_alpha - log2_u) / 18)
        margins.append(_distance_to_integer((log2_alpha - log2_u) / 18))
        out.rounding, s = ell, s + ell
    else:
        margins.append(abs(log2_alpha - log2_u))
    while s < s0:  # evaluate_planned: the evaluation's rounding check
        q = _log2_rounding_ratio(a / 2.0**s)
        margins.append(abs(q))
        if not q > 0:
            break
        out.halved, s = out.halved + 1, s + 1
    out.squarings = s
    out.margin = min(margins)
    return out


def _log2_rounding_ratio(x):
    """log2 of (||B1|| bound + || |B2 + A9| |A9| ||_1) / (kRoundingRatio
    ||T18(X)||_1), T18 by [BBC19]'s scheme: B_i in the basis I, X, X^2,
    X^3, X^6; A9 = B3 + B0 B4; T18 = B1 + (B2 + A9) A9. The bound of ||B1||
    is the sum of its terms' norms, ||X^6|| taken as ||X^3||^2."""
    x2 = x @ x
    x3 = x @ x2
    basis = [np.eye(len(x)), x, x2, x3, x3 @ x3]
    b = [sum(c * p for c, p in zip(row, basis)) for row in T18]
    a9 = b[3] + b[0] @ b[4]
    t18 = b[1] + (b[2] + a9) @ a9
    product = float((np.ones(len(x)) @ np.abs(b[2] + a9) @ np.abs(a9)).max())
    norms = [norm1(x), norm1(x2), norm1(x3), norm1(x3) ** 2]  # ||X^6|| <= ||X^3||^2
    b1 = sum(abs(c) * v for c, v in zip(T18[1, 1:], norms))
    return _log2(b1 + product) - _log2(ROUNDING_RATIO * norm1(t18))
