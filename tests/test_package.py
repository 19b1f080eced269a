"""The package: its pinned MLX version and its typing files."""

import ctypes
import pathlib
import subprocess
import sys

import mlx.core as mx
import pytest

import mlx_expm_ext
from mlx_expm_ext import _build_config

pytestmark = pytest.mark.device("any")


def test_built_for_the_running_mlx():
    assert _build_config.MLX_VERSION == mx.__version__


def test_version_mismatch_raises_import_error_with_the_fix():
    with pytest.raises(ImportError) as info:
        mlx_expm_ext._check_mlx_version("0.32.3", "0.32.4")
    message = str(info.value)
    assert "0.32.3" in message and "0.32.4" in message
    assert "pip install 'mlx==0.32.4'" in message and "rebuild" in message


def test_ships_stubs_and_py_typed():
    root = pathlib.Path(mlx_expm_ext.__file__).parent
    assert (root / "py.typed").exists()
    stub = (root / "_ext.pyi").read_text()
    assert "def matrix_exp(a: mlx.core.array, /, *," in stub
    assert "def frechet(a: mlx.core.array, e: mlx.core.array, /, *," in stub


ROOT = pathlib.Path(__file__).parents[1]


def test_mlx_pins_agree_with_each_other_and_the_build():
    """pyproject.toml is the one place that sets the mlx version: every pin in
    it (build requirement, dependency, extras) is the version the extension
    was built against."""
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    requirements = (
        project["build-system"]["requires"]
        + project["project"]["dependencies"]
        + sum(project["project"]["optional-dependencies"].values(), [])
    )
    pins = {
        r.split("==")[1].split(";")[0].strip()
        for r in requirements
        if r.startswith("mlx==") or r.startswith("mlx[")
    }
    assert pins == {_build_config.MLX_VERSION}


def registries():
    api = ctypes.pythonapi
    api.PyInterpreterState_Get.restype = ctypes.c_void_p
    api.PyInterpreterState_GetDict.restype = ctypes.c_void_p
    api.PyInterpreterState_GetDict.argtypes = [ctypes.c_void_p]
    state = ctypes.cast(
        api.PyInterpreterState_GetDict(api.PyInterpreterState_Get()), ctypes.py_object
    ).value
    return {k for k in state if isinstance(k, str) and k.startswith("__nb_internals")}


def test_shares_nanobind_registry_with_mlx():
    """One nanobind registry of the domain mlx in the process: mlx.core's,
    which _ext joined (an _ext of another nanobind ABI would add a second
    one). Other nanobind packages have registries of their own domains."""
    assert mlx_expm_ext.matrix_exp(mx.eye(2), stream=mx.cpu).shape == (2, 2)
    assert len([name for name in registries() if name.endswith("_mlx__")]) == 1


FAKE_EXT = """
import ctypes
import os
api = ctypes.pythonapi
api.PyInterpreterState_Get.restype = ctypes.c_void_p
api.PyInterpreterState_GetDict.restype = ctypes.c_void_p
api.PyInterpreterState_GetDict.argtypes = [ctypes.c_void_p]
state = ctypes.cast(api.PyInterpreterState_GetDict(api.PyInterpreterState_Get()), ctypes.py_object).value
{action}
"""


@pytest.mark.parametrize("mismatch", [False, True])
def test_build_check_catches_a_nanobind_abi_mismatch(tmp_path, mismatch):
    """python/check_nanobind_abi.py, run by CMake after linking, against a
    stand-in _ext that does or does not create a registry of its own."""
    action = "state['__nb_internals_v22_stable_mlx__'] = 1" if mismatch else "pass"
    (tmp_path / "_ext.py").write_text(FAKE_EXT.format(action=action))
    result = subprocess.run(
        [sys.executable, str(ROOT / "python" / "check_nanobind_abi.py"), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    if mismatch:
        assert result.returncode != 0
        assert "nanobind ABI mismatch" in result.stderr and "_v22_stable_mlx__" in result.stderr
    else:
        assert result.returncode == 0, result.stderr


TYPED_EXAMPLE = """
import mlx.core as mx
from mlx_expm_ext import frechet, matrix_exp

def rotation(theta: float) -> mx.array:
    a = mx.array([[0.0, -theta], [theta, 0.0]])
    return matrix_exp(a, stream=mx.cpu)

def sensitivity(a: mx.array, e: mx.array) -> mx.array:
    x, l = frechet(a, e, stream=mx.cpu)
    return x + l
"""

BAD_EXAMPLE = """
import mlx.core as mx
from mlx_expm_ext import frechet, matrix_exp

matrix_exp([[1.0]])
x: mx.array = frechet(mx.eye(2), mx.eye(2))
"""


def test_stubs_type_check(tmp_path):
    """mypy accepts typed use of the shipped stubs and rejects a list argument."""
    pytest.importorskip("mypy")
    for name, text, ok in (("good.py", TYPED_EXAMPLE, True), ("bad.py", BAD_EXAMPLE, False)):
        (tmp_path / name).write_text(text)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mypy",
                "--no-incremental",
                "--ignore-missing-imports",
                "--cache-dir",
                str(tmp_path / ".mypy_cache"),
                str(tmp_path / name),
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert (result.returncode == 0) == ok, result.stdout + result.stderr
        if not ok:
            assert "matrix_exp" in result.stdout and "list" in result.stdout
            assert "tuple[array, array]" in result.stdout, result.stdout
