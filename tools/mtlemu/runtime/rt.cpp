// mtlemu::rt, the functions a compiled kernel calls (shim/abi.h): each
// forwards to the worker running the calling lane.
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "worker.h"

namespace mtlemu::rt {
namespace {
worker& here(const char* what) {
  worker* w = worker::current();
  if (!w) {
    std::fprintf(stderr, "[mtlemu] %s called outside a dispatch\n", what);
    std::abort();
  }
  return *w;
}
}  // namespace

unsigned simd_op(simd_kind kind, unsigned flags, const void* in, void* out, combine_fn fn, const char* what,
                 const where& loc) {
  return here(what).simd_op(kind, flags, in, out, fn, what, loc);
}

void threadgroup_barrier(unsigned flags, const where& loc) {
  here("threadgroup_barrier").threadgroup_barrier(flags, loc);
}

unsigned simd_lane() { return here("simd_lane").simd_lane(); }

void* threadgroup_static(unsigned site, std::size_t size, std::size_t align, const char* name, const char* file,
                         unsigned line) {
  return here("threadgroup variable").threadgroup_static(site, size, align, name, file, line);
}

void fail(const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  char buf[4096];
  std::vsnprintf(buf, sizeof buf, format, ap);
  va_end(ap);
  here("fail").fail(buf);
}

}  // namespace mtlemu::rt
