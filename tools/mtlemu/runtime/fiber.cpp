#include "fiber.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <utility>
#include <vector>

#if defined(MTLEMU_TSAN)
#include <sanitizer/tsan_interface.h>
#endif
#if defined(MTLEMU_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__x86_64__)
// mtlemu_swap_sp(save, next): pushes the callee-saved registers and the SSE
// and x87 control words, stores the stack pointer in *save, loads `next`
// and pops the same from there. A new fiber's stack is laid out so that this
// "returns" into mtlemu_fiber_start, which calls entry(arg) (r12, r13).
extern "C" void mtlemu_swap_sp(void** save, void* next);
extern "C" void mtlemu_fiber_start();
asm(R"(
  .text
  .globl mtlemu_swap_sp
  .hidden mtlemu_swap_sp
  .type mtlemu_swap_sp, @function
mtlemu_swap_sp:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size mtlemu_swap_sp, .-mtlemu_swap_sp

  .globl mtlemu_fiber_start
  .hidden mtlemu_fiber_start
  .type mtlemu_fiber_start, @function
mtlemu_fiber_start:
  movq %r13, %rdi
  callq *%r12
  ud2
  .size mtlemu_fiber_start, .-mtlemu_fiber_start
)");
#endif

namespace mtlemu {
namespace {

void die(const char* what) {
  std::perror(what);
  std::abort();
}

// Stacks are kept for the next dispatch (mapping 1024 of them costs more
// than running a small kernel), except under ThreadSanitizer, where only a
// fresh mapping has no history of earlier lanes' accesses.
struct stack_pool {
  std::mutex mu;
  std::vector<std::pair<char*, std::size_t>> free;  // (mapping, mapping size)
};
stack_pool& pool() {
  static stack_pool* p = new stack_pool;  // never destroyed: worker threads may outlive exit
  return *p;
}
#if defined(MTLEMU_TSAN)
constexpr bool kReuseStacks = false;
#else
constexpr bool kReuseStacks = true;
#endif

void map_stack(fiber& f, std::size_t stack_size) {
  const std::size_t page = (std::size_t)sysconf(_SC_PAGESIZE);
  const std::size_t usable = (stack_size + page - 1) / page * page;
  f.mapping_size = usable + page;
  f.mapping = nullptr;
  if (kReuseStacks) {
    std::lock_guard<std::mutex> lock(pool().mu);
    auto& free = pool().free;
    for (std::size_t i = 0; i < free.size(); ++i)
      if (free[i].second == f.mapping_size) {
        f.mapping = free[i].first;
        free[i] = free.back();
        free.pop_back();
        break;
      }
  }
  if (!f.mapping) {
    void* m = mmap(nullptr, f.mapping_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) die("[mtlemu] mmap of a fiber stack");
    // A guard page below the stack turns an overflow into a crash, not corruption.
    if (mprotect(m, page, PROT_NONE) != 0) die("[mtlemu] mprotect of a guard page");
    f.mapping = (char*)m;
  }
  f.stack_lo = f.mapping + page;
  f.stack_size = usable;
}

void unmap_stack(fiber& f) {
  if (f.mapping) {
    if (kReuseStacks) {
      std::lock_guard<std::mutex> lock(pool().mu);
      pool().free.emplace_back(f.mapping, f.mapping_size);
    } else {
      munmap(f.mapping, f.mapping_size);
    }
  }
  f.mapping = nullptr;
  f.stack_lo = nullptr;
  f.stack_size = 0;
}

#if !defined(__x86_64__)
void ucontext_start(unsigned lo, unsigned hi) {
  fiber* f = (fiber*)(((std::uintptr_t)hi << 32) | lo);
  f->entry(f->arg);
  std::abort();
}
#endif

}  // namespace

void fiber_adopt_thread(fiber& f) {
  f.mapping = nullptr;
  f.finished = false;
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* lo = nullptr;
    std::size_t size = 0;
    pthread_attr_getstack(&attr, &lo, &size);
    f.stack_lo = lo;
    f.stack_size = size;
    pthread_attr_destroy(&attr);
  }
#if defined(MTLEMU_TSAN)
  f.tsan = __tsan_get_current_fiber();
#endif
}

void fiber_prepare(fiber& f, std::size_t stack_size, void (*entry)(void*), void* arg) {
#if defined(MTLEMU_TSAN)
  // Fresh stack memory and a fresh TSan fiber per threadgroup: ThreadSanitizer
  // would otherwise see a new lane's stack accesses racing with those of the
  // lane that used the same stack in an earlier threadgroup, and lane i of
  // two threadgroups would look like one thread (hiding a race between them).
  fiber_release(f);
  f.tsan = __tsan_create_fiber(0);
#endif
  if (!f.mapping || f.stack_size < stack_size) {
    unmap_stack(f);
    map_stack(f, stack_size);
  }
#if defined(MTLEMU_ASAN)
  // A lane abandoned after an error leaves its frames' redzones poisoned.
  __asan_unpoison_memory_region(f.stack_lo, f.stack_size);
#endif
  f.finished = false;
  f.asan_fake_stack = nullptr;
  f.entry = entry;
  f.arg = arg;
#if defined(__x86_64__)
  std::uintptr_t top = ((std::uintptr_t)f.stack_lo + f.stack_size) & ~(std::uintptr_t)15;
  void** sp = (void**)(top - 80);  // see mtlemu_swap_sp: control words, 6 registers, return address
  std::uint32_t* control = (std::uint32_t*)&sp[0];
  control[0] = 0x1F80;  // MXCSR default: all exceptions masked, round to nearest
  control[1] = 0x037F;  // x87 control word default
  sp[1] = nullptr;      // r15
  sp[2] = nullptr;      // r14
  sp[3] = arg;          // r13
  sp[4] = (void*)entry; // r12
  sp[5] = nullptr;      // rbx
  sp[6] = nullptr;      // rbp
  sp[7] = (void*)&mtlemu_fiber_start;
  sp[8] = sp[9] = nullptr;
  f.sp = sp;
#else
  if (getcontext(&f.uc) != 0) die("[mtlemu] getcontext");
  f.uc.uc_stack.ss_sp = f.stack_lo;
  f.uc.uc_stack.ss_size = f.stack_size;
  f.uc.uc_link = nullptr;
  const std::uintptr_t p = (std::uintptr_t)&f;
  makecontext(&f.uc, (void (*)())ucontext_start, 2, (unsigned)(p & 0xffffffffu), (unsigned)(p >> 32));
#endif
}

void fiber_set_name(fiber& f, const char* name) {
#if defined(MTLEMU_TSAN)
  if (f.tsan) __tsan_set_fiber_name(f.tsan, name);
#else
  (void)f, (void)name;
#endif
}

void fiber_release(fiber& f) {
#if defined(MTLEMU_TSAN)
  if (f.tsan) __tsan_destroy_fiber(f.tsan);
  f.tsan = nullptr;
  unmap_stack(f);  // munmap also clears ThreadSanitizer's shadow of the stack
#else
  unmap_stack(f);
#endif
}

void fiber_started(fiber& f) {
  (void)f;
#if defined(MTLEMU_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
}

void fiber_switch(fiber& from, fiber& to) {
#if defined(MTLEMU_TSAN)
  __tsan_switch_to_fiber(to.tsan, __tsan_switch_to_fiber_no_sync);
#endif
#if defined(MTLEMU_ASAN)
  __sanitizer_start_switch_fiber(from.finished ? nullptr : &from.asan_fake_stack, to.stack_lo, to.stack_size);
#endif
#if defined(__x86_64__)
  mtlemu_swap_sp(&from.sp, to.sp);
#else
  swapcontext(&from.uc, &to.uc);
#endif
#if defined(MTLEMU_ASAN)
  __sanitizer_finish_switch_fiber(from.asan_fake_stack, nullptr, nullptr);
#endif
}

void fiber_escape(fiber& from, fiber& to) {
  from.finished = true;
  fiber_switch(from, to);
  std::abort();  // never resumed
}

}  // namespace mtlemu
