#include "sequence/vocabulary_layout.h"

#include <algorithm>
#include <fstream>

#include "nn/error.h"

namespace anytok {

using json = nlohmann::json;

int64_t CodeRange::lowest() const { return descending ? first - (size * codebooks - 1) : first; }
int64_t CodeRange::highest() const { return descending ? first : first + size * codebooks - 1; }

int64_t CodeRange::id(int64_t codebook, int64_t code) const {
  if (codebook < 0 || codebook >= codebooks || code < 0 || code >= size)
    throw Error(cat(name, " code ", code, " of codebook ", codebook, " is outside ", codebooks, " × ", size, " codes"));
  int64_t offset = codebook * size + code;
  return descending ? first - offset : first + offset;
}

std::pair<int64_t, int64_t> CodeRange::codebook_and_code(int64_t id) const {
  int64_t offset = descending ? first - id : id - first;
  return {offset / size, offset % size};
}

std::string_view audio_order_name(AudioOrder order) {
  switch (order) {
    case AudioOrder::FrameMajor: return "frame-major";
    case AudioOrder::CodebookMajor: return "codebook-major";
    case AudioOrder::FirstK: return "first-k";
  }
  return "";
}

AudioOrder parse_audio_order(std::string_view name) {
  for (auto order : {AudioOrder::FrameMajor, AudioOrder::CodebookMajor, AudioOrder::FirstK})
    if (name == audio_order_name(order)) return order;
  throw Error(cat("unknown audio order '", name, "' (use frame-major, codebook-major or first-k)"));
}

namespace {

std::string_view kind_name(SpanKind kind) {
  switch (kind) {
    case SpanKind::Image: return "image";
    case SpanKind::Audio: return "audio";
    case SpanKind::Location: return "location";
  }
  return "";
}

SpanKind parse_kind(std::string_view name) {
  for (auto kind : {SpanKind::Image, SpanKind::Audio, SpanKind::Location})
    if (name == kind_name(kind)) return kind;
  throw Error(cat("unknown span kind '", name, "' (use image, audio or location)"));
}

// Builds a layout id by id, handing out consecutive ids in the order things are added.
struct LayoutBuilder {
  VocabularyLayout layout;
  int64_t next = 0;

  void add_token(const std::string& name) { layout.tokens[name] = next++; }
  void add_range(const std::string& name, int64_t size, int64_t codebooks = 1) {
    layout.ranges.push_back({name, next, size, codebooks, false});
    next += size * codebooks;
  }
};

SpanSpec image_span(std::string name, std::string range, std::string begin, std::string end, int64_t h, int64_t w) {
  SpanSpec s{.name = std::move(name), .kind = SpanKind::Image, .range = std::move(range), .begin = std::move(begin),
             .end = std::move(end)};
  s.grid_h = h;
  s.grid_w = w;
  return s;
}

SpanSpec audio_span(std::string name, std::string range, std::string begin, std::string end, AudioOrder order,
                    int64_t codebooks) {
  SpanSpec s{.name = std::move(name), .kind = SpanKind::Audio, .range = std::move(range), .begin = std::move(begin),
             .end = std::move(end)};
  s.order = order;
  s.codebooks = codebooks;
  return s;
}

SpanSpec location_span(std::string name, std::string range, std::string begin, std::string end, int64_t group) {
  SpanSpec s{.name = std::move(name), .kind = SpanKind::Location, .range = std::move(range), .begin = std::move(begin),
             .end = std::move(end)};
  s.group = group;
  return s;
}

// Our own layout: the text model's pieces first, then markers and task tokens, then one block per modality.
// Every size is read from the models in use.
VocabularyLayout anytok_preset(const ModelSizes& m) {
  if (m.text_pieces <= 0) throw Error("the anytok preset needs the size of a text model");
  LayoutBuilder b;
  b.layout.preset_name = "anytok";
  b.layout.text = {"text", 0, m.text_pieces};
  b.next = m.text_pieces;
  // Roles the text model lacks (LLaMA's has no pad, for example) get tokens of their own.
  auto role = [&](int64_t model_id, const std::string& name) {
    if (model_id >= 0) return model_id;
    b.add_token(name);
    return b.layout.tokens[name];
  };
  b.layout.pad_id = role(m.text_pad, "<pad>");
  b.layout.bos_id = role(m.text_bos, "<s>");
  b.layout.eos_id = role(m.text_eos, "</s>");
  b.layout.unk_id = m.text_unk;
  for (const char* marker : {"<image>", "</image>", "<audio>", "</audio>", "<boxes>", "</boxes>", "<keypoints>",
                             "</keypoints>"})
    b.add_token(marker);
  for (const char* task : {"<task:caption>", "<task:detect>", "<task:generate-image>", "<task:speak>",
                           "<task:transcribe>"})
    b.add_token(task);
  b.add_range("image", m.image_codes);
  b.add_range("audio", m.audio_bins, m.audio_codebooks);
  b.add_range("location", m.location_bins);
  b.layout.size = b.next;
  b.layout.spans = {
      image_span("image", "image", "<image>", "</image>", m.image_grid_h, m.image_grid_w),
      audio_span("audio", "audio", "<audio>", "</audio>", AudioOrder::FrameMajor, m.audio_codebooks),
      location_span("boxes", "location", "<boxes>", "</boxes>", 4),
      location_span("keypoints", "location", "<keypoints>", "</keypoints>", 2)};
  b.layout.notes = {"text pieces keep their SentencePiece ids; the other sizes come from the models in use"};
  return b.layout;
}

void require_text_pieces(const ModelSizes& m, int64_t pieces, std::string_view preset, std::string_view model) {
  if (m.text_pieces > 0 && m.text_pieces != pieces)
    throw Error(cat("the ", preset, " preset needs ", model, " SentencePiece model of ", pieces,
                    " pieces; the text model given has ", m.text_pieces));
}

// Unified-IO 2 (allenai/unified-io-2.pytorch, uio2/config.py and uio2/vocabulary.py) keeps three vocabularies:
// text (33 280 ids), image (16 512) and audio (8 320). This preset lays them end to end, so an image-vocabulary id
// is its id here minus 33 280, an audio-vocabulary id its id here minus 49 792.
VocabularyLayout unified_io_2_preset(const ModelSizes& m) {
  require_text_pieces(m, 32000, "unified-io-2", "LLaMA's");
  VocabularyLayout v;
  v.preset_name = "unified-io-2";
  // LLaMA's 32 000 pieces, with pieces 0..2 reordered so that 0 = <s> (also pad), 1 = </s>, 2 = <unk>
  // (vocabulary.py, hack_to_t5_start_tokens; PAD_ID/EOS_ID/BOS_ID in config.py).
  v.text = {"text", 0, 32000};
  v.pad_id = 0;
  v.bos_id = 0;
  v.eos_id = 1;
  v.unk_id = 2;
  // DEFAULT_EXTRA_IDS = VOCAB_START + NUM_DETECTION_BIN = 200 + 1000, added in reverse, so that
  // <extra_id_k> = 32000 + 1199 − k. Location bin q is <extra_id_{200+q}> = 32999 − q (derived from that order;
  // uio2/utils.py token_to_float inverts it as 1 − (id − 32000)/999).
  v.ranges.push_back({"location", 32999, 1000, 1, true});
  v.ranges.push_back({"sentinels", 33199, 200, 1, true});  // <extra_id_0..199>, the denoising sentinels
  // Added after the extra ids, in this order (vocabulary.py); ids derived by counting.
  int64_t id = 33200;
  for (int i = 1; i <= 8; ++i) {
    v.tokens[cat("<image_history_", i, ">")] = id++;
    v.tokens[cat("<audio_history_", i, ">")] = id++;
  }
  for (const char* name : {"<image_input>", "<audio_input>", "[Text] [S]", "[Text] [R]", "[Text] [X]", "[Image] [S]",
                           "[Image] [R]", "[Audio] [S]", "[Audio] [R]"})
    v.tokens[name] = id++;
  // Ids 33225..33279 pad the text vocabulary to 33 280 (config.py vocab_size, a multiple of 128) and are unused.
  // Image vocabulary (image_vocab_size 16 512): 0 = start, 1 = mask, code c at 2 + c (target_modalities.py).
  const int64_t image_base = 33280, audio_base = image_base + 16512;
  v.tokens["<image:start>"] = image_base;
  v.tokens["<image:mask>"] = image_base + 1;
  v.ranges.push_back({"image", image_base + 2, 16384});
  // Audio vocabulary (audio_vocab_size 8 320): the same start, mask and +2 offset, 8 192 spectrogram codes.
  v.tokens["<audio:start>"] = audio_base;
  v.tokens["<audio:mask>"] = audio_base + 1;
  v.ranges.push_back({"audio", audio_base + 2, 8192});
  v.size = audio_base + 8320;
  // A 256² image is 32×32 codes of the f8 VQ-GAN; an audio target is 512 codes (decoder_max_audio_length).
  // Neither has markers: the decoder emits bare runs of codes.
  v.spans = {image_span("image", "image", "", "", 32, 32),
             audio_span("audio", "audio", "", "", AudioOrder::FrameMajor, 1),
             location_span("boxes", "location", "", "", 4), location_span("keypoints", "location", "", "", 2)};
  v.notes = {"text, image and audio vocabularies of 33280, 16512 and 8320 ids laid end to end",
             "read from uio2/config.py: vocab sizes, VOCAB_START 200, NUM_DETECTION_BIN 1000, special ids 0/1/2",
             "derived from the order uio2/vocabulary.py adds pieces: extra-id and special-token ids"};
  return v;
}

// AnyGPT (OpenMOSS/AnyGPT): LLaMA-2's 32 000 pieces, then tokens added in the order the training code adds them
// (stage1_pretrain.py; names in anything2token.py). No tokenizer file with these ids is released, so every id
// past 32 000 is derived from that order.
VocabularyLayout anygpt_preset(const ModelSizes& m) {
  require_text_pieces(m, 32000, "anygpt", "LLaMA-2's");
  LayoutBuilder b;
  b.layout.preset_name = "anygpt";
  b.layout.text = {"text", 0, 32000};
  b.layout.unk_id = 0;
  b.layout.bos_id = 1;
  b.layout.eos_id = 2;
  b.layout.pad_id = 0;  // stage1_pretrain.py sets pad_token_id = 0
  b.next = 32000;
  for (const char* name : {"[Human]", "[MMGPT]", "<eoh>", "<eos>"}) b.add_token(name);
  b.add_range("image", 8192);  // SEED tokenizer: 8192 codes, 32 per image
  b.add_token("<soim>");
  b.add_token("<eoim>");
  b.add_range("speech", 1024);  // SpeechTokenizer, first RVQ layer only
  b.add_token("<sosp>");
  b.add_token("<eosp>");
  b.add_range("music", 2048, 4);  // EnCodec 32 kHz, 4 codebooks; token = code + 2048·k
  b.add_token("<somu>");
  b.add_token("<eomu>");
  b.layout.size = b.next;
  b.layout.spans = {image_span("image", "image", "<soim>", "<eoim>", 1, 32),
                    audio_span("speech", "speech", "<sosp>", "<eosp>", AudioOrder::FirstK, 1),
                    audio_span("music", "music", "<somu>", "<eomu>", AudioOrder::FrameMajor, 4)};
  b.layout.notes = {"ids past 32000 derived from the order AnyGPT's training code adds tokens",
                    "image code 0 is id 32004, speech code 0 id 40198, music codebook k code c id 41224 + 2048k + c"};
  return b.layout;
}

// Reads JSON fields with messages that say where the problem is.
struct Reader {
  const std::string& source;

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw Error(cat(source, ": ", where, ": ", what));
  }
  const json& field(const json& j, const std::string& where, const char* key) const {
    if (!j.is_object() || !j.contains(key)) fail(where, cat("missing '", key, "'"));
    return j[key];
  }
  int64_t integer(const json& j, const std::string& where, const char* key) const {
    const json& v = field(j, where, key);
    if (!v.is_number_integer()) fail(where, cat("'", key, "' is not an integer"));
    return v.get<int64_t>();
  }
  int64_t integer_or(const json& j, const std::string& where, const char* key, int64_t fallback) const {
    return j.contains(key) ? integer(j, where, key) : fallback;
  }
  std::string string_or(const json& j, const std::string& where, const char* key, std::string fallback) const {
    if (!j.contains(key)) return fallback;
    if (!j[key].is_string()) fail(where, cat("'", key, "' is not a string"));
    return j[key].get<std::string>();
  }
  CodeRange range(const json& j, const std::string& where) const {
    CodeRange r{string_or(j, where, "name", ""), integer(j, where, "first"), integer(j, where, "size"),
                integer_or(j, where, "codebooks", 1), false};
    if (j.contains("descending")) {
      if (!j["descending"].is_boolean()) fail(where, "'descending' is not true or false");
      r.descending = j["descending"].get<bool>();
    }
    if (r.size <= 0 || r.codebooks <= 0) fail(where, "'size' and 'codebooks' must be positive");
    if (r.size > (int64_t{1} << 40) || r.codebooks > (int64_t{1} << 20)) fail(where, "range is implausibly large");
    return r;
  }
};

json range_json(const CodeRange& r) {
  json j = {{"name", r.name}, {"first", r.first}, {"size", r.size}};
  if (r.codebooks != 1) j["codebooks"] = r.codebooks;
  if (r.descending) j["descending"] = true;
  j["ids"] = {r.lowest(), r.highest()};
  return j;
}

}  // namespace

std::vector<std::string> VocabularyLayout::preset_names() { return {"anytok", "unified-io-2", "anygpt"}; }

VocabularyLayout VocabularyLayout::preset(std::string_view name, const ModelSizes& sizes) {
  VocabularyLayout v;
  if (name == "anytok")
    v = anytok_preset(sizes);
  else if (name == "unified-io-2")
    v = unified_io_2_preset(sizes);
  else if (name == "anygpt")
    v = anygpt_preset(sizes);
  else
    throw Error(cat("unknown vocabulary preset '", name, "' (use anytok, unified-io-2 or anygpt)"));
  v.validate();
  return v;
}

json VocabularyLayout::to_json() const {
  json j;
  j["format"] = "anytok-vocabulary";
  j["version"] = 1;
  if (!preset_name.empty()) j["preset"] = preset_name;
  j["size"] = size;
  j["text"] = range_json(text);
  json roles = json::object();
  for (auto [name, id] : {std::pair{"pad", pad_id}, {"unk", unk_id}, {"bos", bos_id}, {"eos", eos_id}})
    if (id >= 0) roles[name] = id;
  j["roles"] = roles;
  j["tokens"] = tokens;
  j["ranges"] = json::array();
  for (const auto& r : ranges) j["ranges"].push_back(range_json(r));
  j["spans"] = json::array();
  for (const auto& s : spans) {
    json sj = {{"name", s.name}, {"kind", kind_name(s.kind)}, {"range", s.range}};
    if (s.has_markers()) {
      sj["begin"] = s.begin;
      sj["end"] = s.end;
    }
    if (s.kind == SpanKind::Image) sj["grid"] = {s.grid_h, s.grid_w};
    if (s.kind == SpanKind::Audio) {
      sj["order"] = audio_order_name(s.order);
      sj["codebooks"] = s.codebooks;
    }
    if (s.kind == SpanKind::Location) sj["group"] = s.group;
    j["spans"].push_back(sj);
  }
  if (!notes.empty()) j["notes"] = notes;
  return j;
}

VocabularyLayout VocabularyLayout::from_json(const json& j, const std::string& source) {
  Reader r{source};
  if (!j.is_object()) r.fail("top level", "not a JSON object");
  VocabularyLayout v;
  v.preset_name = r.string_or(j, "top level", "preset", "");
  v.size = r.integer(j, "top level", "size");
  v.text = r.range(r.field(j, "top level", "text"), "text");
  v.text.name = "text";
  const json& roles = r.field(j, "top level", "roles");
  v.pad_id = r.integer_or(roles, "roles", "pad", -1);
  v.unk_id = r.integer_or(roles, "roles", "unk", -1);
  v.bos_id = r.integer_or(roles, "roles", "bos", -1);
  v.eos_id = r.integer_or(roles, "roles", "eos", -1);
  if (j.contains("tokens")) {
    if (!j["tokens"].is_object()) r.fail("tokens", "not an object of name: id");
    for (const auto& [name, id] : j["tokens"].items()) {
      if (!id.is_number_integer()) r.fail("tokens", cat("'", name, "' is not an integer id"));
      v.tokens[name] = id.get<int64_t>();
    }
  }
  if (j.contains("ranges")) {
    if (!j["ranges"].is_array()) r.fail("ranges", "not an array");
    for (size_t i = 0; i < j["ranges"].size(); ++i) {
      std::string where = cat("ranges[", i, "]");
      CodeRange range = r.range(j["ranges"][i], where);
      if (range.name.empty()) r.fail(where, "missing 'name'");
      v.ranges.push_back(range);
    }
  }
  if (j.contains("spans")) {
    if (!j["spans"].is_array()) r.fail("spans", "not an array");
    for (size_t i = 0; i < j["spans"].size(); ++i) {
      const json& sj = j["spans"][i];
      std::string where = cat("spans[", i, "]");
      SpanSpec s;
      s.name = r.string_or(sj, where, "name", "");
      try {
        s.kind = parse_kind(r.string_or(sj, where, "kind", ""));
        s.order = parse_audio_order(r.string_or(sj, where, "order", "frame-major"));
      } catch (const Error& e) {
        r.fail(where, e.what());
      }
      s.range = r.string_or(sj, where, "range", "");
      s.begin = r.string_or(sj, where, "begin", "");
      s.end = r.string_or(sj, where, "end", "");
      if (s.kind == SpanKind::Image) {
        const json& grid = r.field(sj, where, "grid");
        if (!grid.is_array() || grid.size() != 2 || !grid[0].is_number_integer() || !grid[1].is_number_integer())
          r.fail(where, "'grid' is not [h, w]");
        s.grid_h = grid[0].get<int64_t>();
        s.grid_w = grid[1].get<int64_t>();
      }
      s.codebooks = r.integer_or(sj, where, "codebooks", s.kind == SpanKind::Audio ? 1 : 0);
      s.group = r.integer_or(sj, where, "group", 0);
      v.spans.push_back(s);
    }
  }
  if (j.contains("notes") && j["notes"].is_array())
    for (const auto& n : j["notes"])
      if (n.is_string()) v.notes.push_back(n.get<std::string>());
  try {
    v.validate();
  } catch (const Error& e) {
    throw Error(cat(source, ": ", e.what()));
  }
  return v;
}

VocabularyLayout VocabularyLayout::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(cat(path, ": cannot open vocabulary layout"));
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw Error(cat(path, ": not valid JSON (", e.what(), ")"));
  }
  return from_json(j, path);
}

void VocabularyLayout::validate() const {
  if (size <= 0) throw Error(cat("vocabulary size ", size, " is not positive"));
  std::vector<const CodeRange*> all{&text};
  for (const auto& r : ranges) all.push_back(&r);
  for (const CodeRange* r : all) {
    if (r->size <= 0 || r->codebooks <= 0) throw Error(cat("range ", r->name, " is empty"));
    if (r->lowest() < 0 || r->highest() >= size)
      throw Error(cat("range ", r->name, " (ids ", r->lowest(), "..", r->highest(), ") is outside 0..", size - 1));
    if (std::count_if(all.begin(), all.end(), [&](const CodeRange* o) { return o->name == r->name; }) > 1)
      throw Error(cat("two ranges are named ", r->name));
  }
  std::vector<const CodeRange*> sorted = all;
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->lowest() < b->lowest(); });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i]->lowest() <= sorted[i - 1]->highest())
      throw Error(cat("ranges ", sorted[i - 1]->name, " and ", sorted[i]->name, " overlap"));

  std::map<int64_t, std::string> token_ids;
  for (const auto& [name, id] : tokens) {
    if (id < 0 || id >= size) throw Error(cat("token ", name, " has id ", id, ", outside 0..", size - 1));
    for (const CodeRange* r : all)
      if (r->contains(id)) throw Error(cat("token ", name, " (id ", id, ") lies inside range ", r->name));
    auto [it, fresh] = token_ids.emplace(id, name);
    if (!fresh) throw Error(cat("tokens ", it->second, " and ", name, " share id ", id));
  }
  // A role is either one of the text model's own control pieces or a token of its own.
  for (auto [role, id] : {std::pair{"pad", pad_id}, {"unk", unk_id}, {"bos", bos_id}, {"eos", eos_id}}) {
    if (id < 0) {
      if (std::string_view(role) != "unk") throw Error(cat("the layout has no ", role, " id"));
      continue;
    }
    if (!text.contains(id) && !token_ids.count(id))
      throw Error(cat("the ", role, " id ", id, " is neither a text piece nor a named token"));
  }

  for (const auto& s : spans) {
    const CodeRange* r = find_range(s.range);
    if (!r || r == &text) throw Error(cat("span ", s.name, " uses range '", s.range, "', which the layout lacks"));
    if (s.begin.empty() != s.end.empty()) throw Error(cat("span ", s.name, " has only one of its begin/end markers"));
    for (const auto& marker : {s.begin, s.end})
      if (!marker.empty() && !tokens.count(marker))
        throw Error(cat("span ", s.name, " uses marker ", marker, ", which is not a token of the layout"));
    if (std::count_if(spans.begin(), spans.end(), [&](const SpanSpec& o) { return o.name == s.name; }) > 1)
      throw Error(cat("two spans are named ", s.name));
    switch (s.kind) {
      case SpanKind::Image:
        if (s.grid_h <= 0 || s.grid_w <= 0 || s.grid_h > 4096 || s.grid_w > 4096)
          throw Error(cat("span ", s.name, " has grid [", s.grid_h, ",", s.grid_w, "]"));
        if (r->codebooks != 1) throw Error(cat("image span ", s.name, " needs a range with one codebook"));
        break;
      case SpanKind::Audio:
        if (s.codebooks <= 0 || s.codebooks > r->codebooks)
          throw Error(cat("audio span ", s.name, " carries ", s.codebooks, " codebooks; its range has ", r->codebooks));
        break;
      case SpanKind::Location:
        if (s.group != 2 && s.group != 4)
          throw Error(cat("location span ", s.name, " groups ", s.group, " bins (use 4 for boxes, 2 for keypoints)"));
        if (r->codebooks != 1) throw Error(cat("location span ", s.name, " needs a range with one codebook"));
        break;
    }
  }
}

const CodeRange* VocabularyLayout::find_range(std::string_view name) const {
  if (name == text.name) return &text;
  for (const auto& r : ranges)
    if (r.name == name) return &r;
  return nullptr;
}

const CodeRange& VocabularyLayout::range_of(const SpanSpec& span) const {
  const CodeRange* r = find_range(span.range);
  if (!r) throw Error(cat("span ", span.name, " uses range '", span.range, "', which the layout lacks"));
  return *r;
}

const SpanSpec* VocabularyLayout::find_span(std::string_view name) const {
  for (const auto& s : spans)
    if (s.name == name) return &s;
  return nullptr;
}

const SpanSpec& VocabularyLayout::span(std::string_view name) const {
  if (const SpanSpec* s = find_span(name)) return *s;
  throw Error(cat("the vocabulary layout", preset_name.empty() ? "" : " " + preset_name, " has no ", name, " span"));
}

const SpanSpec* VocabularyLayout::first_span(SpanKind kind) const {
  for (const auto& s : spans)
    if (s.kind == kind) return &s;
  return nullptr;
}

int64_t VocabularyLayout::token(std::string_view name) const {
  auto it = tokens.find(std::string(name));
  if (it == tokens.end()) throw Error(cat("the vocabulary layout has no token ", name));
  return it->second;
}

std::optional<std::string> VocabularyLayout::token_name(int64_t id) const {
  for (const auto& [name, tid] : tokens)
    if (tid == id) return name;
  return std::nullopt;
}

std::string VocabularyLayout::describe(int64_t id) const {
  if (id < 0 || id >= size) return cat("id ", id, " (outside 0..", size - 1, ")");
  if (auto name = token_name(id)) return *name;
  if (text.contains(id)) return cat("text piece ", id - text.first);
  for (const auto& r : ranges)
    if (r.contains(id)) {
      auto [codebook, code] = r.codebook_and_code(id);
      return r.codebooks > 1 ? cat(r.name, " codebook ", codebook, " code ", code) : cat(r.name, " code ", code);
    }
  return cat("unused id ", id);
}

}  // namespace anytok
