// Audio files → EnCodec codes: the encoder half of an EnCodec model and its residual VQ, fed by a streaming reader
// that converts channels and resamples to the model's rate on the way, so that memory does not grow with the
// length of the file.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include "tokenizers/encodec.h"

namespace anytok {

constexpr double kDefaultMaxAudioSeconds = 4 * 3600.0;

class AudioTokenizer {
 public:
  // Files longer than `max_seconds` are refused by their header's length, before a sample is read, so that
  // neither time nor memory follows what a header claims.
  explicit AudioTokenizer(const std::string& model_dir, double max_seconds = kDefaultMaxAudioSeconds);
  const EncodecConfig& config() const { return model_.config(); }
  // The file's audio → codes [K, T] from config().codebooks_for(kbps) codebooks. `progress` hears the seconds of
  // audio done and the file's length in seconds.
  EncodedAudio encode_file(const std::string& path, std::optional<double> kbps,
                           const std::function<void(double done, double total)>& progress = {});
  EncodedAudio encode(const Tensor& audio, std::optional<double> kbps);  // [channels, samples] at the model's rate

 private:
  EncodecModel model_;
  double max_seconds_;
};

}  // namespace anytok
