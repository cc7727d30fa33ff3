// The shared vocabulary: one id space for every modality. A layout names
//   - the text range (the text model's pieces, at their own ids plus an offset),
//   - the roles pad/unk/bos/eos (which may be the text model's own control pieces),
//   - named tokens (span markers, task tokens, other specials), each one id outside every range,
//   - code ranges for image codes, audio codes (one block of ids per codebook) and location bins,
//   - spans: how each modality appears in a sequence (markers, image grid, audio order, location grouping).
// Ranges and tokens never overlap; validate() proves it. Sizes come from the models, so a layout is built
// from a preset plus the sizes of the models in use, or read from a JSON file that someone wrote by hand.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace anytok {

// `size` codes per codebook, `codebooks` blocks back to back. Code c of codebook k has id
// first + k·size + c; a descending range (Unified-IO 2's location bins) has id first − c instead.
struct CodeRange {
  std::string name;
  int64_t first = 0;
  int64_t size = 0;
  int64_t codebooks = 1;
  bool descending = false;

  int64_t lowest() const;   // smallest id in the range
  int64_t highest() const;  // largest id in the range
  bool contains(int64_t id) const { return id >= lowest() && id <= highest(); }
  int64_t id(int64_t codebook, int64_t code) const;
  std::pair<int64_t, int64_t> codebook_and_code(int64_t id) const;  // id must be inside
};

enum class SpanKind { Image, Audio, Location };
// How [K, T] audio codes are laid out flat: frame-major t0k0 t0k1 … t1k0 …; codebook-major k0t0 k0t1 … k1t0 …;
// first-k keeps only the first `codebooks` codebooks, frame-major (AnyGPT's speech keeps one).
enum class AudioOrder { FrameMajor, CodebookMajor, FirstK };
std::string_view audio_order_name(AudioOrder order);
AudioOrder parse_audio_order(std::string_view name);

struct SpanSpec {
  std::string name;   // "image", "audio", "speech", "music", "boxes", "keypoints", ...
  SpanKind kind = SpanKind::Image;
  std::string range;  // the CodeRange its codes come from
  std::string begin;  // marker token names; both empty for a span without markers (a bare run of codes)
  std::string end;
  int64_t grid_h = 0, grid_w = 0;            // image: codes per span = grid_h·grid_w
  AudioOrder order = AudioOrder::FrameMajor;  // audio
  int64_t codebooks = 0;                      // audio: codebooks carried by the span
  int64_t group = 0;                          // location: bins per item (4 for boxes, 2 for keypoints)
  bool has_markers() const { return !begin.empty(); }
};

// Sizes of the models that fill a layout. The image and audio defaults stand in until such models are named:
// 1024 codes on a 16×16 grid (an f16 VQ-GAN at 256²) and 4 codebooks of 1024 (EnCodec at 3 kbps).
struct ModelSizes {
  int64_t text_pieces = 0;
  int64_t text_pad = -1, text_unk = -1, text_bos = -1, text_eos = -1;  // the text model's control ids, −1 if none
  int64_t image_codes = 1024;
  int64_t image_grid_h = 16, image_grid_w = 16;
  int64_t audio_codebooks = 4;
  int64_t audio_bins = 1024;
  int64_t location_bins = 1000;
};

class VocabularyLayout {
 public:
  static std::vector<std::string> preset_names();  // anytok, unified-io-2, anygpt
  static VocabularyLayout preset(std::string_view name, const ModelSizes& sizes);
  static VocabularyLayout from_json(const nlohmann::json& json, const std::string& source);
  static VocabularyLayout load(const std::string& path);
  nlohmann::json to_json() const;

  // Throws Error when ids fall outside 0 .. size−1, ranges or tokens overlap, or a span refers to a missing
  // range or token.
  void validate() const;

  std::string preset_name;  // empty for a hand-written layout
  int64_t size = 0;
  CodeRange text;
  int64_t pad_id = -1, unk_id = -1, bos_id = -1, eos_id = -1;
  std::map<std::string, int64_t> tokens;
  std::vector<CodeRange> ranges;  // every range but text
  std::vector<SpanSpec> spans;
  std::vector<std::string> notes;  // where the numbers come from

  const CodeRange* find_range(std::string_view name) const;
  const CodeRange& range_of(const SpanSpec& span) const;
  const SpanSpec* find_span(std::string_view name) const;
  const SpanSpec& span(std::string_view name) const;  // throws Error when absent
  // The first span of `kind` (the default image span, audio span, ...).
  const SpanSpec* first_span(SpanKind kind) const;
  int64_t token(std::string_view name) const;          // throws Error when absent
  std::optional<std::string> token_name(int64_t id) const;
  // What an id is, for messages: "text piece 42", "image code 17", "<image>", "unused".
  std::string describe(int64_t id) const;
};

}  // namespace anytok
