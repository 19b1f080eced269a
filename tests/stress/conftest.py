"""The stress suite: concurrency, randomised inputs and memory over many
calls. `python -m pytest` runs it briefly (STRESS_SECONDS per test, about a
minute in all on 2 cores); `python -m pytest tests/stress --stress-seconds
600` searches for longer."""

import pytest


@pytest.fixture
def stress_seconds(request):
    return request.config.getoption("--stress-seconds")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/stress/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.stress)
