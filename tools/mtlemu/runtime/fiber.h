// Cooperative execution contexts ("fibers"): one per GPU thread of a
// threadgroup, all run by one OS thread, switching only where the kernel
// waits (a barrier or a SIMD-group function).
//
// Why not one OS thread per GPU thread: on 2 cores a barrier of 32 OS threads
// costs ~0.5 ms (FACTS.md), and the kernels this emulator is for do
// thousands of SIMD-group operations per matrix. A switch here is a few
// nanoseconds (hand-written on x86-64; ucontext elsewhere, which also
// saves the signal mask with a system call).
//
// The sanitizers are told about every switch: ThreadSanitizer treats each
// fiber as a thread (switching without synchronisation, so that only the
// barriers order the lanes' memory accesses), AddressSanitizer learns each
// stack's bounds.
#pragma once

#include <cstddef>

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace mtlemu {

struct fiber {
#if defined(__x86_64__)
  void* sp = nullptr;  // saved stack pointer while suspended
#else
  ucontext_t uc;
#endif
  char* mapping = nullptr;     // mmap'd stack including a guard page (null: the thread's own stack)
  std::size_t mapping_size = 0;
  void* stack_lo = nullptr;    // usable stack, for AddressSanitizer
  std::size_t stack_size = 0;
  void* tsan = nullptr;        // ThreadSanitizer's fiber
  void* asan_fake_stack = nullptr;
  bool finished = false;       // will never run again (its last switch away)
  void (*entry)(void*) = nullptr;
  void* arg = nullptr;
};

// Makes `f` describe the calling OS thread itself.
void fiber_adopt_thread(fiber& f);
// Prepares `f` to run entry(arg) on its own stack at the next switch to it,
// allocating the stack on first use (and, under ThreadSanitizer, afresh).
void fiber_prepare(fiber& f, std::size_t stack_size, void (*entry)(void*), void* arg);
// Names the fiber in ThreadSanitizer's reports.
void fiber_set_name(fiber& f, const char* name);
// Frees the stack and sanitizer state of a prepared fiber.
void fiber_release(fiber& f);
// First thing a fiber's entry function must call.
void fiber_started(fiber& f);
// Suspends `from` (the running fiber) and resumes `to`.
void fiber_switch(fiber& from, fiber& to);
// Resumes `to` from a signal handler running on `from`'s stack, abandoning
// `from` (used to stop a lane stuck in an endless loop).
[[noreturn]] void fiber_escape(fiber& from, fiber& to);

}  // namespace mtlemu
