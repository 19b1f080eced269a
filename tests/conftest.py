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
    parser.addoption("--stress-seconds", type=float,
                     default=float(os.environ.get("STRESS_SECONDS", "10")),
                     help="how long each timed test of tests/stress runs (default 10, or "
                          "$STRESS_SECONDS)")
    parser.addoption("--default-device", choices=("cpu", "gpu"), default="cpu",
                     help="MLX's default device while each test runs (default cpu). Every "
                          "call of the op under test names its stream, so the suite must "
                          "pass with gpu too, where MLX has a GPU backend (the macOS "
                          "workflow runs both)")


def pytest_configure(config):
    config.addinivalue_line("markers", "tsan: runs a ThreadSanitizer build of the Metal emulator")
    config.addinivalue_line("markers", "stress: the stress suite (tests/stress)")
    if config.getoption("--default-device") == "gpu" and not mx.is_available(mx.gpu):
        raise pytest.UsageError("--default-device=gpu: this MLX has no GPU backend")


@pytest.fixture(autouse=True)
def default_device(request):
    """Each test runs with the default device the suite chooses, never the one
    MLX would pick (the GPU on every Mac, the CPU on Linux)."""
    previous = mx.default_device()
    mx.set_default_device(getattr(mx, request.config.getoption("--default-device")))
    yield
    mx.set_default_device(previous)
