// What the runtime tells ThreadSanitizer (a no-op in other builds).
//
// The runtime itself is not instrumented, but lanes allocate and free through
// it, and the scheduler's bookkeeping is shared between fibers that
// ThreadSanitizer treats as threads. Only the kernel's own memory accesses
// should be judged, ordered by nothing but the barriers.
#pragma once

#if defined(MTLEMU_TSAN)
#include <sanitizer/tsan_interface.h>
// Dynamic annotations exported by ThreadSanitizer's runtime.
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
extern "C" void AnnotateIgnoreWritesBegin(const char* file, int line);
extern "C" void AnnotateIgnoreWritesEnd(const char* file, int line);
#endif

namespace mtlemu {

// A barrier with memory flags orders memory: arriving lanes release, leaving
// lanes acquire. mem_none orders nothing, so it is not announced.
inline void tsan_release(void* addr, unsigned flags) {
#if defined(MTLEMU_TSAN)
  if (flags) __tsan_release(addr);
#else
  (void)addr, (void)flags;
#endif
}
inline void tsan_acquire(void* addr, unsigned flags) {
#if defined(MTLEMU_TSAN)
  if (flags) __tsan_acquire(addr);
#else
  (void)addr, (void)flags;
#endif
}

// Hides the memory accesses (and allocations) of its scope: the combine step
// of a SIMD-group operation (register traffic on a GPU), the allocation and
// 0xFF fill of threadgroup memory, the scheduler's cleanup.
struct tsan_invisible {
#if defined(MTLEMU_TSAN)
  tsan_invisible() {
    AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
    AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
  }
  ~tsan_invisible() {
    AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
    AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
  }
  tsan_invisible(const tsan_invisible&) = delete;
  tsan_invisible& operator=(const tsan_invisible&) = delete;
#endif
};

}  // namespace mtlemu
