// EnCodec codes → audio: the residual VQ's code vectors through the decoder half of an EnCodec model, streamed
// to a WAV or FLAC file block by block.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include "tokenizers/audio_io.h"
#include "tokenizers/encodec.h"

namespace anytok {

class AudioDecoder {
 public:
  explicit AudioDecoder(const std::string& model_dir);
  const EncodecConfig& config() const { return model_.config(); }
  // codes → audio [channels, samples] at config().sample_rate, trimmed to encoded.length when that is known.
  Tensor decode(const EncodedAudio& encoded);
  // The same, written to `path` (.wav or .flac) as it is decoded. `progress` hears frames done and the total.
  void decode_to_file(const EncodedAudio& encoded, const std::string& path, AudioSubtype subtype,
                      const std::function<void(int64_t done, int64_t total)>& progress = {});

 private:
  // Calls `sink` with the decoded blocks, cut at encoded.length when it is known.
  void decode_trimmed(const EncodedAudio& encoded, const AudioSink& sink, const Progress& progress);
  EncodecModel model_;
};

}  // namespace anytok
