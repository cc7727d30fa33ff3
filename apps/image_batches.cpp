#include "apps/image_batches.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "nn/error.h"

namespace anytok {

std::vector<TokenizedImage> tokenize_images(const std::vector<std::string>& paths, const ModelOptions& models,
                                            int64_t batch) {
  const ImageTokenizer& tokenizer = models.image_tokenizer();
  const VqganConfig& config = tokenizer.config();
  const ImagePreprocess preprocess = models.image_preprocess();
  std::vector<TokenizedImage> images(paths.size());
  std::map<std::pair<int64_t, int64_t>, std::vector<size_t>> by_size;
  for (size_t i = 0; i < paths.size(); ++i) {
    images[i].path = paths[i];
    try {
      images[i].prepared = prepare_image(read_image(paths[i]), preprocess, config.resolution, config.factor());
    } catch (const Error& e) {
      const std::string message = e.what();
      throw Error(message.starts_with(paths[i]) ? message : cat(paths[i], ": ", message));
    }
    const Tensor& p = images[i].prepared.pixels;
    by_size[{p.dim(1), p.dim(2)}].push_back(i);
  }
  for (const auto& [size, members] : by_size) {
    const auto [h, w] = size;
    for (size_t start = 0; start < members.size(); start += static_cast<size_t>(batch)) {
      const size_t count = std::min(members.size() - start, static_cast<size_t>(batch));
      Tensor pixels({static_cast<int64_t>(count), 3, h, w});
      for (size_t k = 0; k < count; ++k)
        std::memcpy(pixels.data() + k * 3 * h * w, images[members[start + k]].prepared.pixels.data(),
                    sizeof(float) * 3 * h * w);
      const std::vector<int64_t> codes = tokenizer.encode(pixels);
      const int64_t gh = h / config.factor(), gw = w / config.factor();
      for (size_t k = 0; k < count; ++k) {
        TokenizedImage& image = images[members[start + k]];
        image.grid_h = gh;
        image.grid_w = gw;
        image.codes.assign(codes.begin() + k * gh * gw, codes.begin() + (k + 1) * gh * gw);
      }
    }
  }
  return images;
}

}  // namespace anytok
