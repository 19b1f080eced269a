// Stand-in for the macOS SDK's <mach/mach.h>: the Mach types of
// MTL::Resource::setOwner in metal-cpp.
#pragma once

typedef int kern_return_t;
typedef unsigned int mach_port_t;
typedef mach_port_t task_id_token_t;
