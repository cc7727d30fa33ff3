#include "tokenizers/image_tokenizer.h"

#include "nn/error.h"

namespace anytok {

ImageTokenizer::ImageTokenizer(const std::string& model_dir) : config_(VqganConfig::load(model_dir)) {
  VqganCheckpoint checkpoint(model_dir, config_);
  WeightSource source = checkpoint.source();
  encoder_ = std::make_unique<VqganEncoder>(config_, source);
  codebook_ = std::make_unique<Codebook>(source("quantize.embedding.weight", {config_.n_embed, config_.embed_dim}));
  checkpoint.check_all_used({"decoder.", "post_quant_conv.", "loss."});
}

Tensor ImageTokenizer::latents(const Tensor& images) const {
  const int64_t f = config_.factor();
  if (images.rank() != 4 || images.dim(1) != config_.in_channels)
    throw Error(cat("image batch ", images.shape(), " is not [N, ", config_.in_channels, ", H, W]"));
  if (images.dim(2) % f || images.dim(3) % f || images.dim(2) == 0 || images.dim(3) == 0)
    throw Error(cat("image size ", images.dim(3), "x", images.dim(2), " is not a multiple of the model's factor ", f));
  return (*encoder_)(images);
}

std::vector<int64_t> ImageTokenizer::quantize(const Tensor& z) const {
  Tensor flat = to_channels_last(z);
  return codebook_->nearest(flat.data(), flat.dim(0));
}

std::vector<int64_t> ImageTokenizer::encode(const Tensor& images) const { return quantize(latents(images)); }

}  // namespace anytok
