#include "tokenizers/vqgan.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "nn/error.h"
#include "nn/model_config.h"
#include "nn/ops.h"

namespace anytok {

using json = nlohmann::json;

VqganConfig VqganConfig::load(const std::string& model_dir) {
  std::string path;
  const json j = config::load(model_dir, "vqgan", path);
  if (!j.contains("ddconfig") || !j["ddconfig"].is_object()) throw Error(cat(path, ": missing 'ddconfig'"));
  const json& dd = j["ddconfig"];
  VqganConfig c;
  c.ch = config::positive(dd, path, "ch", c.ch);
  c.ch_mult = config::positive_list(dd, path, "ch_mult", c.ch_mult, false);
  c.num_res_blocks = config::positive(dd, path, "num_res_blocks", c.num_res_blocks);
  c.attn_resolutions = config::positive_list(dd, path, "attn_resolutions", c.attn_resolutions, true);
  c.resolution = config::positive(dd, path, "resolution", c.resolution);
  c.z_channels = config::positive(dd, path, "z_channels", c.z_channels);
  c.in_channels = config::positive(dd, path, "in_channels", c.in_channels);
  c.out_ch = config::positive(dd, path, "out_ch", c.out_ch);
  if (config::boolean(dd, path, "double_z", false)) throw Error(cat(path, ": double_z is true, which only KL autoencoders use"));
  c.n_embed = config::positive(j, path, "n_embed", c.n_embed);
  c.embed_dim = config::positive(j, path, "embed_dim", c.embed_dim);
  c.preprocess = config::string(j, path, "preprocess", c.preprocess);
  if (c.levels() > 12) throw Error(cat(path, ": ch_mult has ", c.levels(), " levels"));
  for (int64_t m : c.ch_mult)
    if (c.ch * m % 32) throw Error(cat(path, ": ch × ch_mult = ", c.ch * m, " channels do not split into 32 groups"));
  return c;
}

VqganCheckpoint::VqganCheckpoint(const std::string& model_dir, const VqganConfig& config)
    : config_(config), weights_((std::filesystem::path(model_dir) / "model.safetensors").string()) {
  // The anchor every scheme shares locates the prefix; the first block's name tells the scheme.
  const std::vector<std::string> prefixes = weights_.prefixes_of("encoder.conv_in.weight");
  if (prefixes.empty()) throw Error(cat(weights_.path(), ": no tensor named encoder.conv_in.weight; not a VQ-GAN checkpoint"));
  prefix_ = prefixes.front();
  if (prefixes.size() > 1) {
    auto image = std::find_if(prefixes.begin(), prefixes.end(), [](const std::string& p) { return p.find("image") != std::string::npos; });
    if (image == prefixes.end())
      throw Error(cat(weights_.path(), ": holds several VQ-GANs (under ", prefixes[0], " and ", prefixes[1], ")"));
    prefix_ = *image;
  }
  weights_.scope(prefix_);
  if (weights_.has("encoder.down.0.block.0.conv1.weight"))
    keys_ = VqganKeys::Taming;
  else if (weights_.has("encoder.down_0_block_0.conv1.weight"))
    keys_ = VqganKeys::UnifiedIO2;
  else if (weights_.has("encoder.down_blocks.0.resnets.0.conv1.weight"))
    keys_ = VqganKeys::Diffusers;
  else
    throw Error(cat(weights_.path(), ": the encoder's first block is named in no known scheme (taming, Unified-IO 2, diffusers)"));
}

// The checkpoint names a taming name may have in this scheme, preferred first.
std::vector<std::string> VqganCheckpoint::candidates(const std::string& name) const {
  if (keys_ == VqganKeys::Taming) return {name};
  const int64_t last = config_.levels() - 1;
  std::smatch m;
  std::string s = name;
  static const std::regex up(R"(^decoder\.up\.(\d+)\.)"), down(R"(^encoder\.down\.(\d+)\.)");
  if (keys_ == VqganKeys::UnifiedIO2) {
    // down.I.block.J → down_I_block_J; decoder levels count from the lowest resolution: up.I → up_{L-1-I}.
    if (std::regex_search(s, m, up)) s = cat("decoder.up_", last - std::stoll(m[1]), "_", m.suffix().str());
    if (std::regex_search(s, m, down)) s = cat("encoder.down_", m[1].str(), "_", m.suffix().str());
    s = std::regex_replace(s, std::regex(R"(_(block|attn)\.(\d+)\.)"), "_$1_$2.");
    s = std::regex_replace(s, std::regex(R"(\.mid\.)"), ".mid_");
    return {s};
  }
  // diffusers VQModel
  if (std::regex_search(s, m, up)) s = cat("decoder.up_blocks.", last - std::stoll(m[1]), ".", m.suffix().str());
  if (std::regex_search(s, m, down)) s = cat("encoder.down_blocks.", m[1].str(), ".", m.suffix().str());
  s = std::regex_replace(s, std::regex(R"(\.block\.(\d+)\.)"), ".resnets.$1.");
  s = std::regex_replace(s, std::regex(R"(\.attn\.(\d+)\.)"), ".attentions.$1.");
  s = std::regex_replace(s, std::regex(R"(\.mid\.block_1\.)"), ".mid_block.resnets.0.");
  s = std::regex_replace(s, std::regex(R"(\.mid\.block_2\.)"), ".mid_block.resnets.1.");
  s = std::regex_replace(s, std::regex(R"(\.mid\.attn_1\.)"), ".mid_block.attentions.0.");
  s = std::regex_replace(s, std::regex(R"(\.downsample\.conv\.)"), ".downsamplers.0.conv.");
  s = std::regex_replace(s, std::regex(R"(\.upsample\.conv\.)"), ".upsamplers.0.conv.");
  s = std::regex_replace(s, std::regex(R"(\.nin_shortcut\.)"), ".conv_shortcut.");
  s = std::regex_replace(s, std::regex(R"(\.norm_out\.)"), ".conv_norm_out.");
  if (s.find(".attentions.") == std::string::npos) return {s};
  // Attention: diffusers' current names, then the older ones.
  static const std::pair<const char*, std::pair<const char*, const char*>> renames[] = {
      {".norm.", {".group_norm.", ".group_norm."}}, {".q.", {".to_q.", ".query."}}, {".k.", {".to_k.", ".key."}},
      {".v.", {".to_v.", ".value."}}, {".proj_out.", {".to_out.0.", ".proj_attn."}}};
  for (const auto& [from, to] : renames) {
    size_t at = s.rfind(from);
    if (at == std::string::npos) continue;
    return {s.substr(0, at) + to.first + s.substr(at + std::strlen(from)),
            s.substr(0, at) + to.second + s.substr(at + std::strlen(from))};
  }
  return {s};
}

WeightSource VqganCheckpoint::source() {
  return [this](const std::string& name, const Shape& shape) {
    const auto names = candidates(name);
    const std::string* found = nullptr;
    for (const auto& n : names)
      if (weights_.has(n)) {
        found = &n;
        break;
      }
    if (!found) return weights_.get(names.front(), shape);  // throws "missing tensor" with the checkpoint's name
    // diffusers stores attention projections as Linear [C, C] where taming has 1×1 convs [C, C, 1, 1].
    const TensorInfo& info = *weights_.file().find(prefix_ + *found);
    if (shape.size() == 4 && shape[2] == 1 && shape[3] == 1 && info.shape == Shape{shape[0], shape[1]})
      return weights_.get(*found).reshape(shape);
    return weights_.get(*found, shape);
  };
}

void VqganCheckpoint::check_all_used(const std::vector<std::string>& unused_parts) {
  for (const auto& name : weights_.names())
    for (const auto& part : unused_parts)
      if (name.starts_with(part)) weights_.get(name);  // taken, so not reported as surplus
  weights_.check_all_used();
}

VqganEncoder::VqganEncoder(const VqganConfig& c, const WeightSource& w) {
  conv_in_ = Conv2dLayer::load(w, "encoder.conv_in", c.in_channels, c.ch, 3, 1, Padding2d::same(1));
  int64_t resolution = c.resolution, block_in = c.ch;
  auto attends = [&](int64_t res) {
    return std::find(c.attn_resolutions.begin(), c.attn_resolutions.end(), res) != c.attn_resolutions.end();
  };
  for (int64_t i = 0; i < c.levels(); ++i) {
    Level level;
    const int64_t block_out = c.ch * c.ch_mult[i];
    for (int64_t j = 0; j < c.num_res_blocks; ++j) {
      level.blocks.push_back(ResnetBlock::load(w, cat("encoder.down.", i, ".block.", j), block_in, block_out));
      block_in = block_out;
      // Attention follows the configured resolution, not the input's, as upstream decides it at construction.
      if (attends(resolution)) level.attention.push_back(AttnBlock::load(w, cat("encoder.down.", i, ".attn.", j), block_in));
    }
    if (i != c.levels() - 1) {
      level.downsample = load_downsample(w, cat("encoder.down.", i, ".downsample"), block_in);
      resolution /= 2;
    }
    levels_.push_back(std::move(level));
  }
  mid_block_1_ = ResnetBlock::load(w, "encoder.mid.block_1", block_in, block_in);
  mid_attn_ = AttnBlock::load(w, "encoder.mid.attn_1", block_in);
  mid_block_2_ = ResnetBlock::load(w, "encoder.mid.block_2", block_in, block_in);
  norm_out_ = GroupNormLayer::load(w, "encoder.norm_out", block_in);
  conv_out_ = Conv2dLayer::load(w, "encoder.conv_out", block_in, c.z_channels, 3, 1, Padding2d::same(1));
  quant_conv_ = Conv2dLayer::load(w, "quant_conv", c.z_channels, c.embed_dim, 1, 1, {});
}

Tensor VqganEncoder::operator()(const Tensor& images) const {
  Tensor h = conv_in_(images);
  for (const Level& level : levels_) {
    for (size_t j = 0; j < level.blocks.size(); ++j) {
      h = level.blocks[j](h);
      if (!level.attention.empty()) h = level.attention[j](h);
    }
    if (level.downsample) h = (*level.downsample)(h);
  }
  h = mid_block_2_(mid_attn_(mid_block_1_(h)));
  return quant_conv_(conv_out_(norm_out_(h, true)));
}

VqganDecoder::VqganDecoder(const VqganConfig& c, const WeightSource& w) {
  post_quant_conv_ = Conv2dLayer::load(w, "post_quant_conv", c.embed_dim, c.z_channels, 1, 1, {});
  int64_t block_in = c.ch * c.ch_mult.back(), resolution = c.resolution >> (c.levels() - 1);
  auto attends = [&](int64_t res) {
    return std::find(c.attn_resolutions.begin(), c.attn_resolutions.end(), res) != c.attn_resolutions.end();
  };
  conv_in_ = Conv2dLayer::load(w, "decoder.conv_in", c.z_channels, block_in, 3, 1, Padding2d::same(1));
  mid_block_1_ = ResnetBlock::load(w, "decoder.mid.block_1", block_in, block_in);
  mid_attn_ = AttnBlock::load(w, "decoder.mid.attn_1", block_in);
  mid_block_2_ = ResnetBlock::load(w, "decoder.mid.block_2", block_in, block_in);
  levels_.resize(static_cast<size_t>(c.levels()));
  for (int64_t i = c.levels() - 1; i >= 0; --i) {
    Level& level = levels_[i];
    const int64_t block_out = c.ch * c.ch_mult[i];
    for (int64_t j = 0; j <= c.num_res_blocks; ++j) {
      level.blocks.push_back(ResnetBlock::load(w, cat("decoder.up.", i, ".block.", j), block_in, block_out));
      block_in = block_out;
      if (attends(resolution)) level.attention.push_back(AttnBlock::load(w, cat("decoder.up.", i, ".attn.", j), block_in));
    }
    if (i != 0) {
      level.upsample = Upsample::load(w, cat("decoder.up.", i, ".upsample"), block_in);
      resolution *= 2;
    }
  }
  norm_out_ = GroupNormLayer::load(w, "decoder.norm_out", block_in);
  conv_out_ = Conv2dLayer::load(w, "decoder.conv_out", block_in, c.out_ch, 3, 1, Padding2d::same(1));
}

Tensor VqganDecoder::operator()(const Tensor& zq) const {
  Tensor h = conv_in_(post_quant_conv_(zq));
  h = mid_block_2_(mid_attn_(mid_block_1_(h)));
  for (auto level = levels_.rbegin(); level != levels_.rend(); ++level) {
    for (size_t j = 0; j < level->blocks.size(); ++j) {
      h = level->blocks[j](h);
      if (!level->attention.empty()) h = level->attention[j](h);
    }
    if (level->upsample) h = (*level->upsample)(h);
  }
  return conv_out_(norm_out_(h, true));
}

Tensor to_channels_last(const Tensor& x) {
  const int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  Tensor y({n * hw, c});
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p) y[(b * hw + p) * c + ch] = x[(b * c + ch) * hw + p];
  return y;
}

Tensor to_channels_first(const Tensor& x, int64_t n, int64_t h, int64_t w) {
  const int64_t c = x.dim(1), hw = h * w;
  Tensor y({n, c, h, w});
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p) y[(b * c + ch) * hw + p] = x[(b * hw + p) * c + ch];
  return y;
}

}  // namespace anytok
