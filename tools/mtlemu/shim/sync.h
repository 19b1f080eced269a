// Barriers and kernel-scope threadgroup variables.
#pragma once
#pragma GCC system_header

namespace metal {
enum class mem_flags : unsigned {
  mem_none = 0,
  mem_device = 1,
  mem_threadgroup = 2,
  mem_texture = 4,
  mem_threadgroup_imageblock = 8,
  mem_object_data = 16,
};
constexpr mem_flags operator|(mem_flags a, mem_flags b) { return mem_flags((unsigned)a | (unsigned)b); }
constexpr mem_flags operator&(mem_flags a, mem_flags b) { return mem_flags((unsigned)a & (unsigned)b); }

// The source location is part of the barrier's identity: lanes waiting at
// two different barriers is a divergence, reported by the runtime.
MTLEMU_INLINE void threadgroup_barrier(mem_flags flags, const mtlemu::where& loc = mtlemu::where::current()) {
  mtlemu::rt::threadgroup_barrier((unsigned)flags, loc);
}
MTLEMU_INLINE void simdgroup_barrier(mem_flags flags, const mtlemu::where& loc = mtlemu::where::current()) {
  mtlemu::rt::simd_op(mtlemu::simd_kind::barrier, (unsigned)flags, nullptr, nullptr, nullptr,
                      "simdgroup_barrier", loc);
}
}  // namespace metal

namespace mtlemu {
// The source rewrite turns `threadgroup float tile[32][33];` into a reference
// to this shared storage (C++ has no variable shared by a group of threads).
template <class T> MTLEMU_INLINE T& tg_static(unsigned site, const char* name, const char* file, unsigned line) {
  return *(T*)rt::threadgroup_static(site, sizeof(T), alignof(T), name, file, line);
}
}  // namespace mtlemu
