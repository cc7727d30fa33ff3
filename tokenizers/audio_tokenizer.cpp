#include "tokenizers/audio_tokenizer.h"

#include "nn/error.h"
#include "tokenizers/audio_io.h"

namespace anytok {

AudioTokenizer::AudioTokenizer(const std::string& model_dir, double max_seconds)
    : model_(model_dir, EncodecModel::kEncoder), max_seconds_(max_seconds) {}

EncodedAudio AudioTokenizer::encode_file(const std::string& path, std::optional<double> kbps,
                                         const std::function<void(double, double)>& progress) {
  const int64_t codebooks = config().codebooks_for(kbps);
  AudioReader reader(path, config().sample_rate, config().channels);
  const double rate = static_cast<double>(config().sample_rate), total = static_cast<double>(reader.frames()) / rate;
  if (total > max_seconds_)
    throw Error(cat(path, ": lasts ", total, " s, over the limit of ", max_seconds_, " s (--max-audio-seconds)"));
  try {
    return model_.encode([&](int64_t max_samples) { return reader.read(max_samples); }, codebooks,
                         [&](int64_t done) {
                           if (progress) progress(static_cast<double>(done) / rate, total);
                         });
  } catch (const Error& e) {
    const std::string message = e.what();
    throw Error(message.starts_with(path) ? message : cat(path, ": ", message));
  }
}

EncodedAudio AudioTokenizer::encode(const Tensor& audio, std::optional<double> kbps) {
  return model_.encode(audio, config().codebooks_for(kbps));
}

}  // namespace anytok
