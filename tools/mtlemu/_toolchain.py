"""Compilers, flags and the build cache.

A build configuration is a compiler ("clang" or "gcc") and a sanitizer
(None, "thread" or "address"). For one .metal file it produces a shared
library holding the kernels (compiled from the rewritten source with the
shim force-included), the runtime (runtime/*.cpp) and any extra C++ sources;
sanitizer builds also get a runner executable (runtime/runner.cpp), because a
sanitizer's runtime must be part of the executable.

clang builds also run the address-space check: the same source, compiled
-fsyntax-only in SYCL device mode with the address spaces on (see
shim/config.h).

Everything lands in $MTLEMU_BUILD_DIR (default: ~/.cache/mtlemu, or under
$XDG_CACHE_HOME), outside the source tree, named by a hash of what
went into it: compiler and its version, flags, source text. An object also
records the hashes of the headers it included (from the compiler's depfile)
and is rebuilt when one changes.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import hashlib
import json
import os
import subprocess
import tempfile

from ._errors import CompileError

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM = os.path.join(HERE, "msl_shim.h")
RUNTIME_SOURCES = [
    os.path.join(HERE, "runtime", f) for f in ("fiber.cpp", "worker.cpp", "rt.cpp", "dispatch.cpp")
]
RUNNER_SOURCE = os.path.join(HERE, "runtime", "runner.cpp")
BUILD_DIR = os.environ.get("MTLEMU_BUILD_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "mtlemu"
)

COMPILERS = {
    "clang": os.environ.get("MTLEMU_CLANG", "clang++-19"),
    "gcc": os.environ.get("MTLEMU_GCC", "g++"),
}
SANITIZERS = {
    None: [],
    "thread": ["-fsanitize=thread"],
    "address": ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"],
}


def own_sources() -> list[str]:
    """The emulator's C++ files (shim and runtime)."""
    out = [SHIM]
    for sub in ("shim", "runtime"):
        d = os.path.join(HERE, sub)
        out += sorted(os.path.join(d, f) for f in os.listdir(d))
    return out


@functools.lru_cache(maxsize=None)
def compiler_identity(cxx: str) -> str:
    try:
        out = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise CompileError(
            f"[mtlemu] compiler {cxx!r} is not usable",
            f"{e}\n(clang: `apt-get install clang-19`; or set MTLEMU_CLANG / MTLEMU_GCC)",
        ) from None
    return out.splitlines()[0] if out else cxx


@dataclasses.dataclass(frozen=True)
class Toolchain:
    compiler: str = "clang"
    sanitizer: str | None = None

    def __post_init__(self):
        if self.compiler not in COMPILERS:
            raise ValueError(
                f"[mtlemu] compiler must be one of {sorted(COMPILERS)}, got {self.compiler!r}"
            )
        if self.sanitizer not in SANITIZERS:
            raise ValueError(
                f"[mtlemu] sanitizer must be None, 'thread' or 'address', got {self.sanitizer!r}"
            )
        if self.sanitizer == "thread" and self.compiler != "clang":
            raise ValueError("[mtlemu] the ThreadSanitizer build needs compiler='clang'")

    @property
    def cxx(self) -> str:
        return COMPILERS[self.compiler]

    @property
    def identity(self) -> str:
        return compiler_identity(self.cxx)

    @property
    def clang(self) -> bool:
        return self.compiler == "clang"

    def _base(self) -> list[str]:
        flags = ["-std=c++20", "-fPIC", "-pthread"]
        if self.sanitizer:
            flags += ["-O1", "-g", "-fno-omit-frame-pointer"]
        else:
            flags += ["-O2"]
        return flags

    def _kernel_diagnostics(self) -> list[str]:
        # -Werror=double-promotion: an unsuffixed literal (x * 0.5) makes a
        # float expression double, which Metal does not have.
        flags = ["-Wdouble-promotion", "-Werror=double-promotion"]
        if self.clang:
            flags += ["-Werror=unknown-attributes", "-Wno-duplicate-decl-specifier"]
            # MSL 3.x is C++14 (specification, section 1.5): any construct of
            # a later standard (if constexpr, inline variables, fold
            # expressions, nested namespace definitions, ...) is an error.
            flags += [
                f"-Werror=pre-c++{v}-compat{p}" for v in (17, 20, 23) for p in ("", "-pedantic")
            ]
        else:
            flags += ["-Werror=attributes"]
        return flags

    def kernel_flags(self) -> list[str]:
        flags = (
            self._base() + self._kernel_diagnostics() + ["-fvisibility=hidden", "-include", SHIM]
        )
        if self.clang:
            # Metal rounds every half operation; clang would keep float in between.
            flags += ["-Xclang", "-ffloat16-excess-precision=none"]
        return flags + SANITIZERS[self.sanitizer]

    def check_flags(self) -> list[str] | None:
        """The address-space check (clang only)."""
        if not self.clang:
            return None
        return (
            [
                "-std=c++20",
                "-fsyntax-only",
                "-Xclang",
                "-fsycl-is-device",
                "-DMTLEMU_ADDRESS_SPACES",
            ]
            + self._kernel_diagnostics()
            + ["-include", SHIM]
        )

    def runtime_flags(self) -> list[str]:
        flags = self._base() + ["-fvisibility=hidden", "-Wall", "-Wextra"]
        if self.sanitizer == "thread":
            # The runtime itself is not instrumented: its bookkeeping between
            # fibers is not the kernel's memory traffic. It tells TSan about
            # the switches and barriers instead.
            flags += ["-DMTLEMU_TSAN=1"]
        elif self.sanitizer == "address":
            flags += ["-DMTLEMU_ASAN=1"] + SANITIZERS["address"]
        return flags

    def extra_flags(self, include_dirs, defines, flags) -> list[str]:
        return (
            self._base()
            + ["-I" + d for d in include_dirs]
            + ["-D" + d for d in defines]
            + list(flags)
            + SANITIZERS[self.sanitizer]
        )

    def link_flags(self) -> list[str]:
        return ["-shared", "-pthread"] + SANITIZERS[self.sanitizer]

    def runner_flags(self) -> list[str]:
        return self._base() + ["-pthread", "-ldl"] + SANITIZERS[self.sanitizer]


# ---- the cache ---------------------------------------------------------------


def _hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hash_file(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return _hash_bytes(f.read())
    except OSError:
        return None


def _key(*parts) -> str:
    return _hash_bytes(json.dumps(parts, sort_keys=True, default=str).encode())[:24]


def _dir(*sub) -> str:
    d = os.path.join(BUILD_DIR, *sub)
    os.makedirs(d, exist_ok=True)
    return d


def _deps_valid(meta_path: str) -> bool:
    try:
        with open(meta_path) as f:
            deps = json.load(f)["deps"]
    except (OSError, ValueError, KeyError):
        return False
    return all(_hash_file(p) == h for p, h in deps.items())


def _write_meta(meta_path: str, depfile: str | None):
    from ._source import read_depfile

    deps = {}
    if depfile and os.path.exists(depfile):
        deps = {p: _hash_file(p) for p in read_depfile(depfile)}
    tmp = meta_path + f".{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump({"deps": deps}, f)
    os.replace(tmp, meta_path)


def _run(cmd: list[str], what: str):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CompileError(f"[mtlemu] {what} failed", proc.stderr + proc.stdout, cmd)


def compile_object(tc: Toolchain, source: str, flags: list[str], what: str) -> str:
    """Compiles `source` to an object, or reuses a cached one."""
    key = _key("object", tc.identity, flags, source, _hash_file(source))
    obj = os.path.join(_dir("obj"), key + ".o")
    meta = obj + ".json"
    if os.path.exists(obj) and _deps_valid(meta):
        return obj
    fd, tmp = tempfile.mkstemp(suffix=".o", dir=_dir("obj"))
    os.close(fd)
    depfile = tmp + ".d"
    try:
        _run([tc.cxx] + flags + ["-MD", "-MF", depfile, "-c", source, "-o", tmp], what)
        _write_meta(meta, depfile)
        os.replace(tmp, obj)
    finally:
        for p in (tmp, depfile):
            if os.path.exists(p):
                os.remove(p)
    return obj


def check_address_spaces(tc: Toolchain, source: str):
    flags = tc.check_flags()
    if flags is None:
        return
    key = _key("check", tc.identity, flags, source, _hash_file(source))
    marker = os.path.join(_dir("check"), key + ".ok")
    if os.path.exists(marker) and _deps_valid(marker):
        return
    depfile = marker + f".{os.getpid()}.d"
    try:
        _run(
            [tc.cxx] + flags + ["-MD", "-MF", depfile, "-x", "c++", source],
            "the address-space check",
        )
        _write_meta(marker, depfile)
    finally:
        if os.path.exists(depfile):
            os.remove(depfile)


def link(tc: Toolchain, objects: list[str], name: str, extra_ldflags=()) -> str:
    flags = tc.link_flags() + list(extra_ldflags)
    key = _key("link", tc.identity, flags, [_hash_file(o) for o in objects])
    lib = os.path.join(_dir("lib"), f"{name}-{key}.so")
    if not os.path.exists(lib):
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=_dir("lib"))
        os.close(fd)
        try:
            _run([tc.cxx] + objects + flags + ["-o", tmp], "linking")
            os.replace(tmp, lib)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    return lib


def runner(tc: Toolchain) -> str:
    """The runner executable for this configuration."""
    flags = tc.runner_flags()
    key = _key(
        "runner",
        tc.identity,
        flags,
        _hash_file(RUNNER_SOURCE),
        _hash_file(os.path.join(HERE, "runtime", "c_api.h")),
    )
    exe = os.path.join(_dir("bin"), f"runner-{key}")
    if not os.path.exists(exe):
        fd, tmp = tempfile.mkstemp(dir=_dir("bin"))
        os.close(fd)
        try:
            _run([tc.cxx, RUNNER_SOURCE] + flags + ["-o", tmp], "building the runner")
            os.chmod(tmp, 0o755)
            os.replace(tmp, exe)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    return exe


def write_source(text: str, name: str) -> str:
    """Stores the rewritten kernel source under a name given by its content."""
    path = os.path.join(
        _dir("src"), f"{name}-{_hash_bytes(text.encode('utf-8', 'surrogateescape'))[:24]}.cpp"
    )
    if not os.path.exists(path):
        tmp = path + f".{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
        os.replace(tmp, path)
    return path


def build(
    tc: Toolchain,
    kernel_source: str,
    name: str,
    extra_sources=(),
    extra_include_dirs=(),
    extra_defines=(),
    extra_flags=(),
    extra_ldflags=(),
    need_runner: bool = False,
) -> tuple[str, str | None]:
    """Builds the library (and runner) for a rewritten kernel source; returns
    their paths. Independent steps run in parallel."""
    extra = tc.extra_flags(extra_include_dirs, extra_defines, extra_flags)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        check = pool.submit(check_address_spaces, tc, kernel_source)
        kernel = pool.submit(
            compile_object,
            tc,
            kernel_source,
            tc.kernel_flags() + ["-x", "c++"],
            "compiling the kernels",
        )
        runtime = [
            pool.submit(compile_object, tc, s, tc.runtime_flags(), "compiling the runtime")
            for s in RUNTIME_SOURCES
        ]
        extras = [
            pool.submit(compile_object, tc, os.path.abspath(s), extra, f"compiling {s}")
            for s in extra_sources
        ]
        exe = pool.submit(runner, tc) if need_runner else None
        # The address-space check reports first: its diagnostics are a superset.
        check.result()
        objects = [kernel.result()] + [f.result() for f in runtime] + [f.result() for f in extras]
        runner_path = exe.result() if exe else None
    return link(tc, objects, name, extra_ldflags), runner_path
