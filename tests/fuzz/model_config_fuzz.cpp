// config.json of every model family: VQ-GAN (taming, Unified-IO 2, diffusers), EnCodec (original and
// transformers) and the seq2seq transformer.
#include "fuzz_input.h"
#include "nn/error.h"
#include "sequence/seq2seq_model.h"
#include "tokenizers/encodec.h"
#include "tokenizers/vqgan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string dir = anytok::fuzz::as_model_dir(data, size);
  try {
    (void)anytok::VqganConfig::load(dir);
  } catch (const anytok::Error&) {
  }
  try {
    const anytok::EncodecConfig config = anytok::EncodecConfig::load(dir);
    for (double kbps : {1.5, 6.0, 24.0}) {
      try {
        (void)config.codebooks_for(kbps);
      } catch (const anytok::Error&) {
      }
    }
  } catch (const anytok::Error&) {
  }
  try {
    (void)anytok::Seq2SeqConfig::load(dir);
  } catch (const anytok::Error&) {
  }
  return 0;
}
