// The vocabulary layout (JSON → validated layout) and the sequence parser (ids → segments). The first byte picks
// what is fuzzed: a layout read from the rest, or ids (16-bit each) parsed under one of the three presets.
#include <nlohmann/json.hpp>

#include "fuzz_input.h"
#include "nn/error.h"
#include "sequence/sequence_format.h"
#include "sequence/vocabulary_layout.h"

namespace {

const anytok::VocabularyLayout& preset(int which) {
  static const auto layouts = [] {
    std::vector<anytok::VocabularyLayout> all;
    for (const auto& name : anytok::VocabularyLayout::preset_names())
      all.push_back(anytok::VocabularyLayout::preset(name, anytok::fuzz::small_model_sizes()));
    return all;
  }();
  return layouts[static_cast<size_t>(which) % layouts.size()];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  ++data;
  --size;
  try {
    if (mode < 128) {
      const auto json = nlohmann::json::parse(data, data + size, nullptr, false);
      if (json.is_discarded()) return 0;
      const anytok::VocabularyLayout layout = anytok::VocabularyLayout::from_json(json, "fuzz");
      layout.validate();
      (void)layout.to_json();
      const anytok::SequenceFormat format(layout);
      std::vector<int64_t> ids;
      for (int64_t i = 0; i < std::min<int64_t>(layout.size, 64); ++i) ids.push_back(i);
      (void)format.parse(ids);
    } else {
      const anytok::SequenceFormat format(preset(mode));
      std::vector<int64_t> ids;
      for (size_t i = 0; i + 1 < size; i += 2) ids.push_back(int64_t{data[i]} | int64_t{data[i + 1]} << 8);
      for (const auto& segment : format.parse(ids)) (void)format.encode(segment);
    }
  } catch (const anytok::Error&) {
  }
  return 0;
}
