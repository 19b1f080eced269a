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

struct Kept {
  std::mutex mutex;
  std::vector<Block> blocks; // free blocks
  size_t bytes = 0;
};

// Never destroyed: a CPU task of MLX's may still release a block while the
// process exits.
Kept& kept() {
  static Kept* k = new Kept;
  return *k;
}

} // namespace

void* acquire(size_t bytes, size_t& capacity) {
  Kept& k = kept();
  {
    std::lock_guard<std::mutex> lock(k.mutex);
    // The smallest kept block that fits, if it is not more than twice too big.
    auto best = k.blocks.end();
    for (auto it = k.blocks.begin(); it != k.blocks.end(); ++it) {
      if (it->capacity >= bytes && it->capacity <= 2 * bytes &&
          (best == k.blocks.end() || it->capacity < best->capacity)) {
        best = it;
      }
    }
    if (best != k.blocks.end()) {
      const Block block = *best;
      k.blocks.erase(best);
      k.bytes -= block.capacity;
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
  Kept& k = kept();
  {
    std::lock_guard<std::mutex> lock(k.mutex);
    if (k.bytes + capacity <= kMaxKeptBytes) {
      k.blocks.push_back({block, capacity});
      k.bytes += capacity;
      return;
    }
  }
  std::free(block);
}

} // namespace mlx_expm::cpu::large_buffers
