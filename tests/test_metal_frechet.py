"""The fused Frechet kernel (metal/matrix_exp.metal, matrix_exp_frechet_fused,
n <= 24; tests/test_metal_tiled.py has the tiled one above), compiled from the
unchanged source as C++ and run on the CPU by the emulator (tools/mtlemu),
launched through the same planner as eval_gpu. Judged like
the CPU's derivatives: against the 60-digit Frechet references, against the
float64 CPU derivative (itself checked against those references) for every
n up to the kernel's limit, and bit for bit against itself across
threadgroup shapes, thread orders, layouts and a second compiler."""

import mlx.core as mx
import numpy as np
import pytest

import metal_emulator
from accuracy import references, tolerance
from metal_emulator import MAX_N_FRECHET_FUSED
from metal_emulator import frechet as emulated
from mlx_expm_ext import _ext, matrix_exp
from reference import relative_error
from samples import MIXED_NORMS

pytestmark = [
    pytest.mark.device("cpu"),
    pytest.mark.skipif(bool(metal_emulator.available()), reason=str(metal_emulator.available())),
]

# Norms up to 40 so that no exponential overflows float32 (nor, below, float16).
NORMS = np.minimum(MIXED_NORMS, 40.0)


def random_pairs(count, n, norms, seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((count, n, n))
    a *= np.reshape(norms, (-1, 1, 1)) / np.abs(a).sum(-2).max(-1)[:, None, None]
    e = rng.standard_normal((count, n, n))
    return a.astype(dtype), e.astype(dtype)


def cpu_float64(a, e):
    """L(A, E) of the (rounded) inputs by the CPU kernels in float64."""
    x = mx.array(a.astype(np.float64), dtype=mx.float64)
    d = mx.array(e.astype(np.float64), dtype=mx.float64)
    _, (jvp,) = mx.jvp(lambda y: matrix_exp(y, stream=mx.cpu), [x], [d])
    return np.array(jvp)


def normwise(ours, exact):
    return np.abs(ours - exact).sum(-2).max(-1) / np.abs(exact).sum(-2).max(-1)


FLOAT32_CASES = sorted(
    k.split("/")[1] for k in references() if k.startswith("frechet/") and k.endswith("/float32/e")
)


@pytest.mark.parametrize("name", FLOAT32_CASES)
def test_against_the_references(name):
    refs = references()
    key = f"frechet/{name}/float32"
    a, e = refs[f"{key}/a"], refs[f"{key}/e"]
    out = emulated(a.astype(np.float32), e.astype(np.float32)).astype(np.float64)
    err = relative_error(out, refs[f"{key}/jvp_hi"], refs[f"{key}/jvp_lo"])
    assert err <= tolerance("float32", float(refs[f"{name}/cond"]), 2 * a.shape[0])


@pytest.mark.parametrize("n", range(1, MAX_N_FRECHET_FUSED + 1))
def test_every_size_against_the_float64_cpu(n):
    """Mixed norms in one batch, each pair its own plan: within the float32
    tolerance of the derivative (kappa <~ ||A||_1 for these matrices)."""
    a, e = random_pairs(len(NORMS), n, NORMS, n)
    err = normwise(emulated(a, e).astype(np.float64), cpu_float64(a, e))
    bound = [tolerance("float32", max(norm, 1.0), 2 * n) for norm in NORMS]
    assert np.all(err <= bound), err


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("n", [3, 12])
def test_half_types_against_the_float64_cpu(dtype, n):
    a, e = random_pairs(5, n, [0.01, 0.5, 2.0, 6.0, 9.0], 30 + n)
    if dtype == "float16":
        a, e = a.astype(np.float16), e.astype(np.float16)
        out = emulated(a, e).astype(np.float64)
    else:
        out = emulated(a, e, bfloat16=True).astype(np.float64)
        a, e = (
            metal_emulator._from_bfloat16_bits(metal_emulator._to_bfloat16_bits(x)) for x in (a, e)
        )
    err = normwise(out, cpu_float64(a, e))
    assert np.all(err <= tolerance(dtype, 9.0, 2 * n)), err


def test_one_by_one_is_exp_times_e():
    a = np.array([[[0.3]], [[-20.0]], [[4.0]]], np.float32)
    e = np.array([[[1.5]], [[0.25]], [[-2.0]]], np.float32)
    out = emulated(a, e).astype(np.float64)
    expected = np.exp(a.astype(np.float64)) * e
    assert np.all(np.abs(out - expected) <= 4 * 2.0**-24 * np.abs(expected))


def test_layouts_are_read_in_place():
    """A transposed view, a broadcast direction (batch stride 0) and a slice
    give the bits of their contiguous copies."""
    a, e = random_pairs(4, 7, [0.5, 3.0, 9.0, 30.0], 40)
    one = np.broadcast_to(e[:1], e.shape)
    wide_a, wide_e = random_pairs(4, 14, [1.0] * 4, 41)
    for x, d in (
        (np.swapaxes(a, -1, -2), e),
        (a, one),
        (wide_a[:, ::2, 1::2], wide_e[:, 1::2, ::2]),
    ):
        assert np.array_equal(
            emulated(x, d), emulated(np.ascontiguousarray(x), np.ascontiguousarray(d))
        )


@pytest.mark.parametrize("n", [3, 8, 16, 24])
@pytest.mark.parametrize("max_threads", [32, 64, 256, 1024])
def test_every_threadgroup_size_gives_the_same_bits(n, max_threads):
    a, e = random_pairs(9, n, NORMS, 50 + n)
    assert np.array_equal(emulated(a, e, max_threads=max_threads), emulated(a, e))


@pytest.mark.parametrize("schedule", ["reverse", "shuffled"])
def test_result_does_not_depend_on_the_order_threads_run(schedule):
    a, e = random_pairs(9, 8, NORMS, 60)
    assert np.array_equal(emulated(a, e, schedule=schedule, seed=3), emulated(a, e))


@pytest.mark.parametrize("where", ["a", "e"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_nonfinite_entry_spoils_its_pair_only(where, bad):
    a, e = random_pairs(3, 5, [0.5, 2.0, 9.0], 70)
    clean = emulated(a, e)
    (a if where == "a" else e)[1, 2, 3] = bad
    out = emulated(a, e)
    if where == "a":
        assert np.isnan(out[1]).all()
    else:
        assert not np.isfinite(out[1]).all()
    assert np.array_equal(out[[0, 2]], clean[[0, 2]])


def test_a_badly_scaled_matrix_keeps_the_cpus_accuracy():
    """The dual scheme plans from A alone, as the CPU's does: on the
    overscaled family of tests/cases.py (whose 1-norm plan squares 10 times
    more) the kernel's L is as accurate as the float32 CPU's."""
    rng = np.random.default_rng(80)
    t = np.diag(rng.uniform(-1, 1, 9))
    t[:2, :2] = [[1, 1e3], [0, -1]]
    q, _ = np.linalg.qr(rng.standard_normal((9, 9)))
    a = (q @ t @ q.T)[None].astype(np.float32)
    e = rng.standard_normal((1, 9, 9)).astype(np.float32)
    exact = cpu_float64(a, e)
    _, (cpu32,) = mx.jvp(lambda y: matrix_exp(y, stream=mx.cpu), [mx.array(a)], [mx.array(e)])
    ours = normwise(emulated(a, e).astype(np.float64), exact)[0]
    cpus = normwise(np.array(cpu32).astype(np.float64), exact)[0]
    assert ours <= 2 * cpus + 16 * 2.0**-24, (ours, cpus)


def test_every_plannable_kernel_is_instantiated():
    library = metal_emulator.build(metal_emulator.SOURCE, include_dirs=[metal_emulator.INCLUDE])
    planned = {
        _ext._fused_plan(dtype, n, 3, n * n, n, 1, 1024, frechet=True)["kernel"]
        for dtype in ("float32", "float16", "bfloat16")
        for n in range(1, MAX_N_FRECHET_FUSED + 1)
    }
    assert planned == {k for k in library.kernels if k.startswith("matrix_exp_frechet_fused_")}


def test_gcc_build_agrees():
    a, e = random_pairs(5, 7, NORMS[:5], 90)
    assert np.array_equal(emulated(a, e, compiler="gcc"), emulated(a, e))


@pytest.mark.tsan
@pytest.mark.parametrize("n", [8, 24])
def test_no_data_race_under_thread_sanitizer(n):
    a, e = random_pairs(3, n, [0.3, 4.0, 30.0], 100 + n)
    assert np.array_equal(emulated(a, e, sanitizer="thread"), emulated(a, e))
