"""The emulator's exceptions."""

from __future__ import annotations


class EmulatorError(RuntimeError):
    """Base class of the emulator's errors."""


class CompileError(EmulatorError):
    """The .metal file (or an extra source) did not compile; `output` holds the
    compiler's diagnostics, which name the original file and line."""

    def __init__(self, summary: str, output: str = "", command=None):
        self.summary = summary
        self.output = output
        self.command = command
        super().__init__(f"{summary}\n{output}".rstrip())


class DispatchError(EmulatorError):
    """The dispatch was refused (limits, missing kernel or buffer) or the
    kernel misbehaved at run time (divergent barrier, timeout, ...)."""


class SanitizerError(DispatchError):
    """A sanitizer (ThreadSanitizer, AddressSanitizer, UBSan) reported a bug;
    `report` holds its output."""

    def __init__(self, summary: str, report: str):
        self.report = report
        super().__init__(f"{summary}\n{report}".rstrip())
