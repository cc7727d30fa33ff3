#include "sequence/decoding_constraint.h"

#include <algorithm>

#include "nn/error.h"

namespace anytok {

TargetModality parse_target_modality(const std::string& name) {
  if (name == "text") return TargetModality::Text;
  if (name == "image") return TargetModality::Image;
  if (name == "audio") return TargetModality::Audio;
  if (name == "boxes") return TargetModality::Boxes;
  throw Error(cat("unknown target '", name, "' (expected text, image, audio or boxes)"));
}

ModalityConstraint::ModalityConstraint(const VocabularyLayout& layout, TargetModality target, const std::string& span,
                                       int64_t audio_frames)
    : layout_(layout), target_(target), audio_frames_(audio_frames) {
  if (target == TargetModality::Text) return;
  const SpanKind kind = target == TargetModality::Image ? SpanKind::Image
                        : target == TargetModality::Audio ? SpanKind::Audio
                                                          : SpanKind::Location;
  if (!span.empty()) span_ = &layout.span(span);
  else if (target == TargetModality::Boxes) span_ = layout.find_span("boxes");
  else span_ = layout.first_span(kind);
  if (!span_ || span_->kind != kind) throw Error(cat("the vocabulary layout has no span for this target"));
  range_ = &layout.range_of(*span_);
  if (span_->has_markers()) begin_ = layout.token(span_->begin), end_ = layout.token(span_->end);
  if (target == TargetModality::Audio && span_->order == AudioOrder::CodebookMajor && audio_frames_ <= 0)
    throw Error(cat("audio span '", span_->name, "' is codebook-major: constrained decoding needs its frame count"));
}

void ModalityConstraint::allow(std::vector<uint8_t>& allowed, int64_t lowest, int64_t highest) const {
  const int64_t n = static_cast<int64_t>(allowed.size());
  for (int64_t id = std::max<int64_t>(0, lowest); id <= std::min(highest, n - 1); ++id) allowed[id] = 1;
}

std::pair<int64_t, int64_t> ModalityConstraint::code_ids(int64_t index) const {
  if (target_ != TargetModality::Audio) return {range_->lowest(), range_->highest()};
  const int64_t k_count = span_->codebooks;
  const int64_t k = span_->order == AudioOrder::CodebookMajor ? index / audio_frames_ : index % k_count;
  const int64_t a = range_->id(k, 0), b = range_->id(k, range_->size - 1);
  return {std::min(a, b), std::max(a, b)};
}

bool ModalityConstraint::may_end(int64_t codes) const {
  switch (target_) {
    case TargetModality::Image: return codes == span_->grid_h * span_->grid_w;
    case TargetModality::Audio:
      if (audio_frames_ > 0) return codes == audio_frames_ * span_->codebooks;
      return codes > 0 && codes % span_->codebooks == 0;
    case TargetModality::Boxes: return codes > 0 && codes % span_->group == 0;
    case TargetModality::Text: break;
  }
  return false;
}

void ModalityConstraint::allowed(const std::vector<int64_t>& prefix, std::vector<uint8_t>& allowed) const {
  const int64_t eos = layout_.eos_id;
  if (target_ == TargetModality::Text) {
    allow(allowed, layout_.text.lowest(), layout_.text.highest());
    for (int64_t control : {layout_.pad_id, layout_.bos_id})
      if (control >= 0 && control < static_cast<int64_t>(allowed.size())) allowed[control] = 0;
    allow(allowed, eos, eos);
    return;
  }
  const bool markers = begin_ >= 0;
  const int64_t length = static_cast<int64_t>(prefix.size());
  if (markers && length == 0) return allow(allowed, begin_, begin_);
  if (markers && prefix.back() == end_ && length > 1) return allow(allowed, eos, eos);
  const int64_t codes = length - (markers ? 1 : 0);
  // Once the span is complete only its end (or eos) may follow; before, only codes; where it may either end or
  // go on (audio frames, boxes), both.
  const int64_t most = target_ == TargetModality::Image ? span_->grid_h * span_->grid_w
                       : target_ == TargetModality::Audio && audio_frames_ > 0 ? audio_frames_ * span_->codebooks
                                                                               : -1;
  if (most < 0 || codes < most) {
    const auto [lowest, highest] = code_ids(codes);
    allow(allowed, lowest, highest);
  }
  if (may_end(codes)) allow(allowed, markers ? end_ : eos, markers ? end_ : eos);
}

}  // namespace anytok
