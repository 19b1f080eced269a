"""The project's fused Metal kernels (metal/matrix_exp.metal) run through the
Metal emulator (tools/mtlemu, a developer tool with its own tests), launched
exactly as eval_gpu launches it: the kernel name, threadgroup size,
threadgroup memory and grid come from the same C++ planner
(csrc/metal/plan.cpp, reached through the installed extension).

The emulator's API is re-exported (run, build, available, the errors), so
tests say `import metal_emulator` whatever the tool's home."""

from __future__ import annotations

import pathlib
import struct
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from mtlemu import (  # noqa: E402
    CompileError,
    DispatchError,
    EmulatorError,
    SanitizerError,
    available,
    build,
    run,
)

__all__ = [
    "CompileError",
    "DispatchError",
    "EmulatorError",
    "SanitizerError",
    "available",
    "build",
    "frechet",
    "matrix_exp",
    "plans",
    "run",
]

SOURCE = ROOT / "metal" / "matrix_exp.metal"
PLAN_PROBE = ROOT / "tests" / "metal" / "plan_probe.metal"
INCLUDE = ROOT / "metal"
MAX_N_FUSED = 32  # matrix_exp_params.h: kMaxPadded
MAX_N = 128  # kMaxPaddedTiled: the tiled kernel above MAX_N_FUSED
MAX_N_FRECHET_FUSED = 24  # kMaxPaddedFrechet
MAX_N_FRECHET = 128  # kMaxPaddedTiled: the tiled Frechet kernel above

_NAMES = {np.dtype(np.float32): "float32", np.dtype(np.float16): "float16"}


def _to_bfloat16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits, round to nearest even (NaN kept NaN)."""
    bits = x.astype(np.float32).view(np.uint32)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    rounded = np.where(np.isnan(x), 0x7FC0, rounded)
    return rounded.astype(np.uint16)


def _from_bfloat16_bits(b: np.ndarray) -> np.ndarray:
    return (b.astype(np.uint32) << 16).view(np.float32)


def _memory_and_strides(view: np.ndarray):
    """The memory a (count, n, n) view reads, as a contiguous 1-D array that
    starts at the view's first element, and the view's strides in elements:
    the kernel then reads the view in place, as it reads a strided mx.array."""
    root = view
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not root.flags.c_contiguous or any(s < 0 for s in view.strides):
        view = np.ascontiguousarray(view)
        root = view
    start = view.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    memory = root.reshape(-1).view(view.dtype)[start // view.itemsize :]
    return memory, [s // view.itemsize for s in view.strides]


def plan(
    dtype: str, n: int, count: int, strides, max_threads: int = 1024, frechet: bool = False
) -> dict:
    from mlx_expm_ext import _ext

    return _ext._fused_plan(dtype, n, count, *strides, max_threads, frechet=frechet)


def _kernel_input(flat: np.ndarray, bfloat16: bool):
    """(dtype name, data) the kernel reads for a (count, n, n) array."""
    if bfloat16:
        return "bfloat16", _to_bfloat16_bits(flat.astype(np.float32))
    if flat.dtype in _NAMES:
        return _NAMES[flat.dtype], flat
    raise ValueError(f"expected float32 or float16, got {flat.dtype}")


def _launch(matrices, frechet, bfloat16, max_threads, **run_options) -> np.ndarray:
    """Runs the kernel eval_gpu launches on `matrices` ([a], or [a, e] for
    L(A, E); (..., n, n) arrays of one shape and dtype, each read in place
    with its own strides), through the same planner; the result like a."""
    a = matrices[0]
    n = a.shape[-1]
    flats = [m.reshape(-1, n, n) for m in matrices]
    count = flats[0].shape[0]
    if count == 0:
        return np.empty_like(a)
    inputs = [_kernel_input(flat, bfloat16) for flat in flats]
    name, data = inputs[0]
    layouts = [_memory_and_strides(d) for _, d in inputs]
    p = plan(name, n, count, layouts[0][1], max_threads, frechet=frechet)
    buffers = {1: np.zeros((count, n, n), data.dtype)}
    # buffer indices of matrix_exp_params.h: A and its layout, E and its
    for (memory, strides), (buffer, params) in zip(layouts, [(0, 2), (3, 4)]):
        buffers[buffer] = memory
        buffers[params] = struct.pack("<5q", n, count, *strides)
    if p["slots_bytes"]:
        buffers[5] = np.zeros(p["slots_bytes"] // 4, np.float32)
    out = run(
        SOURCE,
        p["kernel"],
        buffers,
        {0: p["scratch_bytes"]},
        groups=(p["groups"], 1, 1),
        threads=(p["threads_per_group"], 1, 1),
        include_dirs=[INCLUDE],
        **run_options,
    )[1]
    result = _from_bfloat16_bits(out) if bfloat16 else out
    return result.reshape(a.shape)


def matrix_exp(
    a: np.ndarray,
    *,
    bfloat16: bool = False,
    max_threads: int = 1024,
    compiler: str = "clang",
    sanitizer: str | None = None,
    schedule: str = "forward",
    seed: int = 0,
) -> np.ndarray:
    """exp of each matrix of a (..., n, n) float32 or float16 array, n <= 128,
    computed on the emulator by the kernel eval_gpu launches: the fused one
    (n <= 32) or the tiled one.

    bfloat16: run the bfloat16 kernel on a float32 input rounded to bfloat16;
        the result comes back as float32 holding bfloat16 values.
    max_threads: the pipeline's maxTotalThreadsPerThreadgroup the planner is
        given (smaller values give fewer matrices per threadgroup).
    compiler, sanitizer, schedule, seed: see metal_emulator.run.
    """
    a = np.asarray(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2] or not 1 <= a.shape[-1] <= MAX_N:
        raise ValueError(f"expected (..., n, n) with 1 <= n <= {MAX_N}, got shape {a.shape}")
    return _launch(
        [a],
        frechet=False,
        bfloat16=bfloat16,
        max_threads=max_threads,
        compiler=compiler,
        sanitizer=sanitizer,
        schedule=schedule,
        seed=seed,
    )


def frechet(
    a: np.ndarray,
    e: np.ndarray,
    *,
    bfloat16: bool = False,
    max_threads: int = 1024,
    compiler: str = "clang",
    sanitizer: str | None = None,
    schedule: str = "forward",
    seed: int = 0,
) -> np.ndarray:
    """L(A, E) of each pair of matrices of a and e ((..., n, n), the same
    shape and dtype, n <= 128), computed on the emulator by the kernel
    eval_gpu launches (the fused Frechet kernel to n = 24, the tiled one
    above), each read in place with its own strides. Arguments as for
    matrix_exp."""
    a, e = np.asarray(a), np.asarray(e)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2] or not 1 <= a.shape[-1] <= MAX_N_FRECHET:
        raise ValueError(
            f"expected (..., n, n) with 1 <= n <= {MAX_N_FRECHET}, got shape {a.shape}"
        )
    if e.shape != a.shape or e.dtype != a.dtype:
        raise ValueError(f"expected e like a {a.shape} {a.dtype}, got {e.shape} {e.dtype}")
    return _launch(
        [a, e],
        frechet=True,
        bfloat16=bfloat16,
        max_threads=max_threads,
        compiler=compiler,
        sanitizer=sanitizer,
        schedule=schedule,
        seed=seed,
    )


def plans(a: np.ndarray) -> list[tuple[int, int]]:
    """(degree, squarings) the fused kernel's scheme takes for each float32
    matrix of a (..., n, n), 2 <= n <= 32: tests/metal/plan_probe.metal, the
    kernel's own device functions up to the plan, on the emulator."""
    flat = np.ascontiguousarray(np.asarray(a, dtype=np.float32)).reshape(
        -1, a.shape[-1], a.shape[-1]
    )
    count, n = flat.shape[0], flat.shape[-1]
    if not 2 <= n <= MAX_N_FUSED:
        raise ValueError(f"expected 2 <= n <= {MAX_N_FUSED}, got {n}")
    padded = -(-n // 8) * 8
    params = struct.pack("<5q", n, count, n * n, n, 1)
    out = run(
        PLAN_PROBE,
        f"matrix_exp_plan_probe_{padded}",
        {0: flat.reshape(-1), 1: np.zeros(2 * count, np.int32), 2: params},
        {0: 7 * padded * padded * 4},
        groups=(count, 1, 1),
        threads=(32, 1, 1),
        include_dirs=[INCLUDE],
    )[1]
    return [tuple(int(v) for v in p) for p in out.reshape(count, 2)]
