"""Memory stays flat over thousands of calls: the resident set of a process
that keeps calling matrix_exp and its derivatives on every path grows by no
more than MLX's buffer cache (32 MB) plus slack, once warmed up."""

import sys

import pytest

from subprocesses import check_python

pytestmark = pytest.mark.device("cpu")

LOOP = """
    import time
    import mlx.core as mx
    import sys
    sys.path[:0] = {paths}
    from calls import all_calls

    def rss():
        with open("/proc/self/status") as status:
            return int(next(l for l in status if l.startswith("VmRSS:")).split()[1]) * 1024

    calls = all_calls()
    inputs = [call.inputs() for call in calls]
    for call, a in zip(calls, inputs):  # warm up every path
        call(a, mx.cpu)
    start, calls_made = rss(), 0
    deadline = time.monotonic() + {seconds}
    while time.monotonic() < deadline or calls_made < 1000:
        j = calls_made % len(calls)
        calls[j](inputs[j], mx.cpu)
        calls_made += 1
    print(calls_made, start, rss())
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
def test_resident_memory_is_flat(stress_seconds):
    import os

    here = os.path.dirname(__file__)
    paths = [here, os.path.dirname(here)]
    out = check_python(
        LOOP.format(paths=paths, seconds=stress_seconds), timeout=stress_seconds + 600
    )
    calls, start, end = (int(v) for v in out.split())
    assert calls >= 1000
    assert end - start <= 64 * 2**20, (
        f"RSS grew by {(end - start) / 2**20:.1f} MB over {calls} calls"
    )
