// VQ-GAN codes → images: codebook look-up and the decoder half of a VQ-GAN.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codebooks/codebook.h"
#include "tokenizers/vqgan.h"

namespace anytok {

class ImageDecoder {
 public:
  explicit ImageDecoder(const std::string& model_dir);

  const VqganConfig& config() const { return config_; }

  // codes [N, h, w] row-major → images [N, out_ch, h·f, w·f], about [−1, 1]. Throws Error on a code outside the
  // codebook.
  Tensor decode(const std::vector<int64_t>& codes, int64_t n, int64_t h, int64_t w) const;
  // Codebook vectors zq [N, embed_dim, h, w] → images.
  Tensor decode_latents(const Tensor& zq) const;

 private:
  VqganConfig config_;
  std::unique_ptr<VqganDecoder> decoder_;
  std::unique_ptr<Codebook> codebook_;
};

}  // namespace anytok
