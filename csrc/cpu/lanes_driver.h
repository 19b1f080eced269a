// The small-matrix CPU path (real dtypes, 2 <= n <= 8): L matrices per vector
// instruction (lanes.h).
//
// Matrices of one vector must share their degree. A block of the batch is
// read L consecutive matrices at a time, straight into a vector, where each
// takes its 1-norm plan; if their degrees agree the vector runs them there
// (each lane of degree 18 scaled by its own 2^-s). Otherwise they are staged
// (converted to the compute type) and run after, grouped by 1-norm plan in
// vectors of L, lanes past the end of a group repeating its first matrix.
// In a vector of degree 18 each lane then takes the decisions of the
// scheme's plan_scheme from its own norms of X, X^2,
// X^3 and X^6, which the vector forms anyway: its undone halvings become a
// power-of-two rescaling of that lane and a squaring count of its own (the
// vector squares as often as its lanes need, and each lane's result is
// stored when its count is reached). The rare lane whose plan the vector
// cannot follow (T12 among T18s, or one for which plan_scheme forms more:
// X^2 and X^3 again, the window of higher powers, the rounding squarings) is
// deferred: planned on its own by plan_scheme, then run in a last pass with
// its final plan, its powers formed at the final scale (a T12 among T18s:
// rescaled, as plan_scheme forms them). After T18 is
// evaluated, each lane takes evaluate_planned's rounding check: a lane it
// halves is deferred too, with one squaring more (in the last pass, where
// few lanes are left, the vector is evaluated again instead). A matrix's
// result depends only on its own plan and entries, never on the matrices it
// shares a vector with, and its plan is plan_scheme's and evaluate_planned's.

#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>

#include "cpu/algebra.h"
#include "cpu/isa.h"
#include "cpu/job.h"
#include "cpu/lanes.h"
#include "cpu/lanewise.h"
#include "cpu/matrices.h"
#include "cpu/scratch.h"

MLX_EXPM_CPU_BEGIN

// Internal linkage, as the scheme whose plans the driver keeps
// (metal/matrix_exp_scheme.h): a class of external linkage may not hold them.
namespace {

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
    // Mostly the previous matrix's bucket; else a search of the few.
    auto it = i > 0 && buckets[bucket_of[i - 1]].first == kk
        ? buckets.begin() + bucket_of[i - 1]
        : std::find_if(buckets.begin(), buckets.end(), [&](const auto& b) {
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
  static_assert(Width > 0, "lanes rows are padded to a compile-time width");
  static constexpr int L = kLanes<R>;
  using Scalar =
      Algebra<R, Rows, Width, false, LoopGemm>; // views of staged matrices
  using Vector = Algebra<Lanes<R, L>, Rows, Width, Dual, LoopGemm>;

  // A block's staged matrices (A and, for duals, E; one slot each), the
  // workspace a deferred matrix is planned in, and the vector algebra's
  // workspace.
  struct Buffers {
    R* staged_a;
    R* staged_e;
    R* planning;
    Lanes<R, L>* workspace;
  };

  static int64_t staged_size(int n) {
    return Scalar::workspace_size(n) / ms::kNumSlots;
  }

  static Buffers carve(Scratch& scratch, int n, int64_t count) {
    Buffers b;
    b.staged_a = scratch.take<R>(count * staged_size(n));
    b.staged_e = scratch.take<R>(Dual ? count * staged_size(n) : 0);
    b.planning = scratch.take<R>(Scalar::workspace_size(n));
    b.workspace = scratch.take<Lanes<R, L>>(Vector::workspace_size(n));
    return b;
  }

  // Matrices [begin, end) of the job; with `record`, each one's final plan
  // ({degree, squarings}; {0, 0} for a NaN or an infinity) at record[k].
  static void run(
      const Job& job,
      Buffers buffers,
      int64_t begin,
      int64_t end,
      std::array<int, 2>* record = nullptr) {
    Block block(job, buffers, begin, end, record);
    block.run();
  }

 private:
  static constexpr int kUnplanned = -1; // a deferred matrix's degree_index
  using PowerNorms = ms::PowerNorms<Lanes<R, L>>;

  // What each lane of a group takes: its matrix's final squarings, or none
  // (an unused lane, or a deferred matrix); and its 1-norm plan's squarings,
  // up to which the rounding check may add halvings.
  using Count = typename ms::Lanewise<Lanes<R, L>>::count;
  using Mask = typename ms::Lanewise<Lanes<R, L>>::mask;
  struct LanePlans {
    int used; // lanes [0, used) hold the group's matrices
    int squarings[L];
    Count one_norm_squarings;
    Lanes<R, L> one_norm_x; // ||A||_1 / 2^s of that plan (of degree 18)
    bool active[L];
  };

  struct Block {
    Block(
        const Job& job,
        Buffers buffers,
        int64_t begin,
        int64_t end,
        std::array<int, 2>* record)
        : job(job),
          buffers(buffers),
          begin(begin),
          count(end - begin),
          n(job.a_layout.n),
          staged(staged_size(job.a_layout.n)),
          record(record),
          plans(count),
          one_norm_squarings(count),
          one_norm_x(count),
          is_staged(count) {}

    void run() {
      Vector alg(n, buffers.workspace);
      if (Vector::kPadded) { // zero bits are zeros; memset passes no vector
        std::memset(
            static_cast<void*>(buffers.workspace),
            0,
            Vector::workspace_size(n) * sizeof(Lanes<R, L>));
      }
      std::vector<int64_t> order; // the staged matrices, to run grouped
      std::vector<int64_t> deferred;
      for (int64_t first = 0; first < count; first += L) {
        run_consecutive(alg, first, order, deferred);
      }
      group_by_plan(order, plans);
      run_groups(alg, order, &deferred);
      if (deferred.empty()) {
        return;
      }
      Scalar planner(n, buffers.planning);
      std::fill_n(buffers.planning, Scalar::workspace_size(n), R(0));
      for (int64_t k : deferred) {
        if (plans[k].degree_index == kUnplanned) {
          std::copy_n(
              buffers.staged_a + k * staged, staged, planner.slot(ms::kA));
          ms::Norm<R> norm;
          ms::finite_norm1(planner, norm);
          ms::PowerNorms<R> norms; // the deferred run forms them afresh
          plans[k] = ms::plan_scheme(planner, norm, norms);
        }
      }
      group_by_plan(deferred, plans);
      run_groups(alg, deferred, nullptr);
    }

    // Matrices [first, first + L) of the block (fewer at its end): loaded
    // straight into the vector and each planned from its 1-norm there. When
    // their 1-norm plans share a degree, the vector runs them at once (in
    // one of degree 18 each lane is scaled by its own 2^-s, as plan_scheme
    // scales its matrix); else they are staged from the vector, to run in
    // groups of one plan (one with a NaN, an infinity or columns summing past
    // the largest finite number is staged and planned by finite_norm1). A
    // batch of similar matrices mostly takes the first way, without a copy,
    // a scalar norm or a sort.
    void run_consecutive(
        Vector& alg,
        int64_t first,
        std::vector<int64_t>& order,
        std::vector<int64_t>& deferred) {
      LanePlans lanes;
      lanes.used = static_cast<int>(std::min<int64_t>(L, count - first));
      for (int lane = 0; lane < L; ++lane) { // unused: the first matrix
        group[lane] = first + (lane < lanes.used ? lane : 0);
      }
      load_consecutive(alg);
      const Lanes<R, L> norm = lane_norms(alg, ms::kA);
      Count squarings;
      ms::Plan plan{ms::mc::kDegreeIndex18, 0};
      if (!degree18_squarings(norm, squarings)) { // mostly degree 18
        ms::Plan own[L];
        bool shared = true;
        for (int lane = 0; lane < lanes.used; ++lane) {
          const bool finite = norm.v[lane] <= std::numeric_limits<R>::max();
          own[lane] = finite ? ms::plan_for_norm(ms::Norm<R>{norm.v[lane], 0})
                             : ms::Plan{kUnplanned, 0};
          shared =
              shared && finite && own[lane].degree_index == own[0].degree_index;
        }
        if (!shared) {
          for (int lane = 0; lane < lanes.used; ++lane) {
            if (own[lane].degree_index == kUnplanned) { // to finite_norm1
              stage_planned(group[lane], order);
            } else {
              stage_lane(alg, lane);
              plans[group[lane]] = own[lane];
              one_norm_squarings[group[lane]] = own[lane].squarings;
              one_norm_x[group[lane]] = ms::norm_at_scale(
                  ms::Norm<R>{norm.v[lane], 0}, own[lane].squarings);
              order.push_back(group[lane]);
            }
          }
          return;
        }
        for (int lane = 0; lane < L; ++lane) { // a degree below 18: s = 0
          squarings[lane] = own[lane < lanes.used ? lane : 0].squarings;
        }
        plan = own[0];
      }
      lanes.one_norm_squarings = squarings;
      lanes.one_norm_x = ms::Lanewise<Lanes<R, L>>::scale2(norm, -squarings);
      for (int lane = 0; lane < L; ++lane) {
        lanes.squarings[lane] = static_cast<int>(squarings[lane]);
        lanes.active[lane] = lane < lanes.used;
        targets[lane] = output(group[lane]);
        one_norm_squarings[group[lane]] = lanes.squarings[lane];
      }
      run_vector(alg, plan, lanes, &deferred);
    }

    // Where every lane's 1-norm is finite and above theta_18 (its plan of
    // degree 18): each lane's squarings of plan_for_norm, the smallest s with
    // norm <= theta_18 2^s, in vector operations on the bits (norm = m 2^e,
    // theta_18 = m' 2^e', m and m' in [1, 2): s = e - e' + (m > m' ? 1 :
    // 0)), where plan_for_norm's loop and its conversion to a vector took a
    // twentieth of the time of a batch of 3 x 3; else false.
    static bool degree18_squarings(const Lanes<R, L>& norm, Count& squarings) {
      using W = ms::Lanewise<Lanes<R, L>>;
      using Bits = typename W::lane_int;
      constexpr int kFraction = std::numeric_limits<R>::digits - 1;
      constexpr Bits kMantissa = (Bits(1) << kFraction) - 1;
      const R theta18 = ms::RealTraits<R>::theta(ms::mc::kDegreeIndex18);
      const Lanes<R, L> theta(theta18);
      const Lanes<R, L> largest(std::numeric_limits<R>::max());
      const Mask planned =
          (Mask)(norm.v > theta.v) & (Mask)(norm.v <= largest.v);
      if (W::any(~planned)) { // a NaN, an infinity, or a lower degree
        return false;
      }
      Count bits;
      std::memcpy(&bits, &norm.v, sizeof bits);
      Bits theta_bits;
      std::memcpy(&theta_bits, &theta18, sizeof theta_bits);
      squarings = (bits >> kFraction) - (theta_bits >> kFraction) -
          (Count)((bits & kMantissa) > (theta_bits & kMantissa));
      return true;
    }

    // Runs `order` (grouped by plan) in vectors of up to L matrices of one
    // plan (see run_vector).
    void run_groups(
        Vector& alg,
        const std::vector<int64_t>& order,
        std::vector<int64_t>* deferred) {
      for (size_t first = 0; first < order.size();) {
        const ms::Plan plan = plans[order[first]];
        size_t last = first + 1;
        while (last < order.size() && last - first < L &&
               plans[order[last]].degree_index == plan.degree_index &&
               plans[order[last]].squarings == plan.squarings) {
          ++last;
        }
        LanePlans lanes;
        lanes.used = static_cast<int>(last - first);
        for (int lane = 0; lane < L; ++lane) { // unused: the first matrix
          group[lane] = order[first + (lane < lanes.used ? lane : 0)];
          targets[lane] = output(group[lane]);
          lanes.squarings[lane] = plan.squarings;
          lanes.one_norm_squarings[lane] = one_norm_squarings[group[lane]];
          lanes.one_norm_x.v[lane] = one_norm_x[group[lane]];
          lanes.active[lane] = lane < lanes.used;
        }
        load_group(alg);
        run_vector(alg, plan, lanes, deferred);
        first = last;
      }
    }

    // Runs the vector of matrices `group` (their A in kA) with `lanes`.
    // With `deferred`, their plans are 1-norm plans (in a vector of degree
    // 18, lanes.one_norm_squarings holds each lane's) that each lane reduces as
    // plan_scheme would, and the matrices the vector cannot follow are
    // appended there (with those the rounding check halves); without, the
    // plan is final (one for all lanes) but for the rounding check's
    // halvings, which the vector then takes in place.
    void run_vector(
        Vector& alg,
        ms::Plan plan,
        LanePlans& lanes,
        std::vector<int64_t>* deferred) {
      int degree_index = plan.degree_index;
      PowerNorms norms;
      bool norms_known = false;
      if (deferred && plan.degree_index == ms::mc::kDegreeIndex18) {
        degree_index = reduce(alg, lanes, *deferred, norms);
        norms_known = true;
      } else if (!deferred && plan.degree_index == ms::mc::kDegreeIndex12) {
        prepare_deferred_t12(alg, lanes);
      } else {
        ms::prepare_slots(alg, plan);
      }
      if (std::none_of(lanes.active, lanes.active + lanes.used, [](bool a) {
            return a;
          })) {
        return;
      }
      int slot;
      do { // one call of evaluate_taylor, which the compiler may inline
        slot = ms::evaluate_taylor(alg, degree_index);
      } while (degree_index == ms::mc::kDegreeIndex18 &&
               check_rounding(alg, lanes, norms, norms_known, deferred));
      square_and_store(alg, slot, lanes);
      for (int lane = 0; lane < lanes.used && record; ++lane) {
        if (lanes.active[lane]) {
          record[group[lane]] = {
              ms::mc::kDegrees[degree_index], lanes.squarings[lane]};
        }
      }
    }

    // The reduction of plan_scheme for each lane of a vector of degree 18,
    // from its 1-norm plan's squarings (lanes.one_norm_squarings): X, X^2,
    // X^3 (and X^6) as plan_scheme forms them, the decisions taken for all
    // lanes at once (lanewise.h), each lane scaled by its own power of two.
    // Deferred: T12 among T18s, and what the vector cannot follow plan_scheme
    // in (X^2 and X^3 formed again after kReformHalvings, the window, the
    // rounding squarings); the deferred run forms the powers afresh at the
    // final scale (a T12: prepare_deferred_t12). Returns the degree the
    // vector evaluates.
    int reduce(
        Vector& alg,
        LanePlans& lanes,
        std::vector<int64_t>& deferred,
        PowerNorms& norms) {
      using W = ms::Lanewise<Lanes<R, L>>;
      const Count one_norm_squarings = lanes.one_norm_squarings;
      const int first_lane = static_cast<int>(one_norm_squarings[0]);
      if (!W::any(one_norm_squarings != W::splat(first_lane))) { // mostly
        alg.scale_pow2(ms::kA, -first_lane); // one factor
      } else {
        lane_scale_pow2(alg, ms::kA, one_norm_squarings, -1);
      }
      ms::form_low_powers(alg);
      Lanes<R, L> norm3 = lane_norms(alg, ms::kA3);
      norms.x = lanes.one_norm_x;
      norms.x2 = lane_norms(alg, ms::kA2);
      const ms::LowPowerReduction<Lanes<R, L>> reduction =
          ms::reduce_with_low_powers(
              one_norm_squarings, norms.x, norms.x2, norm3);
      const Mask reform =
          W::greater(reduction.undone, ms::mc::kReformHalvings - 1);
      // (Unused lanes repeat lane 0, so all L lanes answer for the used.)
      const bool any18 = W::any(W::negate(reduction.to_t12));
      const int degree_index =
          any18 ? ms::mc::kDegreeIndex18 : ms::mc::kDegreeIndex12;
      const Mask t12_apart = any18 ? reduction.to_t12 : reform;
      if (W::any(t12_apart | (reform & ~reduction.to_t12))) {
        for (int lane = 0; lane < lanes.used; ++lane) {
          if (reduction.to_t12[lane] && t12_apart[lane]) {
            defer(lane, ms::Plan{ms::mc::kDegreeIndex12, 0}, lanes, deferred);
          } else if (reform[lane] && !reduction.to_t12[lane]) {
            defer(lane, ms::Plan{kUnplanned, 0}, lanes, deferred);
          }
        }
      }
      const Count squarings = one_norm_squarings - reduction.undone;
      for (int lane = 0; lane < L; ++lane) {
        lanes.squarings[lane] = static_cast<int>(squarings[lane]);
      }
      const bool rescaled = W::any(W::greater(reduction.undone, 0));
      if (rescaled) {
        lane_scale_pow2(alg, ms::kA, reduction.undone, 1);
        lane_scale_pow2(alg, ms::kA2, reduction.undone, 2);
        lane_scale_pow2(alg, ms::kA3, reduction.undone, 3);
        const Lanes<R, L> factor = lane_pow2(reduction.undone); // exact
        norms.x = factor * norms.x;
        norms.x2 = factor * (factor * norms.x2);
        norm3 = factor * (factor * (factor * norm3));
      }
      if (degree_index == ms::mc::kDegreeIndex12) {
        return degree_index;
      }
      alg.mul(ms::kA6, ms::kA3, ms::kA3);
      norms.x3 = norm3;
      Mask replan = ms::rounding_may_need_squarings(norm3);
      if (W::any(W::greater(squarings, ms::mc::kWindowProducts))) {
        const Lanes<R, L> norm6 = lane_norms(alg, ms::kA6);
        if (window_may_pay_at_all(norm3, norm6)) {
          replan |= ms::window_may_pay(squarings, norm3, norm6);
        }
      }
      if (W::any(replan)) {
        for (int lane = 0; lane < lanes.used; ++lane) {
          if (lanes.active[lane] && replan[lane]) {
            defer(lane, ms::Plan{kUnplanned, 0}, lanes, deferred);
          }
        }
      }
      return degree_index;
    }

    // X, X^2 and X^3 of deferred matrices of degree 12 (T12 among T18s) as
    // plan_scheme leaves them, whose reduction undid all of their 1-norm
    // plan's squarings (lanes.one_norm_squarings): formed from A / 2^s and
    // rescaled by 2^s (formed again from the rescaled X after
    // kReformHalvings), so that a matrix gets the bits a vector of T12s
    // gives it in reduce, whatever its neighbours in the batch (A / 2^s and
    // its products may fall below the normal range).
    void prepare_deferred_t12(Vector& alg, const LanePlans& lanes) {
      using W = ms::Lanewise<Lanes<R, L>>;
      const Count s = lanes.one_norm_squarings;
      lane_scale_pow2(alg, ms::kA, s, -1);
      ms::form_low_powers(alg);
      lane_scale_pow2(alg, ms::kA, s, 1);
      lane_scale_pow2(alg, ms::kA2, s, 2);
      lane_scale_pow2(alg, ms::kA3, s, 3);
      const typename W::mask reform =
          W::greater(s, ms::mc::kReformHalvings - 1);
      if (W::any(reform)) { // formed again in kB0, kB1 (free until T12)
        alg.mul(ms::kB0, ms::kA, ms::kA);
        alg.mul(ms::kB1, ms::kA, ms::kB0);
        const int64_t size = slot_size(alg);
        for (int lane = 0; lane < L; ++lane) {
          for (int64_t e = 0; reform[lane] && e < size; ++e) {
            alg.slot(ms::kA2)[e].v[lane] = alg.slot(ms::kB0)[e].v[lane];
            alg.slot(ms::kA3)[e].v[lane] = alg.slot(ms::kB1)[e].v[lane];
          }
        }
      }
    }

    // evaluate_planned's rounding check, lane by lane, after T18 is
    // evaluated (in kB1, from B2 + A9 in kB0 and A9 in kR), with the norms
    // of the lanes' powers (`known`: as reduce left them; else formed here).
    // The lanes it halves are deferred, to run with one squaring more, when
    // `deferred` is given (a few lanes of many vectors then share vectors);
    // else halved in place (their X and powers rescaled by 2^-1, 2^-2, 2^-3,
    // 2^-6), and true returned: the vector is to be evaluated again (the
    // other lanes' slots are unchanged, and so is their T18).
    bool check_rounding(
        Vector& alg,
        LanePlans& lanes,
        PowerNorms& norms,
        bool& known,
        std::vector<int64_t>* deferred) {
      using W = ms::Lanewise<Lanes<R, L>>;
      bool may[L];
      bool any = false;
      for (int lane = 0; lane < L; ++lane) {
        may[lane] = lane < lanes.used && lanes.active[lane] &&
            lanes.squarings[lane] < lanes.one_norm_squarings[lane];
        any = any || may[lane];
      }
      if (!any) {
        return false;
      }
      if (!known) {
        norms = {
            lane_norms(alg, ms::kA),
            lane_norms(alg, ms::kA2),
            lane_norms(alg, ms::kA3)};
        known = true;
      }
      const typename W::mask pays = ms::halving_pays(
          norms,
          lane_norm1_abs_product(alg, ms::kB0, ms::kR),
          lane_norms(alg, ms::kB1));
      Count halvings = W::splat(0);
      any = false;
      for (int lane = 0; lane < L; ++lane) {
        if (!may[lane] || !pays[lane]) {
          continue;
        }
        any = true;
        if (deferred) {
          const ms::Plan plan{
              ms::mc::kDegreeIndex18, lanes.squarings[lane] + 1};
          defer(lane, plan, lanes, *deferred);
        } else {
          halvings[lane] = 1;
          ++lanes.squarings[lane];
        }
      }
      if (!any || deferred) {
        return false;
      }
      // Factors 2^-1 ... 2^-6, normal numbers: each product is exact.
      const Lanes<R, L> half = lane_pow2(-halvings);
      const Lanes<R, L> quarter = half * half;
      const Lanes<R, L> eighth = quarter * half;
      const Lanes<R, L> factors[4] = {half, quarter, eighth, eighth * eighth};
      const int slots[4] = {ms::kA, ms::kA2, ms::kA3, ms::kA6};
      const int64_t size = slot_size(alg);
      for (int p = 0; p < 4; ++p) {
        Lanes<R, L>* x = alg.slot(slots[p]);
        for (int64_t e = 0; e < size; ++e) {
          x[e] = factors[p] * x[e];
        }
      }
      norms.x = half * norms.x;
      norms.x2 = quarter * norms.x2;
      norms.x3 = eighth * norms.x3;
      return true;
    }

    // Takes a lane's matrix out of its group, to run later with `plan`
    // (kUnplanned: the one plan_scheme gives it), staged.
    void defer(
        int lane,
        ms::Plan plan,
        LanePlans& lanes,
        std::vector<int64_t>& deferred) {
      lanes.active[lane] = false;
      if (!is_staged[group[lane]]) {
        stage(group[lane]);
      }
      plans[group[lane]] = plan;
      deferred.push_back(group[lane]);
    }

    // Copies matrix k (and, for duals, its E) to its staging slot, padded
    // with zeros.
    Scalar stage(int64_t k) {
      for (int part = 0; part < (Dual ? 2 : 1); ++part) {
        R* slot = (part ? buffers.staged_e : buffers.staged_a) + k * staged;
        std::fill_n(slot, staged, R(0));
        Scalar view(n, slot);
        load(
            view,
            ms::kA,
            0,
            input(part) + layout(part).offset(begin + k),
            layout(part));
      }
      is_staged[k] = true;
      return Scalar(n, buffers.staged_a + k * staged);
    }

    // Copies a lane of the vector's kA (and, for duals, its E) to its
    // matrix's staging slot (padded with zeros, as the vector is).
    void stage_lane(Vector& alg, int lane) {
      const Lanes<R, L>* x = alg.slot(ms::kA);
      const int rows = Rows > 0 ? Rows : n;
      for (int part = 0; part < (Dual ? 2 : 1); ++part) {
        R* out =
            (part ? buffers.staged_e : buffers.staged_a) + group[lane] * staged;
        for (int i = 0; i < rows; ++i) {
          for (int j = 0; j < Width; ++j) {
            out[i * Width + j] = x[i * alg.ld() + part * Width + j].v[lane];
          }
        }
      }
      is_staged[group[lane]] = true;
    }

    // Stages matrix k and takes its 1-norm plan, appending it to `order`;
    // one with a NaN or an infinity is done here.
    void stage_planned(int64_t k, std::vector<int64_t>& order) {
      Scalar view = stage(k);
      ms::Norm<R> norm;
      if (!ms::finite_norm1(view, norm)) {
        fill_nan<R>(output(k), n);
        if (record) {
          record[k] = {0, 0};
        }
        return;
      }
      plans[k] = ms::plan_for_norm(norm);
      one_norm_squarings[k] = plans[k].squarings;
      one_norm_x[k] = ms::norm_at_scale(norm, plans[k].squarings);
      order.push_back(k);
    }

    // The matrices `group` straight from the job's arrays into the vector's
    // kA (their E beside, for duals), converted and padded with zeros.
    void load_consecutive(Vector& alg) {
      Lanes<R, L>* x = alg.slot(ms::kA);
      const int rows = Rows > 0 ? Rows : n;
      for (int part = 0; part < (Dual ? 2 : 1); ++part) {
        const BatchLayout& from = layout(part);
        const In* sources[L];
        for (int lane = 0; lane < L; ++lane) {
          sources[lane] = input(part) + from.offset(begin + group[lane]);
        }
        for (int i = 0; i < rows; ++i) {
          for (int j = 0; j < Width; ++j) {
            Lanes<R, L> v(R(0));
            if (j < rows) {
              for (int lane = 0; lane < L; ++lane) {
                v.v[lane] = static_cast<R>(
                    sources[lane][i * from.row_stride + j * from.col_stride]);
              }
            }
            x[i * alg.ld() + part * Width + j] = v;
          }
        }
      }
    }

    // The group's staged matrices into the vector's kA, lane by lane.
    void load_group(Vector& alg) {
      Lanes<R, L>* x = alg.slot(ms::kA);
      for (int part = 0; part < (Dual ? 2 : 1); ++part) {
        const R* sources[L];
        for (int lane = 0; lane < L; ++lane) {
          sources[lane] = (part ? buffers.staged_e : buffers.staged_a) +
              group[lane] * staged;
        }
        for (int i = 0; i < n; ++i) {
          for (int j = 0; j < Width; ++j) {
            Lanes<R, L> v;
            for (int lane = 0; lane < L; ++lane) {
              v.v[lane] = sources[lane][i * Width + j];
            }
            x[i * alg.ld() + part * Width + j] = v;
          }
        }
      }
    }

    // Squares T_m(X) in slot `from` as often as the active lanes need and
    // stores each lane's result (ms::square's products). Where the lanes'
    // counts differ, each lane's square is kept, when its count is reached,
    // in slot kA3 (free once T_m is evaluated) by a lanewise select, and the
    // results stored from there at once: a store of some lanes goes lane by
    // lane, as many stores as a whole vector's but for a tenth of the time
    // of a batch of float32 3 x 3.
    void square_and_store(Vector& alg, int from, const LanePlans& lanes) {
      int most = 0;
      int least = std::numeric_limits<int>::max();
      for (int lane = 0; lane < L; ++lane) {
        if (lanes.active[lane]) {
          most = std::max(most, lanes.squarings[lane]);
          least = std::min(least, lanes.squarings[lane]);
        }
      }
      int to = ms::kA2;
      auto keep_lanes_done = [&](int i) { // those squared i times, into kA3
        Mask done;
        for (int lane = 0; lane < L; ++lane) {
          done[lane] =
              lanes.active[lane] && lanes.squarings[lane] == i ? -1 : 0;
        }
        select_lanes(alg.slot(ms::kA3), alg.slot(from), done, slot_size(alg));
      };
      for (int i = 0; i < most; ++i) {
        if (i >= least) {
          keep_lanes_done(i);
        }
        alg.mul(to, from, from);
        std::swap(from, to);
      }
      if (least < most) {
        keep_lanes_done(most);
        from = ms::kA3;
      }
      int active[L];
      int count = 0;
      for (int lane = 0; lane < L; ++lane) {
        if (lanes.active[lane]) {
          active[count++] = lane;
        }
      }
      store_lanes(alg, from, active, count);
    }

    // out[e] = x[e] in the lanes where `take` is set (all bits), e < size.
    static void select_lanes(
        Lanes<R, L>* out,
        const Lanes<R, L>* x,
        const Mask& take,
        int64_t size) {
      for (int64_t e = 0; e < size; ++e) {
        Mask kept, taken;
        std::memcpy(&kept, &out[e].v, sizeof kept);
        std::memcpy(&taken, &x[e].v, sizeof taken);
        kept = (take & taken) | (~take & kept);
        std::memcpy(&out[e].v, &kept, sizeof kept);
      }
    }

    // The results of the listed lanes, from the X part of slot `slot`: for
    // the whole vector (mostly), one vector load per entry, its lanes to
    // their matrices; else lane by lane.
    void store_lanes(Vector& alg, int slot, const int* lanes, int count) {
      const Lanes<R, L>* result = alg.slot(slot) + (Dual ? Width : 0);
      const int rows = Rows > 0 ? Rows : n;
      if (count == L) {
        for (int i = 0; i < rows; ++i) {
          for (int j = 0; j < rows; ++j) {
            const Lanes<R, L> v = result[i * alg.ld() + j];
            for (int lane = 0; lane < L; ++lane) {
              targets[lane][i * rows + j] = static_cast<In>(v.v[lane]);
            }
          }
        }
        return;
      }
      for (int l = 0; l < count; ++l) {
        In* target = targets[lanes[l]];
        for (int i = 0; i < rows; ++i) {
          for (int j = 0; j < rows; ++j) {
            target[i * rows + j] =
                static_cast<In>(result[i * alg.ld() + j].v[lanes[l]]);
          }
        }
      }
    }

    // Each lane's 1-norm of slot d (its X part), as Scalar::norm1 computes
    // it: the same column sums in the same order, their largest, NaN if one
    // is NaN; lane by lane in vector operations (a select is bit masks).
    Lanes<R, L> lane_norms(Vector& alg, int d) {
      Lanes<R, L> sums[Width];
      lane_column_sums(alg, d, sums);
      return lane_largest(sums);
    }

    // Each lane's column sums of |X| (slot d's X part).
    void lane_column_sums(Vector& alg, int d, Lanes<R, L>* sums) {
      const Lanes<R, L>* x = alg.slot(d);
      const int rows = Rows > 0 ? Rows : n;
      for (int j = 0; j < Width; ++j) {
        sums[j] = Lanes<R, L>(R(0));
      }
      for (int i = 0; i < rows; ++i) {
        for (int j = 0; j < Width; ++j) {
          sums[j] += abs(x[i * alg.ld() + j]);
        }
      }
    }

    // Each lane's largest of sums[0..Width) (each +0 or more, or NaN), NaN
    // if one is NaN: Scalar::norm1's selection, in bit masks.
    static Lanes<R, L> lane_largest(const Lanes<R, L>* sums) {
      Mask best;
      std::memcpy(&best, &sums[0].v, sizeof best);
      Mask nan = (Mask)(sums[0].v != sums[0].v);
      for (int j = 1; j < Width; ++j) {
        Mask sum;
        std::memcpy(&sum, &sums[j].v, sizeof sum);
        nan |= (Mask)(sums[j].v != sums[j].v);
        Lanes<R, L> best_value;
        std::memcpy(&best_value.v, &best, sizeof best);
        const Mask larger = (Mask)(sums[j].v > best_value.v);
        best = (larger & sum) | (~larger & best);
      }
      Lanes<R, L> quiet_nan(std::numeric_limits<R>::quiet_NaN());
      Mask nan_bits;
      std::memcpy(&nan_bits, &quiet_nan.v, sizeof nan_bits);
      best = (nan & nan_bits) | (~nan & best);
      Lanes<R, L> out;
      std::memcpy(&out.v, &best, sizeof best);
      return out;
    }

    // 2^k[lane] in each lane.
    static Lanes<R, L> lane_pow2(const Count& k) {
      Lanes<R, L> out;
      for (int lane = 0; lane < L; ++lane) {
        out.v[lane] = ms::ldexp(R(1), static_cast<int>(k[lane]));
      }
      return out;
    }

    // Each lane's || |P| |Q| ||_1 of slots p and q (their X parts): the row
    // vector 1^T |P| |Q| in vector operations, its largest entry per lane.
    Lanes<R, L> lane_norm1_abs_product(Vector& alg, int p, int q) {
      Lanes<R, L> v[Width];
      lane_column_sums(alg, p, v); // 1^T |P|
      const Lanes<R, L>* y = alg.slot(q);
      const int rows = Rows > 0 ? Rows : n;
      Lanes<R, L> w[Width];
      for (int j = 0; j < Width; ++j) {
        w[j] = Lanes<R, L>(R(0));
      }
      for (int i = 0; i < rows; ++i) {
        for (int j = 0; j < Width; ++j) {
          w[j] += v[i] * abs(y[i * alg.ld() + j]);
        }
      }
      return lane_largest(w);
    }

    // Multiplies each lane of slot d by 2^(power k[lane]), in the factors
    // Algebra::scale_pow2 uses, so that a lane gets the bits plan_scheme's
    // rescale_powers gives its matrix.
    void lane_scale_pow2(Vector& alg, int d, const Count& k, int power) {
      constexpr int kStep = std::numeric_limits<R>::max_exponent - 2;
      int left[L];
      for (int lane = 0; lane < L; ++lane) {
        left[lane] = power * static_cast<int>(k[lane]);
      }
      Lanes<R, L>* x = alg.slot(d);
      for (bool more = true; more;) {
        Lanes<R, L> factor;
        more = false;
        for (int lane = 0; lane < L; ++lane) {
          const int step = std::clamp(left[lane], -kStep, kStep);
          factor.v[lane] = ms::ldexp(R(1), step);
          left[lane] -= step;
          more = more || left[lane] != 0;
        }
        const int64_t size = slot_size(alg);
        for (int64_t e = 0; e < size; ++e) {
          x[e] = factor * x[e];
        }
      }
    }

    // Whether window_may_pay can hold in any lane, from the binary exponents
    // of the norms alone: for x in [2^e, 2^(e + 1)), log2 x is in [e, e + 1),
    // so its estimate of log2 d_10, (7/30) log2 ||X^6|| - (2/15) log2
    // ||X^3||, is at least (7 e6 - 4 (e3 + 1)) / 30, an integer over 30,
    // compared with the window's bound (and 1/64 to spare for the rounding
    // of the estimate) in integer vector operations; a subnormal or zero
    // ||X^6|| answers yes. For most matrices d_10 is near the spectral
    // radius, far above the window's bound, and its log2 calls, a tenth of
    // the time of a float64 batch of 3 x 3, are not needed.
    static bool window_may_pay_at_all(
        const Lanes<R, L>& norm3,
        const Lanes<R, L>& norm6) {
      using W = ms::Lanewise<Lanes<R, L>>;
      using Bits = typename W::lane_int;
      constexpr int kFraction = std::numeric_limits<R>::digits - 1;
      static const Bits most = static_cast<Bits>(
          std::floor(R(30) * (ms::window_log2_d10_bound<R>() + R(1.0 / 64))));
      Count bits3, bits6;
      std::memcpy(&bits3, &norm3.v, sizeof bits3);
      std::memcpy(&bits6, &norm6.v, sizeof bits6);
      constexpr Bits kBias = std::numeric_limits<R>::max_exponent - 1;
      const Count biased3 = bits3 >> kFraction; // e3 + kBias
      const Count biased6 = bits6 >> kFraction; // e6 + kBias
      // 7 e6 - 4 (e3 + 1)
      const Count lowest = Bits(7) * biased6 - Bits(4) * biased3 -
          W::splat(static_cast<int>(3 * kBias + 4));
      return W::any((Mask)(biased6 == 0) | (Mask)(lowest <= most));
    }

    // The job's A (part 0) or E (part 1), and where its matrices are.
    const In* input(int part) const {
      return static_cast<const In*>(part ? job.e : job.a);
    }
    const BatchLayout& layout(int part) const {
      return part ? job.e_layout : job.a_layout;
    }

    // Elements of a vector slot (rows of X and, for duals, dX).
    int64_t slot_size(const Vector& alg) const {
      return int64_t(Rows > 0 ? Rows : n) * alg.ld();
    }

    In* output(int64_t k) {
      return static_cast<In*>(job.out) + (begin + k) * n * n;
    }

    const Job& job;
    Buffers buffers;
    int64_t begin;
    int64_t count;
    int n;
    int64_t staged;
    std::array<int, 2>* record;
    std::vector<ms::Plan> plans;
    std::vector<int> one_norm_squarings; // of each matrix's 1-norm plan
    std::vector<R> one_norm_x; // and ||A||_1 / 2^s, ||X||_1 at its scale
    std::vector<char> is_staged; // whether its staging slot holds it
    int64_t group[L]; // the matrices of the group in the vector, by lane
    In* targets[L]; // and their results
  };
};

} // namespace

MLX_EXPM_CPU_END
