"""The rounding check after the evaluation (metal/matrix_exp_scheme.h,
evaluate_planned): where T18's terms cancel, X is halved again (up to the
1-norm plan's squarings), on every path, with the plan the NumPy restatement
gives; and it buys back the accuracy the reduced scaling lost there."""

import numpy as np
import pytest

import plan_rule
from accuracy import UNIT_ROUNDOFF, case
from paths import PATHS, compute, plan
from reference import exp_condition_number, expm_hi_lo, relative_error

pytestmark = pytest.mark.device("cpu")


def cancelling():
    """The three float32 3 x 3 of bench/accuracy.py's random set (norm 50,
    400 matrices) with the largest errors before the check, 4.4, 3.8 and 3.6
    u(kappa + sqrt n) at 4 squarings; e^||X|| / ||exp(X)|| is 16 to 27 there."""
    rng = np.random.default_rng([20261130, 3, 50])
    g = rng.standard_normal((400, 3, 3))
    g *= 50 / np.abs(g).sum(axis=-2).max(axis=-1)[:, None, None]
    return {
        f"random_n3_norm50_{i}": g[i].astype(np.float32).astype(np.float64) for i in (156, 213, 107)
    }


CANCELLING = cancelling()


@pytest.mark.parametrize("path", PATHS["float32"])
@pytest.mark.parametrize("name", sorted(CANCELLING))
def test_every_path_halves_as_the_rule(name, path):
    a = CANCELLING[name]
    expected = plan_rule.plan(a, "float32")
    assert expected.halved >= 1 and expected.margin > 1e-2
    assert plan(a, "float32", path) == (expected.degree, expected.squarings)


@pytest.mark.parametrize("path", PATHS["float32"])
@pytest.mark.parametrize("name", sorted(CANCELLING))
def test_halving_keeps_the_error_at_the_random_sets_level(name, path):
    """Within 2 u(kappa + sqrt n), about the worst of the 400 before the
    reduced scaling (2.75); 3.6 to 4.4 without the check."""
    a = CANCELLING[name]
    hi, lo = expm_hi_lo(a)
    bound = 2 * UNIT_ROUNDOFF["float32"] * (exp_condition_number(a) + np.sqrt(3))
    assert relative_error(compute(a, "float32", path), hi, lo) <= bound


@pytest.mark.parametrize("path", PATHS["float64"])
def test_an_overscaled_matrix_is_not_left_at_the_windows_scaling(path):
    """Q [[1, 1e4], [0, -1]] Q^T + diag, n = 9 (tests/cases.py): the window
    takes s from 14 to 2, where ||X||_1 ~ 2500 and T18's products round at
    3e3 times exp(X); halved back to s = 7 by the check. Within 4 u(kappa +
    sqrt n): 13.8 without the check, 4.6 with the 1-norm plan."""
    a, hi, lo, kappa = case("overscaling_n9_b10000", "float64")
    expected = plan_rule.plan(a, "float64")
    assert expected.halved >= 3
    assert plan(a, "float64", path) == (expected.degree, expected.squarings)
    bound = 4 * UNIT_ROUNDOFF["float64"] * (kappa + np.sqrt(len(a)))
    assert relative_error(compute(a, "float64", path), hi, lo) <= bound
