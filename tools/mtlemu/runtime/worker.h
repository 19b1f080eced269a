// Runs the threadgroups of a dispatch, one after another, on one OS thread:
// each GPU thread ("lane") of the group is a fiber; lanes run in a fixed
// order until they wait at a barrier or SIMD-group operation, and a barrier
// completes only when every lane it needs has arrived, so lanes genuinely
// interleave there. Misuse (a lane returning while others wait at a barrier,
// lanes waiting at different barriers, a SIMD-group operation some lanes
// never reach) is detected exactly, without timeouts: when no lane can run,
// the group is stuck and the error says where each lane waits.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "../shim/abi.h"
#include "fiber.h"

namespace mtlemu {

// printf-style formatting into a std::string (messages of the runtime).
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// The order in which waiting lanes resume: by lane index, reversed, or
// shuffled (seeded). A kernel whose results depend on it has a race.
enum class schedule : int { forward = 0, reverse = 1, shuffled = 2 };

struct dispatch_config {
  const kernel_info* kernel;
  unsigned threads[3];  // threads_per_threadgroup
  unsigned groups[3];   // threadgroups_per_grid
  void* const* buffers; // by [[buffer(i)]] index
  std::vector<std::size_t> tg_lengths;  // dynamic threadgroup memory by [[threadgroup(i)]] index
  std::size_t static_tg_limit;          // 32 KiB minus the dynamic threadgroup memory
  schedule order;
  std::uint64_t seed;
  std::size_t stack_size;
  std::atomic<bool>* abort;  // set by the dispatcher on timeout
  void* done_sync;           // ThreadSanitizer: lanes release here when they return
};

struct worker_stats {
  std::uint64_t switches = 0, tg_barriers = 0, simd_ops = 0;
};

class worker {
 public:
  explicit worker(const dispatch_config& cfg);
  ~worker();
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  // Runs threadgroup (x, y, z). On failure returns false; error() says why.
  bool run(const unsigned group[3]);
  const std::string& error() const { return error_; }
  // Whether the failure was only the dispatch being stopped (by a timeout or
  // another threadgroup's error), not this threadgroup's own.
  bool stopped() const { return stopped_; }
  const worker_stats& stats() const { return stats_; }

  // Called by lanes through mtlemu::rt (runtime/rt.cpp).
  unsigned simd_op(simd_kind kind, unsigned flags, const void* in, void* out, combine_fn fn, const char* what,
               const where& loc);
  void threadgroup_barrier(unsigned flags, const where& loc);
  unsigned simd_lane() const;
  void* threadgroup_static(unsigned site, std::size_t size, std::size_t align, const char* name, const char* file,
                           unsigned line);
  [[noreturn]] void fail(std::string message);

  // The worker running on this OS thread (null outside a dispatch).
  static worker* current();
  // From the watchdog's signal handler: leave a lane stuck in an endless loop.
  void escape_from_signal();

 private:
  enum class state : unsigned char { ready, wait_tg, wait_simd, exited };
  struct lane {
    fiber f;
    worker* owner = nullptr;
    unsigned index = 0, sg = 0, sg_lane = 0;
    state st = state::ready;
    // What the lane waits at.
    where loc;
    const char* what = nullptr;
    simd_kind kind = simd_kind::collective;
    combine_fn fn = nullptr;
    unsigned flags = 0;
    const void* in = nullptr;
    void* out = nullptr;
    unsigned gen = 0;
    lane_env env{};
  };
  struct simdgroup {
    unsigned first = 0, count = 0;
    unsigned waiting = 0, exited = 0;
    unsigned gen = 0;
  };
  struct static_alloc {
    unsigned site;
    std::size_t size;
    void* ptr;
  };

  static void lane_main(void* arg);
  void setup(const unsigned group[3]);
  void teardown();
  void lane_exit(lane& l);
  void block(lane& l);  // l waits: run the next ready lane (or return to the scheduler)
  void release(unsigned first, unsigned count, state waiting_in);
  void complete_simd(simdgroup& g, lane& last);
  [[noreturn]] void simd_error(const simdgroup& g, const lane& last);
  void complete_tg(lane& last);
  std::string describe_lanes() const;
  std::string group_name() const;
  std::string site(const lane& l) const;

  const dispatch_config& cfg_;
  unsigned n_ = 0;  // lanes per group
  unsigned group_[3] = {0, 0, 0};
  std::vector<lane> lanes_;
  std::vector<simdgroup> sgs_;
  std::vector<unsigned> queue_;  // ring buffer of ready lanes
  std::size_t head_ = 0, count_ = 0;
  fiber main_;
  lane* running_ = nullptr;
  unsigned tg_waiting_ = 0, exited_ = 0, tg_gen_ = 0;
  std::vector<void*> tg_dynamic_;
  std::vector<static_alloc> tg_static_;
  std::size_t tg_static_total_ = 0;
  std::uint64_t rng_ = 0;
  std::string error_;
  bool failed_ = false, stopped_ = false;
  volatile int in_lane_code_ = 0;  // read by the signal handler
  unsigned stuck_lane_ = 0;
  worker_stats stats_;
  // Sync objects for ThreadSanitizer's release/acquire at barriers: two for
  // the threadgroup barrier, then two per SIMD-group (see tsan_sync()).
  // Allocated afresh for each threadgroup, so that no happens-before edge
  // leaks from one threadgroup to the next.
  char* tsan_sync_ = nullptr;
  void* tsan_sync(int sg, unsigned gen) const { return tsan_sync_ + 2 * (sg + 1) + (gen & 1); }
};

}  // namespace mtlemu
