"""The fused Metal kernel (metal/matrix_exp.metal), compiled from the unchanged
source as C++ and run on the CPU by the emulator (tools/mtlemu), launched through the
same planner as eval_gpu. Judged like the CPU path: against the 60-digit
references with the tolerance of tests/accuracy.py, and against the CPU
primitive on the shared samples. What this cannot check (Apple's compiler,
the GPU's arithmetic, speed) is for the macOS workflow (.github/workflows)."""

import mlx.core as mx
import numpy as np
import pytest

import metal_emulator
from accuracy import case, case_names, tolerance
from metal_emulator import matrix_exp as emulated
from mlx_expm_ext import _ext, matrix_exp
from reference import relative_error
from samples import MIXED_NORMS

pytestmark = [
    pytest.mark.device("cpu"),
    pytest.mark.skipif(bool(metal_emulator.available()), reason=str(metal_emulator.available())),
]

MAX_N = 32


def random_batch(shape, norms, seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    a *= np.reshape(norms, np.shape(norms) + (1, 1)) / np.abs(a).sum(-2).max(-1)[..., None, None]
    return a.astype(dtype)


def cpu(a):
    return np.array(matrix_exp(mx.array(a), stream=mx.cpu))


def fused_cases(dtype):
    return [name for name in case_names(dtype) if case(name, dtype)[0].shape[0] <= MAX_N]


@pytest.mark.parametrize("name", fused_cases("float32"))
def test_float32_against_reference(name):
    a, hi, lo, kappa = case(name, "float32")
    out = emulated(a.astype(np.float32))
    assert np.isfinite(out).all()
    assert relative_error(out.astype(np.float64), hi, lo) <= tolerance("float32", kappa, a.shape[0])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_types_against_reference(dtype):
    for name in case_names(dtype):
        a, hi, lo, kappa = case(name, dtype)
        if np.abs(hi).max() >= np.finfo(np.float16).max:
            continue  # overflows float16; bfloat16 shares the float16 cases' inputs
        if dtype == "float16":
            out = emulated(a.astype(np.float16)).astype(np.float64)
        else:
            out = emulated(a.astype(np.float32), bfloat16=True).astype(np.float64)
        assert relative_error(out, hi, lo) <= tolerance(dtype, kappa, a.shape[0]), name


@pytest.mark.parametrize("n", range(1, MAX_N + 1))
def test_every_size_agrees_with_the_cpu(n):
    """Mixed norms in one batch (each matrix its own degree and scaling);
    both paths are within the float32 tolerance of the exact result, so
    within twice that of each other (kappa <~ ||A||_1 for these matrices;
    norms up to 40 so that no exponential overflows float32)."""
    norms = np.minimum(MIXED_NORMS, 40.0)
    a = random_batch((len(norms), n, n), norms, n)
    gpu, ref = emulated(a).astype(np.float64), cpu(a).astype(np.float64)
    err = np.abs(gpu - ref).sum(-2).max(-1) / np.abs(ref).sum(-2).max(-1)
    bound = np.array([2 * tolerance("float32", max(norm, 1.0), n) for norm in norms])
    assert np.all(err <= bound), (err / bound).max()


def test_batches_of_any_shape_and_layout():
    a = random_batch((2, 3, 5, 5), 2.0, 1)
    out = emulated(a)
    assert out.shape == a.shape
    assert np.array_equal(out.reshape(6, 5, 5), emulated(a.reshape(6, 5, 5)))
    transposed = np.swapaxes(random_batch((4, 6, 6), 2.0, 2), -1, -2)  # strided input
    assert np.array_equal(emulated(transposed), emulated(np.ascontiguousarray(transposed)))


@pytest.mark.parametrize("n", [3, 8, 12, 24, 32])
@pytest.mark.parametrize("max_threads", [32, 64, 96, 256, 1024])
def test_every_threadgroup_size_gives_the_same_bits(n, max_threads):
    """The planner packs 1 to 8 matrices per threadgroup; a matrix's result must
    not depend on which matrices share its threadgroup."""
    a = random_batch((11, n, n), np.geomspace(1e-3, 300, 11), 10 + n)
    expected = emulated(a, max_threads=1024)
    assert np.array_equal(emulated(a, max_threads=max_threads), expected)


@pytest.mark.parametrize("schedule", ["reverse", "shuffled"])
def test_result_does_not_depend_on_the_order_threads_run(schedule):
    """Threads resume from barriers in another order: a missing barrier would
    change the result."""
    for n in (4, 13, 32):
        a = random_batch((9, n, n), MIXED_NORMS, n)
        assert np.array_equal(emulated(a, schedule=schedule, seed=3), emulated(a))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_entry_gives_nan_matrix_and_spares_the_others(bad):
    for n in (1, 5, 30):
        a = random_batch((3, n, n), 2.0, n)
        a[1, n // 2, (n - 1) // 2] = bad
        out = emulated(a)
        assert np.isnan(out[1]).all()
        assert np.isfinite(out[[0, 2]]).all()


def test_huge_norms():
    q = emulated(np.array([[0.0, -1e4], [1e4, 0.0]], np.float32))
    assert np.abs(q.T @ q - np.eye(2)).max() <= 16 * 2**14 * 2.0**-24
    assert np.array_equal(
        emulated(np.float32(-1e30) * np.eye(4, dtype=np.float32)), np.zeros((4, 4))
    )
    big = emulated(np.array([[0.0, 1e30], [0.0, 0.0]], np.float32))
    assert (
        big[0, 0] == 1 and big[1, 1] == 1 and abs(big[0, 1] / np.float32(1e30) - 1) <= 8 * 2.0**-24
    )
    # The largest finite norms still end (s = 127 squarings in float32), and
    # a negative definite A of norm 3e38 gives exp(A) = 0, as on the CPU.
    g = np.random.default_rng(5).standard_normal((2, 32, 32))
    a = -(g @ np.swapaxes(g, -1, -2) + 32 * np.eye(32))
    a = (a * 3e38 / np.abs(a).sum(-2).max(-1)[:, None, None]).astype(np.float32)
    assert np.array_equal(emulated(a), np.zeros((2, 32, 32)))
    assert np.array_equal(cpu(a), np.zeros((2, 32, 32)))


def test_one_by_one_is_scalar_exp():
    """1 x 1 is exp of the entry, within 2 units in the last place of float32
    (as on the CPU; the scheme on a padded 8 x 8 lost 370 ulp at -20)."""
    x = np.array([-20.0, -3.0, -0.5, 1e-3, 0.7, 10.0, 80.0], np.float32)[:, None, None]
    out = emulated(x).astype(np.float64)
    expected = np.exp(x.astype(np.float64))
    assert np.all(np.abs(out - expected) <= 2 * 2.0**-23 * expected)


@pytest.mark.parametrize("n", [2, 12, 32])
def test_finite_entries_whose_norm_overflows(n):
    """Columns of -3e38 sum past FLT_MAX: the norm is taken of A / 2^h and the
    result is exp(A) = 0 (as on the CPU), not the NaN of a non-finite entry."""
    a = np.zeros((n, n), np.float32)
    a[:, 0] = -3e38
    a[np.arange(n), np.arange(n)] = -3e38
    assert np.array_equal(emulated(a), np.zeros((n, n)))


def test_every_plannable_kernel_is_instantiated():
    """The kernel names the planner can produce are exactly the host_names the
    compiled .metal file instantiates."""
    library = metal_emulator.build(metal_emulator.SOURCE, include_dirs=[metal_emulator.INCLUDE])
    planned = {
        _ext._fused_plan(dtype, n, 3, n * n, n, 1, 1024)["kernel"]
        for dtype in ("float32", "float16", "bfloat16")
        for n in range(1, MAX_N + 1)
    }
    assert planned == {k for k in library.kernels if k.startswith("matrix_exp_fused_")}


def test_gcc_build_agrees():
    """g++ compiles the same source (a second compiler's view)."""
    a = random_batch((5, 7, 7), MIXED_NORMS[:5], 4)
    assert np.array_equal(emulated(a, compiler="gcc"), emulated(a))


@pytest.mark.tsan
@pytest.mark.parametrize("n", [8, 16, 24, 32])
def test_no_data_race_under_thread_sanitizer(n):
    """Every threadgroup-memory hand-off between lanes is ordered by a barrier."""
    a = random_batch((3, n, n), [0.3, 4.0, 60.0], 20 + n)
    out = emulated(a, sanitizer="thread")
    assert np.array_equal(out, emulated(a))
