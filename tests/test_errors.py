"""Bad input raises an exception that names the problem."""

import re

import mlx.core as mx
import numpy as np
import pytest

from mlx_expm_ext import matrix_exp

pytestmark = pytest.mark.device("any")


@pytest.mark.parametrize("shape", [(), (3,), (0,)])
def test_fewer_than_two_dimensions(shape):
    with pytest.raises(ValueError, match="at least 2 dimensions.*got shape " + re.escape(str(shape))):
        matrix_exp(mx.zeros(shape), stream=mx.cpu)


@pytest.mark.parametrize("shape", [(2, 3), (4, 3, 5), (1, 0)])
def test_non_square(shape):
    with pytest.raises(ValueError, match="square matrices in the last two axes, got shape " + re.escape(str(shape))):
        matrix_exp(mx.zeros(shape), stream=mx.cpu)


@pytest.mark.parametrize("value", [np.eye(2), [[1.0, 0.0], [0.0, 1.0]], 3.0])
def test_not_an_mlx_array(value):
    with pytest.raises(TypeError, match="mlx.core.array"):
        matrix_exp(value, stream=mx.cpu)


# nanobind's message: the accepted signature, then what was passed.
SIGNATURE = r"incompatible function arguments(?s:.*)\*, stream: mlx.core.Stream"


def test_bad_stream_argument():
    with pytest.raises(TypeError, match=SIGNATURE + r"(?s:.*)Invoked with types: mlx.core.array, kwargs = \{ stream: str \}"):
        matrix_exp(mx.eye(2), stream="cpu")


def test_stream_is_keyword_only():
    with pytest.raises(TypeError, match=SIGNATURE + r"(?s:.*)Invoked with types: mlx.core.array, mlx.core.DeviceType"):
        matrix_exp(mx.eye(2), mx.cpu)  # device: positional, refused


@pytest.mark.skipif(mx.is_available(mx.gpu), reason="this MLX has a GPU backend")
def test_gpu_stream_without_gpu_backend():
    with pytest.raises(ValueError, match="gpu"):
        matrix_exp(mx.eye(2), stream=mx.gpu)


@pytest.mark.skipif(not mx.is_available(mx.gpu), reason="needs a GPU backend of MLX")
def test_float64_on_the_gpu():
    with pytest.raises(ValueError, match="float64 is not supported on the GPU"):
        matrix_exp(mx.eye(2, dtype=mx.float64), stream=mx.gpu)


def test_stream_usable_after_an_error():
    with pytest.raises(ValueError):
        matrix_exp(mx.zeros((2, 3)), stream=mx.cpu)
    assert mx.allclose(matrix_exp(mx.zeros((2, 2)), stream=mx.cpu), mx.eye(2)).item()
