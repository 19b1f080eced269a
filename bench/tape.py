"""Where the vjp's tape pays (csrc/cpu/tape.h, kTapeMinN in csrc/cpu/sizes.h):
forward+vjp with the tape against forward+vjp without it, in one process,
interleaved (bench/timing.py), for float32 Gaussian matrices.

    python bench/tape.py [--shapes 2048x12,1024x16,...] [--norms 1,50]

"with tape" is ``mx.vjp(matrix_exp)``, which records the tape from n = 64 on;
"without" evaluates the forward inside the function before the vjp is built,
which makes the vjp recompute the forward's products (the path every n below
64 takes). Below 64 both columns run the same code. The ratio with/without is
the number that sets kTapeMinN; run it with kTapeMinN lowered to see the
small sizes with a tape.
"""

from __future__ import annotations

import argparse

import mlx.core as mx
import numpy as np

try:  # imported as the package ``bench``
    from . import timing
except ImportError:  # run as a script
    import timing

from mlx_expm_ext import matrix_exp

SHAPES = "2048x12,1024x16,512x24,256x32,128x48,64x64,16x128,4x256,1x512"


def expm(x):
    return matrix_exp(x, stream=mx.cpu)


def evaluated_first(x):
    y = expm(x)
    mx.eval(y)  # the forward runs before the vjp exists: no tape
    return y


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", default=SHAPES)
    p.add_argument("--norms", default="1,50")
    p.add_argument("--budget", type=float, default=1.5, help="seconds per shape")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'norm':>5} {'batch x n':>10} {'fwd, us':>9} {'with tape':>10} {'without':>9} "
          f"{'with/fwd':>9} {'without/fwd':>12} {'with/without':>13}")
    for norm in (float(v) for v in args.norms.split(",")):
        for shape in args.shapes.split(","):
            b, n = (int(v) for v in shape.split("x"))
            x = rng.standard_normal((b, n, n))
            x *= norm / np.abs(x).sum(-2).max(-1)[:, None, None]
            a = mx.array(x.astype(np.float32))
            g = mx.array(rng.standard_normal((b, n, n)).astype(np.float32))
            mx.eval(a, g)
            cases = [
                timing.Case("fwd", lambda: mx.eval(expm(a))),
                timing.Case("with", lambda: mx.eval(mx.vjp(expm, [a], [g]))),
                timing.Case("without", lambda: mx.eval(mx.vjp(evaluated_first, [a], [g]))),
            ]
            timing.run_interleaved(cases, warmup=2, min_repeats=7, max_repeats=60,
                                   budget_s=args.budget)
            fwd, with_tape, without = (c.median_s for c in cases)
            print(f"{norm:>5g} {shape:>10} {fwd * 1e6:>9.0f} {with_tape * 1e6:>10.0f} "
                  f"{without * 1e6:>9.0f} {with_tape / fwd:>9.2f} {without / fwd:>12.2f} "
                  f"{with_tape / without:>13.2f}", flush=True)


if __name__ == "__main__":
    main()
