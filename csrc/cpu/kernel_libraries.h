// The standard-library and MLX headers the CPU kernels use (kernels.h and
// what it includes), included by kernels_*.cpp before the kernels' own code:
// whatever these define stays compiled for the baseline instruction set even
// in kernels_x86_64_v3.cpp (see isa.h). A header a kernel needs and this
// list lacks would be compiled for x86-64-v3 there; .ci/check_isa.py finds
// the weak symbols that brings.

#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "mlx/array.h"
