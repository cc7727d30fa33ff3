// Modality-constrained decoding: at each step, only the ids that keep the output a well-formed span of the
// requested modality, as the vocabulary layout defines it, so that whatever a model generates parses with the
// sequence format.
//   text   text pieces (never pad or bos), then eos
//   image  <begin> exactly grid_h·grid_w image codes <end> eos (markers as the span has them)
//   audio  <begin> codes in the span's order, each position limited to its own codebook's ids, ending after a
//          whole frame (codebook-major needs the frame count up front) <end> eos
//   boxes  <begin> one or more groups of `group` location bins <end> eos
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "sequence/generation.h"
#include "sequence/vocabulary_layout.h"

namespace anytok {

enum class TargetModality { Text, Image, Audio, Boxes };
TargetModality parse_target_modality(const std::string& name);  // text | image | audio | boxes

class ModalityConstraint : public TokenConstraint {
 public:
  // `span` names the layout's span for image, audio or boxes targets (default: the first of that kind, "boxes" for
  // boxes). `audio_frames` fixes the number of audio frames (required for codebook-major spans; 0: any).
  ModalityConstraint(const VocabularyLayout& layout, TargetModality target, const std::string& span = "",
                     int64_t audio_frames = 0);
  void allowed(const std::vector<int64_t>& prefix, std::vector<uint8_t>& allowed) const override;

 private:
  void allow(std::vector<uint8_t>& allowed, int64_t lowest, int64_t highest) const;
  // Codes the span allows at code position `index` (0-based), as an id interval, for image, audio and boxes.
  std::pair<int64_t, int64_t> code_ids(int64_t index) const;
  // Whether the span may end after `codes` codes.
  bool may_end(int64_t codes) const;

  const VocabularyLayout& layout_;
  TargetModality target_;
  const SpanSpec* span_ = nullptr;
  const CodeRange* range_ = nullptr;
  int64_t begin_ = -1, end_ = -1;  // marker ids, −1 for a span without markers
  int64_t audio_frames_ = 0;
};

}  // namespace anytok
