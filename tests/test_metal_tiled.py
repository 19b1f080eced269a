"""The tiled Metal kernels (metal/matrix_exp_tiled.h): exp for 32 < n <= 128
(matrix_exp_tiled) and L(A, E) for 24 < n <= 128 (matrix_exp_frechet_tiled),
one threadgroup per matrix and the slots in device memory, compiled from the
unchanged source and run by the emulator (tools/mtlemu) through the same
planner as eval_gpu. Judged against the float64 CPU kernels
(themselves checked against the 60-digit references), and bit for bit
against itself across threadgroup sizes, thread orders and layouts."""

import mlx.core as mx
import numpy as np
import pytest
import scipy.linalg

import metal_emulator
from accuracy import tolerance
from metal_emulator import frechet as emulated_frechet
from metal_emulator import matrix_exp as emulated
from mlx_expm_ext import _ext, matrix_exp
from samples import MIXED_NORMS

pytestmark = [
    pytest.mark.device("cpu"),
    pytest.mark.skipif(bool(metal_emulator.available()), reason=str(metal_emulator.available())),
]

SIZES = [33, 40, 47, 64, 65, 100, 127, 128]
NORMS = np.minimum(MIXED_NORMS, 40.0)  # no exponential overflows float32


def random_batch(count, n, norms, seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((count, n, n))
    a *= np.reshape(norms, (-1, 1, 1)) / np.abs(a).sum(-2).max(-1)[:, None, None]
    return a.astype(dtype)


def cpu_float64(a):
    x = mx.array(a.astype(np.float64), dtype=mx.float64)
    return np.array(matrix_exp(x, stream=mx.cpu))


def cpu_frechet_float64(a, e):
    x = mx.array(a.astype(np.float64), dtype=mx.float64)
    d = mx.array(e.astype(np.float64), dtype=mx.float64)
    _, (jvp,) = mx.jvp(lambda y: matrix_exp(y, stream=mx.cpu), [x], [d])
    return np.array(jvp)


def normwise(ours, exact):
    return np.abs(ours - exact).sum(-2).max(-1) / np.abs(exact).sum(-2).max(-1)


@pytest.mark.parametrize("n", SIZES)
def test_every_size_against_the_float64_cpu(n):
    """Mixed norms in one batch, each matrix its own plan: within the float32
    tolerance of exp (kappa <~ ||A||_1 for these matrices)."""
    a = random_batch(len(NORMS), n, NORMS, n)
    assert _ext._fused_plan("float32", n, len(a), n * n, n, 1, 1024)["kernel"] == (
        "matrix_exp_tiled_float32"
    )
    err = normwise(emulated(a).astype(np.float64), cpu_float64(a))
    assert np.all(err <= [tolerance("float32", max(v, 1.0), n) for v in NORMS]), err


def test_a_badly_scaled_matrix_within_the_kappa_tolerance():
    """The overscaled family of tests/cases.py (the powers' norms undo most
    of the 1-norm's squarings, as on the CPU): within C u (kappa + sqrt n),
    kappa from SciPy's expm_cond (1.6e5 here)."""
    rng = np.random.default_rng(7)
    t = np.diag(rng.uniform(-1, 1, 40))
    t[:2, :2] = [[1, 1e3], [0, -1]]
    q, _ = np.linalg.qr(rng.standard_normal((40, 40)))
    a = (q @ t @ q.T)[None].astype(np.float32)
    kappa = scipy.linalg.expm_cond(a[0].astype(np.float64))
    err = normwise(emulated(a).astype(np.float64), cpu_float64(a))[0]
    assert err <= tolerance("float32", kappa, 40), (err, kappa)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_types_against_the_float64_cpu(dtype):
    a = random_batch(3, 40, [0.5, 2.0, 6.0], 11)
    if dtype == "float16":
        a = a.astype(np.float16)
        out = emulated(a).astype(np.float64)
    else:
        out = emulated(a, bfloat16=True).astype(np.float64)
        a = metal_emulator._from_bfloat16_bits(metal_emulator._to_bfloat16_bits(a))
    assert np.all(normwise(out, cpu_float64(a)) <= tolerance(dtype, 6.0, 40))


@pytest.mark.parametrize("max_threads", [32, 64, 96, 1024])
def test_every_threadgroup_size_gives_the_same_bits(max_threads):
    a = random_batch(3, 72, [0.3, 4.0, 40.0], 12)
    assert np.array_equal(emulated(a, max_threads=max_threads), emulated(a))


@pytest.mark.parametrize("schedule", ["reverse", "shuffled"])
def test_result_does_not_depend_on_the_order_threads_run(schedule):
    a = random_batch(2, 48, [0.5, 30.0], 13)
    assert np.array_equal(emulated(a, schedule=schedule, seed=4), emulated(a))


def test_more_matrices_than_threadgroups():
    """Past 256 matrices a threadgroup computes several in turn, in its own
    slots: each as if alone."""
    a = random_batch(300, 33, np.linspace(0.1, 20.0, 300), 14)
    plan = _ext._fused_plan("float32", 33, 300, 33 * 33, 33, 1, 1024)
    assert plan["groups"] < 300
    out = emulated(a)
    for i in (0, 1, 255, 256, 299):
        assert np.array_equal(out[i], emulated(a[i : i + 1])[0]), i


def test_layouts_are_read_in_place():
    wide = random_batch(2, 80, [2.0, 9.0], 15)
    for view in (np.swapaxes(wide[:, :40, :40], -1, -2), wide[:, ::2, 1::2]):
        assert np.array_equal(emulated(view), emulated(np.ascontiguousarray(view)))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_entry_gives_nan_matrix_and_spares_the_others(bad):
    a = random_batch(3, 36, [0.5, 2.0, 9.0], 16)
    clean = emulated(a)
    a[1, 5, 30] = bad
    out = emulated(a)
    assert np.isnan(out[1]).all()
    assert np.array_equal(out[[0, 2]], clean[[0, 2]])


def test_huge_norms():
    """Norm 3e38 (127 squarings) ends, giving exp = 0 for a negative definite
    A as on the CPU; columns whose sums overflow are halved first."""
    g = np.random.default_rng(17).standard_normal((1, 40, 40))
    a = -(g @ np.swapaxes(g, -1, -2) + 40 * np.eye(40))
    a = (a * 3e38 / np.abs(a).sum(-2).max(-1)[:, None, None]).astype(np.float32)
    assert np.array_equal(emulated(a), np.zeros((1, 40, 40)))
    b = np.zeros((1, 40, 40), np.float32)
    b[0, :, 0] = -3e38
    b[0, np.arange(40), np.arange(40)] = -3e38
    assert np.array_equal(emulated(b), np.zeros((1, 40, 40)))


def test_gcc_build_agrees():
    a = random_batch(2, 40, [0.5, 9.0], 18)
    assert np.array_equal(emulated(a, compiler="gcc"), emulated(a))


@pytest.mark.parametrize("n", [25, 32, 33, 64, 127, 128])
def test_frechet_against_the_float64_cpu(n):
    """L(A, E) on dual slots (X, then dX) in device memory: within the
    float32 tolerance of the derivative, for mixed norms in one batch."""
    norms = NORMS[::2]
    a = random_batch(len(norms), n, norms, 30 + n)
    e = random_batch(len(norms), n, [1.0] * len(norms), 40 + n)
    assert _ext._fused_plan("float32", n, len(a), n * n, n, 1, 1024, frechet=True)["kernel"] == (
        "matrix_exp_frechet_tiled_float32"
    )
    err = normwise(emulated_frechet(a, e).astype(np.float64), cpu_frechet_float64(a, e))
    assert np.all(err <= [tolerance("float32", max(v, 1.0), 2 * n) for v in norms]), err


@pytest.mark.parametrize("max_threads", [32, 1024])
def test_frechet_threadgroup_sizes_give_the_same_bits(max_threads):
    a = random_batch(2, 40, [0.5, 30.0], 50)
    e = random_batch(2, 40, [1.0, 1.0], 51)
    assert np.array_equal(emulated_frechet(a, e, max_threads=max_threads), emulated_frechet(a, e))


def test_frechet_nonfinite_entry_spoils_its_pair_only():
    a = random_batch(3, 33, [0.5, 2.0, 9.0], 52)
    e = random_batch(3, 33, [1.0] * 3, 53)
    clean = emulated_frechet(a, e)
    a[1, 4, 7] = np.nan
    out = emulated_frechet(a, e)
    assert np.isnan(out[1]).all()
    assert np.array_equal(out[[0, 2]], clean[[0, 2]])


@pytest.mark.tsan
def test_no_data_race_under_thread_sanitizer():
    """Every hand-off between threads, through device and threadgroup
    memory, is ordered by a barrier."""
    a = random_batch(2, 40, [0.3, 30.0], 19)
    assert np.array_equal(emulated(a, sanitizer="thread", max_threads=64), emulated(a))


@pytest.mark.tsan
def test_no_data_race_in_the_frechet_kernel_under_thread_sanitizer():
    a = random_batch(2, 32, [0.3, 30.0], 54)
    e = random_batch(2, 32, [1.0, 1.0], 55)
    out = emulated_frechet(a, e, sanitizer="thread", max_threads=64)
    assert np.array_equal(out, emulated_frechet(a, e))
