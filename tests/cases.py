"""The matrices the accuracy tests are judged on.

`base_cases()` returns {name: float64 or complex128 matrix}. tests/make_references.py
computes their exponentials in 60-digit arithmetic (for the float64 input and for
its float32 rounding) and stores them in tests/data/references.npz, which the
tests read: the inputs are stored too, so the tests never depend on this file's
random generator reproducing bit for bit.
"""

import numpy as np

# Degree thresholds theta_m (1-norm) of metal/matrix_exp_constants.h, used to
# place test matrices just below and just above each switch of degree.
THETA = {
    "float32": [
        1.192092800768788e-07,
        5.978858893805233e-04,
        5.116619363445086e-02,
        5.800524627688768e-01,
        1.461661507209034e00,
        3.010066362817634e00,
    ],
    "float64": [
        2.220446049250313e-16,
        2.580956802971767e-08,
        3.397168839976962e-04,
        4.991228871115323e-02,
        2.996158913811580e-01,
        1.090863719290036e00,
    ],
}


def classic_cases():
    """Hard cases from the literature, as collected in SciPy's test suites
    (scipy/sparse/linalg/tests/test_matfuncs.py, the Burkardt set, and
    scipy/linalg/tests/test_matfuncs.py)."""
    eps = np.spacing(1.0)
    forsythe = np.diag(np.ones(9), 1)
    forsythe[-1, 0] = 1e-10
    return {
        "diagonal": np.array([[1.0, 0], [0, 2]]),
        "symmetric_2x2": np.array([[1.0, 3], [3, 2]]),
        "laub": np.array([[0.0, 1], [-39, -40]]),
        "moler_van_loan": np.array([[-49.0, 24], [-64, 31]]),
        "nilpotent_4x4": np.array([[0.0, 6, 0, 0], [0, 0, 6, 0], [0, 0, 0, 6], [0, 0, 0, 0]]),
        "jordan_2x2": np.array([[1.0, 1], [0, 1]]),
        "near_jordan_2x2": np.array([[1 + eps, 1], [0, 1 - eps]]),
        "wikipedia_3x3": np.array([[21.0, 17, 6], [-5, -1, -6], [4, 4, 16]]),
        "nag_f01ecf": np.array([[1.0, 2, 2, 2], [3, 1, 1, 2], [3, 2, 1, 2], [3, 3, 3, 1]]),
        "ward_1": np.array([[4.0, 2, 0], [1, 4, 1], [1, 1, 4]]),
        "ward_2": np.array(
            [
                [29.87942128909879, 0.7815750847907159, -2.289519314033932],
                [0.7815750847907159, 25.72656945571064, 8.680737820540137],
                [-2.289519314033932, 8.680737820540137, 34.39400925519054],
            ]
        ),
        "ward_3": np.array([[-131.0, 19, 18], [-390, 56, 54], [-387, 57, 52]]),
        "forsythe_10": forsythe,
        "moler_badly_scaled": np.array(
            [[0, 1e-8, 0], [-(2e10 + 4e8 / 6.0), -3, 2e10], [200.0 / 3.0, 0, -200.0 / 3.0]]
        ),
        "closed_form_1_4_1_1": np.array([[1.0, 4], [1, 1]]),
        "jordan_8_lambda_-2": -2 * np.eye(8) + np.diag(np.ones(7), 1),
        "upper_triangular_nonnormal": np.array([[-1.0, 1e3], [0, -2]]),
        "rotation_generator_100": np.array([[0.0, -100], [100, 0]]),
    }


def _scaled(a, norm):
    return a * (norm / np.abs(a).sum(axis=0).max())


def overscaled(n, b, rng):
    """Q [[1, b], [0, -1]] Q^T plus a random diagonal, Q random orthogonal:
    ||A||_1 ~ b while ||A^2||^(1/2), ||A^3||^(1/3) ~ 1 to b^(1/3)."""
    t = np.diag(rng.uniform(-1, 1, n))
    t[:2, :2] = [[1, b], [0, -1]]
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return q @ t @ q.T


def random_cases(seed=20261127):
    """Random dense matrices of many sizes and 1-norms, including norms just
    below and just above every degree threshold of both precisions."""
    rng = np.random.default_rng(seed)
    cases = {}
    for n in (2, 3, 4, 5, 7, 8, 9, 13, 16, 24, 32):
        for norm in (0.3, 2.0, 20.0):
            cases[f"random_n{n}_norm{norm:g}"] = _scaled(rng.standard_normal((n, n)), norm)
    for dtype, thetas in THETA.items():
        for k, theta in enumerate(thetas):
            for side, factor in (("below", 1 - 2.0**-8), ("above", 1 + 2.0**-8)):
                a = _scaled(rng.standard_normal((6, 6)), theta * factor)
                cases[f"threshold_{dtype}_{k}_{side}"] = a
    for n in (3, 8):
        g = rng.standard_normal((n, n))
        cases[f"skew_n{n}_norm1e3"] = _scaled(g - g.T, 1e3)
        rates = np.abs(rng.standard_normal((n, n)))
        np.fill_diagonal(rates, 0)
        np.fill_diagonal(rates, -rates.sum(axis=1))
        cases[f"markov_generator_n{n}_norm500"] = _scaled(rates, 500.0)
    for n in (3, 6, 12):
        z = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
        cases[f"complex_n{n}_norm1"] = _scaled(z, 1.0)
        cases[f"complex_n{n}_norm30"] = _scaled(z, 30.0)
        h = z + z.conj().T
        cases[f"unitary_generator_n{n}_norm40"] = _scaled(1j * h, 40.0)
    # Overscaling (Al-Mohy & Higham 2009): Q [[1, b], [0, -1]] Q^T (+ a random
    # diagonal) has ||A||_1 ~ b but ||A^2||^(1/2), ||A^3||^(1/3) ~ 1 to b^(1/3),
    # so the 1-norm rule squares far more often than the powers require.
    # n >= 9 (and complex) run one matrix at a time, where s is reduced.
    for n, b in ((9, 1e2), (9, 1e4), (24, 1e3)):
        cases[f"overscaling_n{n}_b{b:g}"] = overscaled(n, b, rng)
    t = np.diag(rng.uniform(-1, 1, 3)).astype(complex)
    t[:2, :2] = [[1j, 1e3], [0, -1j]]
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)))
    cases["overscaling_complex_n3_b1e3"] = q @ t @ q.conj().T
    return cases


# Al-Mohy & Higham's 4 x 4 upper triangular test matrix (their 2012 paper on
# the logarithm, experiment 1: the logarithm of a triangular matrix with
# entries 3e4 above the diagonal), used by SciPy's expm tests (the
# triangularity perturbation and bad condition number cases): ||A||_1 ~ 3e14,
# ||A^p||^(1/p) falling steeply with p, kappa_exp ~ 2e36.
AL_MOHY_HIGHAM_4X4 = np.array(
    [
        [
            -1.12867982029050462e00,
            9.61418377142025565e04,
            -4.52485573953179264e09,
            2.92496941103871812e14,
        ],
        [0.0, -1.20101052953082288e00, 9.63469687211303099e04, -4.68104828911105442e09],
        [0.0, 0.0, -1.13289322264498393e00, 9.53249183094775653e04],
        [0.0, 0.0, 0.0, -1.17947533272554850e00],
    ]
)


def badly_scaled_cases(seed=20261130):
    """Badly scaled and strongly nonnormal matrices, where the 1-norm overstates
    what the Taylor polynomial needs (Al-Mohy & Higham 2009)."""
    rng = np.random.default_rng(seed)
    cases = {"al_mohy_higham_4x4": AL_MOHY_HIGHAM_4X4}
    # Their triangular family [[1, b], [0, -1]] (section 1 of the 2009 paper).
    for b in (1e2, 1e4, 1e6, 1e8):
        cases[f"triangular_b{b:g}"] = np.array([[1.0, b], [0.0, -1.0]])
    # Jordan blocks with large off-diagonals: nilpotent part c N, ||A^p||^(1/p)
    # ~ c^((p-1)/p) far below ||A||_1 ~ c.
    for n, lam, c in ((4, -1.0, 1e3), (6, 0.5, 1e4), (8, -2.0, 1e2)):
        cases[f"jordan_n{n}_offdiag{c:g}"] = lam * np.eye(n) + c * np.diag(np.ones(n - 1), 1)
    # Similarity by a diagonal D from 1e-8 to 1e8: exp(D A D^-1) = D exp(A) D^-1,
    # a well-scaled problem made badly scaled (and its inverse scaling).
    bases = {
        "nag_f01ecf": classic_cases()["nag_f01ecf"],
        "random_n5": _scaled(rng.standard_normal((5, 5)), 2.0),
        "random_n12": _scaled(rng.standard_normal((12, 12)), 2.0),
    }
    for name, a in bases.items():
        d = np.logspace(-8, 8, a.shape[0])
        cases[f"similarity_{name}"] = d[:, None] * a / d[None, :]
        cases[f"similarity_inverse_{name}"] = a * d[None, :] / d[:, None]
    return cases


def base_cases():
    return {**classic_cases(), **random_cases(), **badly_scaled_cases()}
