"""The examples in README.md and in the docstring run and say what they claim."""

import doctest
import pathlib
import re

import mlx.core as mx
import pytest

import mlx_expm_ext

pytestmark = pytest.mark.device("any")

README = pathlib.Path(__file__).parents[1] / "README.md"


def test_readme_example_runs():
    block = re.search(r"## Example\n\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    namespace = {}
    exec(block, namespace)
    r = namespace["rotations"]
    assert r.shape == (3, 2, 2)
    eye = mx.broadcast_to(mx.eye(2), (3, 2, 2))
    assert mx.allclose(mx.swapaxes(r, -1, -2) @ r, eye, atol=1e-6).item()


@pytest.mark.parametrize("name", mlx_expm_ext.__all__)
def test_docstring_example(name):
    finder = doctest.DocTestFinder()
    tests = finder.find(getattr(mlx_expm_ext, name), name, globs={})
    assert tests and tests[0].examples
    runner = doctest.DocTestRunner()
    for test in tests:
        runner.run(test)
    assert runner.failures == 0
