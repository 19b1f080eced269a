"""A forked child computes as its parent does, on every path that uses the
extension's threads (csrc/cpu/parallel.cpp forgets the parent's pool in the
child; OpenBLAS handles its own). Each test forks a fresh interpreter, never
pytest itself, and waits for the child with a deadline: a hang fails.

In the child, MLX needs a stream made there (mx.new_stream): MLX's own
default stream does not survive fork() once the parent has used it, and its
own ops hang on it too (MLX 0.32.4)."""

import sys

import pytest

from subprocesses import check_python

pytestmark = [
    pytest.mark.device("cpu"),
    pytest.mark.skipif(sys.platform == "win32", reason="no fork()"),
]

# parent: compute on a stream of its own (using the pool), fork; child: the
# same on a new stream, bit for bit.
FORK = """
    import os, sys, time
    import numpy as np, mlx.core as mx
    from mlx_expm_ext import matrix_exp

    shape, dtype, op = {shape}, mx.{dtype}, "{op}"
    rng = np.random.default_rng(0)
    a = mx.array(rng.standard_normal(shape) / shape[-1], dtype=dtype)

    def compute():
        if op == "grad":
            return mx.grad(lambda x: matrix_exp(x, stream=mx.cpu).sum())(a)
        return matrix_exp(a, stream=mx.cpu)

    mx.set_default_stream(mx.new_stream(mx.cpu))
    expected = np.array(compute())
    pid = os.fork()
    if pid == 0:
        mx.set_default_stream(mx.new_stream(mx.cpu))
        same = np.array_equal(np.array(compute()), expected)
        os._exit(0 if same else 3)
    deadline = time.monotonic() + 30
    while not os.waitpid(pid, os.WNOHANG)[0]:
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            sys.exit("the child hangs")
        time.sleep(0.02)
    print("child ok")
"""

# Four-thread paths: lanes, loops, BLAS with a matrix per thread, BLAS with
# the products split over threads, and derivatives (the dual scheme).
PATHS = [
    ((10000, 3, 3), "float32", "exp"),
    ((1024, 16, 16), "float32", "exp"),
    ((4, 300, 300), "float64", "exp"),
    ((1, 512, 512), "float32", "exp"),
    ((2048, 4, 4), "float64", "grad"),
    ((4, 64, 64), "float32", "grad"),
]


@pytest.mark.parametrize("shape,dtype,op", PATHS, ids=str)
def test_forked_child_computes_as_the_parent(shape, dtype, op):
    out = check_python(FORK.format(shape=shape, dtype=dtype, op=op), timeout=180)
    assert out.strip() == "child ok"


MULTIPROCESSING = """
    import multiprocessing as mp
    import numpy as np, mlx.core as mx
    from mlx_expm_ext import matrix_exp

    def batch(seed):
        rng = np.random.default_rng(seed)
        return mx.array(rng.standard_normal((512, 12, 12)).astype(np.float32) / 4)

    def work(seed):
        return np.array(matrix_exp(batch(seed), stream=mx.cpu))

    def new_stream():
        mx.set_default_stream(mx.new_stream(mx.cpu))

    new_stream()
    expected = [work(seed) for seed in range(6)]
    with mp.get_context("fork").Pool(2, initializer=new_stream) as pool:
        got = pool.map_async(work, range(6)).get(timeout=60)
    assert all(np.array_equal(g, e) for g, e in zip(got, expected))
    print("workers ok")
"""


def test_multiprocessing_fork_workers():
    assert check_python(MULTIPROCESSING, timeout=180).strip() == "workers ok"
