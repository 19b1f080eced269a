// The emulator's C API (loaded from Python with ctypes): the registry of
// instantiated kernels, and dispatch(), which mirrors Metal's
// dispatchThreadgroups: check the request against Metal's limits and the
// kernel's parameters, run the threadgroups on a few worker threads, and
// stop a dispatch that exceeds its time limit.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "c_api.h"
#include "tsan.h"
#include "worker.h"

#define MTLEMU_EXPORT extern "C" __attribute__((visibility("default")))

namespace mtlemu {
namespace {

constexpr unsigned kMaxBufferIndex = 31;       // Metal's buffer argument table
constexpr unsigned kMaxThreadgroupIndex = 31;  // and threadgroup memory table
constexpr unsigned long kMaxThreads = 1024;    // maxTotalThreadsPerThreadgroup on Apple GPUs
constexpr std::size_t kMaxThreadgroupMemory = 32768;

std::vector<kernel_info>& registry() {
  static std::vector<kernel_info> r;
  return r;
}

// The watchdog interrupts a worker thread whose lane loops forever; the
// handler abandons the lane (worker::escape_from_signal). Every kernel
// library has its own copy of this runtime and installs its own handler for
// the same signal, so a handler that finds no worker of its own on the
// thread passes the signal on to the one installed before it.
int watchdog_signal() { return SIGRTMIN + 7; }
struct sigaction previous_handler;
void on_watchdog_signal(int sig, siginfo_t* info, void* context) {
  if (worker* w = worker::current()) {
    w->escape_from_signal();
    return;
  }
  if (previous_handler.sa_flags & SA_SIGINFO) {
    if (previous_handler.sa_sigaction) previous_handler.sa_sigaction(sig, info, context);
  } else if (previous_handler.sa_handler != SIG_DFL && previous_handler.sa_handler != SIG_IGN) {
    previous_handler.sa_handler(sig);
  }
}
void install_watchdog_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_watchdog_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    sigaction(watchdog_signal(), &sa, &previous_handler);
  });
}

const kernel_info* find_kernel(const char* name, std::string& error) {
  for (const kernel_info& k : registry())
    if (std::strcmp(k.host_name, name) == 0) return &k;
  std::string names;
  for (const kernel_info& k : registry()) names += (names.empty() ? "" : ", ") + std::string(k.host_name);
  error = format("[dispatch] no kernel named '%s' is instantiated in this library (instantiated: %s). A kernel "
                 "template runs only through an explicit instantiation with [[host_name(\"%s\")]].",
                 name, names.empty() ? "none" : names.c_str(), name);
  return nullptr;
}

const char* param_kind(const param_info& p) { return p.reference ? "reference" : "pointer"; }

// Checks the request against Metal's limits and the kernel's parameters, and
// fills `cfg`. Returns an error message, empty if all is well.
std::string prepare(const mtlemu_request& r, const kernel_info& k, dispatch_config& cfg,
                    std::vector<void*>& buffers) {
  const char* name = k.host_name;
  unsigned long total = 1;
  for (int d = 0; d < 3; ++d) {
    if (r.threads[d] == 0 || r.groups[d] == 0)
      return format("[dispatch] %s: empty grid: threadgroups_per_grid = (%u, %u, %u), threads_per_threadgroup = "
                    "(%u, %u, %u)",
                    name, r.groups[0], r.groups[1], r.groups[2], r.threads[0], r.threads[1], r.threads[2]);
    total *= r.threads[d];
  }
  if (total > kMaxThreads)
    return format("[dispatch] %s: threads_per_threadgroup (%u, %u, %u) is %lu threads; Metal allows at most %lu",
                  name, r.threads[0], r.threads[1], r.threads[2], total, kMaxThreads);
  if (k.max_threads && total > k.max_threads)
    return format("[dispatch] %s: threads_per_threadgroup (%u, %u, %u) is %lu threads, but the kernel declares "
                  "[[max_total_threads_per_threadgroup(%u)]]",
                  name, r.threads[0], r.threads[1], r.threads[2], total, k.max_threads);

  buffers.assign(kMaxBufferIndex, nullptr);
  std::vector<std::uint64_t> sizes(kMaxBufferIndex, 0);
  for (int i = 0; i < r.n_buffers; ++i) {
    const mtlemu_buffer& b = r.buffers[i];
    if (b.index < 0 || (unsigned)b.index >= kMaxBufferIndex)
      return format("[dispatch] %s: buffer index %d is outside Metal's 0..%u", name, b.index, kMaxBufferIndex - 1);
    if (buffers[b.index]) return format("[dispatch] %s: buffer %d is set twice", name, b.index);
    buffers[b.index] = b.data;
    sizes[b.index] = b.size;
  }

  if (r.n_tg < 0 || (unsigned)r.n_tg > kMaxThreadgroupIndex)
    return format("[dispatch] %s: threadgroup memory indices are 0..%u", name, kMaxThreadgroupIndex - 1);
  cfg.tg_lengths.assign(r.n_tg, 0);
  std::size_t tg_total = 0;
  for (int i = 0; i < r.n_tg; ++i) {
    const std::uint64_t len = r.tg_lengths[i];
    if (len % 16)
      return format("[dispatch] %s: threadgroup memory length %llu at index %d is not a multiple of 16 bytes, as "
                    "setThreadgroupMemoryLength requires",
                    name, (unsigned long long)len, i);
    cfg.tg_lengths[i] = len;
    tg_total += len;
  }
  if (tg_total > kMaxThreadgroupMemory)
    return format("[dispatch] %s: %zu bytes of threadgroup memory requested; Metal allows at most %zu (32 KiB) per "
                  "threadgroup",
                  name, tg_total, kMaxThreadgroupMemory);

  for (int i = 0; i < k.n_params; ++i) {
    const param_info& p = k.params[i];
    if (p.kind == bind_kind::buffer) {
      if (!buffers[p.index])
        return format("[dispatch] %s: the kernel reads [[buffer(%d)]] ('%s') but no buffer %d was set", name,
                      p.index, p.name, p.index);
      if (p.reference && sizes[p.index] < p.size)
        return format("[dispatch] %s: buffer %d has %llu bytes, but '%s' is a %s to %lu bytes", name, p.index,
                      (unsigned long long)sizes[p.index], p.name, param_kind(p), p.size);
      if ((std::uintptr_t)buffers[p.index] % p.align)
        return format("[dispatch] %s: buffer %d is not aligned to %lu bytes, as '%s' needs", name, p.index,
                      p.align, p.name);
    } else if (p.kind == bind_kind::tg) {
      if (p.index >= r.n_tg || !cfg.tg_lengths[p.index])
        return format("[dispatch] %s: the kernel uses [[threadgroup(%d)]] ('%s') but no threadgroup memory length "
                      "was set for index %d",
                      name, p.index, p.name, p.index);
    }
  }

  cfg.kernel = &k;
  for (int d = 0; d < 3; ++d) {
    cfg.threads[d] = r.threads[d];
    cfg.groups[d] = r.groups[d];
  }
  cfg.buffers = buffers.data();
  cfg.static_tg_limit = kMaxThreadgroupMemory - tg_total;
  cfg.order = (schedule)r.schedule;
  cfg.seed = r.seed;
  cfg.stack_size = r.stack_size ? r.stack_size : 256 * 1024;
  return "";
}

// Everything the worker threads use. Heap-allocated, because a thread that
// cannot be stopped after a timeout keeps using it after dispatch returns.
struct run_state {
  dispatch_config cfg{};
  std::vector<void*> buffers;
  std::uint32_t groups[3] = {0, 0, 0};
  std::uint64_t n_groups = 0;
  std::atomic<bool> abort{false};
  std::atomic<std::uint64_t> next{0};
  std::mutex mu;
  std::condition_variable cv;
  unsigned done = 0;
  std::vector<std::pair<std::uint64_t, std::string>> failures;
  worker_stats total;
  char done_sync = 0;
};

void work(run_state& s) {
  auto w = std::make_unique<worker>(s.cfg);
  while (!s.abort.load()) {
    const std::uint64_t g = s.next.fetch_add(1);
    if (g >= s.n_groups) break;
    const unsigned id[3] = {(unsigned)(g % s.groups[0]), (unsigned)(g / s.groups[0] % s.groups[1]),
                            (unsigned)(g / ((std::uint64_t)s.groups[0] * s.groups[1]))};
    if (!w->run(id) && !w->stopped()) {
      std::lock_guard<std::mutex> lock(s.mu);
      s.failures.emplace_back(g, w->error());
      s.abort.store(true);
    }
  }
  std::lock_guard<std::mutex> lock(s.mu);
  s.total.switches += w->stats().switches;
  s.total.tg_barriers += w->stats().tg_barriers;
  s.total.simd_ops += w->stats().simd_ops;
  {
    tsan_invisible hide;  // the lanes read the worker's tables; nothing orders that before this
    w.reset();
  }
  ++s.done;
  s.cv.notify_all();
}

// Runs the threadgroups on worker threads; returns an error message, empty
// if all went well. Frees `s` unless a thread could not be stopped.
std::string run(mtlemu_request& r, run_state* s) {
  for (int d = 0; d < 3; ++d) s->groups[d] = r.groups[d];
  s->n_groups = (std::uint64_t)r.groups[0] * r.groups[1] * r.groups[2];
  s->cfg.abort = &s->abort;
  s->cfg.done_sync = &s->done_sync;
  unsigned n_workers = r.workers > 0 ? (unsigned)r.workers : std::max(1u, std::thread::hardware_concurrency());
  if (n_workers > s->n_groups) n_workers = (unsigned)s->n_groups;

  std::vector<std::thread> threads;
  for (unsigned i = 0; i < n_workers; ++i) threads.emplace_back(work, std::ref(*s));

  bool timed_out = false, stuck = false;
  {
    std::unique_lock<std::mutex> lock(s->mu);
    auto finished = [&] { return s->done == n_workers; };
    if (r.timeout > 0) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(r.timeout);
      if (!s->cv.wait_until(lock, deadline, finished)) {
        timed_out = true;
        s->abort.store(true);
        // A lane in an endless loop never reaches a switch: interrupt it.
        for (int attempt = 0; attempt < 100 && !finished(); ++attempt) {
          for (std::thread& t : threads) pthread_kill(t.native_handle(), watchdog_signal());
          s->cv.wait_for(lock, std::chrono::milliseconds(50), finished);
        }
        stuck = !finished();
      }
    }
    if (!stuck) s->cv.wait(lock, finished);
  }
  if (stuck) {
    // The lane could not be stopped: leave it, and everything it may touch,
    // to the process, which should be restarted.
    for (std::thread& t : threads) t.detach();
    return format("[dispatch] %s: timeout after %.1f s, and a thread could not be stopped; restart the process",
                  s->cfg.kernel->host_name, r.timeout);
  }
  for (std::thread& t : threads) t.join();
  tsan_acquire(&s->done_sync, 1);  // the lanes' writes, before the caller reads the buffers

  r.switches = s->total.switches;
  r.tg_barriers = s->total.tg_barriers;
  r.simd_ops = s->total.simd_ops;
  std::string msg;
  if (!s->failures.empty()) {
    // Several threadgroups may fail at once: report the first in grid order.
    msg = std::min_element(s->failures.begin(), s->failures.end())->second;
    if (timed_out) msg += format(" (after the %.1f s timeout)", r.timeout);
  } else if (timed_out) {
    msg = format("[dispatch] %s: timeout after %.1f s", s->cfg.kernel->host_name, r.timeout);
  }
  {
    tsan_invisible hide;  // lanes stopped by an error never released done_sync
    delete s;
  }
  return msg;
}

}  // namespace

void rt::register_kernel(const kernel_info& k) { registry().push_back(k); }

}  // namespace mtlemu

MTLEMU_EXPORT int mtlemu_abi_version() { return 1; }

MTLEMU_EXPORT int mtlemu_kernel_count() { return (int)mtlemu::registry().size(); }

MTLEMU_EXPORT const char* mtlemu_kernel_name(int i) { return mtlemu::registry()[i].host_name; }

// Returns 0 on success; otherwise writes the reason into `error`.
MTLEMU_EXPORT int mtlemu_dispatch(mtlemu_request* r, char* error, std::uint64_t error_size) {
  using namespace mtlemu;
  install_watchdog_handler();
  std::string e;
  if (const kernel_info* k = find_kernel(r->kernel, e)) {
    run_state* s = new run_state;
    e = prepare(*r, *k, s->cfg, s->buffers);
    if (e.empty()) e = run(*r, s);
    else delete s;
  }
  if (e.empty()) return 0;
  if (error_size) {
    std::strncpy(error, e.c_str(), error_size - 1);
    error[error_size - 1] = 0;
  }
  return 1;
}
