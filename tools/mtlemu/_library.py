"""A built kernel library, and running a dispatch on it: in this process
through ctypes, or in a runner process (_isolated.py).

Buffers are copied into fresh allocations with guard bytes on both sides; a
kernel that writes past a buffer's end (or before its start) is reported
after the dispatch. (Reads out of bounds are caught by the address build.)
"""

from __future__ import annotations

import ctypes
import dataclasses
import os

import numpy as np

from ._errors import DispatchError

GUARD = 256  # bytes on each side of a buffer
GUARD_BYTE = 0xA5
SCHEDULES = {"forward": 0, "reverse": 1, "shuffled": 2}


class _Buffer(ctypes.Structure):
    _fields_ = [
        ("index", ctypes.c_int32),
        ("pad", ctypes.c_uint32),
        ("data", ctypes.c_void_p),
        ("size", ctypes.c_uint64),
    ]


class _Request(ctypes.Structure):  # runtime/c_api.h: mtlemu_request
    _fields_ = [
        ("kernel", ctypes.c_char_p),
        ("buffers", ctypes.POINTER(_Buffer)),
        ("n_buffers", ctypes.c_int32),
        ("n_tg", ctypes.c_int32),
        ("tg_lengths", ctypes.POINTER(ctypes.c_uint64)),
        ("groups", ctypes.c_uint32 * 3),
        ("threads", ctypes.c_uint32 * 3),
        ("schedule", ctypes.c_int32),
        ("workers", ctypes.c_int32),
        ("seed", ctypes.c_uint64),
        ("timeout", ctypes.c_double),
        ("stack_size", ctypes.c_uint64),
        ("switches", ctypes.c_uint64),
        ("tg_barriers", ctypes.c_uint64),
        ("simd_ops", ctypes.c_uint64),
    ]


class Buffers(dict):
    """The buffers after a dispatch, by [[buffer(i)]] index (numpy arrays of
    the shapes and dtypes given; bytes come back as uint8 arrays). `stats`
    counts fiber switches, completed threadgroup barriers and SIMD-group
    operations."""

    stats: dict


@dataclasses.dataclass
class Dispatch:
    """One dispatch, normalised."""

    kernel: str
    buffers: dict  # index -> numpy array (C-contiguous, owned)
    threadgroup_memory: dict  # index -> bytes
    groups: tuple
    threads: tuple
    schedule: str = "forward"
    seed: int = 0
    workers: int = 0
    timeout: float = 60.0
    stack_size: int = 0


def grid(value, what: str) -> tuple:
    if isinstance(value, int):
        value = (value,)
    value = tuple(int(v) for v in value)
    if not 1 <= len(value) <= 3 or any(v < 0 for v in value):
        raise ValueError(f"[mtlemu] {what} must be 1 to 3 non-negative integers, got {value}")
    return value + (1,) * (3 - len(value))


def as_array(index: int, value) -> np.ndarray:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return np.frombuffer(bytes(value), dtype=np.uint8).copy()
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True, order="C")
    raise TypeError(
        f"[mtlemu] buffer {index} must be a numpy array or bytes, got {type(value).__name__}"
    )


class Guarded:
    """A buffer's bytes with guard bytes around them, 64-byte aligned."""

    def __init__(self, array: np.ndarray):
        self.array = array
        self.nbytes = array.nbytes
        raw = np.empty(self.nbytes + 2 * GUARD + 64, dtype=np.uint8)
        start = (-raw.ctypes.data) % 64
        self.raw = raw[start : start + self.nbytes + 2 * GUARD]
        self.raw[:] = GUARD_BYTE
        self.raw[GUARD : GUARD + self.nbytes] = array.reshape(-1).view(np.uint8)

    @property
    def pointer(self) -> int:
        return self.raw.ctypes.data + GUARD

    def data(self) -> np.ndarray:
        return self.raw[GUARD : GUARD + self.nbytes]

    def check(self, index: int):
        before, after = self.raw[:GUARD], self.raw[GUARD + self.nbytes :]
        if (before != GUARD_BYTE).any() or (after != GUARD_BYTE).any():
            side = "before the start" if (before != GUARD_BYTE).any() else "past the end"
            raise DispatchError(
                f"[dispatch] the kernel wrote {side} of buffer {index} ({self.nbytes} bytes)"
            )

    def result(self) -> np.ndarray:
        out = np.array(self.raw[GUARD : GUARD + self.nbytes])
        return out.view(self.array.dtype).reshape(self.array.shape)


class Library:
    """The kernels of one .metal file, built for one configuration."""

    def __init__(self, path: str, runner: str | None, source, toolchain):
        self.path = path
        self.runner = runner
        self.source = source
        self.toolchain = toolchain
        self._cdll = None

    @property
    def kernels(self) -> list[str]:
        """The host names of the instantiated kernels."""
        return [k.host_name for k in self.source.kernels]

    @property
    def cdll(self) -> ctypes.CDLL:
        """The library loaded in this process (for extra C++ sources' own
        extern "C" functions). Not available for sanitizer builds."""
        if self.toolchain.sanitizer:
            raise RuntimeError("[mtlemu] a sanitizer build runs in a runner process only")
        if self._cdll is None:
            lib = ctypes.CDLL(self.path, mode=os.RTLD_LOCAL | os.RTLD_NOW)
            lib.mtlemu_dispatch.argtypes = [
                ctypes.POINTER(_Request),
                ctypes.c_char_p,
                ctypes.c_uint64,
            ]
            lib.mtlemu_dispatch.restype = ctypes.c_int
            self._cdll = lib
        return self._cdll

    def run(
        self,
        kernel_name: str,
        buffers: dict,
        threadgroup_memory: dict | None = None,
        groups=(1, 1, 1),
        threads=(32, 1, 1),
        *,
        schedule: str = "forward",
        seed: int = 0,
        workers: int = 0,
        timeout: float | None = 60.0,
        isolate: bool = False,
        stack_size: int = 0,
    ) -> Buffers:
        """Dispatches a kernel of this library; see mtlemu.run."""
        if schedule not in SCHEDULES:
            raise ValueError(
                f"[mtlemu] schedule must be one of {sorted(SCHEDULES)}, got {schedule!r}"
            )
        d = Dispatch(
            kernel=kernel_name,
            buffers={int(i): as_array(i, b) for i, b in buffers.items()},
            threadgroup_memory={int(i): int(n) for i, n in (threadgroup_memory or {}).items()},
            groups=grid(groups, "groups"),
            threads=grid(threads, "threads"),
            schedule=schedule,
            seed=seed,
            workers=workers,
            timeout=timeout or 0.0,
            stack_size=stack_size,
        )
        return self.dispatch(d, isolate=isolate)

    def dispatch(self, d: Dispatch, isolate: bool = False) -> Buffers:
        guarded = {i: Guarded(a) for i, a in sorted(d.buffers.items())}
        if isolate or self.toolchain.sanitizer:
            from ._isolated import run_isolated

            stats = run_isolated(self, d, guarded)
        else:
            stats = self._dispatch_here(d, guarded)
        for i, g in guarded.items():
            g.check(i)
        out = Buffers({i: g.result() for i, g in guarded.items()})
        out.stats = stats
        return out

    def _dispatch_here(self, d: Dispatch, guarded: dict) -> dict:
        lib = self.cdll
        bufs = (_Buffer * max(1, len(guarded)))()
        for k, (i, g) in enumerate(guarded.items()):
            bufs[k] = _Buffer(i, 0, g.pointer, g.nbytes)
        n_tg = max(d.threadgroup_memory, default=-1) + 1
        tg = (ctypes.c_uint64 * max(1, n_tg))()
        for i, n in d.threadgroup_memory.items():
            tg[i] = n
        r = _Request()
        r.kernel = d.kernel.encode()
        r.buffers = bufs
        r.n_buffers = len(guarded)
        r.n_tg = n_tg
        r.tg_lengths = tg
        r.groups[:] = d.groups
        r.threads[:] = d.threads
        r.schedule = SCHEDULES[d.schedule]
        r.workers = d.workers
        r.seed = d.seed
        r.timeout = d.timeout or 0.0
        r.stack_size = d.stack_size
        err = ctypes.create_string_buffer(16384)
        if lib.mtlemu_dispatch(ctypes.byref(r), err, len(err)):
            message = err.value.decode(errors="replace")
            if "could not be stopped" in message:
                # A lane still runs and may write into these buffers: keep them.
                _LEAKED.append(guarded)
            raise DispatchError(message)
        return {"switches": r.switches, "tg_barriers": r.tg_barriers, "simd_ops": r.simd_ops}


_LEAKED: list = []
