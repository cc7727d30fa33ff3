#include "apps/manifest.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "nn/error.h"

namespace anytok {
namespace {

using json = nlohmann::json;

constexpr int64_t kIndexStride = 4096;

const char* const kLineForms =
    "a line must be a list of segments, {\"segments\": [...]} or {\"inputs\": [...], \"targets\": [...]}";

std::vector<double> numbers(const json& j, size_t count, const std::string& what) {
  if (!j.is_array() || j.size() != count) throw Error(cat(what, " must be a list of ", count, " numbers, got ", j.dump()));
  std::vector<double> out;
  for (const auto& v : j) {
    if (!v.is_number()) throw Error(cat(what, " must be a list of ", count, " numbers, got ", j.dump()));
    const double d = v.get<double>();
    if (!std::isfinite(d)) throw Error(cat(what, " holds a non-finite number"));
    out.push_back(d);
  }
  return out;
}

ImageSize image_size_of(const json& segment, const char* key) {
  if (!segment.contains("image_size")) throw Error(cat("\"", key, "\" needs \"image_size\": [W, H]"));
  const std::vector<double> wh = numbers(segment["image_size"], 2, "\"image_size\"");
  for (double v : wh)
    if (v != std::floor(v) || v < 1 || v > 1e9)
      throw Error(cat("\"image_size\" ", segment["image_size"].dump(), " is not two positive integers"));
  return {static_cast<int64_t>(wh[0]), static_cast<int64_t>(wh[1])};
}

std::string resolve(const std::string& folder, const json& value, const char* key) {
  if (!value.is_string()) throw Error(cat("\"", key, "\" must be a path, got ", value.dump()));
  const std::string path = value.get<std::string>();
  if (path.empty()) throw Error(cat("\"", key, "\" is an empty path"));
  if (std::filesystem::path(path).is_absolute() || folder.empty()) return path;
  return (std::filesystem::path(folder) / path).string();
}

SegmentSpec parse_segment(const json& j, const std::string& folder) {
  if (!j.is_object()) throw Error(cat("a segment must be an object such as {\"text\": ...}, got ", j.dump().substr(0, 80)));
  static const char* const kModalities[] = {"text", "image", "audio", "boxes", "keypoints", "token"};
  const char* found = nullptr;
  for (const auto& [key, value] : j.items()) {
    bool known = key == "image_size";
    for (const char* m : kModalities)
      if (key == m) {
        if (found) throw Error(cat("a segment has both \"", found, "\" and \"", m, "\"; give one modality per segment"));
        found = m;
        known = true;
      }
    if (!known) throw Error(cat("a segment has the unknown key \"", key, "\" (segments hold text, image, audio, boxes, keypoints or token)"));
  }
  if (!found) throw Error("a segment names no modality (text, image, audio, boxes, keypoints or token)");
  const std::string modality = found;
  if (j.contains("image_size") && modality != "boxes" && modality != "keypoints")
    throw Error(cat("\"image_size\" belongs to boxes and keypoints, not to ", modality));
  SegmentSpec s;
  if (modality == "text") {
    if (!j["text"].is_string()) throw Error(cat("\"text\" must be a string, got ", j["text"].dump().substr(0, 80)));
    s.source = SegmentSource::Text;
    s.text = j["text"].get<std::string>();
    if (s.text.empty()) throw Error("empty text segment");
  } else if (modality == "token") {
    if (!j["token"].is_string()) throw Error(cat("\"token\" must be a token's name, got ", j["token"].dump().substr(0, 80)));
    s.source = SegmentSource::Token;
    s.text = j["token"].get<std::string>();
  } else if (modality == "image" || modality == "audio") {
    s.source = modality == "image" ? SegmentSource::Image : SegmentSource::Audio;
    s.path = resolve(folder, j[modality], found);
  } else if (modality == "boxes") {
    s.source = SegmentSource::Boxes;
    s.image_size = image_size_of(j, found);
    if (!j["boxes"].is_array() || j["boxes"].empty()) throw Error("\"boxes\" must be a non-empty list of [x1, y1, x2, y2]");
    for (const auto& b : j["boxes"]) {
      const std::vector<double> v = numbers(b, 4, "a box");
      const Box box{v[0], v[1], v[2], v[3]};
      if (box.x2 < box.x1 || box.y2 < box.y1) throw Error(cat("box ", b.dump(), " has x2 < x1 or y2 < y1"));
      if (box.x1 < 0 || box.y1 < 0 || box.x2 > static_cast<double>(s.image_size.width) ||
          box.y2 > static_cast<double>(s.image_size.height))
        throw Error(cat("box ", b.dump(), " lies outside the ", s.image_size.width, "x", s.image_size.height, " image"));
      s.boxes.push_back(box);
    }
  } else {
    s.source = SegmentSource::Keypoints;
    s.image_size = image_size_of(j, found);
    if (!j["keypoints"].is_array() || j["keypoints"].empty()) throw Error("\"keypoints\" must be a non-empty list of [x, y]");
    for (const auto& p : j["keypoints"]) {
      const std::vector<double> v = numbers(p, 2, "a keypoint");
      if (v[0] < 0 || v[1] < 0 || v[0] > static_cast<double>(s.image_size.width) || v[1] > static_cast<double>(s.image_size.height))
        throw Error(cat("keypoint ", p.dump(), " lies outside the ", s.image_size.width, "x", s.image_size.height, " image"));
      s.points.push_back({v[0], v[1]});
    }
  }
  return s;
}

std::vector<SegmentSpec> parse_segments(const json& j, const char* key, const std::string& folder) {
  if (!j.is_array()) throw Error(cat("\"", key, "\" must be a list of segments"));
  if (j.empty()) throw Error(cat("\"", key, "\" holds no segments"));
  std::vector<SegmentSpec> out;
  for (const auto& segment : j) out.push_back(parse_segment(segment, folder));
  return out;
}

json parse_json(std::string_view line) {
  if (line.size() > kMaxManifestLineBytes)
    throw Error(cat("the line is ", line.size(), " bytes, over the limit of ", kMaxManifestLineBytes >> 20, " MiB"));
  try {
    return json::parse(line);
  } catch (const json::exception& e) {
    std::string what = e.what();
    if (const size_t tag = what.find("] "); tag != std::string::npos) what = what.substr(tag + 2);  // drop the exception id
    throw Error(cat("invalid JSON: ", what));
  }
}

}  // namespace

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

Manifest::Manifest(const std::string& path) : file_(path) {
  folder_ = std::filesystem::path(path).parent_path().string();
  const char* data = reinterpret_cast<const char*>(file_.data());
  const uint64_t size = file_.size();
  uint64_t at = 0;
  while (at < size) {
    if (lines_ % kIndexStride == 0) every_kth_start_.push_back(at);
    const void* newline = std::memchr(data + at, '\n', size - at);
    at = newline ? static_cast<uint64_t>(static_cast<const char*>(newline) - data) + 1 : size;
    ++lines_;
  }
  // Pairs or documents: the first line that parses decides, for every rank alike.
  for (int64_t i = 0; i < lines_; ++i) {
    const std::string_view text = line(i);
    if (is_blank(text) || text.size() > kMaxManifestLineBytes) continue;
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) continue;
    seq2seq_ = j.is_object() && (j.contains("inputs") || j.contains("targets"));
    break;
  }
  cursor_line_ = 0;
  cursor_offset_ = 0;
}

std::pair<int64_t, int64_t> Manifest::slice(int64_t rank, int64_t world_size) const {
  return {lines_ * rank / world_size, lines_ * (rank + 1) / world_size};
}

std::string_view Manifest::line(int64_t index) const {
  if (index < 0 || index >= lines_) throw Error(cat(path(), ": no line ", index + 1, " (it has ", lines_, ")"));
  if (index < cursor_line_ || index - cursor_line_ > kIndexStride) {
    cursor_line_ = index / kIndexStride * kIndexStride;
    cursor_offset_ = every_kth_start_[static_cast<size_t>(index / kIndexStride)];
  }
  const char* data = reinterpret_cast<const char*>(file_.data());
  const uint64_t size = file_.size();
  auto end_of_line = [&](uint64_t start) {
    const void* newline = std::memchr(data + start, '\n', size - start);
    return newline ? static_cast<uint64_t>(static_cast<const char*>(newline) - data) : size;
  };
  while (cursor_line_ < index) {
    cursor_offset_ = std::min(end_of_line(cursor_offset_) + 1, size);
    ++cursor_line_;
  }
  uint64_t end = end_of_line(cursor_offset_);
  std::string_view text(data + cursor_offset_, end - cursor_offset_);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}

Example Manifest::parse(std::string_view text, int64_t index) const {
  Example example;
  example.line = index + 1;
  const json j = parse_json(text);
  const json* inputs = nullptr;
  const json* targets = nullptr;
  if (j.is_array()) {
    inputs = &j;
  } else if (j.is_object()) {
    if (j.contains("id")) {
      example.id = j["id"];
      if (!example.id.is_string() && !example.id.is_number_integer())
        throw Error(cat("\"id\" must be a string or an integer, got ", example.id.dump().substr(0, 80)));
    }
    if (j.contains("segments")) inputs = &j["segments"];
    if (j.contains("inputs") || j.contains("targets")) {
      if (inputs) throw Error("a line has both \"segments\" and \"inputs\"/\"targets\"");
      if (!j.contains("inputs") || !j.contains("targets")) throw Error("a seq2seq pair needs both \"inputs\" and \"targets\"");
      inputs = &j["inputs"];
      targets = &j["targets"];
    }
  }
  if (!inputs) throw Error(kLineForms);
  if (seq2seq_ && !targets) throw Error("a document of segments in a manifest of seq2seq pairs");
  if (!seq2seq_ && targets) throw Error("a seq2seq pair in a manifest of documents");
  example.inputs = parse_segments(*inputs, targets ? "inputs" : "segments", folder_);
  if (targets) example.targets = parse_segments(*targets, "targets", folder_);
  return example;
}

}  // namespace anytok
