// Images → VQ-GAN codes: the encoder half of a VQ-GAN and its codebook.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codebooks/codebook.h"
#include "tokenizers/vqgan.h"

namespace anytok {

class ImageTokenizer {
 public:
  explicit ImageTokenizer(const std::string& model_dir);  // throws Error naming the file and tensor at fault

  const VqganConfig& config() const { return config_; }
  const Codebook& codebook() const { return *codebook_; }

  // images [N, C, H, W] in [−1, 1], H and W divisible by config().factor() → z [N, embed_dim, H/f, W/f].
  Tensor latents(const Tensor& images) const;
  // images → codes [N, H/f, W/f], row-major; every position of every image is searched in one batch.
  std::vector<int64_t> encode(const Tensor& images) const;
  // Nearest codes of latents z [N, E, h, w].
  std::vector<int64_t> quantize(const Tensor& z) const;

 private:
  VqganConfig config_;
  std::unique_ptr<VqganEncoder> encoder_;
  std::unique_ptr<Codebook> codebook_;
};

}  // namespace anytok
