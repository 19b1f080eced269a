"""The launch planner of the Metal kernels (csrc/metal/plan.cpp), compiled on
every platform: limits, grid coverage, and agreement with the .metal file,
for exp(A) (the fused kernel to n = 32, the tiled one to 128) and for the
Frechet kernel."""

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


# kernel: (largest n, floats per matrix slot as a multiple of P x P)
KERNELS = {"matrix_exp_fused": (32, 1), "matrix_exp_frechet_fused": (24, 2)}
TILED = range(33, 129)


def instantiated_kernels(kernel):
    """host_names the .metal file instantiates for `kernel`, macros expanded
    by hand."""
    sizes = re.findall(rf"instantiate_{kernel}\(tname, type, (\d+)\)", METAL)
    types = re.findall(rf"^instantiate_{kernel}_sizes\((\w+), \w+\)", METAL, re.M)
    assert re.search(rf'host_name\("{kernel}_" #tname "_" #padded\)', METAL)
    return {f"{kernel}_{t}_{p}" for t in types for p in sizes}


def plan(dtype, n, count, max_threads=1024, frechet=False):
    return _ext._fused_plan(dtype, n, count, n * n, n, 1, max_threads, frechet=frechet)


@pytest.mark.parametrize("kernel", KERNELS)
def test_every_plan_is_within_the_limits_and_covers_the_batch(kernel):
    """Every dtype, n, batch size and pipeline limit the planner can meet: one
    loop, arithmetic checked in milliseconds."""
    largest, parts = KERNELS[kernel]
    frechet = kernel == "matrix_exp_frechet_fused"
    for dtype, n, count, max_threads in itertools.product(
        DTYPES, range(1, largest + 1), [1, 2, 7, 8, 9, 1000], [32, 256, 1024]
    ):
        p = plan(dtype, n, count, max_threads, frechet)
        case = (dtype, n, count, max_threads, p)
        assert p["kernel"].startswith(kernel + "_"), case
        assert p["padded"] % 8 == 0 and n <= p["padded"] < n + 8, case
        assert p["threads_per_group"] == 32 * p["matrices_per_group"] <= max_threads, case
        assert p["scratch_bytes"] == p["matrices_per_group"] * parts * 7 * p["padded"] ** 2 * 4, (
            case
        )
        assert p["scratch_bytes"] <= 32 * 1024, case
        assert p["groups"] * p["matrices_per_group"] >= count, case
        assert (p["groups"] - 1) * p["matrices_per_group"] < count, case  # no idle threadgroup
        assert p["matrices_per_group"] <= count, case


@pytest.mark.parametrize("frechet", [False, True])
def test_every_tiled_plan_is_within_the_limits_and_covers_the_batch(frechet):
    """One threadgroup per matrix at a time, at most 256 threadgroups (each
    with its own slots in device memory, dual for L), every simdgroup full."""
    kernel = "matrix_exp_frechet_tiled" if frechet else "matrix_exp_tiled"
    parts = 2 if frechet else 1
    sizes = range(25, 129) if frechet else TILED
    for dtype, n, count, max_threads in itertools.product(
        DTYPES, sizes, [1, 2, 255, 256, 257, 1000], [32, 96, 256, 1024]
    ):
        p = plan(dtype, n, count, max_threads, frechet)
        case = (dtype, n, count, max_threads, p)
        assert p["kernel"] == f"{kernel}_{dtype}", case
        assert p["padded"] % 8 == 0 and n <= p["padded"] < n + 8, case
        assert p["matrices_per_group"] == 1, case
        assert p["threads_per_group"] % 32 == 0, case
        assert 32 <= p["threads_per_group"] <= min(max_threads, 256), case
        assert p["groups"] == min(count, 256), case
        assert p["scratch_bytes"] == (32 + 2 * p["padded"]) * 4, case
        assert p["slots_bytes"] == p["groups"] * parts * 7 * p["padded"] ** 2 * 4, case


@pytest.mark.parametrize("kernel", ["matrix_exp_tiled", "matrix_exp_frechet_tiled"])
def test_the_tiled_kernels_are_instantiated(kernel):
    frechet = kernel == "matrix_exp_frechet_tiled"
    names = {plan(dtype, n, 5, frechet=frechet)["kernel"] for dtype in DTYPES for n in TILED}
    types = re.findall(rf"^instantiate_{kernel}\((\w+), \w+\)", METAL, re.M)
    assert re.search(rf'host_name\("{kernel}_" #tname\)', METAL)
    assert names == {f"{kernel}_{t}" for t in types}


@pytest.mark.parametrize("kernel", KERNELS)
def test_every_planned_kernel_is_instantiated(kernel):
    largest, _ = KERNELS[kernel]
    frechet = kernel == "matrix_exp_frechet_fused"
    names = {
        plan(dtype, n, 5, frechet=frechet)["kernel"]
        for dtype in DTYPES
        for n in range(1, largest + 1)
    }  # the fused kernels' sizes
    assert names == instantiated_kernels(kernel)


@pytest.mark.parametrize("kernel", KERNELS)
def test_supported_sizes_and_dtypes(kernel):
    frechet = kernel == "matrix_exp_frechet_fused"
    largest = TILED[-1]  # the tiled kernels take over from the fused ones
    assert all(_ext._fused_supported(d, n) for d in DTYPES for n in range(1, largest + 1))
    assert not _ext._fused_supported("float32", largest + 1)
    assert not _ext._fused_supported("complex64", 4)
    assert not _ext._fused_supported("float64", 4)
    with pytest.raises(ValueError):
        plan("float32", largest + 1, 1, frechet=frechet)


def test_buffer_indices_agree_with_the_params_header():
    """The .metal attributes are literals; matrix_exp_params.h names them for
    the host. They must agree."""
    header = {name: int(value) for name, value in re.findall(r"int k(\w+) = (\d+);", PARAMS)}
    kernel = re.search(r"void matrix_exp_fused\((.*?)\) \{", METAL, re.S).group(1)
    assert f"in [[buffer({header['InputBuffer']})]]" in kernel
    assert f"out [[buffer({header['OutputBuffer']})]]" in kernel
    assert f"params [[buffer({header['ParamsBuffer']})]]" in kernel
    assert f"scratch [[threadgroup({header['ScratchMemory']})]]" in kernel
    frechet = re.search(r"void matrix_exp_frechet_fused\((.*?)\) \{", METAL, re.S).group(1)
    for name, index in [
        ("in [[buffer", "InputBuffer"),
        ("out [[buffer", "OutputBuffer"),
        ("params [[buffer", "ParamsBuffer"),
        ("direction [[buffer", "DirectionBuffer"),
        ("direction_params [[buffer", "DirectionParamsBuffer"),
    ]:
        assert f"{name}({header[index]})]]" in frechet, name
    assert f"scratch [[threadgroup({header['ScratchMemory']})]]" in frechet
    for kernel in ("matrix_exp_tiled", "matrix_exp_frechet_tiled"):
        tiled = re.search(rf"void {kernel}\((.*?)\) \{{", METAL, re.S).group(1)
        buffers = [
            ("in [[buffer", "InputBuffer"),
            ("out [[buffer", "OutputBuffer"),
            ("params [[buffer", "ParamsBuffer"),
            ("slots [[buffer", "SlotsBuffer"),
        ]
        if kernel == "matrix_exp_frechet_tiled":
            buffers += [
                ("direction [[buffer", "DirectionBuffer"),
                ("direction_params [[buffer", "DirectionParamsBuffer"),
            ]
        for name, index in buffers:
            assert f"{name}({header[index]})]]" in tiled, (kernel, name)
        assert f"shared [[threadgroup({header['ScratchMemory']})]]" in tiled
