#include "cpu/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <latch>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace mlx_expm::cpu {

namespace {

thread_local bool in_pool_thread = false;

// Workers wait for tasks for the life of the process. The pool is never
// destroyed: joining at exit could wait on work MLX's own threads still hold.
class Pool {
 public:
  explicit Pool(int workers) {
    for (int i = 0; i < workers; ++i) {
      std::thread([this] { work(); }).detach();
    }
  }

  void submit(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_.push(std::move(task));
    }
    ready_.notify_one();
  }

 private:
  void work() {
    in_pool_thread = true;
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !tasks_.empty(); });
        task = std::move(tasks_.front());
        tasks_.pop();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::queue<std::function<void()>> tasks_;
};

Pool& pool() {
  static Pool* p = new Pool(max_threads() - 1);
  return *p;
}

} // namespace

int max_threads() {
  static const int threads = [] {
    if (const char* env = std::getenv("MLX_EXPM_NUM_THREADS")) {
      int n = std::atoi(env);
      if (n >= 1) {
        return n;
      }
    }
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }();
  return threads;
}

void parallel_for(int64_t count, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  grain = std::max<int64_t>(grain, 1);
  const int64_t blocks = (count + grain - 1) / grain;
  const int threads = static_cast<int>(std::min<int64_t>(max_threads(), blocks));
  if (threads <= 1 || in_pool_thread) {
    fn(0, count);
    return;
  }
  // Blocks of `grain` matrices are claimed one at a time, so that threads that
  // draw cheap matrices (small norms: no squarings) take more of them.
  std::atomic<int64_t> next{0};
  std::vector<std::exception_ptr> errors(threads);
  auto worker = [&](int id) {
    try {
      for (int64_t b; (b = next.fetch_add(1)) < blocks;) {
        fn(b * grain, std::min(count, (b + 1) * grain));
      }
    } catch (...) {
      errors[id] = std::current_exception();
      next = blocks;
    }
  };
  std::latch done(threads - 1);
  for (int id = 1; id < threads; ++id) {
    pool().submit([&, id] {
      worker(id);
      done.count_down();
    });
  }
  worker(0);
  done.wait();
  for (auto& error : errors) {
    if (error) {
      std::rethrow_exception(error);
    }
  }
}

} // namespace mlx_expm::cpu
