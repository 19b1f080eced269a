"""Running a Python snippet in a fresh interpreter: for what a test must not do
to its own process (fork it, limit its memory, set an environment variable
read once), with a timeout so that a hang is a failure, not a stuck run."""

import os
import subprocess
import sys
import textwrap


def run_python(code, *, env=None, timeout=120):
    """Runs `code` (dedented) with this interpreter; returns the
    CompletedProcess (text output). A hang raises subprocess.TimeoutExpired."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def check_python(code, **kwargs):
    """run_python, asserting success; returns stdout."""
    result = run_python(code, **kwargs)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
