#include "apps/image_batches.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "nn/error.h"

namespace anytok {

std::vector<std::vector<int64_t>> encode_prepared_images(const std::vector<const PreparedImage*>& images,
                                                         const ImageTokenizer& tokenizer, int64_t batch) {
  const int64_t factor = tokenizer.config().factor();
  std::map<std::pair<int64_t, int64_t>, std::vector<size_t>> by_size;
  for (size_t i = 0; i < images.size(); ++i) by_size[{images[i]->pixels.dim(1), images[i]->pixels.dim(2)}].push_back(i);
  std::vector<std::vector<int64_t>> codes(images.size());
  for (const auto& [size, members] : by_size) {
    const auto [h, w] = size;
    const int64_t grid = (h / factor) * (w / factor);
    for (size_t start = 0; start < members.size(); start += static_cast<size_t>(batch)) {
      const size_t count = std::min(members.size() - start, static_cast<size_t>(batch));
      Tensor pixels = Tensor::uninitialized({static_cast<int64_t>(count), 3, h, w});
      for (size_t k = 0; k < count; ++k)
        std::memcpy(pixels.data() + k * 3 * h * w, images[members[start + k]]->pixels.data(), sizeof(float) * 3 * h * w);
      const std::vector<int64_t> batch_codes = tokenizer.encode(pixels);
      for (size_t k = 0; k < count; ++k)
        codes[members[start + k]].assign(batch_codes.begin() + k * grid, batch_codes.begin() + (k + 1) * grid);
    }
  }
  return codes;
}

std::vector<TokenizedImage> tokenize_images(const std::vector<std::string>& paths, const ModelOptions& models,
                                            int64_t batch) {
  const ImageTokenizer& tokenizer = models.image_tokenizer();
  const VqganConfig& config = tokenizer.config();
  const ImagePreprocess preprocess = models.image_preprocess();
  std::vector<TokenizedImage> images(paths.size());
  std::vector<const PreparedImage*> prepared;
  for (size_t i = 0; i < paths.size(); ++i) {
    images[i].path = paths[i];
    try {
      images[i].prepared = prepare_image(read_image(paths[i]), preprocess, config.resolution, config.factor());
    } catch (const Error& e) {
      const std::string message = e.what();
      throw Error(message.starts_with(paths[i]) ? message : cat(paths[i], ": ", message));
    }
    prepared.push_back(&images[i].prepared);
  }
  std::vector<std::vector<int64_t>> codes = encode_prepared_images(prepared, tokenizer, batch);
  for (size_t i = 0; i < images.size(); ++i) {
    images[i].grid_h = images[i].prepared.pixels.dim(1) / config.factor();
    images[i].grid_w = images[i].prepared.pixels.dim(2) / config.factor();
    images[i].codes = std::move(codes[i]);
  }
  return images;
}

}  // namespace anytok
