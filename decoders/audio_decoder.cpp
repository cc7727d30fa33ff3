#include "decoders/audio_decoder.h"

#include "nn/error.h"

namespace anytok {

AudioDecoder::AudioDecoder(const std::string& model_dir) : model_(model_dir, EncodecModel::kDecoder) {}

void AudioDecoder::decode_trimmed(const EncodedAudio& encoded, const AudioSink& sink, const Progress& progress) {
  int64_t written = 0;
  model_.decode(encoded, [&](const Tensor& block) {
    int64_t n = block.dim(1);
    if (encoded.length > 0) n = std::min(n, encoded.length - written);
    if (n <= 0) return;
    written += n;
    if (n == block.dim(1)) return sink(block);
    TimeBuffer cut;
    cut.append(block);
    sink(cut.slice(0, n));
  }, progress);
}

Tensor AudioDecoder::decode(const EncodedAudio& encoded) {
  TimeBuffer all(config().channels);
  decode_trimmed(encoded, [&](const Tensor& block) { all.append(block); }, {});
  return all.slice(0, all.length());
}

void AudioDecoder::decode_to_file(const EncodedAudio& encoded, const std::string& path, AudioSubtype subtype,
                                  const std::function<void(int64_t, int64_t)>& progress) {
  AudioWriter writer(path, config().sample_rate, config().channels, subtype);
  decode_trimmed(encoded, [&](const Tensor& block) { writer.write(block); }, [&](int64_t done) {
    if (progress) progress(done, encoded.frames);
  });
  writer.close();
}

}  // namespace anytok
