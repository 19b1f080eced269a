"""Helpers for the scripts CMake runs on the freshly built extension
(make_stub.py, check_nanobind_abi.py)."""

import ctypes
import os


def preload_libraries():
    """Loads libmlx and (on Linux) libscipy_openblas, which the build tree's _ext
    finds only through its install rpath (../mlx/lib, ../scipy_openblas32/lib)."""
    import mlx.core  # noqa: F401

    try:
        import scipy_openblas32
    except ImportError:  # macOS: Accelerate
        return
    ctypes.CDLL(
        os.path.join(scipy_openblas32.get_lib_dir(), "libscipy_openblas.so"),
        mode=ctypes.RTLD_GLOBAL,
    )
