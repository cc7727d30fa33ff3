#include "decoders/image_decoder.h"

#include "nn/error.h"

namespace anytok {

ImageDecoder::ImageDecoder(const std::string& model_dir) : config_(VqganConfig::load(model_dir)) {
  VqganCheckpoint checkpoint(model_dir, config_);
  WeightSource source = checkpoint.source();
  decoder_ = std::make_unique<VqganDecoder>(config_, source);
  codebook_ = std::make_unique<Codebook>(source("quantize.embedding.weight", {config_.n_embed, config_.embed_dim}));
  checkpoint.check_all_used({"encoder.", "quant_conv.", "loss."});
}

Tensor ImageDecoder::decode(const std::vector<int64_t>& codes, int64_t n, int64_t h, int64_t w) const {
  if (n <= 0 || h <= 0 || w <= 0 || static_cast<int64_t>(codes.size()) != n * h * w)
    throw Error(cat(codes.size(), " image codes do not fill a grid of ", n, " × ", h, " × ", w));
  Tensor flat({n * h * w, config_.embed_dim});
  codebook_->lookup(codes.data(), n * h * w, flat.data());
  return decode_latents(to_channels_first(flat, n, h, w));
}

Tensor ImageDecoder::decode_latents(const Tensor& zq) const {
  if (zq.rank() != 4 || zq.dim(1) != config_.embed_dim)
    throw Error(cat("latents ", zq.shape(), " are not [N, ", config_.embed_dim, ", h, w]"));
  return (*decoder_)(zq);
}

}  // namespace anytok
