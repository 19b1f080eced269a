"""Bad input raises an exception that names the problem."""

import mlx.core as mx
import pytest

from mlx_expm_ext import matrix_exp
from samples import BAD_INPUTS, TRANSFORMS

pytestmark = pytest.mark.device("any")


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=str)
def test_bad_input_is_refused_with_a_message_that_names_it(bad):
    with pytest.raises(bad.error, match=bad.message(bad.shape)):
        matrix_exp(bad.value(), stream=mx.cpu)


@pytest.mark.parametrize("transform", TRANSFORMS, ids=str)
@pytest.mark.parametrize("bad", [b for b in BAD_INPUTS if b.shape is not None], ids=str)
def test_bad_input_is_refused_under_every_transform(bad, transform):
    """The same error; under vmap the op sees (and names) one item's shape."""
    shape = bad.shape[1:] if transform.name == "vmap" and len(bad.shape) >= 3 else bad.shape
    with pytest.raises(bad.error, match=bad.message(shape)):
        transform.run(bad.value())


# nanobind's message: the accepted signature, then what was passed.
SIGNATURE = r"incompatible function arguments(?s:.*)\*, stream: mlx.core.Stream"


def test_bad_stream_argument():
    with pytest.raises(
        TypeError,
        match=SIGNATURE + r"(?s:.*)Invoked with types: mlx.core.array, kwargs = \{ stream: str \}",
    ):
        matrix_exp(mx.eye(2), stream="cpu")


def test_stream_is_keyword_only():
    with pytest.raises(
        TypeError,
        match=SIGNATURE + r"(?s:.*)Invoked with types: mlx.core.array, mlx.core.DeviceType",
    ):
        matrix_exp(mx.eye(2), mx.cpu)  # device: positional, refused


@pytest.mark.skipif(mx.is_available(mx.gpu), reason="this MLX has a GPU backend")
def test_gpu_stream_without_gpu_backend():
    with pytest.raises(ValueError, match=r"Cannot get gpu stream without gpu backend"):
        matrix_exp(mx.eye(2), stream=mx.gpu)


@pytest.mark.skipif(not mx.is_available(mx.gpu), reason="needs a GPU backend of MLX")
def test_float64_on_the_gpu():
    with pytest.raises(ValueError, match="float64 is not supported on the GPU"):
        matrix_exp(mx.eye(2, dtype=mx.float64), stream=mx.gpu)


def test_stream_usable_after_an_error():
    with pytest.raises(ValueError):
        matrix_exp(mx.zeros((2, 3)), stream=mx.cpu)
    assert mx.allclose(matrix_exp(mx.zeros((2, 2)), stream=mx.cpu), mx.eye(2)).item()
