// The body of the CPU kernels: for each matrix of a job, load it, run the
// scheme with the algebra that suits its size, store the result. Included by
// kernels_*.cpp, each compiled for one instruction set (see isa.h).
//
// with_kernel is the one place that turns a job's dtype and n into code: the
// storage and compute types, and the kernel of path_for(n) (sizes.h) with its
// compile-time widths. run, plans and scratch_bytes all go through it.

#pragma once

#include <array>
#include <complex>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cpu/algebra.h"
#include "cpu/blas.h"
#include "cpu/isa.h"
#include "cpu/job.h"
#include "cpu/lanes_driver.h"
#include "cpu/matrices.h"
#include "cpu/parallel.h"
#include "cpu/scratch.h"
#include "cpu/sizes.h"

MLX_EXPM_CPU_BEGIN

namespace mx = mlx::core;

// Products through BLAS, split into column panels (blas.h): computed one
// after another on a thread that already works on its own matrices, else
// spread over the threads. The panels are the same either way, so a matrix's
// result does not depend on how the batch was split.
struct BlasGemm {
  static constexpr bool kWide = true; // see Algebra::product
  template <int Rows, int Cols, typename T>
  static void run(
      int rows,
      int cols,
      const T* a,
      int lda,
      const T* b,
      int ldb,
      T* c,
      int ldc,
      bool accumulate) {
    const int panels = blas::panels(cols);
    const int width = (cols + panels - 1) / panels;
    parallel_for(panels, 1, panels, [&](int, int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        const int first = static_cast<int>(p) * width;
        const int count = std::min(width, cols - first);
        blas::gemm(
            rows,
            count,
            rows,
            a,
            lda,
            b + first,
            ldb,
            accumulate,
            c + first,
            ldc);
      }
    });
  }
};

// {degree, squarings} of each matrix of job.a, planned (plan_scheme) and
// evaluated (evaluate_planned, which may add squarings) in algebra Alg.
template <typename In, class Alg>
Plans plans_of(const Job& job) {
  using T = typename Alg::scalar;
  const int n = job.a_layout.n;
  std::vector<T> workspace(Alg::workspace_size(n));
  Alg alg(n, workspace.data());
  const auto* a = static_cast<const In*>(job.a);
  Plans out;
  for (int64_t b = 0; b < job.a_layout.count; ++b) {
    load(alg, ms::kA, 0, a + job.a_layout.offset(b), job.a_layout);
    ms::Norm<typename Alg::real> norm;
    if (!ms::finite_norm1(alg, norm)) {
      out.push_back({0, 0});
      continue;
    }
    ms::PowerNorms<typename Alg::real> norms;
    ms::Plan plan = ms::plan_scheme(alg, norm, norms);
    ms::evaluate_planned(alg, plan, norms, ms::plan_for_norm(norm).squarings);
    out.push_back({ms::mc::kDegrees[plan.degree_index], plan.squarings});
  }
  return out;
}

// Matrices one at a time with algebra Alg (loops or BLAS).
template <typename In, class Alg>
struct MatrixKernel {
  using T = typename Alg::scalar;

  static T* carve(Scratch& scratch, int n, int64_t) {
    return scratch.take<T>(Alg::workspace_size(n));
  }

  static void
  run(const Job& job, Scratch& scratch, int64_t begin, int64_t end) {
    const int n = job.a_layout.n;
    T* workspace = carve(scratch, n, end - begin);
    if (Alg::kPadded) {
      std::memset(
          static_cast<void*>(workspace), 0, Alg::workspace_size(n) * sizeof(T));
    }
    Alg alg(n, workspace);
    const auto* a = static_cast<const In*>(job.a);
    const auto* e = static_cast<const In*>(job.e);
    auto* out = static_cast<In*>(job.out);
    for (int64_t b = begin; b < end; ++b) {
      In* result = out + b * n * n;
      load(alg, ms::kA, 0, a + job.a_layout.offset(b), job.a_layout);
      if constexpr (Alg::dual) {
        load(alg, ms::kA, 1, e + job.e_layout.offset(b), job.e_layout);
      }
      const int slot = ms::run_scheme(alg);
      if (slot < 0) {
        fill_nan<T>(result, n);
      } else {
        store(alg, slot, Alg::dual ? 1 : 0, result);
      }
    }
  }

  static Plans plans(const Job& job) {
    return plans_of<In, Alg>(job);
  }
};

// Real 2 <= n <= 8, a vector's width of matrices at a time (lanes_driver.h).
template <typename In, typename R, int Rows, int Width, bool Dual>
struct LanesKernel {
  using Driver = LanesDriver<In, R, Rows, Width, Dual>;

  static typename Driver::Buffers
  carve(Scratch& scratch, int n, int64_t count) {
    return Driver::carve(scratch, n, count);
  }

  static void
  run(const Job& job, Scratch& scratch, int64_t begin, int64_t end) {
    Driver::run(
        job, Driver::carve(scratch, job.a_layout.n, end - begin), begin, end);
  }

  // The plans the driver records while it runs the whole batch as one block.
  static Plans plans(const Job& job) {
    const int n = job.a_layout.n;
    const int64_t count = job.a_layout.count;
    Scratch sizing;
    Driver::carve(sizing, n, count);
    std::vector<char> block(sizing.bytes() + Scratch::kAlign);
    void* aligned = block.data() +
        (Scratch::kAlign -
         reinterpret_cast<uintptr_t>(block.data()) % Scratch::kAlign) %
            Scratch::kAlign;
    Scratch scratch(aligned);
    Plans plans(count);
    Driver::run(job, Driver::carve(scratch, n, count), 0, count, plans.data());
    return plans;
  }
};

// Calls f.template operator()<Kernel>() with the kernel for n x n matrices
// of storage type In and compute type T.
template <typename In, typename T, bool Dual, class F>
decltype(auto) with_kernel_for(int n, F&& f) {
  switch (path_for(is_complex_v<T>, n)) {
    case Path::kLanes:
      if constexpr (!is_complex_v<T>) {
        static_assert(kLanesMaxN == 8, "the padded width below is kLanesMaxN");
        switch (n) {
          case 2:
            return f.template operator()<LanesKernel<In, T, 2, 2, Dual>>();
          case 3:
            return f.template operator()<LanesKernel<In, T, 3, 3, Dual>>();
          case 4:
            return f.template operator()<LanesKernel<In, T, 4, 4, Dual>>();
          default:
            return f.template operator()<LanesKernel<In, T, 0, 8, Dual>>();
        }
      }
      [[fallthrough]]; // complex matrices never take the lanes
    case Path::kLoops: {
      static_assert(
          kLoopMaxN == 16, "the widest loop class below is kLoopMaxN");
      // Rows > 0 fixes n at compile time; Width pads a row (algebra.h).
      auto loops = [&]<int Rows, int Width>() -> decltype(auto) {
        return f.template
        operator()<MatrixKernel<In, Algebra<T, Rows, Width, Dual, LoopGemm>>>();
      };
      if (n <= 2) {
        return loops.template operator()<0, 2>();
      } else if (n == 3) {
        return loops.template operator()<3, 4>();
      } else if (n == 4) {
        return loops.template operator()<4, 4>();
      } else if (n <= 8) {
        return loops.template operator()<0, 8>();
      }
      return loops.template operator()<0, 16>();
    }
    case Path::kBlas:
    default:
      return f.template
      operator()<MatrixKernel<In, Algebra<T, 0, 0, Dual, BlasGemm>>>();
  }
}

template <bool Dual, class F>
decltype(auto) with_kernel(const Job& job, F&& f) {
  const int n = job.a_layout.n;
  switch (job.dtype) {
    case mx::float32:
      return with_kernel_for<float, float, Dual>(n, f);
    case mx::float64:
      return with_kernel_for<double, double, Dual>(n, f);
    case mx::float16:
      return with_kernel_for<mx::float16_t, float, Dual>(n, f);
    case mx::bfloat16:
      return with_kernel_for<mx::bfloat16_t, float, Dual>(n, f);
    case mx::complex64:
      return with_kernel_for<mx::complex64_t, std::complex<float>, Dual>(n, f);
    default:
      throw std::invalid_argument("[matrix_exp] Unsupported dtype on the CPU.");
  }
}

size_t scratch_bytes(const Job& job, int64_t grain) {
  auto bytes = [&]<class Kernel>() {
    Scratch scratch;
    Kernel::carve(scratch, job.a_layout.n, grain);
    return scratch.bytes();
  };
  return job.e ? with_kernel<true>(job, bytes) : with_kernel<false>(job, bytes);
}

void run(const Job& job, void* block, int64_t begin, int64_t end) {
  auto compute = [&]<class Kernel>() {
    Scratch scratch(block);
    Kernel::run(job, scratch, begin, end);
  };
  job.e ? with_kernel<true>(job, compute) : with_kernel<false>(job, compute);
}

Plans plans(const Job& job) {
  if (job.dtype == mx::float16 || job.dtype == mx::bfloat16) {
    throw std::invalid_argument(
        "[matrix_exp] plans: float32, float64 or complex64 only.");
  }
  return with_kernel<false>(
      job, [&]<class Kernel>() { return Kernel::plans(job); });
}

MLX_EXPM_CPU_END
