// Stand-in for the macOS SDK's <objc/runtime.h>: the class and protocol
// lookups metal-cpp's headers call.
#pragma once

#include <objc/objc.h>

typedef struct objc_object Protocol;  // the SDK's spelling outside Objective-C

extern "C" Class objc_lookUpClass(const char* name);
extern "C" Protocol* objc_getProtocol(const char* name);
