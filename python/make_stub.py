"""Writes the type stub of the freshly built extension (run by CMake).

    python make_stub.py BUILD_DIR OUTPUT.pyi

The build tree's _ext finds libmlx and libscipy_openblas only through its
install rpath (../mlx/lib), so both are loaded here first."""

import ctypes
import os
import runpy
import sys

import mlx.core  # noqa: F401  (loads libmlx)

try:
    import scipy_openblas32
except ImportError:  # macOS: Accelerate
    pass
else:
    ctypes.CDLL(os.path.join(scipy_openblas32.get_lib_dir(), "libscipy_openblas.so"),
                mode=ctypes.RTLD_GLOBAL)

build_dir, output = sys.argv[1:]
sys.argv = ["stubgen", "-q", "-i", build_dir, "-m", "_ext", "-o", output]
runpy.run_module("nanobind.stubgen", run_name="__main__")
