"""Threads: MLX_EXPM_NUM_THREADS is checked, and a matrix's result does not
depend on its batch, on the order of the batch, or on other calls running
at the same time (csrc/cpu/blas.h: OpenBLAS on one thread, products split
into the same column panels whatever else runs)."""

import os
import threading

import mlx.core as mx
import numpy as np
import pytest

from mlx_expm_ext import _ext, matrix_exp
from samples import random_matrices
from subprocesses import check_python, run_python

pytestmark = pytest.mark.device("cpu")


def cpus():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


THREADS = """
    import mlx.core as mx
    from mlx_expm_ext import _ext, matrix_exp
    try:
        mx.eval(matrix_exp(mx.ones((2, 3, 3)), stream=mx.cpu))
        print(_ext._max_threads())
    except ValueError as error:
        print("ValueError:", error)
"""


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "2x", "99999999999"])
def test_nonsense_thread_count_is_refused_by_name(value):
    out = check_python(THREADS, env={"MLX_EXPM_NUM_THREADS": value})
    assert out.startswith("ValueError: [matrix_exp] MLX_EXPM_NUM_THREADS must be a whole number")
    assert repr(value) in out


@pytest.mark.parametrize("value,expected", [("1", 1), (" 1 ", 1), ("", None), ("1000", None)])
def test_thread_count_is_read_and_capped_at_the_cpus(value, expected):
    """Blank means the default; more threads than CPUs are capped (1000 of
    them took a (4, 300, 300) call from 9.5 ms to 5.6 s)."""
    out = check_python(THREADS, env={"MLX_EXPM_NUM_THREADS": value})
    assert int(out) == (expected or cpus())


def test_default_is_the_cpus_of_the_affinity_mask():
    env = {k: v for k, v in os.environ.items() if k != "MLX_EXPM_NUM_THREADS"}
    result = run_python(THREADS, env=env)
    assert int(result.stdout) == cpus()
    assert _ext._max_threads() >= 1


# (shape, dtype) covering the CPU paths: lanes, loops, BLAS (a matrix per
# thread in the batch, one at a time with split products alone), complex.
PATHS = [
    ((40, 3, 3), mx.float32),
    ((17, 12, 12), mx.float64),
    ((4, 300, 300), mx.float64),
    ((3, 260, 260), mx.float32),
    ((6, 40, 40), mx.complex64),
]


def derivatives(a, stream=mx.cpu):
    """exp(A), and the vjp and jvp of exp at A in the direction sin(A) (each
    matrix's own, so that batches, pairs and permutations agree)."""
    direction = mx.sin(a, stream=mx.cpu)
    f = lambda x: matrix_exp(x, stream=stream)  # noqa: E731
    _, vjp = mx.vjp(f, [a], [direction])
    _, jvp = mx.jvp(f, [a], [direction])
    return [np.array(f(a)), np.array(vjp[0]), np.array(jvp[0])]


@pytest.mark.parametrize("shape,dtype", PATHS, ids=str)
def test_result_does_not_depend_on_the_batch(shape, dtype):
    a = random_matrices(shape, np.geomspace(0.1, 30.0, shape[0]), dtype, 1)
    whole = derivatives(a)
    order = np.random.default_rng(0).permutation(shape[0])
    shuffled = derivatives(a[mx.array(order)])
    for i in (0, shape[0] // 2, shape[0] - 1):
        alone = derivatives(a[i])
        pair = derivatives(a[i : i + 2] if i + 2 <= shape[0] else a[i - 1 : i + 1])
        in_pair = 0 if i + 2 <= shape[0] else 1
        position = int(np.flatnonzero(order == i)[0])
        for w, s, x, p in zip(whole, shuffled, alone, pair):
            assert np.array_equal(w[i], x)
            assert np.array_equal(p[in_pair], x)
            assert np.array_equal(s[position], x)


def test_concurrent_calls_give_the_serial_results():
    """Python threads, each on its own stream, call matrix_exp and its
    derivatives on every path at once: every result equals, bit for bit, the
    one computed alone. (This differed in 62 of 120 repeats when BLAS took
    its thread count from whoever called last.)"""
    inputs = [random_matrices(shape, 5.0, dtype, 2) for shape, dtype in PATHS]
    serial = [derivatives(a) for a in inputs]
    failures = []

    def hammer(k):
        stream = mx.new_stream(mx.cpu)
        for _ in range(4):
            for j in np.random.default_rng(k).permutation(len(inputs)):
                got = derivatives(inputs[j], stream)
                if not all(np.array_equal(g, e) for g, e in zip(got, serial[j])):
                    failures.append((k, int(j)))

    threads = [threading.Thread(target=hammer, args=(k,), daemon=True) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hangs"
    assert not failures


SMALL_PATHS = """
    import sys
    import numpy as np, mlx.core as mx
    from mlx_expm_ext import matrix_exp
    rng = np.random.default_rng(0)
    out = []
    for shape in [(5000, 3, 3), (3000, 8, 8), (600, 16, 16), (20, 40, 40)]:
        a = mx.array(rng.standard_normal(shape) / 2)
        out.append(np.array(matrix_exp(a, stream=mx.cpu)).ravel())
    np.save(sys.argv[-1] if len(sys.argv) > 1 else "{path}", np.concatenate(out))
"""


def test_small_matrices_do_not_depend_on_the_thread_count(tmp_path):
    """Below the BLAS panels' size (n < 256) nothing depends on how many
    threads run: the same bits with 1 thread as with all."""
    results = []
    for threads in ("1", str(cpus())):
        path = tmp_path / f"{threads}.npy"
        check_python(SMALL_PATHS.format(path=path), env={"MLX_EXPM_NUM_THREADS": threads})
        results.append(np.load(path))
    assert np.array_equal(*results)
