// The tokens JSON Lines record, one per tokenized input:
//   {"input": <path or null>, "modality": "text|image|audio|boxes|keypoints", "shape": [...],
//    "codes": <nested as shape>, "tokens": [<flat ids in the shared vocabulary>], ...modality metadata}
// Metadata: boxes and keypoints carry "image_size" [W, H], "convention" and "bins"; audio carries "sample_rate",
// "channels", "length" (samples at the model's rate), "bandwidth" (kbps) and "scales" (one per segment, for models
// that normalize).
#pragma once

#include <nlohmann/json.hpp>
#include <istream>
#include <optional>
#include <string>
#include <string_view>

#include "sequence/sequence_format.h"
#include "tokenizers/encodec.h"
#include "tokenizers/location_tokenizer.h"

namespace anytok {

constexpr int64_t kDefaultMaxTokens = int64_t{1} << 24;

// The modality word of a segment's record: "text", "image", "audio", "boxes" or "keypoints".
std::string record_modality(const Segment& segment);

nlohmann::json make_record(const std::optional<std::string>& input, const Segment& segment,
                           const SequenceFormat& format);

// An image record: the codes of an image whose original was `source_width`×`source_height`, prepared by
// `preprocess` (its name).
nlohmann::json make_image_record(const std::string& input, const Segment& segment, int64_t source_width,
                                 int64_t source_height, std::string_view preprocess, const SequenceFormat& format);

// A boxes or keypoints record: the bins of the span's range, with what decoding them needs.
nlohmann::json make_location_record(const std::optional<std::string>& input, const Segment& segment, ImageSize size,
                                    BoxConvention convention, const SequenceFormat& format);

// The location tokenizer for `span_name`'s range of the layout: as many bins as the range has codes.
LocationTokenizer location_tokenizer(const SequenceFormat& format, const char* span_name, BoxConvention convention);

// An audio record for `encoded`, coded by a model of `config`.
nlohmann::json make_audio_record(const std::string& input, const EncodedAudio& encoded, const EncodecConfig& config,
                                 const SequenceFormat& format);

// What an audio record's segment and metadata give to decode, checked against the model's `config`.
EncodedAudio record_encoded_audio(const nlohmann::json& record, const Segment& segment, const EncodecConfig& config,
                                  const std::string& where);

// What a generated audio segment gives to decode. Generated audio has no recorded level, so models that
// normalize decode each segment at unit scale.
EncodedAudio generated_audio(const Segment& segment, const EncodecConfig& config);

// The segment a record holds: from "codes" and "shape" when present, otherwise by parsing "tokens" with the
// layout. `where` names the record in messages ("tokens.jsonl:3"). Records of more than `max_tokens` ids or codes
// are refused before they are converted.
Segment record_segment(const nlohmann::json& record, const SequenceFormat& format, const std::string& where,
                       int64_t max_tokens = kDefaultMaxTokens);

// Reads the records of a tokens JSON Lines stream one at a time, skipping blank lines. A line longer than a record
// of `max_tokens` tokens can be is refused before it is all read, so memory follows the cap, not the input.
class TokenRecordReader {
 public:
  TokenRecordReader(std::istream& in, std::string name, int64_t max_tokens);

  // The next record, or false at the end of the stream; `where` names its line ("tokens.jsonl:3").
  bool next(nlohmann::json& record, std::string& where);

  static size_t max_line_bytes(int64_t max_tokens);

 private:
  bool read_line();

  std::istream& in_;
  std::string name_;
  size_t max_line_bytes_;
  int64_t line_number_ = 0;
  std::string line_;
};

}  // namespace anytok
