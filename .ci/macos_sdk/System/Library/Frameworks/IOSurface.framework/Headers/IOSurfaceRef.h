// Stand-in for the macOS SDK's <IOSurface/IOSurfaceRef.h>: the opaque surface
// handle metal-cpp's MTLDevice and MTLTexture headers name.
#pragma once

typedef struct __IOSurface* IOSurfaceRef;
