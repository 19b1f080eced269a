// Stand-in for the macOS SDK's <CoreFoundation/CoreFoundation.h>: metal-cpp
// relies on it for the C headers it includes and for CFTimeInterval (CFDate.h).
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef double CFTimeInterval;
