"""Interleaved timing: round-robin over the cases of one shape, median of repeats.

Each round runs every case once, starting from a different case each round,
so slow drifts of the machine (frequency, other processes) spread over all
implementations instead of landing on whichever ran last.

One repeat of a fast case is a burst, as in ``timeit``: one untimed call to
bring its code and data back into the caches that the other cases evicted,
then ``number`` timed calls (enough to fill ``burst_s``), and the repeat is
their mean. Without it a 3x3 ``torch.linalg.matrix_exp`` measured 120 us in a
loop but 400-700 us right after any other library's call: the interleaving
would measure cold caches, not the implementation. A case whose single call
takes ``burst_s`` or more is timed one call per repeat.

The number of repeats adapts to the cost: ``budget_s / (time of one repeat)``,
clamped to ``[min_repeats, max_repeats]``; a call slower than ``max_call_s`` is
not repeated at all (its one warm-up call is the sample), which keeps a full
run within minutes when some implementation takes tens of seconds at n = 1024.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

# A warm-up call this long is enough: more would only spend the time budget.
_LONG_CALL_S = 0.25


@dataclass
class Case:
    key: str
    thunk: Callable[[], object] | None
    error: str | None = None
    skipped: str | None = None  # why it was not run at all
    warmup_s: list[float] = field(default_factory=list)
    times_s: list[float] = field(default_factory=list)  # per call, one per repeat
    number: int = 0  # timed calls per repeat
    target: int = 0  # repeats

    @property
    def median_s(self) -> float | None:
        return statistics.median(self.times_s) if self.times_s else None


def _fail(case: Case, e: Exception) -> None:
    case.error = f"{type(e).__name__}: {e}".splitlines()[0][:300]


def _call(case: Case) -> float | None:
    """Run once; return seconds, or record the error and return None."""
    t0 = time.perf_counter()
    try:
        case.thunk()
    except Exception as e:  # a peer failing on some dtype or shape
        _fail(case, e)
        return None
    return time.perf_counter() - t0


def settle(max_s: float = 0.2, slice_s: float = 0.005) -> float:
    """Sleep until no thread of this process burns CPU; return the seconds slept.

    Thread pools keep spinning after a call returns (NumPy's OpenBLAS about
    60 ms of one core here, torch's OpenMP less): on 2 cores the next library
    would lose a core to them. Waiting for them is cheaper than the error.
    """
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < max_s:
        c0 = time.process_time()
        time.sleep(slice_s)
        if time.process_time() - c0 < 0.2 * slice_s:
            break
    return time.perf_counter() - t0


def _repeat(case: Case) -> float | None:
    """One repeat: mean seconds per call over a burst of ``case.number`` calls."""
    settle()
    if case.number == 1:
        return _call(case)
    f = case.thunk
    try:
        f()  # refill the caches; untimed
        t0 = time.perf_counter()
        for _ in range(case.number):
            f()
        return (time.perf_counter() - t0) / case.number
    except Exception as e:
        _fail(case, e)
        return None


def run_interleaved(
    cases: list[Case],
    warmup: int,
    min_repeats: int,
    max_repeats: int,
    budget_s: float,
    burst_s: float = 0.01,
    max_call_s: float = 5.0,
) -> None:
    """Fill each case's ``times_s``; a case whose first call already takes
    ``max_call_s`` keeps that one call as its only sample (``target == 1``)."""
    live = [c for c in cases if c.thunk is not None and c.error is None]
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        # The warm-up calls, then one more that sizes the bursts: the first call
        # may include compilation (jax.jit), autograd set-up or first-touch
        # allocation, so it never sizes anything unless it alone exceeds
        # max_call_s. After the first, one call of _LONG_CALL_S is warm enough.
        def warm(c: Case) -> bool:
            if c.error is not None or not c.warmup_s:
                return c.error is None
            if c.warmup_s[0] >= max_call_s:
                return False
            return len(c.warmup_s) < 2 or c.warmup_s[-1] < _LONG_CALL_S

        for _ in range(warmup + 1):
            for c in live:
                if warm(c):
                    t = _call(c)
                    if t is not None:
                        c.warmup_s.append(t)
        live = [c for c in live if c.error is None]
        for c in live:
            per_call = max(c.warmup_s[-1], 1e-9)
            if per_call >= max_call_s:
                c.number, c.target, c.times_s = 1, 1, [per_call]
                continue
            c.number = max(1, int(burst_s / per_call))
            per_repeat = per_call * (c.number + (c.number > 1))
            c.target = max(min_repeats, min(max_repeats, int(budget_s / per_repeat)))
        rnd = 0
        while True:
            todo = [c for c in live if c.error is None and len(c.times_s) < c.target]
            if not todo:
                break
            start = rnd % len(todo)
            for c in todo[start:] + todo[:start]:
                t = _repeat(c)
                if t is not None:
                    c.times_s.append(t)
            rnd += 1
    finally:
        if gc_was_enabled:
            gc.enable()


class CpuMonitor:
    """CPU time the rest of the machine used while we measured (Linux).

    Other processes (a build, a test run) on a 2-core machine distort every
    number; the bench records their share so a reader can discount a block.
    """

    def __init__(self):
        self.start = self._sample()

    @staticmethod
    def _sample():
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        # user nice system idle iowait irq softirq steal ...
        busy = sum(fields[:3]) + sum(fields[5:7])
        steal = fields[7] if len(fields) > 7 else 0
        t = os.times()
        return time.perf_counter(), busy, steal, t.user + t.system

    def read(self) -> dict:
        """Shares of the machine's CPU capacity since the start: others' and steal."""
        end = self._sample()
        if self.start is None or end is None:
            return {}
        hz = os.sysconf("SC_CLK_TCK")
        cores = os.cpu_count() or 1
        wall = end[0] - self.start[0]
        if wall <= 0:
            return {}
        busy = (end[1] - self.start[1]) / hz
        own = end[3] - self.start[3]
        return {
            "wall_s": wall,
            "own_cpu_share": own / (wall * cores),
            "others_cpu_share": max(0.0, busy - own) / (wall * cores),
            "steal_share": (end[2] - self.start[2]) / hz / (wall * cores),
        }


def wait_for_quiet(max_wait_s: float, threshold: float = 0.1, window_s: float = 1.0) -> float:
    """Wait until other processes use under ``threshold`` of the CPUs for one
    ``window_s``, at most ``max_wait_s``; return the seconds waited."""
    t0 = time.perf_counter()
    while True:
        m = CpuMonitor()
        time.sleep(window_s)
        if m.read().get("others_cpu_share", 0.0) < threshold:
            return time.perf_counter() - t0
        if time.perf_counter() - t0 >= max_wait_s:
            return time.perf_counter() - t0
