// Audio files as they reach EnCodec: opened by libsndfile, channels converted and resampled to 24 kHz mono, read
// block by block to the end (at most a minute of it, so that a valid long file does not stall the fuzzer).
#include "fuzz_input.h"
#include "nn/error.h"
#include "tokenizers/audio_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = anytok::fuzz::as_file(data, size, ".wav");
  for (const int64_t rate : {int64_t{0}, int64_t{24000}}) {
    try {
      anytok::AudioReader reader(path, rate, 1);
      int64_t frames = 0;
      for (anytok::Tensor block = reader.read(4096); !block.empty() && frames < 60 * 48000; block = reader.read(4096))
        frames += block.dim(1);
    } catch (const anytok::Error&) {
    }
  }
  return 0;
}
