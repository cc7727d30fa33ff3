#include "nn/conv_blocks.h"

#include <cmath>

#include "nn/gemm.h"
#include "nn/ops.h"
#include "nn/thread_pool.h"

namespace anytok {

Conv2dLayer Conv2dLayer::load(const WeightSource& source, const std::string& name, int64_t in, int64_t out,
                              int64_t kernel, int64_t stride, Padding2d padding) {
  Conv2dLayer layer{source(name + ".weight", {out, in, kernel, kernel}), source(name + ".bias", {out}), stride, padding,
                    nullptr};
  if (kernel == 3 && stride == 1) layer.winograd = std::make_shared<const WinogradFilter>(winograd_filter(layer.weight));
  return layer;
}

GroupNormLayer GroupNormLayer::load(const WeightSource& source, const std::string& name, int64_t channels) {
  return {source(name + ".weight", {channels}), source(name + ".bias", {channels})};
}

ResnetBlock ResnetBlock::load(const WeightSource& source, const std::string& name, int64_t in, int64_t out) {
  ResnetBlock b;
  b.norm1_ = GroupNormLayer::load(source, name + ".norm1", in);
  b.conv1_ = Conv2dLayer::load(source, name + ".conv1", in, out, 3, 1, Padding2d::same(1));
  b.norm2_ = GroupNormLayer::load(source, name + ".norm2", out);
  b.conv2_ = Conv2dLayer::load(source, name + ".conv2", out, out, 3, 1, Padding2d::same(1));
  b.has_shortcut_ = in != out;
  if (b.has_shortcut_) b.shortcut_ = Conv2dLayer::load(source, name + ".nin_shortcut", in, out, 1, 1, {});
  return b;
}

Tensor ResnetBlock::operator()(const Tensor& x) const {
  Tensor h = conv1_(norm1_(x, true));
  h = conv2_(norm2_(h, true));
  add_(h, has_shortcut_ ? shortcut_(x) : x);
  return h;
}

AttnBlock AttnBlock::load(const WeightSource& source, const std::string& name, int64_t channels) {
  AttnBlock b;
  b.norm_ = GroupNormLayer::load(source, name + ".norm", channels);
  b.q_ = Conv2dLayer::load(source, name + ".q", channels, channels, 1, 1, {});
  b.k_ = Conv2dLayer::load(source, name + ".k", channels, channels, 1, 1, {});
  b.v_ = Conv2dLayer::load(source, name + ".v", channels, channels, 1, 1, {});
  b.proj_out_ = Conv2dLayer::load(source, name + ".proj_out", channels, channels, 1, 1, {});
  return b;
}

Tensor AttnBlock::operator()(const Tensor& x) const {
  const Tensor h = norm_(x);
  const Tensor q = q_(h), k = k_(h), v = v_(h);
  const int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  Tensor attended(x.shape());
  Tensor weights({hw, hw});
  const float scale = 1.0f / std::sqrt(static_cast<float>(c));
  for (int64_t b = 0; b < n; ++b) {
    const int64_t offset = b * c * hw;
    // weights[i, j] = Σ_c q[c, i]·k[c, j] / √C, softmax over j; attended[c, i] = Σ_j v[c, j]·weights[i, j]
    gemm(true, false, hw, hw, c, scale, q.data() + offset, hw, k.data() + offset, hw, 0.0f, weights.data(), hw);
    softmax_(weights);
    gemm(false, true, c, hw, hw, 1.0f, v.data() + offset, hw, weights.data(), hw, 0.0f, attended.data() + offset, hw);
  }
  Tensor out = proj_out_(attended);
  add_(out, x);
  return out;
}

Conv2dLayer load_downsample(const WeightSource& source, const std::string& name, int64_t channels) {
  return Conv2dLayer::load(source, name + ".conv", channels, channels, 3, 2, {0, 1, 0, 1});
}

Upsample Upsample::load(const WeightSource& source, const std::string& name, int64_t channels) {
  return {Conv2dLayer::load(source, name + ".conv", channels, channels, 3, 1, Padding2d::same(1))};
}

}  // namespace anytok
