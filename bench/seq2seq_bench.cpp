// Times one side of bench/seq2seq.py: greedy decoding of NEW_TOKENS ids (eos disallowed, so every step runs) for
// a batch of sources with anytok. Prints one JSON line: {"batch", "new_tokens", "seconds", "peak_rss_mb"}.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "bench/peak_memory.h"
#include "nn/error.h"
#include "nn/safetensors.h"
#include "nn/thread_pool.h"
#include "sequence/generation.h"

using namespace anytok;

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: seq2seq_bench MODEL_DIR BATCH NEW_TOKENS REPEAT THREADS SRC.safetensors\n";
    return 1;
  }
  try {
    const std::string dir = argv[1];
    const int64_t batch = std::stoll(argv[2]), new_tokens = std::stoll(argv[3]), repeat = std::stoll(argv[4]);
    ThreadPool::set_threads(std::stoi(argv[5]));
    const Seq2SeqModel model(dir);
    SafetensorsFile file(argv[6]);
    const TensorInfo& info = file.at("src");
    const auto ids = file.to_int64(info);
    std::vector<std::vector<int64_t>> sources;
    for (int64_t b = 0; b < batch; ++b)
      sources.emplace_back(ids.begin() + b * info.shape[1], ids.begin() + (b + 1) * info.shape[1]);
    GenerationOptions options;
    options.max_new_tokens = new_tokens;
    options.disallowed = {model.config().eos_id};
    double best = 1e300;
    generate(model, sources, options);  // warm-up
    for (int64_t r = 0; r < repeat; ++r) {
      auto start = std::chrono::steady_clock::now();
      const auto out = generate(model, sources, options);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      if (static_cast<int64_t>(out.front().size()) != new_tokens) throw Error("generation stopped early");
    }
    const double peak_mb = peak_rss_mb();
    std::cout << nlohmann::json{{"batch", batch}, {"new_tokens", new_tokens}, {"seconds", best}, {"peak_rss_mb", peak_mb}}.dump()
              << "\n";
  } catch (const std::exception& e) {
    std::cerr << "seq2seq_bench: " << e.what() << "\n";
    return 1;
  }
}
