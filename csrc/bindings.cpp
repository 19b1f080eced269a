// Python bindings: signatures and docstrings only.

#include <nanobind/nanobind.h>
#include <nanobind/stl/array.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/variant.h>
#include <nanobind/stl/vector.h>

#include "cpu/job.h"
#include "cpu/parallel.h"
#include "matrix_exp.h"
#include "metal/plan.h"

namespace nb = nanobind;
namespace mx = mlx::core;
using namespace nb::literals;

NB_MODULE(_ext, m) {
  m.doc() = "Matrix exponential for MLX (native extension).";

  m.def(
      "matrix_exp",
      &mlx_expm::matrix_exp,
      nb::arg(),
      nb::kw_only(),
      "stream"_a = nb::none(),
      nb::sig(
          "def matrix_exp(a: mlx.core.array, /, *, "
          "stream: mlx.core.Stream | mlx.core.ThreadLocalStream | mlx.core.Device | "
          "mlx.core.DeviceType | None = None) -> mlx.core.array"),
      R"doc(Matrix exponential of each matrix in a batch.

Parameters
----------
a : mlx.core.array
    Array of shape ``(..., n, n)``. float32, float16, bfloat16 and
    complex64 on every device; float64 on the CPU only. Integer and bool
    inputs are promoted to float32; float16 and bfloat16 are computed in
    float32 and rounded back.
stream : mlx.core.Stream or mlx.core.Device, optional
    Where to run. Defaults to the default stream of the default device.

Returns
-------
mlx.core.array
    ``exp(A)`` for every matrix ``A`` in the last two axes of ``a``, with
    the shape and dtype of ``a`` (float32 for integer input). A matrix
    with a NaN or infinite entry gives a matrix of NaN; the other matrices
    of the batch are unaffected.

Notes
-----
Scaling and squaring with the optimized Taylor polynomials of Bader,
Blanes and Casas [1]_, as in ``torch.linalg.matrix_exp``. Each matrix
gets its own degree m in {1, 2, 4, 8, 12, 18} and scaling exponent s from
its own 1-norm, so small and large matrices of one batch are each as
accurate as they would be alone. T_m costs 0, 1, 2, 3, 4 or 5 matrix
products, then s squarings follow: for ``||A||_1 > theta_18`` (3.01 in
float32, 1.09 in float64) the cost is about
``5 + ceil(log2(||A||_1 / theta_18))`` products of size n.

The function is differentiable: ``mx.grad``, ``mx.vjp`` and ``mx.jvp``
use the Frechet derivative L(A, E); the vjp of a cotangent G is
L(A^H, G). L comes from differentiating every product of the same
Taylor scheme [3]_, three products per product of exp(A); for higher
derivatives, L is a block of the exponential of ``[[A, E], [0, A]]``
[2]_. It also works under ``mx.vmap`` and ``mx.compile``.

On a GPU stream, float32, float16 and bfloat16 matrices of n <= 128, and
their derivatives, run in Metal kernels on Apple silicon (M1 and later):
fused in threadgroup memory up to n = 32 (derivatives: 24), tiled with
device memory above; complex64 runs in the same kernels on its 2n x 2n
real embedding ([[Re, -Im], [Im, Re]]) for n <= 64; everything else runs
on the CPU kernels, in the same graph, without a host synchronisation.

References
----------
.. [1] P. Bader, S. Blanes, F. Casas, "Computing the matrix exponential
   with an optimized Taylor polynomial approximation", Mathematics 7(12),
   1174, 2019.
.. [2] R. Mathias, "A chain rule for matrix functions and applications",
   SIAM J. Matrix Anal. Appl. 17(3), 610-620, 1996.
.. [3] A. H. Al-Mohy, N. J. Higham, "Computing the Frechet derivative of
   the matrix exponential, with an application to condition number
   estimation", SIAM J. Matrix Anal. Appl. 30(4), 1639-1657, 2009.

Examples
--------
>>> import mlx.core as mx
>>> from mlx_expm_ext import matrix_exp
>>> theta = 0.5
>>> r = matrix_exp(mx.array([[0.0, -theta], [theta, 0.0]]))
>>> mx.allclose(r, mx.array([[0.87758255, -0.47942555], [0.47942555, 0.87758255]])).item()
True
)doc");

  m.def(
      "frechet",
      &mlx_expm::frechet,
      nb::arg(),
      nb::arg(),
      nb::kw_only(),
      "stream"_a = nb::none(),
      nb::sig(
          "def frechet(a: mlx.core.array, e: mlx.core.array, /, *, "
          "stream: mlx.core.Stream | mlx.core.ThreadLocalStream | mlx.core.Device | "
          "mlx.core.DeviceType | None = None) -> tuple[mlx.core.array, mlx.core.array]"),
      R"doc(Matrix exponential and its Frechet derivative, for each pair of matrices.

The Frechet derivative of exp at A in the direction E is the linear map
``L(A, E) = d/dt exp(A + t E)`` at t = 0, so ``exp(A + t E) = exp(A) +
t L(A, E) + O(t^2)``. As ``scipy.linalg.expm_frechet(a, e)``.

Parameters
----------
a : mlx.core.array
    Array of shape ``(..., n, n)``.
e : mlx.core.array
    Array of shape ``(..., n, n)``: the directions. The batch axes of
    ``a`` and ``e`` broadcast against each other.
stream : mlx.core.Stream or mlx.core.Device, optional
    Where to run. Defaults to the default stream of the default device.

Returns
-------
tuple of mlx.core.array
    ``(exp(A), L(A, E))`` for every pair of matrices, both of the
    broadcast shape and of the dtype ``a`` and ``e`` promote to (float32
    for integers; float64 on the CPU only, as for ``matrix_exp``). A pair
    with a NaN or infinite entry gives matrices of NaN.

Notes
-----
L is computed by differentiating every product and squaring of the
scaling-and-squaring Taylor scheme of ``matrix_exp`` (Al-Mohy and Higham
[1]_ do so for Pade approximants): the exact derivative of the
approximant, at about three times the cost of exp(A). exp(A) is
``matrix_exp(a)``. On a GPU stream, L runs in Metal kernels for float32,
float16 and bfloat16 with n <= 128 (complex64: n <= 64), exp(A) as
``matrix_exp``.
Differentiable to any order, and usable under ``mx.vmap`` and
``mx.compile``.

References
----------
.. [1] A. H. Al-Mohy, N. J. Higham, "Computing the Frechet derivative of
   the matrix exponential, with an application to condition number
   estimation", SIAM J. Matrix Anal. Appl. 30(4), 1639-1657, 2009.

Examples
--------
>>> import mlx.core as mx
>>> from mlx_expm_ext import frechet
>>> a = mx.array([[0.0, 1.0], [0.0, 0.0]])
>>> e = mx.array([[0.0, 0.0], [1.0, 0.0]])
>>> x, l = frechet(a, e)
>>> mx.allclose(l, mx.array([[1 / 2, 1 / 6], [1.0, 1 / 2]])).item()
True
)doc");

  // Test hooks, not public API.
  m.def(
      "_fused_plan",
      [](const std::string& dtype,
         int n,
         int64_t count,
         int64_t batch_stride,
         int64_t row_stride,
         int64_t col_stride,
         int max_threads,
         bool frechet) {
        auto p = mlx_expm::metal::plan_fused(
            dtype,
            n,
            count,
            batch_stride,
            row_stride,
            col_stride,
            max_threads,
            frechet);
        nb::dict d;
        d["kernel"] = p.kernel;
        d["padded"] = p.padded;
        d["matrices_per_group"] = p.matrices_per_group;
        d["threads_per_group"] = p.threads_per_group;
        d["scratch_bytes"] = p.scratch_bytes;
        d["slots_bytes"] = p.slots_bytes;
        d["groups"] = p.groups;
        return d;
      },
      nb::arg(),
      nb::arg(),
      nb::arg(),
      nb::arg(),
      nb::arg(),
      nb::arg(),
      nb::arg(),
      "frechet"_a = false,
      "The launch plan of a fused Metal kernel (csrc/metal/plan.h).");
  m.def("_fused_supported", &mlx_expm::metal::fused_supported);
  m.def(
      "_fused_kernel_runs_here",
      &mlx_expm::fused_kernel_runs_here,
      "Whether this GPU runs the fused kernel (a Metal build, Apple7 family or later).");
  m.def(
      "_matrix_exp_by_embedding",
      &mlx_expm::matrix_exp_by_embedding,
      nb::arg(),
      "stream"_a = nb::none(),
      "exp of complex64 matrices through the real embedding (the GPU's complex path).");
  m.def(
      "_matrix_exp_frechet_by_embedding",
      &mlx_expm::matrix_exp_frechet_by_embedding,
      nb::arg(),
      nb::arg(),
      "stream"_a = nb::none(),
      "L(Z, E) of complex64 matrices through the real embedding (the GPU's complex path).");
  m.def(
      "_cpu_plans",
      &mlx_expm::cpu::plans,
      "(degree, squarings) of the Taylor scheme the CPU kernels run on each matrix.");
  m.def(
      "_max_threads",
      &mlx_expm::cpu::max_threads,
      "The threads the CPU kernels use (MLX_EXPM_NUM_THREADS, capped at the CPUs).");
}
