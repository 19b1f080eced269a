// Stand-in for the macOS SDK's <mach/mach.h>: the Mach typedefs metal-cpp's
// MTL::Resource::setOwner uses (all three resolve to these types on arm64).
#pragma once

typedef int kern_return_t;
typedef unsigned int mach_port_t;
typedef mach_port_t task_id_token_t;
