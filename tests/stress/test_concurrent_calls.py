"""Several Python threads, each on its own CPU stream, call matrix_exp and its
derivatives on mixed sizes, dtypes and transformations at once, for
--stress-seconds: every result must equal, bit for bit, the one the same call
gave alone (tests/test_threads.py says why it can), and no thread may hang."""

import threading
import time

import mlx.core as mx
import numpy as np
import pytest

from calls import all_calls

pytestmark = pytest.mark.device("cpu")

THREADS = 4


def test_concurrent_calls_equal_their_serial_results(stress_seconds):
    calls = all_calls()
    inputs = [call.inputs() for call in calls]
    serial = [call(a, mx.cpu) for call, a in zip(calls, inputs)]
    deadline = time.monotonic() + stress_seconds
    mismatches, done, errors = [], [0] * THREADS, []

    def hammer(k):
        stream = mx.new_stream(mx.cpu)
        rng = np.random.default_rng(k)
        try:
            while time.monotonic() < deadline:
                j = int(rng.integers(len(calls)))
                got = calls[j](inputs[j], stream)
                if not all(np.array_equal(g, e, equal_nan=True) for g, e in zip(got, serial[j])):
                    mismatches.append(calls[j])
                done[k] += 1
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=hammer, args=(k,), daemon=True) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=stress_seconds + 120)
    assert not any(t.is_alive() for t in threads), f"a thread hangs after {done} calls"
    assert not errors
    assert not mismatches, mismatches[:5]
    assert sum(done) >= THREADS
