"""Every call of the op under test, in every test and benchmark, says on which
device it runs (stream=...): on a Mac MLX's default device is the GPU, where
a call meant for the CPU would test another path or refuse float64."""

import ast
import pathlib

import pytest

pytestmark = pytest.mark.device("any")

ROOT = pathlib.Path(__file__).parents[1]
OPS = {"matrix_exp", "frechet"}
# A call whose device is named another way says so in a comment on its last
# line: "# device: <how>".
EXEMPT = "# device: "


def calls_without_a_device(path):
    source = path.read_text()
    lines = source.splitlines()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        owner = func.value if isinstance(func, ast.Attribute) else None
        if name not in OPS or (isinstance(owner, ast.Attribute) and owner.attr == "linalg"):
            continue  # torch.linalg.matrix_exp is a peer, not ours
        if isinstance(owner, ast.Name) and owner.id == "seed":
            continue  # the pure-MLX baseline of the benchmark
        if any(k.arg in ("stream", None) for k in node.keywords):
            continue  # stream=..., or **kwargs that carry it
        if EXEMPT in lines[node.end_lineno - 1]:
            continue
        yield f"{path.relative_to(ROOT)}:{node.lineno}"


def test_every_call_names_its_device():
    files = sorted(ROOT.glob("tests/**/*.py")) + sorted(ROOT.glob("bench/*.py"))
    assert len(files) > 20
    missing = [where for path in files for where in calls_without_a_device(path)]
    assert not missing, missing
