#include "apps/token_record.h"

#include <algorithm>
#include <cmath>

#include "nn/error.h"

namespace anytok {

using json = nlohmann::json;

namespace {

json nest(const std::vector<int64_t>& codes, const Shape& shape, size_t axis, size_t& at) {
  if (axis == shape.size()) return codes[at++];
  json list = json::array();
  for (int64_t i = 0; i < shape[axis]; ++i) list.push_back(nest(codes, shape, axis + 1, at));
  return list;
}

void flatten(const json& j, const Shape& shape, size_t axis, std::vector<int64_t>& out, const std::string& where) {
  if (axis == shape.size()) {
    if (!j.is_number_integer()) throw Error(cat(where, ": 'codes' holds ", j.dump(), ", not an integer code"));
    out.push_back(j.get<int64_t>());
    return;
  }
  if (!j.is_array() || static_cast<int64_t>(j.size()) != shape[axis])
    throw Error(cat(where, ": 'codes' is not nested as its shape ", shape_to_string(shape)));
  for (const auto& item : j) flatten(item, shape, axis + 1, out, where);
}

std::vector<int64_t> integers(const json& j, const std::string& where, const char* key) {
  if (!j.is_array()) throw Error(cat(where, ": '", key, "' is not a list of integers"));
  std::vector<int64_t> out;
  for (const auto& v : j) {
    if (!v.is_number_integer()) throw Error(cat(where, ": '", key, "' holds ", v.dump(), ", not an integer"));
    out.push_back(v.get<int64_t>());
  }
  return out;
}

}  // namespace

std::string record_modality(const Segment& s) {
  if (s.kind == SegmentKind::Location) return s.shape.size() == 2 && s.shape[1] == 2 ? "keypoints" : "boxes";
  return std::string(segment_kind_name(s.kind));
}

json make_record(const std::optional<std::string>& input, const Segment& segment, const SequenceFormat& format) {
  json r;
  r["input"] = input ? json(*input) : json(nullptr);
  r["modality"] = record_modality(segment);
  if (segment.kind != SegmentKind::Text && segment.span != r["modality"]) r["span"] = segment.span;
  r["shape"] = segment.shape;
  size_t at = 0;
  r["codes"] = nest(segment.codes, segment.shape, 0, at);
  r["tokens"] = format.encode(segment);
  return r;
}

json make_image_record(const std::string& input, const Segment& segment, int64_t source_width, int64_t source_height,
                       std::string_view preprocess, const SequenceFormat& format) {
  json r = make_record(input, segment, format);
  r["size"] = {source_width, source_height};
  r["preprocess"] = preprocess;
  return r;
}

json make_location_record(const std::optional<std::string>& input, const Segment& segment, ImageSize size,
                          BoxConvention convention, const SequenceFormat& format) {
  json r = make_record(input, segment, format);
  r["image_size"] = {size.width, size.height};
  r["convention"] = box_convention_name(convention);
  r["bins"] = format.layout().range_of(format.layout().span(segment.span)).size;
  return r;
}

LocationTokenizer location_tokenizer(const SequenceFormat& format, const char* span_name, BoxConvention convention) {
  return LocationTokenizer(convention, format.layout().range_of(format.layout().span(span_name)).size);
}

Segment record_segment(const json& record, const SequenceFormat& format, const std::string& where, int64_t max_tokens) {
  auto check_count = [&](uint64_t count, const char* what) {
    if (count > static_cast<uint64_t>(max_tokens))
      throw Error(cat(where, ": ", count, " ", what, ", over the limit of ", max_tokens, " (--max-tokens)"));
  };
  if (!record.is_object()) throw Error(cat(where, ": not a JSON object"));
  if (!record.contains("modality") || !record["modality"].is_string())
    throw Error(cat(where, ": missing 'modality'"));
  const std::string modality = record["modality"].get<std::string>();
  if (modality != "text" && modality != "image" && modality != "audio" && modality != "boxes" && modality != "keypoints")
    throw Error(cat(where, ": unknown modality '", modality, "'"));
  std::string span = modality == "text" ? "text" : modality;
  if (record.contains("span")) {
    if (!record["span"].is_string()) throw Error(cat(where, ": 'span' is not a string"));
    span = record["span"].get<std::string>();
  }

  if (record.contains("codes")) {
    if (!record.contains("shape")) throw Error(cat(where, ": 'codes' without 'shape'"));
    Shape shape = integers(record["shape"], where, "shape");
    const size_t rank = modality == "text" ? 1 : 2;
    if (shape.size() != rank) throw Error(cat(where, ": a ", modality, " shape has ", rank, " dimensions, got ", shape_to_string(shape)));
    uint64_t count = 1;
    for (int64_t d : shape) {
      if (d < 0 || d > (int64_t{1} << 31)) throw Error(cat(where, ": shape ", shape_to_string(shape), " is not plausible"));
      count *= static_cast<uint64_t>(d);
    }
    check_count(count, "codes");
    std::vector<int64_t> codes;
    flatten(record["codes"], shape, 0, codes, where);
    if (modality == "text") return Segment::text(std::move(codes));
    if (modality == "image") return Segment::image(shape[0], shape[1], std::move(codes), span);
    if (modality == "audio") return Segment::audio(shape[0], shape[1], std::move(codes), span);
    const int64_t group = modality == "boxes" ? 4 : 2;
    if (shape[1] != group) throw Error(cat(where, ": ", modality, " codes have ", group, " bins per item, got shape ", shape_to_string(shape)));
    return modality == "boxes" ? Segment::boxes(std::move(codes), span) : Segment::keypoints(std::move(codes), span);
  }

  if (!record.contains("tokens")) throw Error(cat(where, ": has neither 'codes' nor 'tokens'"));
  if (record["tokens"].is_array()) check_count(record["tokens"].size(), "ids");
  std::vector<Segment> segments;
  try {
    segments = format.parse(integers(record["tokens"], where, "tokens"));
  } catch (const Error& e) {
    throw Error(cat(where, ": ", e.what()));
  }
  if (segments.size() != 1 || record_modality(segments[0]) != modality)
    throw Error(cat(where, ": 'tokens' do not hold exactly one ", modality, " segment"));
  return segments[0];
}

nlohmann::json make_audio_record(const std::string& input, const EncodedAudio& encoded, const EncodecConfig& config,
                                 const SequenceFormat& format) {
  nlohmann::json r = make_record(input, Segment::audio(encoded.codebooks, encoded.frames, encoded.codes), format);
  r["sample_rate"] = config.sample_rate;
  r["channels"] = config.channels;
  r["length"] = encoded.length;
  r["bandwidth"] = static_cast<double>(encoded.codebooks) * std::log2(static_cast<double>(config.bins)) *
                   static_cast<double>(config.frame_rate()) / 1000.0;
  if (!encoded.scales.empty()) r["scales"] = encoded.scales;
  return r;
}

EncodedAudio record_encoded_audio(const nlohmann::json& r, const Segment& segment, const EncodecConfig& config,
                                  const std::string& where) {
  auto integer = [&](const char* key) -> std::optional<int64_t> {
    if (!r.contains(key)) return std::nullopt;
    if (!r[key].is_number_integer() || r[key].get<int64_t>() < 0) throw Error(cat(where, ": \"", key, "\" must be a count"));
    return r[key].get<int64_t>();
  };
  if (auto rate = integer("sample_rate"); rate && *rate != config.sample_rate)
    throw Error(cat(where, ": coded at ", *rate, " Hz, but the audio model runs at ", config.sample_rate, " Hz"));
  if (auto channels = integer("channels"); channels && *channels != config.channels)
    throw Error(cat(where, ": coded with ", *channels, " channel(s), but the audio model has ", config.channels));
  EncodedAudio e;
  e.codebooks = segment.shape.at(0);
  e.frames = segment.shape.at(1);
  e.codes = segment.codes;
  e.length = integer("length").value_or(0);
  if (r.contains("scales")) {
    if (!r["scales"].is_array()) throw Error(cat(where, ": \"scales\" must be a list of numbers"));
    for (const auto& v : r["scales"]) {
      if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>()))
        throw Error(cat(where, ": \"scales\" must be a list of positive numbers"));
      e.scales.push_back(v.get<float>());
    }
  }
  if (config.normalize && e.scales.empty())
    throw Error(cat(where, ": the audio model normalizes, but the record has no \"scales\""));
  return e;
}

EncodedAudio generated_audio(const Segment& segment, const EncodecConfig& config) {
  EncodedAudio e;
  e.codebooks = segment.shape.at(0);
  e.frames = segment.shape.at(1);
  e.codes = segment.codes;
  if (config.normalize) {
    const int64_t hop = config.seanet.hop_length();
    const int64_t per_segment = config.segment_length() ? (*config.segment_length() + hop - 1) / hop : e.frames;
    e.scales.assign(static_cast<size_t>((e.frames + per_segment - 1) / per_segment), 1.0f);
  }
  return e;
}

TokenRecordReader::TokenRecordReader(std::istream& in, std::string name, int64_t max_tokens)
    : in_(in), name_(std::move(name)), max_line_bytes_(max_line_bytes(max_tokens)) {}

// A record writes each id twice ("codes" and "tokens"), at most 10 characters each with its separator; the
// rest of a record (input path, shape, metadata) is small.
size_t TokenRecordReader::max_line_bytes(int64_t max_tokens) {
  const auto tokens = std::min<uint64_t>(static_cast<uint64_t>(max_tokens), uint64_t{1} << 40);
  return static_cast<size_t>(tokens * 24 + (uint64_t{1} << 20));
}

bool TokenRecordReader::read_line() {
  line_.clear();
  std::streambuf* buffer = in_.rdbuf();
  ++line_number_;
  for (;;) {
    const int c = buffer->sbumpc();
    if (c == std::char_traits<char>::eof()) return !line_.empty();
    if (c == '\n') return true;
    if (line_.size() == max_line_bytes_)
      throw Error(cat(name_, ":", line_number_, ": the line is longer than ", max_line_bytes_ >> 20,
                      " MiB, more than a record within --max-tokens can be"));
    line_.push_back(static_cast<char>(c));
  }
}

bool TokenRecordReader::next(json& record, std::string& where) {
  for (;;) {
    if (!read_line()) {
      if (in_.bad()) throw Error(cat(name_, ": read failed"));
      return false;
    }
    if (line_.find_first_not_of(" \t\r") == std::string::npos) continue;
    where = cat(name_, ":", line_number_);
    try {
      record = json::parse(line_);
    } catch (const json::exception& e) {
      throw Error(cat(where, ": not valid JSON (", e.what(), ")"));
    }
    return true;
  }
}

}  // namespace anytok
