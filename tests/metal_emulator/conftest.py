"""Markers and skips for the emulator's tests."""

import shutil

import pytest

from metal_emulator import _toolchain


def pytest_configure(config):
    config.addinivalue_line("markers", "tsan: needs the ThreadSanitizer build (clang); skipped if it cannot run here")
    config.addinivalue_line("markers", "asan: needs the AddressSanitizer build (clang)")
    config.addinivalue_line("markers", "clang: needs clang++-19")


def pytest_collection_modifyitems(config, items):
    # Without clang (apt-get install clang-19) only the g++ tests can run.
    if shutil.which(_toolchain.COMPILERS["clang"]):
        return
    skip = pytest.mark.skip(reason=f"{_toolchain.COMPILERS['clang']} is not installed (apt-get install clang-19)")
    for item in items:
        if item.fspath.dirname == __file__.rsplit("/", 1)[0] and "gcc" not in item.nodeid:
            item.add_marker(skip)
