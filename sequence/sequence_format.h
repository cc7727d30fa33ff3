// Examples as lists of segments, and segments as flat id sequences of the shared vocabulary.
//
// A segment keeps its codes in their natural shape:
//   text       shape [n]         codes: the text model's piece ids
//   image      shape [h, w]      codes: row-major VQ codes
//   audio      shape [K, T]      codes: row-major, K codebooks × T frames
//   location   shape [n, group]  codes: bins, 4 per box (y1 x1 y2 x2) or 2 per keypoint (y x)
//   token      shape []          codes: {id}, a task token, marker or other named id
// Flat, a span with markers is  <begin> codes… <end>; one without markers is a bare run of its codes.
// A sequence ends at the layout's eos; only padding may follow it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nn/tensor.h"
#include "sequence/vocabulary_layout.h"

namespace anytok {

enum class SegmentKind { Text, Image, Audio, Location, Token };
std::string_view segment_kind_name(SegmentKind kind);

struct Segment {
  SegmentKind kind = SegmentKind::Text;
  std::string span;  // "text", a span of the layout ("image", "boxes", "speech", ...), or a token's name
  Shape shape;
  std::vector<int64_t> codes;

  static Segment text(std::vector<int64_t> pieces);
  static Segment image(int64_t h, int64_t w, std::vector<int64_t> codes, std::string span = "image");
  static Segment audio(int64_t codebooks, int64_t frames, std::vector<int64_t> codes, std::string span = "audio");
  static Segment boxes(std::vector<int64_t> bins, std::string span = "boxes");          // 4 bins per box
  static Segment keypoints(std::vector<int64_t> bins, std::string span = "keypoints");  // 2 bins per point
  static Segment token(const VocabularyLayout& layout, const std::string& name);

  bool operator==(const Segment&) const = default;
};

// A seq2seq example as Unified-IO 2 frames one: the encoder reads the task prompt and the inputs, the decoder
// writes the target.
struct Seq2SeqExample {
  std::vector<Segment> inputs;   // task token or text prompt first, then the media
  std::vector<Segment> targets;
};

class SequenceFormat {
 public:
  explicit SequenceFormat(VocabularyLayout layout);
  const VocabularyLayout& layout() const { return layout_; }

  // Flat ids of the segments, without bos or eos. Throws Error when a code is outside its range or a segment
  // does not fit its span (an audio segment with too few codebooks, a location segment of the wrong group).
  std::vector<int64_t> encode(const std::vector<Segment>& segments) const;
  std::vector<int64_t> encode(const Segment& segment) const { return encode(std::vector<Segment>{segment}); }

  // Segments of a flat sequence. A leading bos is skipped, and so is everything from eos on (which must be
  // padding). Throws Error, naming the position, on an unterminated span, an image span of the wrong length
  // for its grid, an id outside the range its span allows, or an id the layout does not use.
  std::vector<Segment> parse(const std::vector<int64_t>& ids) const;

  std::vector<int64_t> encoder_ids(const Seq2SeqExample& example) const;  // inputs, eos
  std::vector<int64_t> decoder_ids(const Seq2SeqExample& example) const;  // targets, eos (decoding starts at bos)
  Seq2SeqExample parse_example(const std::vector<int64_t>& encoder, const std::vector<int64_t>& decoder) const;

 private:
  Segment parse_span(const SpanSpec& span, const std::vector<int64_t>& ids, size_t begin, size_t end) const;
  const SpanSpec* bare_span_for(int64_t id, size_t run) const;

  VocabularyLayout layout_;
};

}  // namespace anytok
