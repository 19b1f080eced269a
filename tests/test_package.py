"""The package: its pinned MLX version and its typing files."""

import pathlib

import mlx.core as mx
import pytest

import mlx_expm_ext
from mlx_expm_ext import _build_config


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
