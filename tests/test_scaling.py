"""The choice of degree and squarings (metal/matrix_exp_scheme.h), read through
the private hook _ext._cpu_plans: held to the rule restated in NumPy from exact
norms (tests/plan_rule.py), the same on every CPU path, and each matrix's
own. The accuracy the rule buys is tested in test_badly_scaled.py and
test_accuracy.py."""

import mlx.core as mx
import numpy as np
import pytest

import cases
import mlx_expm_ext
import plan_rule
from accuracy import to_mlx
from mlx_expm_ext import _ext
from paths import padded

pytestmark = pytest.mark.device("cpu")

# A decision within this many binades of its threshold may go either way in a
# kernel's own rounding.
MARGIN = 1e-3


def plans(a, dtype):
    return [tuple(p) for p in _ext._cpu_plans(to_mlx(np.asarray(a), dtype))]


def rounded(a, dtype):
    """a as the kernels see it in dtype, in float64."""
    return a if dtype == "float64" else a.astype(np.float32).astype(np.float64)


def random_matrices(seed=7):
    rng = np.random.default_rng(seed)
    out = {}
    for n in (3, 8, 12, 20):
        for norm in (0.2, 0.5, 1.0, 2.0, 3.0, 50.0, 1e3):
            g = rng.standard_normal((n, n))
            out[f"random_n{n}_norm{norm:g}"] = g * norm / plan_rule.norm1(g)
    return out


def rule_family():
    rng = np.random.default_rng(11)
    family = {**cases.classic_cases(), **cases.badly_scaled_cases(), **random_matrices()}
    for n in (2, 3, 5, 8, 9, 16, 17, 40):
        for b in (1e2, 1e4):
            family[f"overscaled_n{n}_b{b:g}"] = cases.overscaled(n, b, rng)
    return family


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_plans_follow_the_rule(dtype):
    """Lanes (n <= 8), loops and BLAS against the NumPy restatement, on
    ordinary, overscaled and badly scaled matrices; every branch of the rule
    is among the decisions compared."""
    compared, seen = 0, set()
    family = rule_family()
    for name, a in family.items():
        expected = plan_rule.plan(rounded(a, dtype), dtype)
        if expected.margin < MARGIN:
            continue
        compared += 1
        assert plans(a, dtype) == [(expected.degree, expected.squarings)], (name, expected)
        seen |= {
            branch
            for branch, taken in (
                ("low powers", expected.undone_low > 0),
                ("window", expected.undone_window > 0),
                ("T12", expected.to_t12),
                ("powers formed again", expected.reformed),
                ("1-norm plan kept", expected.one_norm_squarings == expected.squarings > 0),
                ("halved after the evaluation", expected.halved > 0),
            )
            if taken
        }
    assert compared >= 0.7 * len(family)  # the rest decide on rounding-level norms
    assert seen == {
        "low powers",
        "window",
        "T12",
        "powers formed again",
        "1-norm plan kept",
        "halved after the evaluation",
    }


def test_the_window_is_not_formed_for_ordinary_matrices():
    """Its four products pay only where the powers' norms fall steeply: never
    on random matrices, whose plans are the low powers' alone."""
    for name, a in random_matrices(seed=8).items():
        for dtype in ("float64", "float32"):
            expected = plan_rule.plan(rounded(a, dtype), dtype)
            assert expected.undone_window == 0 and expected.rounding == 0, (name, dtype)
            if expected.margin >= MARGIN:
                assert plans(a, dtype) == [(expected.degree, expected.squarings)]


def rounding_matrices():
    """Strongly nonnormal matrices whose |X^6|^3 |X| asks for rounding
    squarings (plan_rule: rounding > 0), from Q (D + U) Q^T with a huge strictly
    upper triangular U."""
    rng = np.random.default_rng(3)
    out = []
    while len(out) < 3:
        n = int(rng.integers(4, 8))
        t = np.triu(rng.standard_normal((n, n)) * 10 ** rng.uniform(2, 8), 1)
        t += np.diag(rng.uniform(-1, 1, n))
        q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        a = q @ t @ q.T
        if plan_rule.plan(a, "float64").rounding > 0:
            out.append(a)
    return out


SAME_PLAN = {
    "al_mohy_higham_4x4": cases.AL_MOHY_HIGHAM_4X4,
    "moler_badly_scaled": cases.classic_cases()["moler_badly_scaled"],
    **{k: v for k, v in cases.badly_scaled_cases().items() if v.shape[0] <= 8},
    **{f"rounding_{i}": a for i, a in enumerate(rounding_matrices())},
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(SAME_PLAN))
def test_every_path_takes_the_same_plan(dtype, name):
    """The matrix on the lanes (its own n <= 8), zero-padded to 9 (loops) and
    to 40 (BLAS), and as complex64 (loops): zero padding leaves every norm of
    every power unchanged, so the plan must be the same."""
    a = SAME_PLAN[name]
    own = plans(a, dtype)
    assert plans(padded(a, 9), dtype) == own
    assert plans(padded(a, 40), dtype) == own
    if dtype == "float32":
        assert plans(a.astype(np.complex64), "complex64") == own


def test_a_batch_plans_and_computes_each_matrix_on_its_own():
    """The lanes group matrices by plan, rescale lanes apart and defer the ones
    the vector cannot follow (T12 among T18s, window, rounding, powers formed
    again): mixed in one batch, every matrix gets its single plan and its single
    result, bit for bit."""
    rng = np.random.default_rng(5)
    t12 = np.zeros((2, 4, 4))
    # theta_12 < ||A||_1 <= theta_18 (float64; float32) but A^2 = 0: T12, in
    # a vector with T18s of the same 1-norm plan
    t12[:, 0, 3] = 0.9, 2.5
    singles = [
        padded(cases.AL_MOHY_HIGHAM_4X4, 4),
        *t12,
        *[m for m in rounding_matrices() if len(m) == 4],
        padded(cases.badly_scaled_cases()["triangular_b1e+06"], 4),
        *(
            g * norm / plan_rule.norm1(g)
            for g in rng.standard_normal((6, 4, 4))
            for norm in (0.9, 2.5, 50)
        ),
    ]
    batch = np.stack(singles + singles[::-1])
    for dtype in ("float64", "float32"):
        together = np.array(mlx_expm_ext.matrix_exp(to_mlx(batch, dtype), stream=mx.cpu))
        alone = [np.array(mlx_expm_ext.matrix_exp(to_mlx(m, dtype), stream=mx.cpu)) for m in batch]
        np.testing.assert_array_equal(together, np.stack(alone))
        assert plans(batch, dtype) == [p for m in batch for p in plans(m, dtype)]
    assert {p[0] for p in plans(batch, "float64")} == {12, 18}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_deferred_t12_keeps_its_bits_below_the_normal_range(dtype):
    """A T12 among T18s (of any squaring counts: the lanes scale each lane by
    its own 2^-s) is deferred; its powers are then prepared as plan_scheme's,
    formed from A / 2^s and rescaled, so that entries that A / 2^s takes below
    the normal range round as they do when its vector goes to T12 whole: bit
    for bit its result alone, whatever its neighbours (found by hypothesis:
    entries of 2.2e-308 beside 8.96)."""
    tiny = np.finfo(dtype).tiny
    t12 = np.full((4, 4), tiny)
    t12[0, 1] = 8.96383050
    alone = np.array(mlx_expm_ext.matrix_exp(to_mlx(t12, dtype), stream=mx.cpu))
    assert plans(t12, dtype) == [(12, 0)]
    for neighbour in (np.ones((4, 4)), 0.3 * np.ones((4, 4)), 40 * np.eye(4)):
        batch = np.stack([neighbour, t12, neighbour])
        together = np.array(mlx_expm_ext.matrix_exp(to_mlx(batch, dtype), stream=mx.cpu))
        np.testing.assert_array_equal(together[1], alone)


@pytest.mark.parametrize("n", [3, 10])
def test_small_powers_select_degree_12(n):
    """theta_12 < ||A||_1 <= theta_18 but A^2 = 0: T12 (one product fewer)
    suffices, on the lanes (n = 3) and the loops (n = 10)."""
    a = np.zeros((n, n))
    a[0, n - 1] = 0.9  # float64: theta_12 = 0.2996 < 0.9 <= theta_18 = 1.0909
    assert plan_rule.plan(a, "float64").to_t12
    assert plans(a, "float64") == [(12, 0)]


@pytest.mark.parametrize("n", [3, 9, 24])
def test_normal_matrices_keep_the_one_norm_plan(n):
    """For a diagonal matrix ||A^p||^(1/p) = ||A||: nothing to reduce."""
    d = np.diag(np.linspace(-40.0, 5.0, n))
    expected = plan_rule.plan(d, "float64")
    assert expected.squarings == expected.one_norm_squarings > 0
    assert plans(d, "float64") == [(18, expected.squarings)]


def test_nan_matrices_have_no_plan():
    a = np.zeros((2, 12, 12))
    a[1, 3, 4] = np.nan
    assert plans(a, "float64")[1] == (0, 0)


@pytest.mark.parametrize(
    "dtype, sizes", [(np.float32, (1e3, 1e15, 1e30, 1e37)), (np.float64, (1e3, 1e30, 1e150, 1e300))]
)
@pytest.mark.parametrize("n", [4, 10])
def test_huge_matrices_with_tiny_powers(dtype, sizes, n):
    """A^2 = 0, so exp(A) = I + A and alpha = 0 however large A is: the reduced
    scaling must stop before the polynomial's products overflow."""
    for big in sizes:
        a = np.zeros((n, n))
        a[0, n - 1], a[2, 1] = big, -big / 3
        x = mx.array(a, dtype=getattr(mx, np.dtype(dtype).name))
        x = np.array(mlx_expm_ext.matrix_exp(x, stream=mx.cpu))
        expected = np.eye(n) + a.astype(dtype)
        assert np.all(np.isfinite(x)), big
        assert np.abs(x - expected).max() <= 8 * np.finfo(dtype).eps * big, big
