"""Benchmark mlx_expm_ext.matrix_exp against the pure-MLX seed and its peers.

    python bench/bench.py                      # full run (~10 min on 2 cores)
    python bench/bench.py --quick              # smoke run (< 1 min)
    python bench/bench.py --shapes 10000x3,1024x16 --dtypes float32,float64 --peers torch,jax
    python bench/bench.py --json out.json --png out.png
    python bench/bench.py --device gpu         # on a Mac: the Metal kernels

See bench/README.md for what the columns mean.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

try:  # imported as the package ``bench``
    from . import peers, report, seed, timing
except ImportError:  # run as a script: python bench/bench.py
    import peers
    import report
    import seed
    import timing

SHAPES = "1x3,10000x3,10000x4,4096x8,1024x16,256x32,64x64,16x128,4x256,1x512,1x1024"
QUICK_SHAPES = "1x3,10000x3,1024x16,64x64,4x256"
DTYPES = ("float32", "float64", "complex64")
IMPL_ORDER = ["ext", "ext-cpu", "seed", "torch", "scipy", "jax", "mlx-expm"]


def parse_shapes(text: str) -> list[tuple[int, int]]:
    shapes = []
    for item in text.split(","):
        try:
            b, n = (int(v) for v in item.lower().strip().split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"shape {item!r} is not BATCHxN, e.g. 10000x3"
            ) from None
        if b < 1 or n < 1:
            raise argparse.ArgumentTypeError(f"shape {item!r} must have batch >= 1 and n >= 1")
        shapes.append((b, n))
    return shapes


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--shapes",
        type=parse_shapes,
        default=None,
        help=f"comma-separated BATCHxN (default {SHAPES})",
    )
    p.add_argument(
        "--norms",
        default=None,
        help="comma-separated 1-norms every matrix is scaled to (default 1,50)",
    )
    p.add_argument("--dtypes", default="float32", help=f"comma-separated, of {', '.join(DTYPES)}")
    p.add_argument(
        "--device",
        choices=("cpu", "gpu"),
        default="cpu",
        help="where the MLX implementations (ext, seed) and MLX's GEMM run; with gpu, "
        "the ext on the CPU is timed too (ext-cpu). Other peers run where they run.",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="at most this many timed calls per implementation and shape (default 15)",
    )
    p.add_argument("--min-repeats", type=int, default=3, help="at least this many (default 3)")
    p.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds of timed calls per implementation and shape before the "
        "repeat count is capped (default 1.5)",
    )
    p.add_argument("--warmup", type=int, default=None, help="untimed calls first (default 2)")
    p.add_argument(
        "--max-call",
        type=float,
        default=5.0,
        help="a call slower than this many seconds is timed once, not repeated; one "
        "predicted (from the same implementation at the previous shape) to take "
        "over 3 times this is skipped (default 5)",
    )
    p.add_argument(
        "--peers",
        default=",".join(peers.PEERS),
        help=f"comma-separated subset of {', '.join(peers.PEERS)}, or 'none' "
        "(ext and seed always run)",
    )
    p.add_argument(
        "--seed-norm",
        choices=("batch", "max"),
        default="batch",
        help="the seed's one norm per batch: Frobenius of the whole batch (default) "
        "or the largest per-matrix Frobenius norm",
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        metavar="S",
        help="on a shared machine: before each shape wait up to S seconds for "
        "other processes to go idle, and measure a shape again (once) when "
        "they took over 10%% of the CPUs during it (default 0: off)",
    )
    p.add_argument("--no-backward", action="store_true", help="forward only")
    p.add_argument("--rng-seed", type=int, default=0, help="seed of the random inputs")
    p.add_argument("--json", metavar="PATH", help="write every measurement to PATH")
    p.add_argument("--png", metavar="PATH", help="plot time per matrix against n (matplotlib)")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: shapes {QUICK_SHAPES}, norm 1, 1 warm-up, 3 repeats",
    )
    a = p.parse_args(argv)
    quick = a.quick
    a.shapes = a.shapes or parse_shapes(QUICK_SHAPES if quick else SHAPES)
    a.norms = [float(v) for v in (a.norms or ("1" if quick else "1,50")).split(",")]
    a.repeats = a.repeats or (3 if quick else 15)
    a.min_repeats = min(a.min_repeats, a.repeats)
    a.budget = a.budget if a.budget is not None else (0.2 if quick else 1.5)
    a.warmup = a.warmup if a.warmup is not None else (1 if quick else 2)
    a.dtypes = [d.strip() for d in a.dtypes.split(",")]
    for d in a.dtypes:
        if d not in DTYPES:
            p.error(f"--dtypes: {d!r} is not one of {', '.join(DTYPES)}")
    names = [] if a.peers.strip() == "none" else [s.strip() for s in a.peers.split(",")]
    for name in names:
        if name not in peers.PEERS:
            p.error(f"--peers: {name!r} is not one of {', '.join(peers.PEERS)}")
    a.peers = names
    if a.device == "gpu":
        import mlx.core as mx

        if not mx.is_available(mx.gpu):
            p.error("--device gpu: this MLX has no GPU backend")
        if "float64" in a.dtypes:
            p.error("--device gpu: MLX has no float64 on the GPU")
    return a


# --- inputs and the floor ----------------------------------------------------


def one_norms(x: np.ndarray) -> np.ndarray:
    """Per-matrix 1-norm (largest column sum of magnitudes), in float64."""
    return np.abs(x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)).sum(-2).max(-1)


def make_inputs(batch: int, n: int, dtype: str, rng_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random matrices with 1-norm exactly 1 (before rounding to dtype), and a cotangent.

    Fixed per (seed, batch, n): every library, norm and run sees the same
    matrices. Gaussian entries; complex ones have independent real and
    imaginary parts.
    """
    rng = np.random.default_rng([rng_seed, batch, n])

    def draw():
        z = rng.standard_normal((batch, n, n))
        if dtype.startswith("complex"):
            z = z + 1j * rng.standard_normal((batch, n, n))
        return z

    x, w = draw(), draw()
    x /= one_norms(x)[:, None, None]
    return x, w.astype(dtype)


def ext_plans(x: np.ndarray) -> list[tuple[int, int]] | None:
    """(degree, squarings) the ext's CPU kernels choose for each matrix: the
    1-norm plan, reduced for matrices run one at a time by the powers' norms
    (metal/matrix_exp_scheme.h). None where the private hook cannot tell (n = 1,
    half types, an old build)."""
    try:
        import mlx.core as mx

        from mlx_expm_ext import _ext

        if x.shape[-1] < 2 or x.dtype.name not in ("float32", "float64", "complex64"):
            return None
        return [tuple(p) for p in _ext._cpu_plans(mx.array(x, dtype=getattr(mx, x.dtype.name)))]
    except (ImportError, AttributeError):
        return None


def plan_for(x: np.ndarray, precision: str, seed_norm: str) -> dict:
    """Products the Taylor scheme performs per matrix (the floor): the ext's own
    plans where its hook reports them, else the 1-norm plan (as in PyTorch);
    and the seed's one plan for the batch."""
    plans = ext_plans(x)
    if plans is None:
        per = [seed.plan(float(v), precision) for v in one_norms(x)]
    else:
        per = [(d, s, seed.PRODUCTS[seed.DEGREES.index(d)] + s) for d, s in plans if d > 0]
        per = per or [seed.plan(float("nan"), precision)]
    degrees = {d for d, _, _ in per}
    squarings = {s for _, s, _ in per}
    mag2 = np.abs(x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)) ** 2
    snorm = float(np.sqrt(mag2.sum() if seed_norm == "batch" else mag2.sum((-2, -1)).max()))
    sd, ss, sp = seed.plan(snorm, precision)
    return {
        "degree": "/".join(map(str, sorted(degrees))),
        "squarings": "/".join(map(str, sorted(squarings))),
        "products": float(np.mean([p for _, _, p in per])),
        "seed": {"norm": snorm, "degree": sd, "squarings": ss, "products": sp},
    }


# --- one block: a (dtype, norm, shape) --------------------------------------------


def _predicted_s(history: dict, key: tuple, batch: int, n: int) -> tuple[float, str] | None:
    """Time of one call scaled by batch * n^3 from the same implementation's last
    shape, when that one was long enough (0.1 s) not to be mostly overhead."""
    if key not in history:
        return None
    (b0, n0), t0 = history[key]
    work, work0 = batch * n**3, b0 * n0**3
    if t0 < 0.1 or work <= work0:
        return None
    return t0 * work / work0, f"{b0}x{n0}"


def run_block(
    impls: dict, dtype: str, norm: float, batch: int, n: int, args, history: dict
) -> dict:
    x64, w = make_inputs(batch, n, dtype, args.rng_seed)
    x = (x64 * norm).astype(dtype)
    precision = seed.precision_of(dtype)

    cases: list[timing.Case] = []
    for name, impl in impls.items():
        modes = [("fwd", lambda impl=impl: impl.forward(x))]
        if impl.backward and not args.no_backward:
            modes.append(("fwd+bwd", lambda impl=impl: impl.forward_backward(x, w)))
        for mode, make in modes:
            case = timing.Case(key=f"{name}|{mode}", thunk=None)
            pred = _predicted_s(history, (dtype, norm, name, mode), batch, n)
            if pred and pred[0] > 3 * args.max_call:
                case.skipped = f"predicted {pred[0]:.0f} s a call from {pred[1]} (> 3 x --max-call)"
                cases.append(case)
                continue
            try:
                case.thunk = make()
            except Exception as e:
                case.error = f"{type(e).__name__}: {e}".splitlines()[0][:300]
            cases.append(case)
    for lib, thunk in peers.gemm_thunks(x, impls, args.device).items():
        cases.append(timing.Case(key=f"gemm|{lib}", thunk=thunk))

    monitor = timing.CpuMonitor()
    timing.run_interleaved(
        cases, args.warmup, args.min_repeats, args.repeats, args.budget, max_call_s=args.max_call
    )
    load = monitor.read()

    results: dict = {}
    gemm: dict = {}
    for c in cases:
        impl, mode = c.key.split("|")
        if impl == "gemm":
            if c.median_s is not None:
                gemm[mode] = c.median_s
            continue
        results.setdefault(impl, {})[mode] = {
            "median_s": c.median_s,
            "per_matrix_s": c.median_s / batch if c.median_s is not None else None,
            "repeats": len(c.times_s),
            "calls_per_repeat": c.number,
            "times_s": c.times_s,
            "warmup_s": c.warmup_s,
            "error": c.error,
            "skipped": c.skipped,
        }
        if c.median_s is not None:
            history[(dtype, norm, impl, mode)] = ((batch, n), c.median_s)
    p = plan_for(x, precision, args.seed_norm)
    # BLAS libraries tried for the floor, the brief's "fastest BLAS available":
    # numpy's and torch's; MLX's own matmul is recorded too and counts if faster.
    floor_lib = min(gemm, key=gemm.get) if gemm else None
    return {
        "dtype": dtype,
        "norm": norm,
        "batch": batch,
        "n": n,
        "plan": p,
        "gemm_median_s": gemm,
        "gemm_times_s": {
            c.key.split("|")[1]: c.times_s for c in cases if c.key.startswith("gemm|")
        },
        "gemm_errors": {
            c.key.split("|")[1]: c.error for c in cases if c.key.startswith("gemm|") and c.error
        },
        "floor_lib": floor_lib,
        "floor_s": p["products"] * gemm[floor_lib] if floor_lib else None,
        "results": results,
        "load": load,
    }


def load_impls(args) -> tuple[dict, dict]:
    impls, skipped = {}, {}
    candidates = [peers.Ext(args.device), peers.Seed(args.seed_norm, args.device)]
    if args.device == "gpu":
        candidates.append(peers.ExtCpu())
    candidates += [peers.PEERS[name]() for name in args.peers]
    for impl in candidates:
        for attempt in range(3):
            try:
                impl.load()
                impls[impl.name] = impl
                break
            except peers.Unavailable as e:
                # An installed extension that fails to load may be in the middle of
                # a reinstall (a half-written .so): try again a little later.
                if impl.name == "ext" and attempt < 2 and "ModuleNotFoundError" not in str(e):
                    print(f"# ext not importable ({e}); retrying in 20 s", flush=True)
                    time.sleep(20)
                    continue
                skipped[impl.name] = str(e)
                print(f"# skipping {impl.name}: {e}")
                break
    return impls, skipped


def main(argv=None) -> int:
    args = parse_args(argv)
    impls, skipped = load_impls(args)
    if "ext" not in impls:
        print("# mlx_expm_ext is not importable: measuring the others only")
    config = {k: v for k, v in vars(args).items()}
    t_start = time.perf_counter()
    monitor = timing.CpuMonitor()
    order = [name for name in IMPL_ORDER if name in impls]
    print(
        f"# shapes {' '.join(f'{b}x{n}' for b, n in args.shapes)}; norms "
        f"{', '.join(f'{v:g}' for v in args.norms)}; dtypes {', '.join(args.dtypes)}; "
        f"warm-up {args.warmup}, repeats {args.min_repeats}..{args.repeats} within "
        f"{args.budget:g} s; seed norm {args.seed_norm}"
    )
    print("# times: median of repeats, microseconds; /X = this time over X's (below 1: faster)")
    blocks = []
    history: dict = {}  # (dtype, norm, impl, mode) -> (last shape, median s)
    env = None
    for dtype in args.dtypes:
        for norm in args.norms:
            for batch, n in args.shapes:
                block = None
                for attempt in range(2 if args.quiet_wait > 0 else 1):
                    if args.quiet_wait > 0:
                        waited = timing.wait_for_quiet(args.quiet_wait)
                        if waited > 1.5:
                            print(
                                f"# waited {waited:.0f} s for other processes to go idle",
                                flush=True,
                            )
                    block = run_block(impls, dtype, norm, batch, n, args, history)
                    block["attempt"] = attempt + 1
                    if block["load"].get("others_cpu_share", 0.0) <= 0.1:
                        break
                blocks.append(block)
                if env is None:  # once every library has been loaded and used
                    env = report.environment(impls, args.device)
                    report.print_environment(env)
                report.print_block(blocks[-1], order)
    report.print_summary(blocks)
    elapsed = time.perf_counter() - t_start
    print(f"\n# total {elapsed:.0f} s")
    config["elapsed_s"] = elapsed
    config["load"] = monitor.read()
    report.print_load(config["load"], "the whole run")
    if args.json:
        report.write_json(
            args.json, env or report.environment(impls, args.device), config, blocks, skipped
        )
    if args.png:
        report.write_png(args.png, blocks, order)
    return 0


if __name__ == "__main__":
    sys.exit(main())
