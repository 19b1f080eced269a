"""complex64 on the GPU goes through the real kernels: exp and L of the real
embedding [[Re Z, -Im Z], [Im Z, Re Z]] (csrc/block_matrix.h), n <= 16 for exp
and n <= 12 for L (the fused kernels' 2n limits). Checked here on the CPU:
the op's own embedding code (the _matrix_exp*_by_embedding hooks) against
the 60-digit complex references and through every transform; and the fused
kernels' arithmetic on embeddings through the Metal emulator."""

import mlx.core as mx
import numpy as np
import pytest

import metal_emulator
from accuracy import case, case_names, references, to_mlx, to_numpy, tolerance
from metal_emulator import frechet as emulated_frechet
from metal_emulator import matrix_exp as emulated
from mlx_expm_ext import _ext, matrix_exp
from reference import relative_error
from samples import random_matrices

pytestmark = pytest.mark.device("cpu")

CASES = case_names("complex64")
FRECHET = sorted(
    k.split("/")[1] for k in references() if k.startswith("frechet/") and k.endswith("/complex64/e")
)


def by_embedding(z):
    return _ext._matrix_exp_by_embedding(z, stream=mx.cpu)


def embed(z):
    re, im = z.real, z.imag
    return np.block([[re, -im], [im, re]]).astype(np.float32)


def unembed(x):
    n = x.shape[-1] // 2
    return x[..., :n, :n].astype(np.complex128) + 1j * x[..., n:, :n]


@pytest.mark.parametrize("name", CASES)
def test_exp_against_the_references(name):
    a, hi, lo, kappa = case(name, "complex64")
    out = by_embedding(to_mlx(a, "complex64"))
    assert out.dtype == mx.complex64
    assert relative_error(to_numpy(out), hi, lo) <= tolerance("complex64", kappa, a.shape[0])


@pytest.mark.parametrize("name", FRECHET)
def test_frechet_against_the_references(name):
    refs = references()
    key = f"frechet/{name}/complex64"
    a, e = refs[f"{key}/a"], refs[f"{key}/e"]
    out = _ext._matrix_exp_frechet_by_embedding(
        to_mlx(a, "complex64"), to_mlx(e, "complex64"), stream=mx.cpu
    )
    err = relative_error(to_numpy(out), refs[f"{key}/jvp_hi"], refs[f"{key}/jvp_lo"])
    assert err <= tolerance("complex64", float(refs[f"{name}/cond"]), 2 * a.shape[0])


def _loss(f):
    def loss(z):
        w = mx.stop_gradient(mx.sin(z, stream=mx.cpu))
        return (f(z) * w).sum().real

    return loss


@pytest.mark.parametrize("n", [1, 3, 8, 16])
def test_derivatives_through_the_embedding_match_the_complex_kernels(n):
    """grad, vjp and jvp of the embedded path (MLX differentiates the
    embedding's ops, the primitives the real kernels) against those of the
    complex CPU kernels: both within the complex64 tolerance of L."""
    z = random_matrices((3, n, n), 2.0, mx.complex64, n)
    g = random_matrices((3, n, n), 1.0, mx.complex64, n + 1)

    def cpu(x):
        return matrix_exp(x, stream=mx.cpu)

    pairs = [
        (mx.grad(_loss(by_embedding))(z), mx.grad(_loss(cpu))(z)),
        (mx.vjp(by_embedding, [z], [g])[1][0], mx.vjp(cpu, [z], [g])[1][0]),
        (mx.jvp(by_embedding, [z], [g])[1][0], mx.jvp(cpu, [z], [g])[1][0]),
    ]
    for ours, theirs in pairs:
        assert ours.dtype == mx.complex64
        ours, theirs = np.array(ours), np.array(theirs)
        err = np.abs(ours - theirs).sum(-2).max(-1) / np.abs(theirs).sum(-2).max(-1)
        assert np.all(err <= 2 * tolerance("complex64", 4.0, 2 * n)), err


def test_vmap_and_compile_give_the_same_bits():
    z = random_matrices((4, 5, 5), 3.0, mx.complex64, 20)
    eager = by_embedding(z)
    assert mx.array_equal(mx.vmap(by_embedding)(z), eager).item()
    assert mx.array_equal(mx.compile(by_embedding)(z), eager).item()


@pytest.mark.skipif(bool(metal_emulator.available()), reason=str(metal_emulator.available()))
@pytest.mark.parametrize("name", [c for c in CASES if case(c, "complex64")[0].shape[0] <= 16])
def test_the_fused_kernel_on_embeddings_against_the_references(name):
    """What the GPU computes for complex64: the float32 fused kernel on the
    2n x 2n embedding (emulated)."""
    a, hi, lo, kappa = case(name, "complex64")
    out = unembed(emulated(embed(a)[None])[0])
    assert relative_error(out, hi, lo) <= tolerance("complex64", kappa, a.shape[0])


@pytest.mark.skipif(bool(metal_emulator.available()), reason=str(metal_emulator.available()))
@pytest.mark.parametrize("name", FRECHET)
def test_the_fused_frechet_kernel_on_embeddings_against_the_references(name):
    refs = references()
    key = f"frechet/{name}/complex64"
    a, e = refs[f"{key}/a"], refs[f"{key}/e"]
    assert 2 * a.shape[0] <= metal_emulator.MAX_N_FRECHET
    out = unembed(emulated_frechet(embed(a)[None], embed(e)[None])[0])
    err = relative_error(out, refs[f"{key}/jvp_hi"], refs[f"{key}/jvp_lo"])
    assert err <= tolerance("complex64", float(refs[f"{name}/cond"]), 2 * a.shape[0])
