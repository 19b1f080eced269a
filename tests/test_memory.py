"""Memory: every byte the CPU kernels use comes from MLX's allocator (so MLX's
memory API sees and releases it), and running out of it is a MemoryError
that says what was asked for, not a crash."""

import sys

import mlx.core as mx
import numpy as np
import pytest

from mlx_expm_ext import _ext, matrix_exp
from subprocesses import run_python

pytestmark = pytest.mark.device("cpu")


def test_scratch_memory_is_mlx_memory():
    """A (1, 512, 512) float32 exp uses 7 work matrices of 1 MB (the
    scheme's slots, 7 MB of scratch) besides its 1 MB output: MLX's peak
    memory counts them, and they go to MLX's cache afterwards, which
    mx.clear_cache empties."""
    a = mx.array(np.random.default_rng(0).standard_normal((1, 512, 512)).astype(np.float32) / 50)
    mx.eval(a)
    mx.clear_cache()
    mx.reset_peak_memory()
    before = mx.get_active_memory()
    mx.eval(matrix_exp(a, stream=mx.cpu))
    assert mx.get_peak_memory() - before >= 8 * 2**20
    assert mx.get_cache_memory() >= 7 * 2**20
    mx.clear_cache()
    assert mx.get_cache_memory() == 0


@pytest.mark.parametrize("batch,n,workspaces", [(3, 1024, 1), (6, 300, None)])
def test_scratch_is_bounded_by_the_threads_not_the_batch(batch, n, workspaces):
    """7 work matrices per thread at work (float32, forward), and from
    n = 1024 one matrix at a time: never one workspace per matrix."""
    a = mx.array(np.random.default_rng(0).standard_normal((batch, n, n)).astype(np.float32) / n)
    mx.eval(a)
    mx.clear_cache()
    mx.reset_peak_memory()
    before = mx.get_active_memory()
    mx.eval(matrix_exp(a, stream=mx.cpu))
    workspace = 7 * n * n * 4
    allowed = workspaces or min(batch, _ext._max_threads())
    used = mx.get_peak_memory() - before - a.nbytes  # less the output
    assert used <= allowed * workspace + 2**20, used / workspace


# Runs `request` under an address-space limit of the current use plus
# 1.5 GB; inputs are broadcasts (read in place), so only the output and the
# scratch need memory.
OUT_OF_MEMORY = """
    import resource
    import mlx.core as mx
    from mlx_expm_ext import _ext, matrix_exp

    def address_space():
        with open("/proc/self/status") as status:
            line = next(l for l in status if l.startswith("VmSize:"))
        return int(line.split()[1]) * 1024

    mx.eval(matrix_exp(mx.eye(3)[None] * 0.5, stream=mx.cpu))  # threads and libraries loaded
    limit = address_space() + 1_500_000_000
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        mx.eval(matrix_exp({request}, stream=mx.cpu))
        print("no error")
    except MemoryError as error:
        print(error)
    # the process goes on: a call that fits works, the stream is usable
    print(matrix_exp(2 * mx.eye(4), stream=mx.cpu)[0, 0].item())
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced on Linux")
@pytest.mark.parametrize(
    "request_,what,shape,nbytes",
    [
        # the output alone: 400 million 3 x 3 float32 matrices, 14.4 GB
        (
            "mx.broadcast_to(mx.eye(3), (400_000_000, 3, 3))",
            "the output",
            "(400000000, 3, 3), float32",
            400_000_000 * 9 * 4,
        ),
        # the output (576 MB) fits, the 7 work matrices (4 GB, and 64 bytes of
        # alignment) do not
        (
            "mx.broadcast_to(mx.zeros((1, 1, 12000)), (1, 12000, 12000))",
            "scratch memory",
            "(1, 12000, 12000), float32",
            7 * 12000**2 * 4 + 64,
        ),
    ],
    ids=["output", "scratch"],
)
def test_out_of_memory_is_a_memory_error_that_says_what(request_, what, shape, nbytes):
    result = run_python(OUT_OF_MEMORY.format(request=request_), timeout=120)
    assert result.returncode == 0, result.stderr
    error, after = result.stdout.strip().splitlines()
    assert error == (
        f"[matrix_exp] Out of memory: cannot allocate {nbytes} bytes for {what} "
        f"(result of shape {shape})."
    )
    assert float(after) == pytest.approx(np.exp(2.0))
