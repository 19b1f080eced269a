"""On the GPU (Apple silicon, MLX's Metal backend): the Metal kernels (exp and
its derivative for n <= 128) and the CPU kernels beyond, against the CPU
primitive on the shared samples and against the 60-digit references. Skipped where MLX's GPU
does not compute (gpu_problem: no Metal backend, as on Linux, or a GPU that
fails a tiny product); the macOS workflow runs them (.github/workflows/macos.yml).
mx.metal.is_available() alone proves nothing: it is true in every Metal build,
also on the paravirtual GPUs of hosted macOS runners."""

import os

import mlx.core as mx
import numpy as np
import pytest

from accuracy import case, case_names, error, to_mlx, to_numpy, tolerance
from mlx_expm_ext import _ext, frechet, matrix_exp
from samples import MIXED_NORMS, random_matrices, samples


def gpu_problem():
    """None if MLX's GPU computes here, else why not: a Metal backend, and a
    product of two 8 x 8 integer matrices (exact in float32) that comes back
    right."""
    if not mx.metal.is_available():
        return "needs MLX's Metal backend"
    x = np.arange(64, dtype=np.float32).reshape(8, 8) % 7
    try:
        y = np.array(mx.matmul(mx.array(x), mx.array(x), stream=mx.gpu))
    except Exception as error:  # noqa: BLE001 (the reason to skip)
        return f"MLX's GPU does not run here: {error}"
    if not np.array_equal(y, x @ x):
        return "MLX's GPU computes a wrong 8 x 8 product here"
    return None


pytestmark = [
    pytest.mark.device("gpu"),
    pytest.mark.skipif(bool(gpu_problem()), reason=str(gpu_problem())),
]

GPU_DTYPES = (mx.float32, mx.complex64, mx.float16, mx.bfloat16)
NAMES = {
    mx.float32: "float32",
    mx.complex64: "complex64",
    mx.float16: "float16",
    mx.bfloat16: "bfloat16",
}


def gpu(x):
    return matrix_exp(x, stream=mx.gpu)


def cpu(x):
    return matrix_exp(x, stream=mx.cpu)


@pytest.mark.parametrize("sample,dtype", samples(GPU_DTYPES), ids=str)
def test_gpu_matches_cpu_on_the_samples(sample, dtype):
    x = sample(dtype)
    out = gpu(x)
    assert out.shape == x.shape and out.dtype == dtype
    if x.size == 0:
        return
    ours, theirs = to_numpy(out), to_numpy(cpu(x))
    n = x.shape[-1]
    norms = np.abs(to_numpy(x)).reshape(-1, n, n).sum(-2).max(-1)
    err = np.abs(ours - theirs).reshape(-1, n, n).sum(-2).max(-1) / np.abs(theirs).reshape(
        -1, n, n
    ).sum(-2).max(-1)
    # Both within the dtype's tolerance of the exact result (kappa <~ ||A||_1).
    bound = [2 * tolerance(NAMES[dtype], max(norm, 1.0), n) for norm in norms]
    assert np.all(err <= bound)


@pytest.mark.parametrize("dtype", ["float32", "complex64", "float16", "bfloat16"])
def test_gpu_against_reference(dtype):
    for name in case_names(dtype):
        a, hi, lo, kappa = case(name, dtype)
        if dtype == "float16" and np.abs(hi).max() >= np.finfo(np.float16).max:
            continue
        out = gpu(to_mlx(a, dtype))
        assert error(out, hi, lo) <= tolerance(dtype, kappa, a.shape[0]), name


@pytest.mark.parametrize("n", [1, 4, 8, 9, 16, 17, 32, 33, 64])
def test_mixed_norms_and_nan_on_the_gpu(n):
    x = random_matrices((len(MIXED_NORMS), n, n), np.minimum(MIXED_NORMS, 40.0), mx.float32, n)
    a = np.array(x)
    a[2, 0, n - 1] = np.nan
    out = np.array(gpu(mx.array(a)))
    assert np.isnan(out[2]).all()
    keep = [i for i in range(len(a)) if i != 2]
    assert np.isfinite(out[keep]).all()


def test_fused_kernel_runs_where_required():
    """Where the GPU is an Apple7 family or later (M1 on), the fused kernel
    runs; the self-hosted Apple-silicon job sets MLX_EXPM_REQUIRE_FUSED_KERNEL=1
    so that it cannot pass on the CPU kernels alone (hosted runners'
    paravirtual GPUs take them, correctly)."""
    runs = _ext._fused_kernel_runs_here()
    print(f"fused kernel runs here: {runs}; {mx.metal.device_info()}")
    if os.environ.get("MLX_EXPM_REQUIRE_FUSED_KERNEL") == "1":
        assert runs


def test_float64_is_refused_on_the_gpu():
    with pytest.raises(ValueError, match="float64 is not supported on the GPU"):
        gpu(mx.eye(3, dtype=mx.float64))


@pytest.mark.parametrize("n", [4, 20, 40])
def test_transforms_on_the_gpu(n):
    x = random_matrices((3, n, n), 2.0, mx.float32, 7)
    g = random_matrices((3, n, n), 1.0, mx.float32, 8)
    assert np.allclose(np.array(mx.compile(gpu)(x)), np.array(gpu(x)), rtol=1e-6, atol=1e-6)
    assert np.allclose(np.array(mx.vmap(gpu)(x)), np.array(gpu(x)), rtol=1e-6, atol=1e-6)
    _, (ours,) = mx.vjp(gpu, [x], [g])
    _, (theirs,) = mx.vjp(cpu, [x], [g])
    assert np.allclose(np.array(ours), np.array(theirs), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n", [1, 3, 16, 24, 25, 40, 128, 129])
def test_frechet_on_the_gpu(n):
    """Both results against the CPU's: L from the fused Frechet kernel while
    n <= 24, the tiled one to n = 128, else from the CPU kernels."""
    a = random_matrices((3, n, n), 2.0, mx.float32, 9)
    e = random_matrices((3, n, n), 1.0, mx.float32, 10)
    ours = frechet(a, e, stream=mx.gpu)
    theirs = frechet(a, e, stream=mx.cpu)
    for x, y in zip(ours, theirs):
        x, y = np.array(x), np.array(y)
        err = np.abs(x - y).sum(-2).max(-1) / np.abs(y).sum(-2).max(-1)
        assert np.all(err <= 2 * tolerance("float32", 4.0, 2 * n))


def _every_transform(x, g, stream):
    """exp, jvp, vjp, compiled grad and vmap of matrix_exp on `stream`, and
    frechet's L."""

    def f(y):
        return matrix_exp(y, stream=stream)

    def loss(y):
        return (f(y) * mx.stop_gradient(g)).sum().real

    return [
        f(x),
        mx.jvp(f, [x], [g])[1][0],
        mx.vjp(f, [x], [g])[1][0],
        mx.compile(mx.grad(loss))(x),
        mx.vmap(f)(x),
        frechet(x, g, stream=stream)[1],
    ]


ON_THE_GPU = [(mx.float32, n) for n in (3, 24, 25, 32, 33, 64, 128)] + [
    (mx.complex64, n) for n in (3, 12, 64)
]
BEYOND = [(mx.float32, 129), (mx.complex64, 65)]


@pytest.mark.skipif(not _ext._fused_kernel_runs_here(), reason="this GPU does not run our kernels")
@pytest.mark.parametrize("dtype,n", ON_THE_GPU, ids=str)
def test_routing_within_the_limits_every_transform_runs_on_the_gpu(dtype, n):
    """The routing, observed: each output differs from the CPU kernels' in
    its last bits (another machine's arithmetic computed it) while agreeing
    to the tolerance; a silent CPU fallback would give the CPU's bits."""
    x = random_matrices((2, n, n), 2.0, dtype, n)
    g = random_matrices((2, n, n), 1.0, dtype, n + 1)
    gpu_out, cpu_out = _every_transform(x, g, mx.gpu), _every_transform(x, g, mx.cpu)
    for i, (ours, theirs) in enumerate(zip(gpu_out, cpu_out)):
        assert not mx.array_equal(ours, theirs).item(), i
        ours, theirs = np.array(ours), np.array(theirs)
        err = np.abs(ours - theirs).sum(-2).max(-1) / np.abs(theirs).sum(-2).max(-1)
        assert np.all(err <= 2 * tolerance(NAMES[dtype], 4.0, 2 * n)), (i, err)


@pytest.mark.parametrize("dtype,n", BEYOND, ids=str)
def test_routing_beyond_the_limits_the_cpu_kernels_compute(dtype, n):
    """Past the GPU kernels' limits the CPU kernels run, in the same graph:
    the CPU's bits exactly."""
    x = random_matrices((1, n, n), 2.0, dtype, n)
    g = random_matrices((1, n, n), 1.0, dtype, n + 1)
    for ours, theirs in zip(_every_transform(x, g, mx.gpu), _every_transform(x, g, mx.cpu)):
        assert mx.array_equal(ours, theirs).item()
