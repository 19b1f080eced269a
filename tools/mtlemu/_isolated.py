"""Running a dispatch in a runner process (runtime/runner.cpp): always for
sanitizer builds, on request (isolate=True) otherwise, so that a crash or a
kernel that never ends cannot take the caller down."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile

import numpy as np

from ._errors import DispatchError, SanitizerError
from ._library import SCHEDULES

SANITIZER_OPTIONS = {
    # Stop at the first report; exit code 66 marks a report.
    "TSAN_OPTIONS": "halt_on_error=1:exitcode=66:report_signal_unsafe=0",
    "ASAN_OPTIONS": "detect_leaks=0:halt_on_error=1:exitcode=66",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:exitcode=66",
}
# A report about the kernel (not a sanitizer that failed to start: "FATAL").
_SANITIZER_REPORT = re.compile(
    r"(WARNING: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:)"
)


def run_isolated(library, d, guarded: dict) -> dict:
    runner = library.runner
    if runner is None:
        from . import _toolchain

        runner = library.runner = _toolchain.runner(library.toolchain)
    with tempfile.TemporaryDirectory(prefix="mtlemu-") as tmp:
        lines = [
            f"library {library.path}",
            f"kernel {d.kernel}",
            "groups {} {} {}".format(*d.groups),
            "threads {} {} {}".format(*d.threads),
            f"schedule {SCHEDULES[d.schedule]}",
            f"seed {d.seed}",
            f"workers {d.workers}",
            f"timeout {d.timeout or 0}",
            f"stack {d.stack_size or (1 << 20)}",
        ]
        paths = {}
        for i, g in guarded.items():
            paths[i] = os.path.join(tmp, f"buffer{i}.bin")
            with open(paths[i], "wb") as f:
                f.write(g.data().tobytes())
            lines.append(f"buffer {i} {g.nbytes} {paths[i]}")
        for i, n in sorted(d.threadgroup_memory.items()):
            lines.append(f"tg {i} {n}")
        request = os.path.join(tmp, "request.txt")
        with open(request, "w") as f:
            f.write("\n".join(lines) + "\n")

        env = dict(os.environ)
        for k, v in SANITIZER_OPTIONS.items():
            env.setdefault(k, v)
        # A backstop beyond the runtime's own watchdog (which a sanitizer may
        # delay): the process is killed.
        limit = (d.timeout or 0) * 2 + 120 if d.timeout else None
        try:
            proc = subprocess.run(
                [runner, request], capture_output=True, text=True, env=env, timeout=limit
            )
        except subprocess.TimeoutExpired:
            raise DispatchError(
                f"[dispatch] {d.kernel}: the runner process did not finish within {limit:.0f} s"
            ) from None

        for i, g in guarded.items():
            with open(paths[i], "rb") as f:
                data = f.read()
            if len(data) == g.nbytes:
                g.data()[:] = np.frombuffer(data, dtype=np.uint8)

    stats = {}
    m = re.search(r"^stats (\d+) (\d+) (\d+)", proc.stdout, re.MULTILINE)
    if m:
        stats = {
            "switches": int(m.group(1)),
            "tg_barriers": int(m.group(2)),
            "simd_ops": int(m.group(3)),
        }
    if proc.returncode == 0:
        return stats
    if _SANITIZER_REPORT.search(proc.stderr):
        name = library.toolchain.sanitizer or "sanitizer"
        raise SanitizerError(
            f"[dispatch] {d.kernel}: the {name} sanitizer reported a bug", proc.stderr
        )
    m = re.search(r"mtlemu-error: (.*)", proc.stderr, re.DOTALL)
    if proc.returncode == 3 and m:
        raise DispatchError(m.group(1).strip())
    raise DispatchError(
        f"[dispatch] {d.kernel}: the runner failed (exit status {proc.returncode})\n{proc.stderr}"
    )
