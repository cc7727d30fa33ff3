#include "nn/conv.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "nn/error.h"
#include "nn/gemm.h"
#include "nn/thread_pool.h"

namespace anytok {
namespace {

// Bytes of unfolded input per GEMM: large enough for GEMM efficiency, small enough to stay in cache-friendly
// territory and off the heap's high-water mark.
constexpr int64_t kUnfoldBudget = int64_t{4} << 20;

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, Padding2d pad) {
  if (x.rank() != 4 || weight.rank() != 4)
    throw Error(cat("conv2d: input ", x.shape(), " and weight ", weight.shape(), " must both have rank 4"));
  const int64_t n = x.dim(0), cin = x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t cout = weight.dim(0), kh = weight.dim(2), kw = weight.dim(3);
  if (weight.dim(1) != cin) throw Error(cat("conv2d: weight ", weight.shape(), " does not take ", cin, " input channels"));
  if (!bias.empty() && bias.numel() != cout) throw Error(cat("conv2d: bias ", bias.shape(), " does not match ", cout, " outputs"));
  if (stride < 1) throw Error("conv2d: stride must be positive");
  const int64_t hp = h + pad.top + pad.bottom, wp = w + pad.left + pad.right;
  if (hp < kh || wp < kw) throw Error(cat("conv2d: input ", x.shape(), " is smaller than the kernel"));
  const int64_t ho = (hp - kh) / stride + 1, wo = (wp - kw) / stride + 1;
  Tensor y({n, cout, ho, wo});
  const int64_t k = cin * kh * kw;
  const bool pointwise = kh == 1 && kw == 1 && stride == 1 && pad.top == 0 && pad.bottom == 0 && pad.left == 0 &&
                         pad.right == 0;
  const int64_t rows_per_tile = std::clamp<int64_t>(kUnfoldBudget / std::max<int64_t>(1, k * wo * 4), 1, ho);
  std::vector<float> unfolded(pointwise ? 0 : static_cast<size_t>(k * rows_per_tile * wo));

  for (int64_t b = 0; b < n; ++b) {
    const float* in = x.data() + b * cin * h * w;
    float* out = y.data() + b * cout * ho * wo;
    if (!bias.empty())
      for (int64_t c = 0; c < cout; ++c) std::fill(out + c * ho * wo, out + (c + 1) * ho * wo, bias[c]);
    const float beta = bias.empty() ? 0.0f : 1.0f;
    if (pointwise) {
      gemm(false, false, cout, h * w, cin, 1.0f, weight.data(), cin, in, h * w, beta, out, h * w);
      continue;
    }
    for (int64_t r0 = 0; r0 < ho; r0 += rows_per_tile) {
      const int64_t rows = std::min(rows_per_tile, ho - r0), cols = rows * wo;
      // unfolded[(c, i, j), (r, q)] = padded input at (c, (r0 + r)·stride + i, q·stride + j)
      ThreadPool::global().parallel_for(k, [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
          const int64_t c = row / (kh * kw), i = row / kw % kh, j = row % kw;
          float* dst = unfolded.data() + row * cols;
          for (int64_t r = 0; r < rows; ++r) {
            const int64_t yi = (r0 + r) * stride + i - pad.top;
            float* d = dst + r * wo;
            if (yi < 0 || yi >= h) {
              std::fill(d, d + wo, 0.0f);
              continue;
            }
            const float* src = in + (c * h + yi) * w;
            for (int64_t q = 0; q < wo; ++q) {
              const int64_t xi = q * stride + j - pad.left;
              d[q] = xi >= 0 && xi < w ? src[xi] : 0.0f;
            }
          }
        }
      }, 8);
      gemm(false, false, cout, cols, k, 1.0f, weight.data(), k, unfolded.data(), cols, beta, out + r0 * wo, ho * wo);
    }
  }
  return y;
}

Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& gamma, const Tensor& beta, float eps) {
  if (x.rank() < 2) throw Error(cat("group_norm: input ", x.shape(), " needs a channel axis"));
  const int64_t n = x.dim(0), c = x.dim(1), spatial = x.numel() / std::max<int64_t>(1, n * c);
  if (groups <= 0 || c % groups) throw Error(cat("group_norm: ", c, " channels do not split into ", groups, " groups"));
  if (gamma.numel() != c || beta.numel() != c) throw Error(cat("group_norm: gamma and beta need ", c, " values"));
  Tensor y(x.shape());
  const int64_t per_group = c / groups * spatial;
  ThreadPool::global().parallel_for(n * groups, [&](int64_t begin, int64_t end) {
    for (int64_t ng = begin; ng < end; ++ng) {
      const int64_t g = ng % groups;
      const float* in = x.data() + ng * per_group;
      float* out = y.data() + ng * per_group;
      double sum = 0, sq = 0;
      for (int64_t i = 0; i < per_group; ++i) sum += in[i];
      const double mean = sum / per_group;
      for (int64_t i = 0; i < per_group; ++i) sq += (in[i] - mean) * (in[i] - mean);
      const float inv = static_cast<float>(1.0 / std::sqrt(sq / per_group + eps)), m = static_cast<float>(mean);
      for (int64_t ch = 0; ch < c / groups; ++ch) {
        const int64_t channel = g * (c / groups) + ch;
        const float scale = inv * gamma[channel], shift = beta[channel] - m * scale;
        for (int64_t i = ch * spatial; i < (ch + 1) * spatial; ++i) out[i] = in[i] * scale + shift;
      }
    }
  });
  return y;
}

Tensor upsample_nearest2x(const Tensor& x) {
  if (x.rank() != 4) throw Error(cat("upsample: input ", x.shape(), " must be [N, C, H, W]"));
  const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
  Tensor y({x.dim(0), x.dim(1), 2 * h, 2 * w});
  ThreadPool::global().parallel_for(planes, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p)
      for (int64_t i = 0; i < h; ++i) {
        const float* src = x.data() + (p * h + i) * w;
        float* dst = y.data() + (p * 2 * h + 2 * i) * 2 * w;
        for (int64_t j = 0; j < w; ++j) dst[2 * j] = dst[2 * j + 1] = src[j];
        std::memcpy(dst + 2 * w, dst, sizeof(float) * 2 * w);
      }
  });
  return y;
}

}  // namespace anytok
