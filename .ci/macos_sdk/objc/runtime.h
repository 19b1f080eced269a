// Stand-in for the macOS SDK's <objc/runtime.h>: the two class/protocol
// lookups metal-cpp's headers call (libobjc's signatures).
#pragma once

#include <objc/objc.h>

typedef struct objc_object Protocol; // the SDK's C/C++ (non-Objective-C) spelling

extern "C" Class objc_lookUpClass(const char* name);
extern "C" Protocol* objc_getProtocol(const char* name);
