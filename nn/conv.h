// Convolution-network ops on NCHW float32 tensors.
#pragma once

#include <cstdint>
#include <vector>

#include "nn/tensor.h"

namespace anytok {

struct Padding2d {
  int64_t top = 0, bottom = 0, left = 0, right = 0;
  static Padding2d same(int64_t p) { return {p, p, p, p}; }
};

// Winograd F(2×2, 3×3)'s transform of a [Cout, Cin, 3, 3] weight (16/9 its size), made once per layer so that
// calls need not redo it.
struct WinogradFilter {
  Shape shape;           // of the weight it was made from
  std::vector<float> u;  // U[k][o][c] = (G g Gᵀ)[k], with zeros past the end for the product kernel's last panel
};
WinogradFilter winograd_filter(const Tensor& weight);

// x [N, Cin, H, W], weight [Cout, Cin, kh, kw], bias [Cout] or empty → [N, Cout, Ho, Wo], zero padding.
// 3×3 stride-1 kernels with enough channels and positions go through conv2d_winograd; a few output channels at
// stride 1 are computed directly; the rest is lowered to GEMM over tiles of output rows, so the unfolded input
// never exceeds a few megabytes.
// `filter`, when given, is winograd_filter(weight), used if the Winograd path is taken.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, Padding2d padding,
              const WinogradFilter* filter = nullptr);

// The same for a 3×3 kernel at stride 1, by Winograd's F(2×2, 3×3): 2.25× fewer multiplies, with rounding close
// to im2col's. Without `filter`, the weight is transformed for this call alone.
Tensor conv2d_winograd(const Tensor& x, const Tensor& weight, const Tensor& bias, Padding2d padding,
                       const WinogradFilter* filter = nullptr);

// x [N, Cin, L], weight [Cout, Cin, K], bias [Cout] or empty → [N, Cout, (L − dilation·(K−1) − 1)/stride + 1].
// No padding: callers pad first, as audio codecs choose their own padding (reflect, causal, extra at the end).
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t dilation);
// The same for one sequence whose `cin` channels are rows `row_stride` floats apart, x[c·row_stride + t] for
// t < length (a window into a longer buffer, read in place) → y [Cout, out_length], fully written.
void conv1d_rows(const float* x, int64_t row_stride, int64_t cin, int64_t length, const Tensor& weight,
                 const Tensor& bias, int64_t stride, int64_t dilation, float* y);

// x [N, Cin, L], weight [Cin, Cout, K] (PyTorch's ConvTranspose1d layout), bias [Cout] or empty
// → [N, Cout, (L − 1)·stride + K], untrimmed.
Tensor conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride);

// GroupNorm over x [N, C, ...]: each of `groups` channel groups is normalised over its channels and positions
// with the biased variance, then scaled per channel (PyTorch's nn.GroupNorm). With `silu`, x·sigmoid(x) follows in
// the same pass, saving a full read and write of the tensor where a norm feeds a swish (taming's ResnetBlock).
Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& gamma, const Tensor& beta, float eps,
                  bool silu = false);

// Nearest-neighbour upsampling by 2 in both spatial axes: [N, C, H, W] → [N, C, 2H, 2W].
Tensor upsample_nearest2x(const Tensor& x);

}  // namespace anytok
