// The taming-transformers VQ-GAN: configuration, checkpoint key names, and the encoder and decoder halves,
// built from the blocks in nn/conv_blocks.h. The image tokenizer uses the encoder half and the image decoder
// the decoder half; both read the same model directory:
//   config.json        {"family": "vqgan", "ddconfig": {...}, "n_embed": N, "embed_dim": E, "preprocess": ...}
//   model.safetensors  taming (encoder.down.0.block.0...), Unified-IO 2 (encoder.down_0_block_0...) or diffusers
//                      VQModel (encoder.down_blocks.0.resnets.0...) key names, recognised from the names, under
//                      any common prefix (a full Unified-IO 2 checkpoint's target_embedders.image.vqgan., say).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codebooks/codebook.h"
#include "nn/conv_blocks.h"
#include "nn/weights.h"

namespace anytok {

struct VqganConfig {
  int64_t ch = 128;
  std::vector<int64_t> ch_mult{1, 1, 2, 2, 4};
  int64_t num_res_blocks = 2;
  std::vector<int64_t> attn_resolutions{16};
  int64_t resolution = 256;
  int64_t z_channels = 256;
  int64_t in_channels = 3;
  int64_t out_ch = 3;
  int64_t n_embed = 1024;
  int64_t embed_dim = 256;
  std::string preprocess = "taming";  // how images are brought to `resolution` (see image_preprocess.h)

  int64_t levels() const { return static_cast<int64_t>(ch_mult.size()); }
  int64_t factor() const { return int64_t{1} << (levels() - 1); }  // downsampling factor: input side / code side
  static VqganConfig load(const std::string& model_dir);  // reads config.json; throws Error naming the field
};

enum class VqganKeys { Taming, UnifiedIO2, Diffusers };

// model.safetensors with its key scheme and prefix found, handing out tensors by their taming names.
class VqganCheckpoint {
 public:
  VqganCheckpoint(const std::string& model_dir, const VqganConfig& config);
  VqganKeys keys() const { return keys_; }
  const std::string& prefix() const { return prefix_; }
  WeightSource source();
  // Throws Error on a tensor nobody asked for, ignoring the half of the model (and the training-only loss
  // networks of a taming checkpoint) that this reader does not use.
  void check_all_used(const std::vector<std::string>& unused_parts);

 private:
  std::vector<std::string> candidates(const std::string& taming_name) const;

  VqganConfig config_;
  Weights weights_;
  VqganKeys keys_ = VqganKeys::Taming;
  std::string prefix_;
};

class VqganEncoder {
 public:
  VqganEncoder(const VqganConfig& config, const WeightSource& source);
  // images [N, in_channels, H, W] → z [N, embed_dim, H/f, W/f], after quant_conv.
  Tensor operator()(const Tensor& images) const;

 private:
  struct Level {
    std::vector<ResnetBlock> blocks;
    std::vector<AttnBlock> attention;
    std::optional<Conv2dLayer> downsample;
  };
  Conv2dLayer conv_in_, conv_out_, quant_conv_;
  std::vector<Level> levels_;
  ResnetBlock mid_block_1_, mid_block_2_;
  AttnBlock mid_attn_;
  GroupNormLayer norm_out_;
};

class VqganDecoder {
 public:
  VqganDecoder(const VqganConfig& config, const WeightSource& source);
  // zq [N, embed_dim, h, w] → images [N, out_ch, h·f, w·f], post_quant_conv first.
  Tensor operator()(const Tensor& zq) const;

 private:
  struct Level {
    std::vector<ResnetBlock> blocks;
    std::vector<AttnBlock> attention;
    std::optional<Upsample> upsample;
  };
  Conv2dLayer post_quant_conv_, conv_in_, conv_out_;
  std::vector<Level> levels_;  // indexed as taming's up[i_level]; run from the last to the first
  ResnetBlock mid_block_1_, mid_block_2_;
  AttnBlock mid_attn_;
  GroupNormLayer norm_out_;
};

// [N, C, h, w] ↔ [N·h·w, C] (channels last), the layout codebook search works on.
Tensor to_channels_last(const Tensor& x);
Tensor to_channels_first(const Tensor& x, int64_t n, int64_t h, int64_t w);

}  // namespace anytok
