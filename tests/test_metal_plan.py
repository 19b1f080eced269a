"""The launch planner of the fused Metal kernel (csrc/metal/plan.cpp), compiled
on every platform: limits, grid coverage, and agreement with the .metal file."""

import itertools
import pathlib
import re

import pytest

from mlx_expm_ext import _ext

pytestmark = pytest.mark.device("cpu")

ROOT = pathlib.Path(__file__).parents[1]
METAL = (ROOT / "metal" / "matrix_exp.metal").read_text()
PARAMS = (ROOT / "metal" / "matrix_exp_params.h").read_text()
DTYPES = ["float32", "float16", "bfloat16"]


def instantiated_kernels():
    """host_names the .metal file instantiates, macros expanded by hand."""
    sizes = re.findall(r"instantiate_matrix_exp_fused\(tname, type, (\d+)\)", METAL)
    types = re.findall(r"^instantiate_matrix_exp_fused_sizes\((\w+), \w+\)", METAL, re.M)
    prefix = re.search(r'host_name\("(\w+)" #tname "_" #padded\)', METAL).group(1)
    return {f"{prefix}{t}_{p}" for t in types for p in sizes}


def plan(dtype, n, count, max_threads=1024):
    return _ext._fused_plan(dtype, n, count, n * n, n, 1, max_threads)


def test_every_plan_is_within_the_limits_and_covers_the_batch():
    """Every dtype, n, batch size and pipeline limit the planner can meet: one
    loop, arithmetic checked in milliseconds."""
    for dtype, n, count, max_threads in itertools.product(
        DTYPES, range(1, 33), [1, 2, 7, 8, 9, 1000], [32, 256, 1024]
    ):
        p = plan(dtype, n, count, max_threads)
        case = (dtype, n, count, max_threads, p)
        assert p["padded"] % 8 == 0 and n <= p["padded"] < n + 8, case
        assert p["threads_per_group"] == 32 * p["matrices_per_group"] <= max_threads, case
        assert p["scratch_bytes"] == p["matrices_per_group"] * 7 * p["padded"] ** 2 * 4, case
        assert p["scratch_bytes"] <= 32 * 1024, case
        assert p["groups"] * p["matrices_per_group"] >= count, case
        assert (p["groups"] - 1) * p["matrices_per_group"] < count, case  # no idle threadgroup
        assert p["matrices_per_group"] <= count, case


def test_every_planned_kernel_is_instantiated():
    names = {plan(dtype, n, 5)["kernel"] for dtype in DTYPES for n in range(1, 33)}
    assert names == instantiated_kernels()


def test_supported_sizes_and_dtypes():
    assert all(_ext._fused_supported(d, n) for d in DTYPES for n in range(1, 33))
    assert not _ext._fused_supported("float32", 33)
    assert not _ext._fused_supported("complex64", 4)
    assert not _ext._fused_supported("float64", 4)
    with pytest.raises(ValueError):
        plan("float32", 33, 1)


def test_buffer_indices_agree_with_the_params_header():
    """The .metal attributes are literals; matrix_exp_params.h names them for
    the host. They must agree."""
    header = {name: int(value) for name, value in re.findall(r"int k(\w+) = (\d+);", PARAMS)}
    kernel = re.search(r"void matrix_exp_fused\((.*?)\) \{", METAL, re.S).group(1)
    assert f"in [[buffer({header['InputBuffer']})]]" in kernel
    assert f"out [[buffer({header['OutputBuffer']})]]" in kernel
    assert f"params [[buffer({header['ParamsBuffer']})]]" in kernel
    assert f"scratch [[threadgroup({header['ScratchMemory']})]]" in kernel
