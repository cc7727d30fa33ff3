// Times one side of bench/vqgan.py: VQ-GAN encode (image → codes) or decode (codes → image) with anytok.
// Prints one JSON line: {"mode", "batch", "size", "seconds_per_batch", "peak_rss_mb"}.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "decoders/image_decoder.h"
#include "bench/peak_memory.h"
#include "nn/error.h"
#include "nn/thread_pool.h"
#include "tokenizers/image_tokenizer.h"

using namespace anytok;

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: vqgan_bench MODEL_DIR encode|decode BATCH SIZE REPEAT THREADS\n";
    return 1;
  }
  try {
    const std::string dir = argv[1], mode = argv[2];
    const int64_t batch = std::stoll(argv[3]), size = std::stoll(argv[4]), repeat = std::stoll(argv[5]);
    ThreadPool::set_threads(std::stoi(argv[6]));
    std::mt19937 rng(0);
    double best = 1e300;
    auto time = [&](auto&& run) {
      run();  // warm-up
      for (int64_t r = 0; r < repeat; ++r) {
        auto start = std::chrono::steady_clock::now();
        run();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    };
    if (mode == "encode") {
      ImageTokenizer tokenizer(dir);
      Tensor images({batch, 3, size, size});
      std::uniform_real_distribution<float> pixel(-1, 1);
      for (int64_t i = 0; i < images.numel(); ++i) images[i] = pixel(rng);
      time([&] { return tokenizer.encode(images); });
    } else if (mode == "decode") {
      ImageDecoder decoder(dir);
      const int64_t side = size / decoder.config().factor();
      std::uniform_int_distribution<int64_t> code(0, decoder.config().n_embed - 1);
      std::vector<int64_t> codes(static_cast<size_t>(batch * side * side));
      for (auto& c : codes) c = code(rng);
      time([&] { return decoder.decode(codes, batch, side, side); });
    } else {
      throw Error("mode must be encode or decode");
    }
    const double peak_mb = peak_rss_mb();
    std::cout << nlohmann::json{{"mode", mode}, {"batch", batch}, {"size", size}, {"seconds_per_batch", best},
                                {"peak_rss_mb", peak_mb}}
                     .dump()
              << "\n";
  } catch (const std::exception& e) {
    std::cerr << "vqgan_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
