// An extra C++ source compiled into a kernel library (extra_sources), as the
// project's host-side planning code will be; the test calls it via ctypes.
#include "sample_constants.h"

#ifndef SAMPLE_BONUS
#define SAMPLE_BONUS 0
#endif

extern "C" int sample_threads_for(int n) { return (n <= 32 ? 32 : 64) + SAMPLE_BONUS; }
extern "C" float sample_scale() { return kSampleScale; }
