"""Why the fused Metal kernel keeps the whole degree set {1, 2, 4, 8, 12, 18}
rather than the original design's T8 plus squarings: products per matrix and
float32 accuracy of both, simulated in NumPy float32 (the kernel's arithmetic)
with the coefficients of metal/matrix_exp_constants.h.

    python bench/degree_sets.py

Prints, per 1-norm and n, the matrix products each scheme takes and its median
normwise relative error over 40 random matrices (reference: scipy.linalg.expm
in float64, whose ~1e-13 error is negligible here)."""

import math
import pathlib
import re

import numpy as np
import scipy.linalg

SOURCE = (pathlib.Path(__file__).parents[1] / "metal" / "matrix_exp_constants.h").read_text()
F = np.float32


def constant(name):
    block = re.search(name + r"(\[[^=]*)?\s*=\s*(\{.*?\};|MATRIX_EXP_REAL\([^)]*\);)", SOURCE, re.S)
    return [float(v) for v in re.findall(r"MATRIX_EXP_REAL\(([-+0-9.e]+)\)", block.group(2))]


THETA = [
    float(v.rstrip("f"))
    for v in re.findall(
        r"([0-9.]+e[-+][0-9]+)f",
        re.search(r"kThetaFloat32\[[^=]*=\s*\{(.*?)\};", SOURCE, re.S).group(1),
    )
]
T8 = {k: F(constant("kT8" + k)[0]) for k in ("X1", "X2", "X3", "X4", "X5", "X6", "X7", "Y2")}
T12 = np.array(constant("kT12"), F).reshape(4, 4)
T18 = np.array(constant("kT18"), F).reshape(5, 5)


def t8(a):
    i = np.eye(len(a), dtype=F)
    a2 = a @ a
    a4 = a2 @ (T8["X1"] * a + T8["X2"] * a2)
    a8 = (T8["X3"] * a2 + a4) @ (T8["X4"] * i + T8["X5"] * a + T8["X6"] * a2 + T8["X7"] * a4)
    return i + a + T8["Y2"] * a2 + a8


def t12(a):
    powers = [np.eye(len(a), dtype=F), a, a @ a]
    powers.append(a @ powers[2])
    b = [sum(T12[r, j] * powers[j] for j in range(4)) for r in range(4)]
    a6 = b[2] + b[3] @ b[3]
    return b[0] + (b[1] + a6) @ a6


def t18(a):
    powers = [np.eye(len(a), dtype=F), a, a @ a]
    powers.append(a @ powers[2])
    powers.append(powers[3] @ powers[3])
    b = [sum(T18[r, j] * powers[j] for j in range(5)) for r in range(5)]
    a9 = b[3] + b[0] @ b[4]
    return b[1] + (b[2] + a9) @ a9


def scaled(taylor, products, theta, a):
    norm = np.abs(a).sum(0).max()
    s = max(0, math.ceil(math.log2(norm / theta))) if norm > theta else 0
    x = taylor((a / F(2.0**s)).astype(F))
    for _ in range(s):
        x = x @ x
    return x, products + s


def t8_and_squaring(a):
    return scaled(t8, 3, THETA[3], a)


def full_set(a):
    norm = np.abs(a).sum(0).max()
    if norm <= THETA[3]:
        return t8(a), 3
    if norm <= THETA[4]:
        return t12(a), 4
    return scaled(t18, 5, THETA[5], a)


def main():
    rng = np.random.default_rng(0)
    print(" norm    n | T8 + squaring: products  error | {1..18}: products  error")
    for norm in (0.5, 1.0, 3.0, 10.0, 50.0):
        for n in (4, 16, 32):
            errors = {t8_and_squaring: [], full_set: []}
            products = {}
            for _ in range(40):
                a = rng.standard_normal((n, n))
                a = (a * norm / np.abs(a).sum(0).max()).astype(F)
                ref = scipy.linalg.expm(a.astype(np.float64))
                for scheme in errors:
                    x, products[scheme] = scheme(a)
                    errors[scheme].append(np.abs(x - ref).sum(0).max() / np.abs(ref).sum(0).max())
            print(
                f"{norm:5g} {n:4d} | {products[t8_and_squaring]:19d}  "
                f"{np.median(errors[t8_and_squaring]):.1e} | "
                f"{products[full_set]:13d}  {np.median(errors[full_set]):.1e}"
            )


if __name__ == "__main__":
    main()
