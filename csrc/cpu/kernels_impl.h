// The body of the CPU kernels: for each matrix of a job, load it, run the
// scheme with the algebra that suits its size, store the result. Included by
// kernels_*.cpp, each compiled for one instruction set (see isa.h).

#pragma once

#include <array>
#include <complex>
#include <optional>
#include <vector>

#include "cpu/algebra.h"
#include "cpu/batch.h"
#include "cpu/blas.h"
#include "cpu/isa.h"
#include "cpu/job.h"
#include "cpu/lanes_driver.h"
#include "cpu/sizes.h"
#include "cpu/tape.h"
#include "cpu/workspace.h"

MLX_EXPM_CPU_BEGIN

namespace mx = mlx::core;

struct BlasGemm {
  static constexpr bool kWide = true; // see Algebra::product
  template <int Rows, int Cols, typename T>
  static void run(int rows, int cols, const T* a, int lda, const T* b, int ldb, T* c, int ldc,
                  bool accumulate) {
    blas::gemm(rows, cols, rows, a, lda, b, ldb, accumulate, c, ldc);
  }
};

template <typename In, class Alg>
void run_matrices(const Job& job, int64_t begin, int64_t end) {
  using T = typename Alg::scalar;
  const int n = job.a_layout.n;
  Workspace<T> workspace(Alg::workspace_size(n), Alg::kPadded);
  Alg alg(n, workspace.get());
  const auto* a = static_cast<const In*>(job.a);
  const auto* e = static_cast<const In*>(job.e);
  auto* out = static_cast<In*>(job.out);
  std::optional<Tape<T>> tape;
  if (job.tape_layout) {
    tape.emplace(
        static_cast<T*>(job.tape_record), static_cast<const T*>(job.tape_replay), *job.tape_layout);
    alg.use_tape(&*tape);
  }
  for (int64_t b = begin; b < end; ++b) {
    In* result = out + b * n * n;
    if (tape) {
      tape->start(b);
    }
    load(alg, kA, 0, a + job.a_layout.offset(b), job.a_layout);
    if constexpr (Alg::dual) {
      load(alg, kA, 1, e + job.e_layout.offset(b), job.e_layout);
    }
    const int slot = run_scheme(alg);
    if (slot < 0) {
      fill_nan<T>(result, n);
    } else {
      store(alg, slot, Alg::dual ? 1 : 0, result);
    }
  }
}

// In: the storage type; T: the compute type. Real matrices with 2 <= n <= 8
// run L to a vector (lanes_driver.h); others one at a time with loops of a
// compile-time width (n <= 4 also compile-time rows); beyond kLoopMaxN, BLAS.
template <typename In, typename T, bool Dual>
void run_typed(const Job& job, int64_t begin, int64_t end) {
  const int n = job.a_layout.n;
  if constexpr (!is_complex_v<T>) {
    static_assert(kLanesMaxN == 8, "the padded width below is kLanesMaxN");
    switch (n) {
      case 2:
        return run_lanes<In, T, 2, 2, Dual>(job, begin, end);
      case 3:
        return run_lanes<In, T, 3, 3, Dual>(job, begin, end);
      case 4:
        return run_lanes<In, T, 4, 4, Dual>(job, begin, end);
      default:
        if (n >= 5 && n <= kLanesMaxN) {
          return run_lanes<In, T, 0, 8, Dual>(job, begin, end);
        }
    }
  }
  auto loops = [&]<int Rows, int Width>() {
    run_matrices<In, Algebra<T, Rows, Width, Dual, LoopGemm>>(job, begin, end);
  };
  if (n == 1 || n == 2) {
    return loops.template operator()<0, 2>();
  } else if (n == 3) {
    return loops.template operator()<3, 4>();
  } else if (n == 4) {
    return loops.template operator()<4, 4>();
  } else if (n <= 8) {
    return loops.template operator()<0, 8>();
  } else if (n <= kLoopMaxN) {
    static_assert(kLoopMaxN == 16, "the widest loop class below is kLoopMaxN");
    return loops.template operator()<0, 16>();
  }
  run_matrices<In, Algebra<T, 0, 0, Dual, BlasGemm>>(job, begin, end);
}

// The plans of the path run_typed takes: the lanes path keeps the 1-norm
// plan; the others reduce it with the matrix's powers (plan_scheme).
template <typename In, class Alg, bool Reduce>
Plans plans_of(const Job& job) {
  using T = typename Alg::scalar;
  const int n = job.a_layout.n;
  Workspace<T> workspace(Alg::workspace_size(n), Alg::kPadded);
  Alg alg(n, workspace.get());
  const auto* a = static_cast<const In*>(job.a);
  Plans out;
  for (int64_t b = 0; b < job.a_layout.count; ++b) {
    load(alg, kA, 0, a + job.a_layout.offset(b), job.a_layout);
    const auto norm = finite_norm1(alg);
    if (!norm) {
      out.push_back({0, 0});
      continue;
    }
    const Plan plan = Reduce ? plan_scheme(alg, *norm) : plan_for_norm(*norm);
    out.push_back({mc::kDegrees[plan.degree_index], plan.squarings});
  }
  return out;
}

template <typename In, typename T>
Plans plans_typed(const Job& job) {
  const int n = job.a_layout.n;
  if (!is_complex_v<T> && n <= kLanesMaxN) {
    return plans_of<In, Algebra<T, 0, 0, false, LoopGemm>, false>(job);
  } else if (n <= kLoopMaxN) {
    return plans_of<In, Algebra<T, 0, 0, false, LoopGemm>, true>(job);
  }
  return plans_of<In, Algebra<T, 0, 0, false, BlasGemm>, true>(job);
}

Plans plans(const Job& job) {
  switch (job.dtype) {
    case mx::float32:
      return plans_typed<float, float>(job);
    case mx::float64:
      return plans_typed<double, double>(job);
    case mx::complex64:
      return plans_typed<mx::complex64_t, std::complex<float>>(job);
    default:
      throw std::invalid_argument("[matrix_exp] plans: float32, float64 or complex64 only.");
  }
}

template <bool Dual>
void run_mode(const Job& job, int64_t begin, int64_t end) {
  switch (job.dtype) {
    case mx::float32:
      return run_typed<float, float, Dual>(job, begin, end);
    case mx::float64:
      return run_typed<double, double, Dual>(job, begin, end);
    case mx::float16:
      return run_typed<mx::float16_t, float, Dual>(job, begin, end);
    case mx::bfloat16:
      return run_typed<mx::bfloat16_t, float, Dual>(job, begin, end);
    case mx::complex64:
      return run_typed<mx::complex64_t, std::complex<float>, Dual>(job, begin, end);
    default:
      throw std::invalid_argument("[matrix_exp] Unsupported dtype on the CPU.");
  }
}

void run(const Job& job, int64_t begin, int64_t end) {
  if (job.e) {
    run_mode<true>(job, begin, end);
  } else {
    run_mode<false>(job, begin, end);
  }
}

MLX_EXPM_CPU_END
