"""Accuracy on the stored hard cases (tests/data/references.npz), against the
60-digit references, and against torch.linalg.matrix_exp when it is installed.

    python bench/accuracy.py

Prints per dtype: the largest error in units of the tests' tolerance scale
u (kappa + sqrt n), and, with torch, the distribution of our error over its
error case by case; then the same scale for the derivatives (jvp and vjp
against 60-digit Frechet derivatives)."""

import pathlib
import sys

import mlx.core as mx
import numpy as np

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


if __name__ == "__main__":
    forward()
    derivatives()
