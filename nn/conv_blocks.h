// The convolutional building blocks of taming-transformers-style networks (VQ-GAN encoders and decoders, and
// the diffusion autoencoders derived from them). Each block loads its weights under a dotted name, composed the
// way PyTorch composes module names, from a WeightSource that maps those names onto a checkpoint's own.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "nn/conv.h"
#include "nn/tensor.h"

namespace anytok {

// Returns the tensor stored under `name`, checked against `shape`.
using WeightSource = std::function<Tensor(const std::string& name, const Shape& shape)>;

struct Conv2dLayer {
  Tensor weight, bias;  // [Cout, Cin, k, k], [Cout]
  int64_t stride = 1;
  Padding2d padding;
  std::shared_ptr<const WinogradFilter> winograd;  // for 3×3 stride-1 layers, made at load

  static Conv2dLayer load(const WeightSource& source, const std::string& name, int64_t in, int64_t out, int64_t kernel,
                          int64_t stride, Padding2d padding);
  Tensor operator()(const Tensor& x) const { return conv2d(x, weight, bias, stride, padding, winograd.get()); }
};

// GroupNorm(32 groups, eps 1e-6) as taming's Normalize.
struct GroupNormLayer {
  Tensor gamma, beta;
  int64_t groups = 32;
  float eps = 1e-6f;

  static GroupNormLayer load(const WeightSource& source, const std::string& name, int64_t channels);
  // With `swish`, x·sigmoid(x) follows in the same pass.
  Tensor operator()(const Tensor& x, bool swish = false) const { return group_norm(x, groups, gamma, beta, eps, swish); }
};

// x + conv2(swish(norm2(conv1(swish(norm1(x)))))), with a 1×1 conv (nin_shortcut) on x when channels change.
class ResnetBlock {
 public:
  static ResnetBlock load(const WeightSource& source, const std::string& name, int64_t in, int64_t out);
  Tensor operator()(const Tensor& x) const;

 private:
  GroupNormLayer norm1_, norm2_;
  Conv2dLayer conv1_, conv2_, shortcut_;
  bool has_shortcut_ = false;
};

// Single-head self-attention over all positions: x + proj_out(v · softmax(qᵀk / √C)ᵀ), q, k, v 1×1 convs of
// norm(x).
class AttnBlock {
 public:
  static AttnBlock load(const WeightSource& source, const std::string& name, int64_t channels);
  Tensor operator()(const Tensor& x) const;

 private:
  GroupNormLayer norm_;
  Conv2dLayer q_, k_, v_, proj_out_;
};

// Zero-pad right and bottom by one, then a 3×3 stride-2 conv: halves H and W.
Conv2dLayer load_downsample(const WeightSource& source, const std::string& name, int64_t channels);
// Nearest ×2, then a 3×3 conv.
struct Upsample {
  Conv2dLayer conv;
  static Upsample load(const WeightSource& source, const std::string& name, int64_t channels);
  Tensor operator()(const Tensor& x) const { return conv(upsample_nearest2x(x)); }
};

}  // namespace anytok
