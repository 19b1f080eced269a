// What the host tells the fused kernel, and where: shared by the Metal kernel
// (metal/matrix_exp.metal) and its host side (csrc/metal/), so that the two
// cannot disagree on the layout of the parameters or on buffer indices.

#pragma once

#if defined(__METAL_VERSION__)
typedef long matrix_exp_int64;
#ifndef MATRIX_EXP_CONSTANT
#define MATRIX_EXP_CONSTANT constant constexpr
#endif
#else
#include <cstdint>
typedef int64_t matrix_exp_int64;
#ifndef MATRIX_EXP_CONSTANT
#define MATRIX_EXP_CONSTANT inline constexpr
#endif
#endif

namespace matrix_exp_params {

// Buffer and threadgroup-memory indices of the fused kernel.
MATRIX_EXP_CONSTANT int kInputBuffer = 0;
MATRIX_EXP_CONSTANT int kOutputBuffer = 1;
MATRIX_EXP_CONSTANT int kParamsBuffer = 2;
MATRIX_EXP_CONSTANT int kScratchMemory = 0;
// matrix_exp_frechet_fused: the directions E and their layout.
MATRIX_EXP_CONSTANT int kDirectionBuffer = 3;
MATRIX_EXP_CONSTANT int kDirectionParamsBuffer = 4;
// matrix_exp_tiled: the device memory of the slots, kNumSlots * P * P
// floats per threadgroup.
MATRIX_EXP_CONSTANT int kSlotsBuffer = 5;

// The fused kernel pads n up to a multiple of the 8 x 8 simdgroup matrices,
// at most kMaxPadded: the scheme's 7 slots (matrix_exp_scheme.h, kNumSlots) of
// 32 x 32 floats are 28 KiB of the 32 KiB of threadgroup memory Apple GPUs
// give a threadgroup. The Frechet kernel's dual slots hold two matrices each:
// 7 x 2 x 24 x 24 floats are 31.5 KiB, so it stops at kMaxPaddedFrechet.
MATRIX_EXP_CONSTANT int kTile = 8;
MATRIX_EXP_CONSTANT int kMaxPadded = 32;
MATRIX_EXP_CONSTANT int kMaxPaddedFrechet = 24;
// Above kMaxPadded (kMaxPaddedFrechet for L) the tiled kernels keep the slots
// in device memory, one threadgroup per matrix, up to kMaxPaddedTiled
// (beyond, the CPU kernels with BLAS); see matrix_exp_tiled.h.
MATRIX_EXP_CONSTANT int kMaxPaddedTiled = 128;
MATRIX_EXP_CONSTANT int kMaxSimdgroups = 32; // 1024 threads
MATRIX_EXP_CONSTANT int kSimdWidth = 32;

} // namespace matrix_exp_params

// Matrix b of the input starts at b * batch_stride (elements); entry (i, j)
// at i * row_stride + j * col_stride from there. The output is contiguous.
// The Frechet kernel takes one for A and one for E (the same n and count).
struct MatrixExpParams {
  matrix_exp_int64 n;
  matrix_exp_int64 count;
  matrix_exp_int64 batch_stride;
  matrix_exp_int64 row_stride;
  matrix_exp_int64 col_stride;
};
