#include "sequence/sequence_format.h"

#include <algorithm>

#include "nn/error.h"

namespace anytok {

std::string_view segment_kind_name(SegmentKind kind) {
  switch (kind) {
    case SegmentKind::Text: return "text";
    case SegmentKind::Image: return "image";
    case SegmentKind::Audio: return "audio";
    case SegmentKind::Location: return "location";
    case SegmentKind::Token: return "token";
  }
  return "";
}

Segment Segment::text(std::vector<int64_t> pieces) {
  Shape shape{static_cast<int64_t>(pieces.size())};
  return {SegmentKind::Text, "text", shape, std::move(pieces)};
}

Segment Segment::image(int64_t h, int64_t w, std::vector<int64_t> codes, std::string span) {
  return {SegmentKind::Image, std::move(span), {h, w}, std::move(codes)};
}

Segment Segment::audio(int64_t codebooks, int64_t frames, std::vector<int64_t> codes, std::string span) {
  return {SegmentKind::Audio, std::move(span), {codebooks, frames}, std::move(codes)};
}

Segment Segment::boxes(std::vector<int64_t> bins, std::string span) {
  Shape shape{static_cast<int64_t>(bins.size() / 4), 4};
  return {SegmentKind::Location, std::move(span), shape, std::move(bins)};
}

Segment Segment::keypoints(std::vector<int64_t> bins, std::string span) {
  Shape shape{static_cast<int64_t>(bins.size() / 2), 2};
  return {SegmentKind::Location, std::move(span), shape, std::move(bins)};
}

Segment Segment::token(const VocabularyLayout& layout, const std::string& name) {
  return {SegmentKind::Token, name, {}, {layout.token(name)}};
}

SequenceFormat::SequenceFormat(VocabularyLayout layout) : layout_(std::move(layout)) { layout_.validate(); }

std::vector<int64_t> SequenceFormat::encode(const std::vector<Segment>& segments) const {
  std::vector<int64_t> ids;
  for (size_t si = 0; si < segments.size(); ++si) {
    const Segment& s = segments[si];
    auto fail = [&](const std::string& what) { return Error(cat("segment ", si, " (", s.span, "): ", what)); };
    if (static_cast<int64_t>(s.codes.size()) != (s.kind == SegmentKind::Token ? 1 : shape_numel(s.shape)))
      throw fail(cat(s.codes.size(), " codes do not fill shape ", shape_to_string(s.shape)));
    if (s.kind == SegmentKind::Text) {
      for (int64_t piece : s.codes) {
        if (piece < 0 || piece >= layout_.text.size)
          throw fail(cat("text piece ", piece, " is outside the text range 0..", layout_.text.size - 1));
        ids.push_back(layout_.text.first + piece);
      }
      continue;
    }
    if (s.kind == SegmentKind::Token) {
      if (s.codes[0] < 0 || s.codes[0] >= layout_.size) throw fail(cat("token id ", s.codes[0], " is outside the vocabulary"));
      ids.push_back(s.codes[0]);
      continue;
    }
    const SpanSpec& span = layout_.span(s.span);
    const CodeRange& range = layout_.range_of(span);
    auto code_id = [&](int64_t codebook, int64_t code) {
      if (code < 0 || code >= range.size)
        throw fail(cat("code ", code, " is outside the ", range.name, " range of ", range.size, " codes"));
      return range.id(codebook, code);
    };
    if (span.has_markers()) ids.push_back(layout_.token(span.begin));
    switch (span.kind) {
      case SpanKind::Image:
        if (s.kind != SegmentKind::Image || s.shape.size() != 2) throw fail("needs image codes of shape [h, w]");
        for (int64_t code : s.codes) ids.push_back(code_id(0, code));
        break;
      case SpanKind::Audio: {
        if (s.kind != SegmentKind::Audio || s.shape.size() != 2) throw fail("needs audio codes of shape [K, T]");
        const int64_t K = s.shape[0], T = s.shape[1], kept = span.codebooks;
        if (span.order == AudioOrder::FirstK ? K < kept : K != kept)
          throw fail(cat("has ", K, " codebooks; span ", span.name, " carries ", kept));
        if (span.order == AudioOrder::CodebookMajor) {
          for (int64_t k = 0; k < kept; ++k)
            for (int64_t t = 0; t < T; ++t) ids.push_back(code_id(k, s.codes[k * T + t]));
        } else {
          for (int64_t t = 0; t < T; ++t)
            for (int64_t k = 0; k < kept; ++k) ids.push_back(code_id(k, s.codes[k * T + t]));
        }
        break;
      }
      case SpanKind::Location:
        if (s.kind != SegmentKind::Location || s.shape.size() != 2 || s.shape[1] != span.group)
          throw fail(cat("needs location bins of shape [n, ", span.group, "]"));
        for (int64_t code : s.codes) ids.push_back(code_id(0, code));
        break;
    }
    if (span.has_markers()) ids.push_back(layout_.token(span.end));
  }
  return ids;
}

Segment SequenceFormat::parse_span(const SpanSpec& span, const std::vector<int64_t>& ids, size_t begin,
                                   size_t end) const {
  const CodeRange& range = layout_.range_of(span);
  const int64_t n = static_cast<int64_t>(end - begin);
  const std::string where = cat(span.name, " span at position ", begin);
  // The code at position begin + i, checked to come from `codebook`.
  auto code_at = [&](int64_t i, int64_t codebook) {
    int64_t id = ids[begin + i];
    if (range.contains(id)) {
      auto [k, code] = range.codebook_and_code(id);
      if (k == codebook) return code;
    }
    int64_t lo = std::min(range.id(codebook, 0), range.id(codebook, range.size - 1));
    int64_t hi = std::max(range.id(codebook, 0), range.id(codebook, range.size - 1));
    throw Error(cat("position ", begin + i, ": ", where, " expects ", range.name,
                    range.codebooks > 1 ? cat(" codebook ", codebook) : std::string(), " ids ", lo, "..", hi, ", got ",
                    layout_.describe(id)));
  };
  std::vector<int64_t> codes(static_cast<size_t>(n));
  switch (span.kind) {
    case SpanKind::Image: {
      if (n != span.grid_h * span.grid_w)
        throw Error(cat(where, " has ", n, " codes; its grid [", span.grid_h, ",", span.grid_w, "] needs ",
                        span.grid_h * span.grid_w));
      for (int64_t i = 0; i < n; ++i) codes[i] = code_at(i, 0);
      return Segment::image(span.grid_h, span.grid_w, std::move(codes), span.name);
    }
    case SpanKind::Audio: {
      const int64_t K = span.codebooks;
      if (n % K) throw Error(cat(where, " has ", n, " codes, not a whole number of frames of ", K, " codebooks"));
      const int64_t T = n / K;
      for (int64_t i = 0; i < n; ++i) {
        bool codebook_major = span.order == AudioOrder::CodebookMajor;
        int64_t k = codebook_major ? i / T : i % K, t = codebook_major ? i % T : i / K;
        codes[k * T + t] = code_at(i, k);
      }
      return Segment::audio(K, T, std::move(codes), span.name);
    }
    case SpanKind::Location: {
      if (n % span.group)
        throw Error(cat(where, " has ", n, " bins, not a whole number of groups of ", span.group));
      for (int64_t i = 0; i < n; ++i) codes[i] = code_at(i, 0);
      return span.group == 4 ? Segment::boxes(std::move(codes), span.name)
                             : Segment::keypoints(std::move(codes), span.name);
    }
  }
  throw Error("unreachable");
}

// The marker-less span that a bare run of `run` ids from id's range forms, if any (Unified-IO 2's layout).
const SpanSpec* SequenceFormat::bare_span_for(int64_t id, size_t run) const {
  const SpanSpec* fallback = nullptr;
  for (const auto& s : layout_.spans) {
    if (s.has_markers() || !layout_.range_of(s).contains(id)) continue;
    if (s.kind != SpanKind::Location || run % s.group == 0) return &s;
    if (!fallback) fallback = &s;
  }
  return fallback;
}

std::vector<Segment> SequenceFormat::parse(const std::vector<int64_t>& ids) const {
  const VocabularyLayout& v = layout_;
  std::vector<Segment> segments;
  size_t i = 0, n = ids.size();
  if (n && ids[0] == v.bos_id) i = 1;
  // Where the sequence ends: eos, or (for a layout whose pad is not also bos) the first pad.
  size_t stop = n;
  for (size_t j = i; j < n; ++j)
    if (ids[j] == v.eos_id || (ids[j] == v.pad_id && v.pad_id != v.bos_id)) {
      stop = j;
      break;
    }
  for (size_t j = stop + (stop < n && ids[stop] == v.eos_id); j < n; ++j)
    if (ids[j] != v.pad_id)
      throw Error(cat("position ", j, ": ", v.describe(ids[j]), " after the end of the sequence (only padding may follow)"));

  std::map<int64_t, const SpanSpec*> begins, ends;
  for (const auto& s : v.spans)
    if (s.has_markers()) {
      begins[v.token(s.begin)] = &s;
      ends[v.token(s.end)] = &s;
    }

  while (i < stop) {
    const int64_t id = ids[i];
    if (id < 0 || id >= v.size)
      throw Error(cat("position ", i, ": id ", id, " is outside the vocabulary (0..", v.size - 1, ")"));
    if (v.text.contains(id) && id != v.bos_id && id != v.pad_id) {
      std::vector<int64_t> pieces;
      for (; i < stop && v.text.contains(ids[i]) && ids[i] != v.bos_id && ids[i] != v.pad_id; ++i)
        pieces.push_back(ids[i] - v.text.first);
      segments.push_back(Segment::text(std::move(pieces)));
      continue;
    }
    if (auto b = begins.find(id); b != begins.end()) {
      const SpanSpec& span = *b->second;
      const int64_t end_id = v.token(span.end);
      size_t j = i + 1;
      while (j < stop && ids[j] != end_id) ++j;
      if (j == stop) throw Error(cat("position ", i, ": unterminated ", span.name, " span (", span.begin, " without ", span.end, ")"));
      segments.push_back(parse_span(span, ids, i + 1, j));
      i = j + 1;
      continue;
    }
    if (auto e = ends.find(id); e != ends.end())
      throw Error(cat("position ", i, ": ", e->second->end, " without a matching ", e->second->begin));
    if (auto name = v.token_name(id)) {
      segments.push_back({SegmentKind::Token, *name, {}, {id}});
      ++i;
      continue;
    }
    const CodeRange* range = nullptr;
    for (const auto& r : v.ranges)
      if (r.contains(id)) range = &r;
    if (!range) throw Error(cat("position ", i, ": id ", id, " is not used by the vocabulary layout"));
    size_t j = i;
    while (j < stop && range->contains(ids[j])) ++j;
    if (const SpanSpec* span = bare_span_for(id, j - i)) {
      segments.push_back(parse_span(*span, ids, i, j));
      i = j;
      continue;
    }
    auto owner = std::find_if(v.spans.begin(), v.spans.end(), [&](const SpanSpec& s) { return s.range == range->name; });
    if (owner != v.spans.end())
      throw Error(cat("position ", i, ": ", v.describe(id), " outside a ", owner->begin, " … ", owner->end, " span"));
    // A range no span uses (Unified-IO 2's sentinels): each id stands alone.
    segments.push_back({SegmentKind::Token, v.describe(id), {}, {id}});
    ++i;
  }
  return segments;
}

std::vector<int64_t> SequenceFormat::encoder_ids(const Seq2SeqExample& example) const {
  std::vector<int64_t> ids = encode(example.inputs);
  ids.push_back(layout_.eos_id);
  return ids;
}

std::vector<int64_t> SequenceFormat::decoder_ids(const Seq2SeqExample& example) const {
  std::vector<int64_t> ids = encode(example.targets);
  ids.push_back(layout_.eos_id);
  return ids;
}

Seq2SeqExample SequenceFormat::parse_example(const std::vector<int64_t>& encoder,
                                             const std::vector<int64_t>& decoder) const {
  return {parse(encoder), parse(decoder)};
}

}  // namespace anytok
