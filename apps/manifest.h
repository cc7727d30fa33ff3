// A JSON Lines manifest of examples for `anytok preprocess`, one example per line. A line is one of
//   [SEGMENT, ...]                                                    one document of segments
//   {"segments": [SEGMENT, ...], "id": ID}                            the same, with an id
//   {"inputs": [SEGMENT, ...], "targets": [SEGMENT, ...], "id": ID}   a seq2seq pair
// where SEGMENT is one of
//   {"text": "..."}     {"image": PATH}     {"audio": PATH}
//   {"boxes": [[x1, y1, x2, y2], ...], "image_size": [W, H]}         pixels, inside the image
//   {"keypoints": [[x, y], ...], "image_size": [W, H]}
//   {"token": "<task:caption>"}                                      a named id of the vocabulary layout
// "id" (a string or an integer) is optional; other keys of an example are ignored, so manifests may carry their
// own metadata, but a segment with an unknown key is refused (a misspelt modality must not vanish silently).
// Relative paths resolve against the manifest's folder. Blank lines hold no example. A manifest holds pairs or
// documents, not both; its first line that parses decides which.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nn/mapped_file.h"
#include "tokenizers/location_tokenizer.h"

namespace anytok {

enum class SegmentSource { Text, Image, Audio, Boxes, Keypoints, Token };

struct SegmentSpec {
  SegmentSource source = SegmentSource::Text;
  std::string text;             // Text; Token: its name
  std::string path;             // Image, Audio: resolved against the manifest's folder
  std::vector<Box> boxes;       // Boxes
  std::vector<Point> points;    // Keypoints
  ImageSize image_size;         // Boxes, Keypoints
};

struct Example {
  int64_t line = 0;              // 1-based
  nlohmann::json id;             // null when the line has none
  std::vector<SegmentSpec> inputs;   // a document's segments, or a pair's inputs
  std::vector<SegmentSpec> targets;  // a pair's targets
};

// Lines longer than this are refused before parsing, so one forged line cannot exhaust memory.
constexpr size_t kMaxManifestLineBytes = size_t{64} << 20;

class Manifest {
 public:
  explicit Manifest(const std::string& path);  // maps the file and counts its lines

  const std::string& path() const { return file_.path(); }
  uint64_t bytes() const { return file_.size(); }
  int64_t lines() const { return lines_; }
  bool seq2seq() const { return seq2seq_; }

  // The lines [first, end) of `rank` among `world_size` ranks: contiguous and balanced, so that the shards in
  // rank order are the manifest in order.
  std::pair<int64_t, int64_t> slice(int64_t rank, int64_t world_size) const;

  // Line `index` (0-based) without its newline. Fast for lines read in order; not for concurrent callers.
  std::string_view line(int64_t index) const;

  // A line's text parsed and checked, `index` being its 0-based line; throws Error whose message is the reason
  // alone (no line number). Safe to call from several threads.
  Example parse(std::string_view text, int64_t index) const;

 private:
  MappedFile file_;
  std::string folder_;
  int64_t lines_ = 0;
  std::vector<uint64_t> every_kth_start_;  // where lines 0, k, 2k, ... start
  bool seq2seq_ = false;
  mutable int64_t cursor_line_ = 0;
  mutable uint64_t cursor_offset_ = 0;
};

// Whether a manifest line holds nothing but white space.
bool is_blank(std::string_view line);

}  // namespace anytok
