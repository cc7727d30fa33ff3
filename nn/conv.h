// Convolution-network ops on NCHW float32 tensors.
#pragma once

#include <cstdint>

#include "nn/tensor.h"

namespace anytok {

struct Padding2d {
  int64_t top = 0, bottom = 0, left = 0, right = 0;
  static Padding2d same(int64_t p) { return {p, p, p, p}; }
};

// x [N, Cin, H, W], weight [Cout, Cin, kh, kw], bias [Cout] or empty → [N, Cout, Ho, Wo], zero padding.
// Lowered to GEMM over tiles of output rows, so the unfolded input never exceeds a few megabytes.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, Padding2d padding);

// GroupNorm over x [N, C, ...]: each of `groups` channel groups is normalised over its channels and positions
// with the biased variance, then scaled per channel (PyTorch's nn.GroupNorm).
Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& gamma, const Tensor& beta, float eps);

// Nearest-neighbour upsampling by 2 in both spatial axes: [N, C, H, W] → [N, C, 2H, 2W].
Tensor upsample_nearest2x(const Tensor& x);

}  // namespace anytok
