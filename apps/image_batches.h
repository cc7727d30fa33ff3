// Images through the VQ-GAN encoder in batches: images of one prepared size share a batch, so a call with many
// photos runs a few large network passes instead of many small ones.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apps/command.h"

namespace anytok {

struct TokenizedImage {
  std::string path;
  PreparedImage prepared;
  int64_t grid_h = 0, grid_w = 0;
  std::vector<int64_t> codes;  // [grid_h, grid_w]
};

// The image file at `path`, decoded within --max-image-pixels and prepared for the image model as --preprocess
// says; errors name the file.
PreparedImage prepare_image_file(const std::string& path, const ModelOptions& models);

// Encodes prepared images; at most `batch` of one size share a network pass. codes[i] are images[i]'s,
// [H/factor, W/factor].
std::vector<std::vector<int64_t>> encode_prepared_images(const std::vector<const PreparedImage*>& images,
                                                         const ImageTokenizer& tokenizer, int64_t batch);

// Reads, prepares and encodes `paths` in order; at most `batch` images share a network pass.
std::vector<TokenizedImage> tokenize_images(const std::vector<std::string>& paths, const ModelOptions& models,
                                            int64_t batch);

}  // namespace anytok
