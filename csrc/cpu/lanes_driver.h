// The small-matrix CPU path (real dtypes, 2 <= n <= 8): L matrices per vector
// instruction (lanes.h).
//
// Matrices of one vector must share their degree and scaling, so a block of
// the batch is processed in three passes: stage every matrix (converted to the
// compute type) and plan it from its own 1-norm; order the block by plan;
// then run the scheme on groups of L matrices with equal plans, lanes past the
// end of a group repeating its first matrix. A matrix's result depends only on
// its own plan and entries, never on the matrices it shares a vector with. (So
// the plan stays the 1-norm plan here: reduce_overscaling, which needs the
// matrix's own powers, is for the paths that run one matrix at a time.)

#pragma once

#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>
#include <utility>
#include <vector>

#include "cpu/algebra.h"
#include "cpu/isa.h"
#include "cpu/job.h"
#include "cpu/lanes.h"
#include "cpu/matrices.h"
#include "cpu/scratch.h"

MLX_EXPM_CPU_BEGIN

// Puts matrices of equal plans next to each other in `order` (indices into
// plans), keeping their order within a plan; which plan comes first does not
// matter (a matrix's result depends on its own plan only). A block of the
// batch has few distinct plans (a few degrees, a few squaring counts), so
// this is a counting sort over the plans present: two passes instead of the
// n log n comparisons of a sort, which took 15% of the time at n = 3.
inline void group_by_plan(
    std::vector<int64_t>& order,
    const std::vector<ms::Plan>& plans) {
  auto key = [&](int64_t k) {
    return plans[k].degree_index + ms::mc::kNumDegrees * plans[k].squarings;
  };
  std::vector<std::pair<int, int64_t>> buckets; // (key, matrices), few entries
  std::vector<int> bucket_of(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const int kk = key(order[i]);
    auto it = std::find_if(buckets.begin(), buckets.end(), [&](const auto& b) {
      return b.first == kk;
    });
    if (it == buckets.end()) {
      if (buckets.size() == 64) { // many distinct plans: an ordinary sort
        std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
          return key(x) < key(y);
        });
        return;
      }
      it = buckets.insert(buckets.end(), {kk, 0});
    }
    ++it->second;
    bucket_of[i] = static_cast<int>(it - buckets.begin());
  }
  int64_t start = 0;
  for (auto& bucket : buckets) { // the count becomes the bucket's next slot
    start += std::exchange(bucket.second, start);
  }
  std::vector<int64_t> grouped(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    grouped[buckets[bucket_of[i]].second++] = order[i];
  }
  order.swap(grouped);
}

// Rows: n, or 0 for n known at run time; Width: the padded row (n <= Width).
template <typename In, typename R, int Rows, int Width, bool Dual>
struct LanesDriver {
  static constexpr int L = kLanes<R>;
  using Scalar =
      Algebra<R, Rows, Width, false, LoopGemm>; // views of staged matrices
  using Vector = Algebra<Lanes<R, L>, Rows, Width, Dual, LoopGemm>;

  // A block's staged matrices (A and, for duals, E; one slot each) and the
  // vector algebra's workspace.
  struct Buffers {
    R* staged_a;
    R* staged_e;
    Lanes<R, L>* workspace;
  };

  static int64_t staged_size(int n) {
    return Scalar::workspace_size(n) / ms::kNumSlots;
  }

  static Buffers carve(Scratch& scratch, int n, int64_t count) {
    Buffers b;
    b.staged_a = scratch.take<R>(count * staged_size(n));
    b.staged_e = scratch.take<R>(Dual ? count * staged_size(n) : 0);
    b.workspace = scratch.take<Lanes<R, L>>(Vector::workspace_size(n));
    return b;
  }

  static void run(const Job& job, Buffers buffers, int64_t begin, int64_t end) {
    const int n = job.a_layout.n;
    const int64_t count = end - begin;
    const int64_t staged = staged_size(n);
    const auto* a = static_cast<const In*>(job.a);
    const auto* e = static_cast<const In*>(job.e);
    auto* out = static_cast<In*>(job.out);

    // 1. Stage (zero-padded to Width) and plan; matrices with a NaN or an
    // infinity are done here.
    std::fill_n(buffers.staged_a, count * staged, R(0));
    if constexpr (Dual) {
      std::fill_n(buffers.staged_e, count * staged, R(0));
    }
    std::vector<ms::Plan> plans(count);
    std::vector<int64_t> order;
    order.reserve(count);
    for (int64_t k = 0; k < count; ++k) {
      Scalar view(n, buffers.staged_a + k * staged);
      load(view, ms::kA, 0, a + job.a_layout.offset(begin + k), job.a_layout);
      ms::Norm<R> norm;
      if (!ms::finite_norm1(view, norm)) {
        fill_nan<R>(out + (begin + k) * n * n, n);
        continue;
      }
      if constexpr (Dual) {
        Scalar e_view(n, buffers.staged_e + k * staged);
        load(
            e_view,
            ms::kA,
            0,
            e + job.e_layout.offset(begin + k),
            job.e_layout);
      }
      plans[k] = ms::plan_for_norm(norm);
      order.push_back(k);
    }

    // 2. Equal plans next to each other.
    group_by_plan(order, plans);

    // 3. Groups of up to L matrices with one plan. Entries move between the
    // staged matrices and the lanes one vector at a time.
    if (Vector::kPadded) { // zero bits are zeros; memset passes no vector by
                           // value
      std::memset(
          static_cast<void*>(buffers.workspace),
          0,
          Vector::workspace_size(n) * sizeof(Lanes<R, L>));
    }
    Vector alg(n, buffers.workspace);
    const R* sources[2][L];
    In* targets[L];
    for (size_t first = 0; first < order.size();) {
      const ms::Plan plan = plans[order[first]];
      size_t last = first + 1;
      while (last < order.size() && last - first < L &&
             plans[order[last]].degree_index == plan.degree_index &&
             plans[order[last]].squarings == plan.squarings) {
        ++last;
      }
      const int used = static_cast<int>(last - first);
      for (int lane = 0; lane < L;
           ++lane) { // unused lanes repeat the first matrix
        const int64_t k = order[first + (lane < used ? lane : 0)];
        sources[0][lane] = buffers.staged_a + k * staged;
        sources[1][lane] = Dual ? buffers.staged_e + k * staged : nullptr;
        targets[lane] = out + (begin + k) * n * n;
      }
      auto* x = alg.slot(ms::kA);
      for (int part = 0; part < (Dual ? 2 : 1); ++part) {
        for (int i = 0; i < n; ++i) {
          for (int j = 0; j < alg.width(); ++j) {
            Lanes<R, L> v;
            for (int lane = 0; lane < L; ++lane) {
              v.v[lane] = sources[part][lane][i * alg.width() + j];
            }
            x[i * alg.ld() + part * alg.width() + j] = v;
          }
        }
      }
      alg.scale_pow2(ms::kA, -plan.squarings);
      if (plan.degree_index >= ms::mc::kDegreeIndex12) {
        ms::form_low_powers(alg);
      }
      const int polynomial = ms::evaluate_taylor(alg, plan.degree_index);
      const int slot = ms::square(alg, polynomial, plan.squarings);
      const auto* result = alg.slot(slot) + (Dual ? alg.width() : 0);
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
          const Lanes<R, L> v = result[i * alg.ld() + j];
          for (int lane = 0; lane < used; ++lane) {
            targets[lane][i * n + j] = static_cast<In>(v.v[lane]);
          }
        }
      }
      first = last;
    }
  }
};

MLX_EXPM_CPU_END
