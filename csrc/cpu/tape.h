// The forward's products, kept for the vjp.
//
// The vjp of exp at A is L(A^H, G) = L(A, G^H)^H. The dual algebra computes
// L(A, E) with three products per product of the scheme: XY and its
// derivative X dY + dX Y. XY is exactly what the forward formed for exp(A),
// so when a vjp asks for it (primitive.cpp), the forward records the result
// of each of its first kTapeProducts products, in the order taylor.h forms
// them, to a second output, the tape; the vjp's dual run replays them and
// forms only the two derivative products. The replay takes the same plan as
// the forward (the plan comes from A, A^2 and A^3, and the last two are read
// from the tape), so its product k is the forward's product k.
//
// Matrix b of the tape is a block of kTapeProducts matrices, product k in
// rows [k n, (k + 1) n), at tape_layout.offset(b); a recording tape is
// contiguous (the primitive's own output).

#pragma once

#include <cstdint>

#include "cpu/isa.h"
#include "cpu/job.h"
#include "cpu/sizes.h"

MLX_EXPM_CPU_BEGIN

template <typename T>
class Tape {
 public:
  // Writes to `record` (contiguous), or reads from `replay` (any layout).
  Tape(T* record, const T* replay, const BatchLayout& layout)
      : record_(record), replay_(replay), layout_(layout) {}

  // The next products are those of matrix b.
  void start(int64_t b) {
    offset_ = layout_.offset(b);
    product_ = 0;
  }

  // After a product of the forward: the result, X in rows of stride ld.
  void record(const T* x, int ld) {
    if (product_ < kTapeProducts) {
      const int n = layout_.n;
      T* dst = record_ + offset_ + static_cast<int64_t>(product_) * n * n;
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
          dst[i * n + j] = x[i * ld + j];
        }
      }
    }
    ++product_;
  }

  // Before a product of the replay: if the tape holds its result, copies it
  // to X (rows of stride ld) and returns true.
  bool replay(T* x, int ld) {
    const int k = product_++;
    if (k >= kTapeProducts) {
      return false;
    }
    const int n = layout_.n;
    const T* src = replay_ + offset_ + static_cast<int64_t>(k) * n * layout_.row_stride;
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        x[i * ld + j] = src[i * layout_.row_stride + j * layout_.col_stride];
      }
    }
    return true;
  }

 private:
  T* record_;
  const T* replay_;
  const BatchLayout& layout_;
  int64_t offset_ = 0;
  int product_ = 0;
};

MLX_EXPM_CPU_END
