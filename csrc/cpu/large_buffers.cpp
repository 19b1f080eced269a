#include "cpu/large_buffers.h"

#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

namespace mlx_expm::cpu::large_buffers {

namespace {

struct Block {
  void* data;
  size_t capacity;
};

std::mutex mutex;
std::vector<Block> kept; // free blocks
size_t kept_bytes = 0;

} // namespace

void* acquire(size_t bytes, size_t& capacity) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    // The smallest kept block that fits, if it is not more than twice too big.
    auto best = kept.end();
    for (auto it = kept.begin(); it != kept.end(); ++it) {
      if (it->capacity >= bytes && it->capacity <= 2 * bytes &&
          (best == kept.end() || it->capacity < best->capacity)) {
        best = it;
      }
    }
    if (best != kept.end()) {
      Block block = *best;
      kept.erase(best);
      kept_bytes -= block.capacity;
      capacity = block.capacity;
      return block.data;
    }
  }
  capacity = (bytes + 63) / 64 * 64;
  void* data = std::aligned_alloc(64, capacity);
  if (data == nullptr) {
    throw std::bad_alloc();
  }
  return data;
}

void release(void* block, size_t capacity) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (kept_bytes + capacity <= kMaxKeptBytes) {
      kept.push_back({block, capacity});
      kept_bytes += capacity;
      return;
    }
  }
  std::free(block);
}

} // namespace mlx_expm::cpu::large_buffers
