#include "apps/image_batches.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "nn/error.h"
#include "nn/gemm.h"
#include "nn/thread_pool.h"

namespace anytok {

std::vector<std::vector<int64_t>> encode_prepared_images(const std::vector<const PreparedImage*>& images,
                                                         const ImageTokenizer& tokenizer, int64_t batch) {
  const int64_t factor = tokenizer.config().factor();
  std::map<std::pair<int64_t, int64_t>, std::vector<size_t>> by_size;
  for (size_t i = 0; i < images.size(); ++i) by_size[{images[i]->pixels.dim(1), images[i]->pixels.dim(2)}].push_back(i);
  std::vector<std::vector<int64_t>> codes(images.size());
  std::vector<std::vector<size_t>> batches;
  for (const auto& [size, members] : by_size)
    for (size_t start = 0; start < members.size(); start += static_cast<size_t>(batch))
      batches.emplace_back(members.begin() + start,
                           members.begin() + std::min(members.size(), start + static_cast<size_t>(batch)));
  auto encode_batch = [&](const std::vector<size_t>& members) {
    const int64_t h = images[members[0]]->pixels.dim(1), w = images[members[0]]->pixels.dim(2);
    const int64_t grid = (h / factor) * (w / factor), count = static_cast<int64_t>(members.size());
    Tensor pixels = Tensor::uninitialized({count, 3, h, w});
    for (int64_t k = 0; k < count; ++k)
      std::memcpy(pixels.data() + k * 3 * h * w, images[members[k]]->pixels.data(), sizeof(float) * 3 * h * w);
    const std::vector<int64_t> batch_codes = tokenizer.encode(pixels);
    for (int64_t k = 0; k < count; ++k)
      codes[members[k]].assign(batch_codes.begin() + k * grid, batch_codes.begin() + (k + 1) * grid);
  };
  ThreadPool& pool = ThreadPool::global();
  if (static_cast<int64_t>(batches.size()) < pool.size()) {
    for (const auto& members : batches) encode_batch(members);  // few batches: each uses every thread inside
  } else {
    // Enough batches for every thread: each runs whole batches on its own, which scales better than splitting
    // every convolution (no synchronisation per layer, and each thread keeps its own data in its cache).
    SerialBlas serial;
    pool.parallel_for(static_cast<int64_t>(batches.size()), [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) encode_batch(batches[static_cast<size_t>(b)]);
    });
  }
  return codes;
}

PreparedImage prepare_image_file(const std::string& path, const ModelOptions& models) {
  const VqganConfig& config = models.image_tokenizer().config();
  try {
    return prepare_image(read_image(path, models.max_image_pixels), models.image_preprocess(), config.resolution,
                         config.factor());
  } catch (const Error& e) {
    const std::string message = e.what();
    throw Error(message.starts_with(path) ? message : cat(path, ": ", message));
  }
}

std::vector<TokenizedImage> tokenize_images(const std::vector<std::string>& paths, const ModelOptions& models,
                                            int64_t batch) {
  const ImageTokenizer& tokenizer = models.image_tokenizer();
  const VqganConfig& config = tokenizer.config();
  std::vector<TokenizedImage> images(paths.size());
  std::vector<const PreparedImage*> prepared;
  for (size_t i = 0; i < paths.size(); ++i) {
    images[i].path = paths[i];
    images[i].prepared = prepare_image_file(paths[i], models);
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
