// Stand-in for the macOS SDK's <TargetConditionals.h>: metal-cpp's MTLDevice.hpp
// includes it for TARGET_OS_OSX.
#pragma once

#define TARGET_OS_OSX 1
