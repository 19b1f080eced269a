"""The implementations under test, each behind the same small interface.

An implementation turns the NumPy inputs of one shape into zero-argument
callables that run the whole computation and wait for its result; converting
the inputs happens in ``forward`` / ``forward_backward``, outside the timed
region. Every library except MLX is optional: a missing one raises
``Unavailable`` from ``load`` and the bench skips it with its message.

Forward+backward is the same computation everywhere: exp(A) and the
vector-Jacobian product with the cotangent W (what ``mx.vjp``,
``torch.autograd.grad(..., grad_outputs=W)`` and ``jax.vjp`` compute), so it
also works for complex inputs without choosing a real loss.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from typing import Callable

import numpy as np

try:  # imported as the package ``bench``
    from . import seed
except ImportError:  # run as a script: python bench/bench.py
    import seed

Thunk = Callable[[], object]


class Unavailable(Exception):
    """The library is not installed or cannot be imported."""


def _import(name: str):
    try:
        return importlib.import_module(name)
    except Exception as e:  # ImportError, or a broken install raising anything
        raise Unavailable(f"cannot import {name} ({type(e).__name__}: {e})") from e


def version_of(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


class Impl:
    name = ""
    dists: tuple[str, ...] = ()  # distributions whose versions the JSON records
    backward = True  # has a forward+backward measurement

    def load(self) -> None:
        """Import the library; raise Unavailable with a reason if it cannot."""

    def forward(self, x: np.ndarray) -> Thunk:
        raise NotImplementedError

    def forward_backward(self, x: np.ndarray, w: np.ndarray) -> Thunk:
        raise NotImplementedError


def _mx_array(mx, x: np.ndarray):
    # mx.array(ndarray) turns float64 into float32: name the dtype.
    dtype = {"float32": mx.float32, "float64": mx.float64, "complex64": mx.complex64}[x.dtype.name]
    a = mx.array(x, dtype=dtype)
    mx.eval(a)
    return a


class _MLX(Impl):
    """Shared by the MLX implementations: inputs as mx arrays, computed on
    `device` ("cpu" or "gpu", bench.py --device)."""

    def __init__(self, device: str = "cpu"):
        self.device = device

    def load(self) -> None:
        self.mx = _import("mlx.core")
        self.stream = getattr(self.mx, self.device)

    def fn(self, a):
        raise NotImplementedError

    def forward(self, x):
        mx, a = self.mx, _mx_array(self.mx, x)
        return lambda: mx.eval(self.fn(a))

    def forward_backward(self, x, w):
        mx, a, g = self.mx, _mx_array(self.mx, x), _mx_array(self.mx, w)
        return lambda: mx.eval(mx.vjp(self.fn, [a], [g]))


class Ext(_MLX):
    name = "ext"
    dists = ("mlx-expm-ext", "mlx")

    def load(self):
        super().load()
        self.mod = _import("mlx_expm_ext")

    def fn(self, a):
        return self.mod.matrix_exp(a, stream=self.stream)


class ExtCpu(Ext):
    """The ext on the CPU, beside a --device gpu run: what the GPU's kernels
    are measured against on the same machine."""

    name = "ext-cpu"

    def __init__(self):
        super().__init__("cpu")


class Seed(_MLX):
    name = "seed"
    dists = ("mlx",)

    def __init__(self, norm: str = "batch", device: str = "cpu"):
        super().__init__(device)
        self.norm = norm

    def fn(self, a):
        with self.mx.stream(self.stream):  # the seed's ops take the default stream
            return seed.matrix_exp(a, norm=self.norm)


class MlxExpm(_MLX):
    """PyPI's mlx-expm: pure Python, Pade 13 with mx.linalg.solve, one norm per batch."""

    name = "mlx-expm"
    dists = ("mlx-expm",)

    def load(self):
        super().load()
        if version_of("mlx-expm") is None:
            raise Unavailable(
                "not installed (pip install mlx-expm: PyPI has 0.1.1, "
                "pure-Python Pade 13 on MLX ops)"
            )
        self.mod = _import("mlx_expm")

    def fn(self, a):
        with self.mx.stream(self.stream):  # its ops take the default stream
            return self.mod.expm(a)


class Torch(Impl):
    name = "torch"
    dists = ("torch",)

    def load(self):
        self.torch = _import("torch")

    def forward(self, x):
        torch = self.torch
        a = torch.from_numpy(x.copy())

        def run():
            with torch.inference_mode():
                return torch.linalg.matrix_exp(a)

        return run

    def forward_backward(self, x, w):
        torch = self.torch
        a = torch.from_numpy(x.copy()).requires_grad_(True)
        g = torch.from_numpy(w.copy())

        def run():
            y = torch.linalg.matrix_exp(a)
            return y, torch.autograd.grad(y, a, grad_outputs=g)

        return run


class Scipy(Impl):
    name = "scipy"
    dists = ("scipy",)
    backward = False

    def load(self):
        self.linalg = _import("scipy.linalg")
        major, minor = (int(p) for p in version_of("scipy").split(".")[:2])
        self.batched = (major, minor) >= (1, 9)  # expm takes (..., n, n) since 1.9

    def forward(self, x):
        expm, a = self.linalg.expm, x.copy()
        if self.batched:
            return lambda: expm(a)
        flat = a.reshape(-1, *a.shape[-2:])
        return lambda: [expm(m) for m in flat]


class Jax(Impl):
    """jax.scipy.linalg.expm (Pade 13, scaling and squaring) under jax.jit."""

    name = "jax"
    dists = ("jax", "jaxlib")

    def load(self):
        self.jax = _import("jax")
        # float64 inputs stay float64 only with x64 on; float32 ones are unchanged.
        self.jax.config.update("jax_enable_x64", True)
        self.expm = _import("jax.scipy.linalg").expm
        jax, expm = self.jax, self.expm
        self.fwd = jax.jit(expm)

        def fwd_bwd(a, g):
            y, pullback = jax.vjp(expm, a)
            return y, pullback(g)[0]

        self.fwd_bwd = jax.jit(fwd_bwd)

    def forward(self, x):
        jax, a = self.jax, self.jax.device_put(x)
        return lambda: jax.block_until_ready(self.fwd(a))

    def forward_backward(self, x, w):
        jax = self.jax
        a, g = jax.device_put(x), jax.device_put(w)
        return lambda: jax.block_until_ready(self.fwd_bwd(a, g))


PEERS = {"torch": Torch, "scipy": Scipy, "jax": Jax, "mlx-expm": MlxExpm}


# --- one batched matrix product, for the floor ------------------------------


def gemm_thunks(
    x: np.ndarray, peers_loaded: dict[str, Impl], device: str = "cpu"
) -> dict[str, Thunk]:
    """Callables computing X @ X once for the whole batch, per library.

    numpy always; torch and MLX (on `device`) when importable. The output
    buffer is allocated once outside the timed region where the library
    allows it.
    """
    x = x.reshape(-1, *x.shape[-2:])
    out = np.empty_like(x)
    thunks: dict[str, Thunk] = {"numpy": lambda: np.matmul(x, x, out=out)}
    torch = getattr(peers_loaded.get("torch"), "torch", None)
    if torch is not None:
        t, tout = torch.from_numpy(x.copy()), torch.from_numpy(np.empty_like(x))
        thunks["torch"] = lambda: torch.bmm(t, t, out=tout)
    try:
        import mlx.core as mx

        a, stream = _mx_array(mx, x), getattr(mx, device)
        thunks["mlx"] = lambda: mx.eval(mx.matmul(a, a, stream=stream))
    except ImportError:
        pass
    return thunks
