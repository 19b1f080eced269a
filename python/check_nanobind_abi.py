"""Fails the build when the freshly built extension would not share nanobind's
type registry with mlx.core (run by CMake after linking _ext).

    python check_nanobind_abi.py BUILD_DIR

nanobind keeps one registry per ABI tag and domain, under the key
"__nb_internals_<tag>_<domain>__" of the interpreter's state dictionary. An
extension whose nanobind ABI differs from mlx.core's (another nanobind
release, a stable-ABI build, another domain) creates a registry of its own,
and every mx.array argument is then rejected with "incompatible function
arguments". This imports mlx.core, then the extension, and checks that no
registry was added."""

import ctypes
import sys

from build_support import preload_libraries


def registries():
    api = ctypes.pythonapi
    api.PyInterpreterState_Get.restype = ctypes.c_void_p
    api.PyInterpreterState_GetDict.restype = ctypes.c_void_p  # borrowed reference
    api.PyInterpreterState_GetDict.argtypes = [ctypes.c_void_p]
    state = ctypes.cast(
        api.PyInterpreterState_GetDict(api.PyInterpreterState_Get()), ctypes.py_object
    ).value
    return {k for k in state if isinstance(k, str) and k.startswith("__nb_internals")}


def main(build_dir):
    import mlx.core

    preload_libraries()
    mlx_registries = registries()
    sys.path.insert(0, build_dir)
    import _ext  # noqa: F401

    added = registries() - mlx_registries
    if added:
        sys.exit(
            "nanobind ABI mismatch: mlx.core " + mlx.core.__version__ + " uses the registry "
            f"{sorted(mlx_registries)}, the extension created {sorted(added)}. Build with "
            "the nanobind release mlx was built with (pyproject.toml pins it), without "
            "STABLE_ABI, with NB_DOMAIN mlx."
        )
    print(f"nanobind ABI shared with mlx.core: {sorted(mlx_registries)}")


if __name__ == "__main__":
    main(sys.argv[1])
