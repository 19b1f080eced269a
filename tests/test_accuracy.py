"""exp(A) against 60-digit references on the stored hard and random cases
(tests/cases.py, tests/data/references.npz); the tolerance is explained in
tests/accuracy.py."""

import mlx.core as mx
import numpy as np
import pytest

from accuracy import DTYPES, case, case_names, error, references, to_mlx, to_numpy, tolerance
from mlx_expm_ext import matrix_exp
from reference import SOURCES, sources_digest

pytestmark = pytest.mark.device("cpu")

PARAMS = [(dtype, name) for dtype in DTYPES for name in case_names(dtype)]


def test_references_are_computed_from_the_current_cases():
    stored = str(references().get("meta/sources_sha256", "none"))
    assert stored == sources_digest(), (
        f"tests/data/references.npz is stale: {', '.join(SOURCES)} changed since it was "
        "written; run python tests/make_references.py"
    )


@pytest.mark.parametrize("dtype,name", PARAMS)
def test_against_reference(dtype, name):
    a, hi, lo, kappa = case(name, dtype)
    out = matrix_exp(to_mlx(a, dtype), stream=mx.cpu)
    assert out.dtype == getattr(mx, dtype)
    x = to_numpy(out)
    limit = float(np.finfo(np.float16).max) if dtype == "float16" else np.inf
    if np.abs(hi).max() >= limit:
        # exp(A) overflows float16: the entries beyond the range are infinite.
        big = np.abs(hi) >= limit
        assert np.all(np.isinf(x[big]) & (np.sign(x[big]) == np.sign(hi[big])))
        return
    assert np.isfinite(x).all()
    assert error(out, hi, lo) <= tolerance(dtype, kappa, a.shape[0])


def test_the_whole_stored_set_as_one_batch():
    """All equally sized float32 cases in one call give each case's own accuracy:
    degree and scaling are chosen per matrix."""
    names = [name for name in case_names("float32") if case(name, "float32")[0].shape == (3, 3)]
    stack = np.stack([case(name, "float32")[0] for name in names])
    out = matrix_exp(to_mlx(stack, "float32"), stream=mx.cpu)
    for i, name in enumerate(names):
        a, hi, lo, kappa = case(name, "float32")
        assert error(out[i], hi, lo) <= tolerance("float32", kappa, 3), name
