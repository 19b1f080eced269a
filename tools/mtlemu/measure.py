"""Measures the emulator: what a barrier, a SIMD-group operation and a
simdgroup_matrix multiply-accumulate cost, and how long a threadgroup of 256
threads takes. Run from the repository root:

    python tools/mtlemu/measure.py [--sanitizer thread]

(The emulator's tests assert nothing about speed: these numbers are for
reading, e.g. a barrier of one SIMD-group should stay in the microseconds,
not the ~0.5 ms of one OS thread per GPU thread.)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import mtlemu as me  # noqa: E402

SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests", "samples")
BENCH = os.path.join(SAMPLES, "bench.metal")
REDUCE = os.path.join(SAMPLES, "reduce.metal")


def best(f, repeats=5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sanitizer", choices=["thread", "address"], default=None)
    args = parser.parse_args()
    opts = {"sanitizer": args.sanitizer}
    me.build(BENCH, **opts)
    me.build(REDUCE, **opts)
    # Operations per measurement, by threads per threadgroup: enough that the
    # difference to an empty dispatch stands out of the noise.
    ops = {32: 20000, 256: 2000, 1024: 500}
    if args.sanitizer:
        ops = {k: v // 20 for k, v in ops.items()}

    def run(kernel, threads, count):
        return me.run(
            BENCH,
            kernel,
            {0: np.zeros(1024, np.float32), 1: np.array([count], np.uint32)},
            threads=threads,
            **opts,
        )

    print(f"build: {args.sanitizer or 'plain'} clang; best of 5")
    for kernel, what in [
        ("barriers", "threadgroup_barrier"),
        ("simdgroup_barriers", "simdgroup_barrier"),
        ("simd_sums", "simd_sum"),
    ]:
        for threads in (32, 256, 1024):
            n = ops[threads]
            empty = best(lambda: run(kernel, threads, 0))
            full = best(lambda: run(kernel, threads, n))
            per = (full - empty) / n
            print(
                f"  {what:20s} {threads:5d} threads: {per * 1e6:8.2f} us per call of every thread "
                f"({per / threads * 1e9:5.1f} ns per thread)"
            )

    a = (np.eye(8) * 0.5).astype(np.float32)

    def mma(count):
        return me.run(
            BENCH,
            "mmas",
            {0: a, 1: np.zeros(64, np.float32), 2: np.array([count], np.uint32)},
            threads=32,
            **opts,
        )

    count = 100 if args.sanitizer else 1000
    empty = best(lambda: mma(0))
    full = best(lambda: mma(count))
    print(
        f"  {count} simdgroup_multiply_accumulate, one SIMD-group: {full * 1e3:.2f} ms per dispatch "
        f"({(full - empty) / count * 1e6:.2f} us each)"
    )

    x = np.random.default_rng(0).standard_normal(4096).astype(np.float32)

    def reduce256():
        return me.run(
            REDUCE,
            "reduce_static_float32",
            {0: x, 1: np.zeros(1, np.float32), 2: np.array([4096], np.uint32)},
            groups=1,
            threads=256,
            **opts,
        )

    print(
        f"  one threadgroup of 256 threads (reduce of 4096 floats, 2 simd_sum, 1 barrier): "
        f"{best(reduce256) * 1e3:.2f} ms per dispatch"
    )
    print(
        f"  an empty dispatch of 256 threads: {best(lambda: run('barriers', 256, 0)) * 1e3:.2f} ms"
    )

    # The shape of a matrix-exponential kernel: one SIMD-group per 32 x 32
    # matrix, 15 products of 64 multiply-accumulates each.
    batch = 20 if args.sanitizer else 300
    A = (np.random.default_rng(1).standard_normal((batch, 32, 32)) / 8).astype(np.float32)

    def products():
        return me.run(
            BENCH,
            "products",
            {0: A, 1: np.zeros_like(A), 2: np.array([15], np.uint32)},
            groups=batch,
            threads=32,
            **opts,
        )

    seconds = best(products, repeats=2)
    ops = products().stats["simd_ops"] / batch
    print(
        f"  {batch} matrices of 32 x 32, 15 products each ({ops:.0f} SIMD-group operations per matrix): "
        f"{seconds:.2f} s ({seconds / batch * 1e3:.2f} ms per matrix, {os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
