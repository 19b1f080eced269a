"""The emulator's own tests: tools/ on sys.path, markers, and skips where the
emulator (or clang++-19) cannot run."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
import mtlemu  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "tsan: needs the ThreadSanitizer build (clang); skipped if it cannot run here"
    )
    config.addinivalue_line("markers", "asan: needs the AddressSanitizer build (clang)")
    config.addinivalue_line("markers", "clang: needs clang++-19")


def pytest_collection_modifyitems(config, items):
    # Off Linux nothing runs; without clang++-19 only the g++ tests do.
    for item in items:
        reason = mtlemu.available("gcc" if "gcc" in item.nodeid else "clang")
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
