// Times one side of bench/encodec.py: EnCodec encode (audio → codes) or decode (codes → audio) with anytok.
// Prints one JSON line: {"mode", "seconds", "peak_rss_mb"}.
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
#include "tokenizers/audio_io.h"
#include "tokenizers/encodec.h"

using namespace anytok;

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: encodec_bench MODEL_DIR encode INPUT.wav|decode CODES.safetensors REPEAT THREADS\n";
    return 1;
  }
  try {
    const std::string dir = argv[1], mode = argv[2], input = argv[3];
    const int64_t repeat = std::stoll(argv[4]);
    ThreadPool::set_threads(std::stoi(argv[5]));
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
      EncodecModel model(dir, EncodecModel::kEncoder);
      const Tensor audio = read_audio(input, model.config().sample_rate, model.config().channels);
      const int64_t codebooks = model.config().codebooks_for(std::nullopt);
      time([&] { return model.encode(audio, codebooks); });
    } else if (mode == "decode") {
      EncodecModel model(dir, EncodecModel::kDecoder);
      SafetensorsFile file(input);
      const TensorInfo& info = file.at("codes");
      EncodedAudio codes;
      codes.codebooks = info.shape.at(1), codes.frames = info.shape.at(2);
      codes.codes = file.to_int64(info);
      time([&] { return model.decode(codes); });
    } else {
      throw Error("mode must be encode or decode");
    }
    const double peak_mb = peak_rss_mb();
    std::cout << nlohmann::json{{"mode", mode}, {"seconds", best}, {"peak_rss_mb", peak_mb}}.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "encodec_bench: " << e.what() << "\n";
    return 1;
  }
}
