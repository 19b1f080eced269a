// Stand-in for the macOS SDK's <dispatch/dispatch.h>: the two libdispatch
// object types metal-cpp's headers name (in C++, pointers to these structs).
#pragma once

typedef struct dispatch_queue_s* dispatch_queue_t;
typedef struct dispatch_data_s* dispatch_data_t;
