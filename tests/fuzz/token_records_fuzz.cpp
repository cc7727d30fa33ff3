// The tokens JSON Lines reader of detokenize: each line a record, read into a segment (and for audio, what
// decoding needs) under the anytok preset.
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/token_record.h"
#include "fuzz_input.h"
#include "nn/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const anytok::VocabularyLayout layout =
      anytok::VocabularyLayout::preset("anytok", anytok::fuzz::small_model_sizes());
  static const anytok::SequenceFormat format(layout);
  static const anytok::EncodecConfig audio = [] {
    anytok::EncodecConfig c;
    c.bins = 16;
    return c;
  }();
  std::istringstream lines(std::string(reinterpret_cast<const char*>(data), size));
  for (std::string line; std::getline(lines, line);) {
    const auto record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded()) continue;
    try {
      const anytok::Segment segment = anytok::record_segment(record, format, "fuzz:1");
      (void)format.encode(segment);
      if (segment.kind == anytok::SegmentKind::Audio) (void)anytok::record_encoded_audio(record, segment, audio, "fuzz:1");
    } catch (const anytok::Error&) {
    }
  }
  return 0;
}
