// The small-matrix CPU path (real dtypes, 2 <= n <= 8): L matrices per vector
// instruction (lanes.h).
//
// Matrices of one vector must share their degree and scaling, so a block of
// the batch is processed in three passes: stage every matrix (converted to the
// compute type) and plan it from its own 1-norm; order the block by plan;
// then run the scheme on groups of L matrices with equal plans, lanes past the
// end of a group holding zeros. A matrix's result depends only on its own
// plan and entries, never on the matrices it shares a vector with.

#pragma once

#include <algorithm>
#include <numeric>
#include <vector>

#include "cpu/algebra.h"
#include "cpu/batch.h"
#include "cpu/isa.h"
#include "cpu/job.h"
#include "cpu/lanes.h"
#include "cpu/taylor.h"

MLX_EXPM_CPU_BEGIN

template <typename In, typename R, int Rows, bool Dual>
void run_lanes(const Job& job, int64_t begin, int64_t end) {
  constexpr int L = kLanes<R>;
  using Scalar = Algebra<R, Rows, Rows, false, LoopGemm>; // views of staged matrices
  using Vector = Algebra<Lanes<R, L>, Rows, Rows, Dual, LoopGemm>;
  const int n = job.a_layout.n;
  const int64_t count = end - begin;
  const int64_t nn = static_cast<int64_t>(n) * n;
  const auto* a = static_cast<const In*>(job.a);
  const auto* e = static_cast<const In*>(job.e);
  auto* out = static_cast<In*>(job.out);

  // 1. Stage and plan; matrices with a NaN or an infinity are done here.
  std::vector<R> staged_a(count * nn);
  std::vector<R> staged_e(Dual ? count * nn : 0);
  std::vector<Plan> plans(count);
  std::vector<int64_t> order;
  order.reserve(count);
  for (int64_t k = 0; k < count; ++k) {
    Scalar view(n, &staged_a[k * nn]);
    load(view, kA, 0, a + job.a_layout.offset(begin + k), job.a_layout);
    const R norm = view.norm1(kA);
    if (!(norm <= std::numeric_limits<R>::max())) {
      fill_nan<R>(out + (begin + k) * nn, n);
      continue;
    }
    if constexpr (Dual) {
      Scalar e_view(n, &staged_e[k * nn]);
      load(e_view, kA, 0, e + job.e_layout.offset(begin + k), job.e_layout);
    }
    plans[k] = plan_for_norm(norm);
    order.push_back(k);
  }

  // 2. Equal plans next to each other.
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
    return plans[x].degree_index != plans[y].degree_index
        ? plans[x].degree_index < plans[y].degree_index
        : plans[x].squarings < plans[y].squarings;
  });

  // 3. Groups of up to L matrices with one plan.
  std::vector<Lanes<R, L>> workspace(Vector::workspace_size(n));
  Vector alg(n, workspace.data());
  for (size_t first = 0; first < order.size();) {
    const Plan plan = plans[order[first]];
    size_t last = first + 1;
    while (last < order.size() && last - first < L &&
           plans[order[last]].degree_index == plan.degree_index &&
           plans[order[last]].squarings == plan.squarings) {
      ++last;
    }
    auto* x = alg.slot(kA);
    for (int lane = 0; lane < L; ++lane) {
      const bool used = first + lane < last;
      const R* src_a = used ? &staged_a[order[first + lane] * nn] : nullptr;
      const R* src_e = used && Dual ? &staged_e[order[first + lane] * nn] : nullptr;
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
          x[i * alg.ld() + j].v[lane] = used ? src_a[i * n + j] : R(0);
          if constexpr (Dual) {
            x[i * alg.ld() + alg.width() + j].v[lane] = used ? src_e[i * n + j] : R(0);
          }
        }
      }
    }
    if (plan.squarings > 0) {
      alg.scale_slot(kA, std::ldexp(R(1), -plan.squarings));
    }
    evaluate_taylor(alg, plan.degree_index);
    const auto* result = alg.slot(square(alg, plan.squarings)) + (Dual ? alg.width() : 0);
    for (size_t lane = 0; first + lane < last; ++lane) {
      In* dst = out + (begin + order[first + lane]) * nn;
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
          dst[i * n + j] = static_cast<In>(result[i * alg.ld() + j].v[lane]);
        }
      }
    }
    first = last;
  }
}

MLX_EXPM_CPU_END
