// A header shared by a sample kernel and its host code, found through
// include_dirs (as the project's kernels find metal/matrix_exp_constants.h).
#pragma once

#if defined(__METAL_VERSION__)
#define SAMPLE_CONSTANT constant constexpr
#else
#define SAMPLE_CONSTANT inline constexpr
#endif

SAMPLE_CONSTANT float kSampleScale = 0.25f;
