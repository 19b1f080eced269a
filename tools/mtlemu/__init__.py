"""Compile an unchanged .metal file as C++20 and run its kernels on the CPU,
emulating the GPU closely enough to catch real bugs (README.md has the
design and the list of what is and is not caught).

    import mtlemu as me                  # with tools/ on sys.path

    out = me.run("metal/matrix_exp.metal", "matrix_exp_float32",
                 buffers={0: a, 1: np.empty_like(a), 2: params_bytes},
                 threadgroup_memory={0: 4096},
                 groups=(batch, 1, 1), threads=(32, 1, 1),
                 include_dirs=["metal"])
    result = out[1]

`run` builds on first use (and whenever an input file changes) into a
cache directory (_toolchain.BUILD_DIR), then dispatches like Metal's dispatchThreadgroups. `build` returns
the Library: `Library.run(kernel, buffers, ...)` dispatches without the
build arguments, and `Library.cdll` exposes the extern "C" functions of
extra C++ sources compiled into the same library.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading

from . import _toolchain
from ._errors import CompileError, DispatchError, EmulatorError, SanitizerError
from ._library import Buffers, Library

__all__ = [
    "available",
    "build",
    "run",
    "Library",
    "Buffers",
    "EmulatorError",
    "CompileError",
    "DispatchError",
    "SanitizerError",
]


def available(compiler: str = "clang") -> str | None:
    """None if kernels can be built and run here with `compiler`, else why
    not. The runtime is Linux's (ucontext fibers, real-time signals); clang
    means clang++-19 ($MTLEMU_CLANG)."""
    if not sys.platform.startswith("linux"):
        return f"the Metal emulator runs on Linux only (this is {sys.platform})"
    if not shutil.which(_toolchain.COMPILERS[compiler]):
        return f"{_toolchain.COMPILERS[compiler]} is not installed (apt-get install clang-19)"
    return None


_cache: dict = {}
_lock = threading.Lock()


def _mtimes(paths) -> tuple:
    out = []
    for p in paths:
        try:
            st = os.stat(p)
            out.append((p, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((p, None, None))
    return tuple(out)


def build(
    metal_source_path,
    *,
    compiler: str = "clang",
    sanitizer: str | None = None,
    include_dirs=(),
    defines=(),
    extra_sources=(),
    extra_include_dirs=(),
    extra_defines=(),
    extra_flags=(),
    extra_ldflags=(),
) -> Library:
    """Builds (or reuses) the kernel library of a .metal file.

    compiler: "clang" (clang++-19: the strict build, with the address-space
        check) or "gcc" (g++: a second, weaker check).
    sanitizer: None, "thread" (ThreadSanitizer: a missing barrier is a data
        race) or "address" (AddressSanitizer + UBSan); sanitizer builds run
        each dispatch in a runner process.
    include_dirs, defines: header search path and macros ("NAME" or
        "NAME=VALUE") for the .metal file.
    extra_sources: C++ files compiled into the same library (with
        extra_include_dirs, extra_defines, extra_flags; linked with
        extra_ldflags); their extern "C" functions are reachable through
        Library.cdll.
    """
    from . import _source, _toolchain

    path = os.path.abspath(os.fspath(metal_source_path))
    tc = _toolchain.Toolchain(compiler, sanitizer)
    key = (
        path,
        tc,
        tuple(map(os.path.abspath, map(os.fspath, include_dirs))),
        tuple(defines),
        tuple(os.path.abspath(os.fspath(s)) for s in extra_sources),
        tuple(map(os.path.abspath, map(os.fspath, extra_include_dirs))),
        tuple(extra_defines),
        tuple(extra_flags),
        tuple(extra_ldflags),
    )
    with _lock:
        hit = _cache.get(key)
        if hit and _mtimes(p for p, _, _ in hit[1]) == hit[1]:
            return hit[0]

        with tempfile.TemporaryDirectory(prefix="mtlemu-pp-") as work:
            source = _source.preprocess(tc.cxx, path, key[2], key[3], work)
        _check_address_space_keywords(source)
        name = os.path.splitext(os.path.basename(path))[0]
        kernel_source = _toolchain.write_source(source.text, name)
        lib_path, runner = _toolchain.build(
            tc,
            kernel_source,
            name,
            extra_sources=key[4],
            extra_include_dirs=key[5],
            extra_defines=key[6],
            extra_flags=key[7],
            extra_ldflags=key[8],
            need_runner=bool(sanitizer),
        )
        library = Library(lib_path, runner, source, tc)
        # Seen again in this process, the library is reused while none of
        # these files changed (the build cache on disk checks more).
        watched = list(source.deps) + list(key[4]) + _toolchain.own_sources()
        _cache[key] = (library, _mtimes(watched))
        return library


def _address_space_problem(p) -> str | None:
    words = p.type_text.replace("*", " ").replace("&", " ").split()
    if p.kind == "buffer" and "device" not in words and "constant" not in words:
        return (
            f"[[buffer({p.slot})]] parameter '{p.name}' must be declared in the device or constant "
            f"address space (got '{p.type_text}')"
        )
    if p.kind == "tg" and "threadgroup" not in words:
        return (
            f"[[threadgroup({p.slot})]] parameter '{p.name}' must be declared in the threadgroup "
            f"address space (got '{p.type_text}')"
        )
    return None


def _check_address_space_keywords(source):
    """A kernel's buffers must name their address space; Metal rejects a
    `float* p [[buffer(0)]]`. (The clang address-space check would catch it
    too, at the instantiation; this names the parameter's own line, and works
    for g++.)"""
    errors = []
    for k in source.kernels:
        for p in k.params:
            msg = _address_space_problem(p)
            if msg:
                errors.append(f"{p.file}:{p.line}: error: {msg}")
    if errors:
        raise CompileError(
            "[mtlemu] kernel parameters without an address space", "\n".join(sorted(set(errors)))
        )


def run(
    metal_source_path,
    kernel_name: str,
    buffers: dict,
    threadgroup_memory: dict | None = None,
    groups=(1, 1, 1),
    threads=(32, 1, 1),
    *,
    compiler: str = "clang",
    sanitizer: str | None = None,
    include_dirs=(),
    defines=(),
    extra_sources=(),
    extra_include_dirs=(),
    extra_defines=(),
    extra_flags=(),
    extra_ldflags=(),
    schedule: str = "forward",
    seed: int = 0,
    workers: int = 0,
    timeout: float | None = 60.0,
    isolate: bool = False,
    stack_size: int = 0,
) -> Buffers:
    """Runs kernel `kernel_name` (its host_name) of a .metal file over a grid,
    like dispatchThreadgroups, and returns the buffers afterwards.

    buffers: {index: numpy array or bytes}, bound by [[buffer(index)]]; the
        arrays are copied, the copies are what the kernel sees and returns.
    threadgroup_memory: {index: length in bytes} for [[threadgroup(index)]]
        parameters (a multiple of 16, 32 KiB in all, as in Metal).
    groups: threadgroups per grid; threads: threads per threadgroup (1-3 ints).
    schedule: the order in which waiting threads resume ("forward",
        "reverse" or "shuffled" with `seed`); a result that depends on it
        reveals a race.
    workers: OS threads running threadgroups in parallel (0: one per core).
    timeout: seconds before a dispatch is stopped (a kernel that loops
        forever); None for no limit.
    isolate: run in a separate process (always so for sanitizer builds).
    Other arguments: see build().
    """
    library = build(
        metal_source_path,
        compiler=compiler,
        sanitizer=sanitizer,
        include_dirs=include_dirs,
        defines=defines,
        extra_sources=extra_sources,
        extra_include_dirs=extra_include_dirs,
        extra_defines=extra_defines,
        extra_flags=extra_flags,
        extra_ldflags=extra_ldflags,
    )
    return library.run(
        kernel_name,
        buffers,
        threadgroup_memory,
        groups,
        threads,
        schedule=schedule,
        seed=seed,
        workers=workers,
        timeout=timeout,
        isolate=isolate,
        stack_size=stack_size,
    )
