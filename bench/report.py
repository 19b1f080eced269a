"""What the bench writes: machine description, the table, the JSON and the plot."""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

try:
    from .peers import version_of
except ImportError:
    from peers import version_of

DISTS = (
    "mlx",
    "mlx-cpu",
    "mlx-expm-ext",
    "numpy",
    "scipy",
    "torch",
    "jax",
    "jaxlib",
    "mlx-expm",
    "threadpoolctl",
    "matplotlib",
)
ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "XLA_FLAGS",
    "MLX_NUM_THREADS",
)


# --- machine and libraries ---------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_total() -> str | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _mapped_libraries() -> list[str]:
    """BLAS / LAPACK / OpenMP shared libraries loaded in this process (Linux)."""
    pattern = re.compile(r"blas|lapack|mkl|gomp|iomp|omp5|libmlx|xla_extension|jaxlib", re.I)
    found = set()
    try:
        for line in Path("/proc/self/maps").read_text().splitlines():
            parts = line.split(None, 5)
            if len(parts) == 6 and pattern.search(os.path.basename(parts[5])):
                found.add(parts[5])
    except OSError:
        pass
    return sorted(found)


def _project_state() -> dict:
    state: dict = {}
    try:
        import mlx_expm_ext._ext as ext

        state["ext_file"] = ext.__file__
        state["ext_mtime"] = datetime.datetime.fromtimestamp(
            os.path.getmtime(ext.__file__), datetime.timezone.utc
        ).isoformat()
    except Exception:
        pass
    try:  # read-only
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if head.returncode == 0:
            state["commit"] = head.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return state


def _gpu(device: str) -> dict | None:
    """The GPU the MLX implementations ran on (the chip, from MLX), or None
    for a CPU run."""
    if device != "gpu":
        return None
    import mlx.core as mx

    info = {k: v for k, v in mx.metal.device_info().items() if isinstance(v, (str, int, float))}
    try:
        from mlx_expm_ext import _ext

        info["fused_kernel_runs_here"] = _ext._fused_kernel_runs_here()
    except ImportError:
        pass
    return info


def environment(loaded: dict, device: str = "cpu") -> dict:
    """Everything a reader needs to reproduce or discount the numbers."""
    env = {
        "device": device,
        "gpu": _gpu(device),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "cores_usable": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else None,
            "memory": _mem_total(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
        },
        "versions": {d: version_of(d) for d in DISTS},
        "env": {k: os.environ[k] for k in ENV_VARS if k in os.environ},
        "project": _project_state(),
        "threads": {},
        "libraries_mapped": _mapped_libraries(),
    }
    torch = getattr(loaded.get("torch"), "torch", None)
    if torch is not None:
        env["threads"]["torch"] = torch.get_num_threads()
        env["threads"]["torch_interop"] = torch.get_num_interop_threads()
        env["threads"]["torch_parallel_info"] = torch.__config__.parallel_info()
    try:
        from threadpoolctl import threadpool_info

        env["threadpools"] = threadpool_info()
    except ImportError:
        env["threadpools"] = "threadpoolctl not installed"
    return env


def print_environment(env: dict) -> None:
    m = env["machine"]
    print(f"# {m['cpu']}, {m['cores']} cores, {m['memory']}, {m['platform']}, Python {m['python']}")
    if env.get("gpu"):
        print("# MLX on the GPU: " + ", ".join(f"{k} {v}" for k, v in env["gpu"].items()))
    print("# " + ", ".join(f"{k} {v}" for k, v in env["versions"].items() if v))
    pools = env.get("threadpools")
    if isinstance(pools, list):
        for p in pools:
            desc = f"{p.get('internal_api')} {p.get('version') or ''} {p.get('architecture') or ''}".strip()
            print(
                f"# threads: {p.get('num_threads')} x {desc} ({os.path.basename(p.get('filepath', ''))})"
            )
    else:
        print(f"# threads: {pools}")
    if "torch" in env["threads"]:
        print(f"# torch threads: {env['threads']['torch']}")
    blas = [
        os.path.basename(p)
        for p in env["libraries_mapped"]
        if re.search("blas|lapack|mkl", p, re.I)
    ]
    if blas:
        print("# BLAS/LAPACK loaded: " + ", ".join(blas))
    if env["env"]:
        print("# env: " + " ".join(f"{k}={v}" for k, v in env["env"].items()))


# --- the table -----------------------------------------------------------------


def fmt_us(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    us = seconds * 1e6
    if us >= 100:
        return f"{us:,.0f}"
    if us >= 10:
        return f"{us:.1f}"
    return f"{us:.2f}"


def fmt_ratio(a: float | None, b: float | None) -> str:
    if a is None or not b:
        return "-"
    r = a / b
    return f"{r:.2f}" if r < 100 else f"{r:.0f}"


COLUMNS = (
    f"{'impl':<9}{'fwd us':>11}{'us/mat':>10}{'/torch':>8}{'/seed':>7}{'/floor':>8}"
    f"{'f+b us':>12}{'/torch':>8}{'/seed':>7}{'f+b/fwd':>9}"
)


def print_block(block: dict, impl_order: list[str]) -> None:
    """One (dtype, norm, shape): a header with the floor, one row per implementation."""
    b, n, p = block["batch"], block["n"], block["plan"]
    gemm = ", ".join(f"{lib} {fmt_us(t)}" for lib, t in block["gemm_median_s"].items())
    seed_plan = p["seed"]
    print(
        f"\n{block['dtype']}  |A|_1={block['norm']:g}  batch {b} x {n}x{n}:  "
        f"T{p['degree']} s={p['squarings']}, {p['products']:g} products/matrix "
        f"(seed T{seed_plan['degree']} s={seed_plan['squarings']}, {seed_plan['products']})"
    )
    print_load(block.get("load", {}), "this block")
    floor = block["floor_s"]
    print(
        f"  one batched GEMM, us: {gemm or '-'}  ->  floor {fmt_us(floor)} us "
        f"({p['products']:g} x {block['floor_lib'] or '-'})"
    )
    print("  " + COLUMNS)
    res = block["results"]

    def med(impl, mode):
        r = res.get(impl, {}).get(mode)
        return r["median_s"] if r else None

    for impl in impl_order:
        if impl not in res:
            continue
        f, fb = med(impl, "fwd"), med(impl, "fwd+bwd")
        row = (
            f"{impl:<9}{fmt_us(f):>11}{fmt_us(f / b if f else None):>10}"
            f"{fmt_ratio(f, med('torch', 'fwd')):>8}{fmt_ratio(f, med('seed', 'fwd')):>7}"
            f"{fmt_ratio(f, floor):>8}{fmt_us(fb):>12}{fmt_ratio(fb, med('torch', 'fwd+bwd')):>8}"
            f"{fmt_ratio(fb, med('seed', 'fwd+bwd')):>7}{fmt_ratio(fb, f):>9}"
        )
        print("  " + row)
        for mode in ("fwd", "fwd+bwd"):
            r = res[impl].get(mode, {})
            if r.get("skipped"):
                print(f"  {'':<9}{mode} skipped: {r['skipped']}")
            elif r.get("error"):
                print(f"  {'':<9}{mode} failed: {r['error']}")
            elif r.get("repeats") == 1:
                print(f"  {'':<9}{mode}: one call only (slower than --max-call)")
    sys.stdout.flush()


def print_load(load: dict, what: str) -> None:
    """Warn when other processes or the hypervisor took a visible share of the CPUs."""
    others, steal = load.get("others_cpu_share", 0.0), load.get("steal_share", 0.0)
    if others > 0.05 or steal > 0.05:
        print(
            f"  ! during {what} other processes used {others:.0%} and the hypervisor stole "
            f"{steal:.0%} of the {os.cpu_count()} CPUs: these times are inflated"
        )


def print_summary(blocks: list[dict]) -> None:
    """ext against the others, one line per block."""
    print("\nSummary: ext time / other time (below 1: ext is faster), ext / floor, ext f+b/fwd")
    print(
        f"  {'dtype':<10}{'norm':>6}{'shape':>12}{'/torch':>8}{'/seed':>7}{'/scipy':>8}{'/jax':>7}"
        f"{'/floor':>8}{'f+b /torch':>12}{'f+b /seed':>11}{'f+b/fwd':>9}"
    )
    for bl in blocks:
        res = bl["results"]

        def med(impl, mode="fwd"):
            r = res.get(impl, {}).get(mode)
            return r["median_s"] if r else None

        e, eb = med("ext"), med("ext", "fwd+bwd")
        print(
            f"  {bl['dtype']:<10}{bl['norm']:>6g}{str(bl['batch']) + 'x' + str(bl['n']):>12}"
            f"{fmt_ratio(e, med('torch')):>8}{fmt_ratio(e, med('seed')):>7}"
            f"{fmt_ratio(e, med('scipy')):>8}{fmt_ratio(e, med('jax')):>7}"
            f"{fmt_ratio(e, bl['floor_s']):>8}{fmt_ratio(eb, med('torch', 'fwd+bwd')):>12}"
            f"{fmt_ratio(eb, med('seed', 'fwd+bwd')):>11}{fmt_ratio(eb, e):>9}"
        )


# --- files -----------------------------------------------------------------------


def write_json(path: str, env: dict, config: dict, blocks: list[dict], skipped: dict) -> None:
    doc = {"command": sys.argv, "config": config, **env, "skipped": skipped, "blocks": blocks}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(doc, indent=1, default=str) + "\n")
    print(f"\nwrote {path}")


def write_png(path: str, blocks: list[dict], impl_order: list[str]) -> None:
    """Time per matrix against n, log-log, one panel per (dtype, norm)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            f"\nno plot: matplotlib is not installed (pip install matplotlib); {path} not written"
        )
        return
    panels: dict[tuple, list[dict]] = {}
    for bl in blocks:
        panels.setdefault((bl["dtype"], bl["norm"]), []).append(bl)
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 5), squeeze=False)
    colors = dict(zip(impl_order, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for ax, ((dtype, norm), bls) in zip(axes[0], panels.items()):
        # One point per n: the largest batch of that n (1x3 next to 10000x3 would
        # draw a vertical line of per-call overhead).
        by_n = {}
        for bl in bls:
            if bl["n"] not in by_n or bl["batch"] > by_n[bl["n"]]["batch"]:
                by_n[bl["n"]] = bl
        bls = [by_n[n] for n in sorted(by_n)]
        for impl in impl_order:
            for mode, style in (("fwd", "-o"), ("fwd+bwd", "--^")):
                pts = [
                    (bl["n"], r["median_s"] / bl["batch"] * 1e6)
                    for bl in bls
                    if (r := bl["results"].get(impl, {}).get(mode)) and r["median_s"]
                ]
                if pts:
                    ax.plot(
                        *zip(*pts),
                        style,
                        color=colors.get(impl),
                        ms=4,
                        label=f"{impl} {mode}",
                        alpha=1.0 if mode == "fwd" else 0.6,
                    )
        pts = [(bl["n"], bl["floor_s"] / bl["batch"] * 1e6) for bl in bls if bl["floor_s"]]
        if pts:
            ax.plot(*zip(*pts), ":", color="black", label="floor (products x GEMM)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("n (matrix size)")
        ax.set_ylabel("microseconds per matrix (median)")
        ax.set_title(f"matrix_exp, {dtype}, |A|_1 = {norm:g} (largest batch per n)", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")
