"""Two or more builds of mlx_expm_ext timed against each other, in alternating
processes: on a shared 2-core machine a build's speed drifts by tens of per
cent over minutes, so differences of a few per cent only show when the
builds take turns. Each process times one cell (its best of --calls calls),
every build once per round; the table gives each build's least and median
over the rounds, and their ratios to the first build's.

    python bench/ab.py --build before=/path/to/site-packages --build now= \\
        --cells float32:50:10000x3,float64:50:1024x16 --rounds 7 [--backward]

A build is NAME=DIR, DIR put first on PYTHONPATH (empty: the installed
package; `pip install --no-deps --target DIR .` makes one of a checkout).
Threads default to one (MLX_EXPM_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1).
Inputs as in bench.py: Gaussian, each matrix scaled to the 1-norm given."""

import argparse
import os
import statistics
import subprocess
import sys

ONE_CELL = """
import sys, time
import numpy as np, mlx.core as mx
from mlx_expm_ext import matrix_exp
dtype, norm, shape, calls, backward = sys.argv[1:6]
b, n = (int(v) for v in shape.split("x"))
rng = np.random.default_rng(0)
a = rng.standard_normal((b, n, n))
a *= float(norm) / np.abs(a).sum(-2).max(-1)[:, None, None]
x = mx.array(a, dtype=getattr(mx, dtype))
w = mx.array(rng.standard_normal((b, n, n)), dtype=getattr(mx, dtype))
mx.eval(x, w)
exp = lambda z: matrix_exp(z, stream=mx.cpu)
if backward == "1":
    f = lambda: mx.eval(mx.vjp(exp, [x], [w]))
else:
    f = lambda: mx.eval(exp(x))
for _ in range(3):
    f()
best = float("inf")
for _ in range(int(calls)):
    start = time.perf_counter()
    f()
    best = min(best, time.perf_counter() - start)
print(best * 1e3)
"""


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--build", action="append", required=True, help="NAME=DIR (DIR empty: installed)"
    )
    p.add_argument("--cells", required=True, help="comma-separated dtype:norm:BATCHxN")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--calls", type=int, default=31, help="timed calls per process (its best)")
    p.add_argument("--backward", action="store_true", help="time the forward and its vjp")
    p.add_argument("--threads", default="1", help="MLX_EXPM_NUM_THREADS and OPENBLAS_NUM_THREADS")
    args = p.parse_args(argv)
    args.builds = [tuple(b.split("=", 1)) for b in args.build]
    if any(len(b) != 2 for b in args.builds):
        p.error("--build: NAME=DIR")
    args.cells = [c.split(":") for c in args.cells.split(",")]
    if any(len(c) != 3 for c in args.cells):
        p.error("--cells: dtype:norm:BATCHxN")
    return args


def time_cell(directory, cell, args):
    env = dict(os.environ, MLX_EXPM_NUM_THREADS=args.threads, OPENBLAS_NUM_THREADS=args.threads)
    if directory:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [directory, env.get("PYTHONPATH")]))
    command = [
        sys.executable,
        "-c",
        ONE_CELL,
        *cell,
        str(args.calls),
        "1" if args.backward else "0",
    ]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def main(argv=None):
    args = parse_args(argv)
    names = [name for name, _ in args.builds]
    print(
        f"{'cell':<24}"
        + "".join(f"{n + ' least':>14}{n + ' median':>14}" for n in names)
        + "".join(f"{n + '/' + names[0]:>16}" for n in names[1:])
    )
    for cell in args.cells:
        times = {name: [] for name in names}
        for _ in range(args.rounds):
            for name, directory in args.builds:
                times[name].append(time_cell(directory, cell, args))
        least = {n: min(t) for n, t in times.items()}
        median = {n: statistics.median(t) for n, t in times.items()}
        row = f"{':'.join(cell):<24}" + "".join(
            f"{least[n]:>14.3f}{median[n]:>14.3f}" for n in names
        )
        row += "".join(
            f"{least[n] / least[names[0]]:>8.3f}/{median[n] / median[names[0]]:<7.3f}"
            for n in names[1:]
        )
        print(row + ("  (ms; ratios: least/median)" if cell is args.cells[0] else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
