import os
import sys

import hypothesis

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


def pytest_configure(config):
    config.addinivalue_line("markers", "tsan: runs a ThreadSanitizer build of the Metal emulator")
    config.addinivalue_line("markers", "stress: the stress suite (tests/stress)")
