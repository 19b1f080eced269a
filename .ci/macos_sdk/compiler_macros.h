// Not an SDK header: force-included (-include) first in every file compiled by
// .ci/check_macos_build, it makes the code after it see the platform macros of
// Apple's clang, while the C and C++ libraries, which are Linux's here, are
// parsed with Linux's.
//
// The project's sources, MLX's, nanobind's and Python's headers choose their
// macOS branches by these macros (csrc/cpu/blas.cpp: Accelerate instead of
// OpenBLAS; csrc/cpu/parallel.cpp: no sched_getaffinity; pyport.h, ...).
// libc++ chooses its locale, RTTI and atomic-wait implementations by __APPLE__
// when these headers are first parsed, and its Apple branches need Darwin's C
// library (<xlocale.h>, ...): so they are parsed here, before the switch.
#pragma once

#include <atomic>
#include <locale>
#include <random>

#undef __linux__
#undef __linux
#undef linux
#undef __gnu_linux__
#undef __unix__
#undef __unix
#undef unix
#undef __ELF__
#define __APPLE__ 1
#define __MACH__ 1
