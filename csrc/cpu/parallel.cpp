#include "cpu/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <queue>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <pthread.h>
#if defined(__linux__)
#include <sched.h>
#endif

namespace mlx_expm::cpu {

namespace {

thread_local bool in_region = false;

// How long a thread polls before it sleeps: a worker for its next task, the
// caller of parallel_for for its workers. The products of one large matrix
// (blas.h) come every few hundred microseconds, with single-threaded
// elementwise passes between them; waking a sleeping thread took 50-100 us
// on the 2-core benchmark VM, a quarter of the time of a 300 x 300 exp.
constexpr auto kSpin = std::chrono::microseconds(200);

inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls ready() for up to kSpin; returns whether it became true.
template <class Ready>
bool spin_until(Ready ready) {
  const auto end = std::chrono::steady_clock::now() + kSpin;
  do {
    for (int i = 0; i < 64; ++i) {
      if (ready()) {
        return true;
      }
      relax();
    }
  } while (std::chrono::steady_clock::now() < end);
  return false;
}

// Workers wait for tasks for the life of the process (or until a fork). The
// pool is never destroyed: joining at exit could wait on work MLX's own
// threads still hold.
class Pool {
 public:
  explicit Pool(int workers) : workers_(workers) {}

  void start() {
    for (int i = 0; i < workers_; ++i) {
      std::thread([this] { work(); }).detach();
    }
  }

  void submit(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_.push(std::move(task));
      pending_.fetch_add(1, std::memory_order_release);
    }
    ready_.notify_one();
  }

 private:
  void work() {
    for (;;) {
      spin_until(
          [this] { return pending_.load(std::memory_order_acquire) > 0; });
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !tasks_.empty(); });
        task = std::move(tasks_.front());
        tasks_.pop();
        pending_.fetch_sub(1, std::memory_order_relaxed);
      }
      task();
    }
  }

  int workers_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::queue<std::function<void()>> tasks_;
  std::atomic<int> pending_{0}; // tasks_.size(), readable without the mutex
};

// fork() copies only the calling thread: in the child the pool's threads are
// gone (and its mutex may be held by one of them), so the child forgets the
// pool (leaked, never touched again) and makes a new one at its first
// parallel_for, as PyTorch's and OpenBLAS's pools do.
std::atomic<Pool*> current_pool{nullptr};

void forget_pool_in_child() {
  current_pool.store(nullptr);
}

Pool& pool() {
  Pool* p = current_pool.load(std::memory_order_acquire);
  if (p != nullptr) {
    return *p;
  }
  static const int registered =
      pthread_atfork(nullptr, nullptr, forget_pool_in_child);
  (void)registered;
  auto* fresh = new Pool(max_threads() - 1);
  if (current_pool.compare_exchange_strong(
          p, fresh, std::memory_order_acq_rel)) {
    fresh->start();
    return *fresh;
  }
  delete fresh; // another thread made one first; this one never started
  return *p;
}

int available_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    return std::max(1, CPU_COUNT(&set));
  }
#endif
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// The thread count, or the message of a bad MLX_EXPM_NUM_THREADS.
std::variant<int, std::string> read_max_threads() {
  const int cpus = available_cpus();
  const char* env = std::getenv("MLX_EXPM_NUM_THREADS");
  std::string text(env ? env : "");
  const auto blank = text.find_first_not_of(" \t");
  text = blank == std::string::npos
      ? ""
      : text.substr(blank, text.find_last_not_of(" \t") - blank + 1);
  if (text.empty()) { // unset or blank: the default
    return cpus;
  }
  const bool digits = !text.empty() && text.size() <= 9 &&
      std::all_of(text.begin(), text.end(), [](char c) {
        return c >= '0' && c <= '9';
      });
  const int value = digits ? std::stoi(text) : 0;
  if (value < 1) {
    return "[matrix_exp] MLX_EXPM_NUM_THREADS must be a whole number of threads >= 1 "
           "(more than the " +
        std::to_string(cpus) + " CPUs available are capped), got '" +
        std::string(env) + "'.";
  }
  return std::min(value, cpus);
}

} // namespace

int max_threads() {
  static const auto threads = read_max_threads();
  if (const auto* message = std::get_if<std::string>(&threads)) {
    throw std::invalid_argument(*message);
  }
  return std::get<int>(threads);
}

bool in_parallel_region() {
  return in_region;
}

void parallel_for(
    int64_t count,
    int64_t grain,
    int workers,
    const std::function<void(int, int64_t, int64_t)>& fn) {
  if (count <= 0) {
    return;
  }
  grain = std::max<int64_t>(grain, 1);
  const int64_t blocks = (count + grain - 1) / grain;
  const int threads =
      static_cast<int>(std::min<int64_t>({max_threads(), workers, blocks}));
  if (threads <= 1 || in_region) {
    for (int64_t b = 0; b < blocks; ++b) {
      fn(0, b * grain, std::min(count, (b + 1) * grain));
    }
    return;
  }
  // Blocks are claimed one at a time, so that threads that draw cheap
  // matrices (small norms: no squarings) take more of them.
  std::atomic<int64_t> next{0};
  std::vector<std::exception_ptr> errors(threads);
  auto worker = [&](int id) {
    in_region = true;
    try {
      for (int64_t b; (b = next.fetch_add(1)) < blocks;) {
        fn(id, b * grain, std::min(count, (b + 1) * grain));
      }
    } catch (...) {
      errors[id] = std::current_exception();
      next = blocks;
    }
    in_region = false;
  };
  // Workers still running; shared, so that the last one may notify after
  // the caller has seen zero and returned.
  auto running = std::make_shared<std::atomic<int>>(threads - 1);
  for (int id = 1; id < threads; ++id) {
    pool().submit([&worker, running, id] {
      worker(id);
      if (running->fetch_sub(1, std::memory_order_acq_rel) == 1) {
        running->notify_one();
      }
    });
  }
  worker(0);
  if (!spin_until(
          [&] { return running->load(std::memory_order_acquire) == 0; })) {
    for (int left; (left = running->load(std::memory_order_acquire)) != 0;) {
      running->wait(left);
    }
  }
  for (auto& error : errors) {
    if (error) {
      std::rethrow_exception(error);
    }
  }
}

} // namespace mlx_expm::cpu
