"""Accuracy on the stored hard cases (tests/data/references.npz), against the
60-digit references, and against torch.linalg.matrix_exp when it is installed.

    python bench/accuracy.py [--random 400] [--json out.json]

Prints per dtype: the largest error in units of the tests' tolerance scale
u (kappa + sqrt n), and, with torch, the distribution of our error over its
error case by case; then the same scale for the derivatives (jvp and vjp
against 60-digit Frechet derivatives). With --random N, the same statistics
on N random Gaussian matrices per (n, 1-norm) of RANDOM_SIZES x RANDOM_NORMS,
against 40-digit mpmath exponentials of the float64 inputs (computed once,
about 2 minutes on 2 cores, then cached in ~/.cache/mlx_expm_ext)."""

import argparse
import hashlib
import json
import os
import pathlib
import sys
from concurrent.futures import ProcessPoolExecutor

import mlx.core as mx
import mpmath
import numpy as np
import scipy.linalg

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "tests"))
from accuracy import (
    UNIT_ROUNDOFF,
    case,
    case_names,
    error,
    references,  # noqa: E402
    to_mlx,
    to_numpy,
)
from mlx_expm_ext import matrix_exp  # noqa: E402
from reference import relative_error  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

TORCH_DTYPES = {"float32": "float32", "float64": "float64", "complex64": "complex64"}


def scale(dtype, kappa, n):
    return UNIT_ROUNDOFF[dtype] * (kappa + np.sqrt(n))


RANDOM_SIZES = (3, 8, 16)
RANDOM_NORMS = (1.0, 50.0)
RANDOM_DIGITS = 40


def forward():
    for dtype in ("float32", "float64", "complex64"):
        worst, ratios = (0.0, ""), []
        for name in case_names(dtype):
            a, hi, lo, kappa = case(name, dtype)
            ours = error(matrix_exp(to_mlx(a, dtype), stream=mx.cpu), hi, lo)
            worst = max(worst, (ours / scale(dtype, kappa, a.shape[0]), name))
            if torch is not None:
                t = torch.linalg.matrix_exp(torch.tensor(a).to(getattr(torch, TORCH_DTYPES[dtype])))
                theirs = relative_error(t.numpy().astype(hi.dtype), hi, lo)
                if theirs > 0 and name != "moler_badly_scaled":  # all digits lost by both
                    ratios.append((ours / theirs, name))
        line = f"{dtype:9s} {len(case_names(dtype))} cases: largest error {worst[0]:.1f} u(kappa+sqrt n) ({worst[1]})"
        if ratios:
            q = np.array([r for r, _ in ratios])
            line += (
                f"; ours/torch median {np.median(q):.2f}, 90th percentile "
                f"{np.percentile(q, 90):.2f}, max {q.max():.1f} ({max(ratios)[1]}), "
                f"ours smaller in {np.mean(q < 1) * 100:.0f}%"
            )
        print(line)


def derivatives():
    refs = references()
    keys = sorted(
        {
            (k.split("/")[1], k.split("/")[2])
            for k in refs
            if k.startswith("frechet/") and k.endswith("/e")
        }
    )
    worst = {}
    for name, dtype in keys:
        key = f"frechet/{name}/{dtype}"
        a, e, kappa = refs[f"{key}/a"], refs[f"{key}/e"], float(refs[f"{name}/cond"])

        def f(x):
            return matrix_exp(x, stream=mx.cpu)

        _, (jvp,) = mx.jvp(f, [to_mlx(a, dtype)], [to_mlx(e, dtype)])
        _, (vjp,) = mx.vjp(f, [to_mlx(a, dtype)], [to_mlx(e, dtype)])
        err = max(
            relative_error(to_numpy(jvp), refs[f"{key}/jvp_hi"], refs[f"{key}/jvp_lo"]),
            relative_error(to_numpy(vjp), refs[f"{key}/vjp_hi"], refs[f"{key}/vjp_lo"]),
        )
        worst[dtype] = max(
            worst.get(dtype, (0.0, "")), (err / scale(dtype, kappa, 2 * a.shape[0]), name)
        )
    for dtype, (value, name) in sorted(worst.items()):
        print(f"{dtype:9s} derivatives: largest error {value:.1f} u(kappa+sqrt 2n) ({name})")


def random_inputs(n, norm, count):
    """count Gaussian n x n matrices, each scaled to 1-norm `norm`, float64."""
    rng = np.random.default_rng([20261130, n, int(norm)])
    g = rng.standard_normal((count, n, n))
    return g * (norm / np.abs(g).sum(axis=-2).max(axis=-1))[:, None, None]


def _exp_hi_lo(a):
    with mpmath.workdps(RANDOM_DIGITS):
        m = mpmath.expm(mpmath.matrix(a.tolist()))
        hi = np.array([[float(m[i, j]) for j in range(m.cols)] for i in range(m.rows)])
        lo = np.array([[float(m[i, j] - hi[i, j]) for j in range(m.cols)] for i in range(m.rows)])
    return hi, lo, scipy.linalg.expm_cond(a)


def random_references(n, norm, a):
    """(hi, lo, kappa) per matrix of a, from the cache or mpmath."""
    digest = hashlib.sha256(a.tobytes() + str(RANDOM_DIGITS).encode()).hexdigest()[:16]
    cache = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache"))
    path = cache / "mlx_expm_ext" / f"random_refs_n{n}_norm{norm:g}_{digest}.npz"
    if path.exists():
        with np.load(path) as f:
            return f["hi"], f["lo"], f["kappa"]
    with ProcessPoolExecutor() as pool:
        hi, lo, kappa = zip(*pool.map(_exp_hi_lo, list(a), chunksize=8))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, hi=np.array(hi), lo=np.array(lo), kappa=np.array(kappa))
    return np.array(hi), np.array(lo), np.array(kappa)


def random_sets(count):
    """Per (dtype, n, norm): our largest error in u(kappa + sqrt n), its
    median, and with torch the median of ours/torch's error."""
    rows = []
    for n in RANDOM_SIZES:
        for norm in RANDOM_NORMS:
            a = random_inputs(n, norm, count)
            hi, lo, kappa = random_references(n, norm, a)
            for dtype in ("float32", "float64"):
                x = a.astype(dtype).astype(np.float64)  # references are of the float64 input
                ours = relative_error(to_numpy(matrix_exp(to_mlx(a, dtype), stream=mx.cpu)), hi, lo)
                units = ours / (UNIT_ROUNDOFF[dtype] * (kappa + np.sqrt(n)))
                row = {
                    "dtype": dtype,
                    "n": n,
                    "norm": norm,
                    "count": count,
                    "worst_units": float(units.max()),
                    "median_units": float(np.median(units)),
                }
                if torch is not None:
                    t = (
                        torch.linalg.matrix_exp(torch.tensor(x).to(getattr(torch, dtype)))
                        .double()
                        .numpy()
                    )
                    theirs = relative_error(t, hi, lo)
                    row["median_ratio_to_torch"] = float(np.median(ours / theirs))
                    row["torch_worst_units"] = float(
                        (theirs / (UNIT_ROUNDOFF[dtype] * (kappa + np.sqrt(n)))).max()
                    )
                rows.append(row)
                line = (
                    f"{dtype:8s} n={n:2d} |A|_1={norm:4g}: worst {row['worst_units']:6.2f}, "
                    f"median {row['median_units']:5.2f} u(kappa+sqrt n)"
                )
                if "median_ratio_to_torch" in row:
                    line += (
                        f"; ours/torch median {row['median_ratio_to_torch']:.2f}"
                        f" (torch worst {row['torch_worst_units']:.2f})"
                    )
                print(line)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=0, metavar="N")
    parser.add_argument("--json", type=pathlib.Path)
    args = parser.parse_args()
    forward()
    derivatives()
    rows = random_sets(args.random) if args.random else []
    if args.json:
        args.json.write_text(json.dumps({"random": rows}, indent=1))


if __name__ == "__main__":
    main()
