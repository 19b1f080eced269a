// Stand-in for the macOS SDK's <TargetConditionals.h>, which metal-cpp's
// MTLDevice.hpp includes for TARGET_OS_OSX.
#pragma once

#define TARGET_OS_OSX 1
