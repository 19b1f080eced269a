import os
import sys

import hypothesis
import mlx.core as mx
import pytest

# Make tests/ importable as a folder of helper modules (cases, reference, ...).
sys.path.insert(0, os.path.dirname(__file__))

# Derandomized by default so that CI is reproducible; HYPOTHESIS_PROFILE=explore
# searches with fresh random examples.
hypothesis.settings.register_profile("default", deadline=None, max_examples=60, derandomize=True)
hypothesis.settings.register_profile("explore", deadline=None, max_examples=1000)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_addoption(parser):
    parser.addoption(
        "--stress-seconds",
        type=float,
        default=float(os.environ.get("STRESS_SECONDS", "10")),
        help="how long each timed test of tests/stress runs (default 10, or $STRESS_SECONDS)",
    )
    parser.addoption(
        "--default-device",
        choices=("mlx", "cpu", "gpu"),
        default="mlx",
        help="MLX's default device for the tests marked device('any') "
        "(default: MLX's own, the GPU on a Mac)",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "tsan: runs a ThreadSanitizer build of the Metal emulator")
    config.addinivalue_line("markers", "stress: the stress suite (tests/stress)")
    config.addinivalue_line(
        "markers",
        "device(name): the device a test means: 'cpu', 'gpu', or "
        "'any' (it must pass on whichever is MLX's default)",
    )
    if config.getoption("--default-device") == "gpu" and not mx.is_available(mx.gpu):
        raise pytest.UsageError("--default-device=gpu: this MLX has no GPU backend")


def pytest_collection_modifyitems(items):
    """Every test says which device it means: on a Mac MLX's default device
    is the GPU, where a test written for the CPU would test another path, or
    fail on float64."""
    for item in items:
        marker = item.get_closest_marker("device")
        if marker is None or marker.args[0] not in ("cpu", "gpu", "any"):
            raise pytest.UsageError(f"{item.nodeid}: mark it pytest.mark.device('cpu'|'gpu'|'any')")


@pytest.fixture(autouse=True)
def default_device(request):
    """MLX's default device while the test runs: the one it names; for 'any',
    --default-device (MLX's own by default). A GPU test without a GPU skips
    on its own (tests/test_gpu.py), so the default stays then."""
    name = request.node.get_closest_marker("device").args[0]
    if name == "any":
        name = request.config.getoption("--default-device")
    previous = mx.default_device()
    if name in ("cpu", "gpu") and mx.is_available(getattr(mx, name)):
        mx.set_default_device(getattr(mx, name))
    yield
    mx.set_default_device(previous)
