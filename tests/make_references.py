"""Writes tests/data/references.npz: high-precision exponentials and Frechet
derivatives of the matrices of tests/cases.py.

    python tests/make_references.py      (about a minute on 2 cores)

For every real case: the float64 input, its float32, float16 and bfloat16
roundings (small cases only for the half types) and exp of each rounded input;
for complex cases the complex64 rounding. Also the float64 relative condition
number of exp at the input (Frobenius norm: exact for n <= 6,
scipy.linalg.expm_cond above), and for a
few cases and each of float64, float32, complex64, a direction E (rounded
to the dtype) with L(A, E) and L(A^H, E) for the rounded A.
"""

import pathlib
import zlib
from concurrent.futures import ProcessPoolExecutor

import mlx.core as mx
import numpy as np
import scipy.linalg

from cases import base_cases
from reference import exp_condition_number, expm_hi_lo, frechet_hi_lo, sources_digest

OUT = pathlib.Path(__file__).parent / "data" / "references.npz"
HALF_MAX_N = 8
# kappa from the 60-digit Frechet derivative up to this n; above, SciPy's
# expm_cond (n^2 derivatives of size 2n are too slow in mpmath).
EXACT_COND_MAX_N = 6
FRECHET_CASES = (
    "random_n3_norm2",
    "random_n5_norm20",
    "nag_f01ecf",
    "laub",
    "moler_van_loan",
    "random_n8_norm0.3",
    "complex_n3_norm1",
    "complex_n6_norm30",
    "jordan_2x2",
    "threshold_float64_4_above",
    "overscaling_n9_b100",
)


def rounded(a, dtype):
    """a rounded to an MLX dtype, returned as float64/complex128."""
    if dtype == mx.complex64:
        x = mx.array(a.astype(np.complex64))
    else:
        x = mx.array(a, dtype=mx.float64).astype(dtype, stream=mx.cpu)
    wide = mx.complex64 if dtype == mx.complex64 else mx.float32
    return np.array(x.astype(wide)).astype(np.complex128 if dtype == mx.complex64 else np.float64)


def variants(name, a):
    if np.iscomplexobj(a):
        return {"complex64": rounded(a, mx.complex64)}
    out = {"float64": a, "float32": rounded(a, mx.float32)}
    if a.shape[0] <= HALF_MAX_N:
        out["float16"] = rounded(a, mx.float16)
        out["bfloat16"] = rounded(a, mx.bfloat16)
    return {dtype: x for dtype, x in out.items() if np.isfinite(x).all()}


def work(item):
    name, a = item
    arrays = {}
    for dtype, x in variants(name, a).items():
        hi, lo = expm_hi_lo(x)
        arrays[f"{name}/{dtype}/a"] = x
        arrays[f"{name}/{dtype}/hi"] = hi
        arrays[f"{name}/{dtype}/lo"] = lo
    arrays[f"{name}/cond"] = np.array(
        exp_condition_number(a) if a.shape[0] <= EXACT_COND_MAX_N else scipy.linalg.expm_cond(a)
    )
    if name in FRECHET_CASES:
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        e = rng.standard_normal(a.shape)
        if np.iscomplexobj(a):
            e = e + 1j * rng.standard_normal(a.shape)
        for dtype, x in variants(name, a).items():
            if dtype in ("float16", "bfloat16"):
                continue
            ed = rounded(e, getattr(mx, dtype)) if dtype != "float64" else e
            key = f"frechet/{name}/{dtype}"
            arrays[f"{key}/a"] = x
            arrays[f"{key}/e"] = ed
            for label, base in (("jvp", x), ("vjp", x.conj().T)):
                hi, lo = frechet_hi_lo(base, ed)
                arrays[f"{key}/{label}_hi"] = hi
                arrays[f"{key}/{label}_lo"] = lo
    return arrays


def main():
    cases = base_cases()
    arrays = {}
    with ProcessPoolExecutor() as pool:
        for part in pool.map(work, sorted(cases.items(), key=lambda kv: -kv[1].shape[0])):
            arrays.update(part)
    arrays["meta/sources_sha256"] = np.array(sources_digest())
    OUT.parent.mkdir(exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {len(arrays)} arrays for {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
