// The seq2seq model format v1 against its PyTorch reference (tests/data/seq2seq, made by make_cases.py with
// training/anytok_torch/seq2seq.py): logits, greedy tokens and scores; cached decoding; generation options;
// modality-constrained decoding; bad models.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "nn/error.h"
#include "nn/safetensors.h"
#include "nn/thread_pool.h"
#include "sequence/decoding_constraint.h"
#include "sequence/generation.h"
#include "sequence/sequence_format.h"
#include "test_util.h"

using namespace anytok;

namespace {

std::string case_dir(const std::string& name) { return std::string(ANYTOK_TEST_DATA) + "/seq2seq/" + name; }
const char* kCases[] = {"preln-sinusoidal-tied", "postln-learned-untied", "preln-learned-tied-bias-1x3"};

// Rows of an int64 [B, N] tensor, cut at the first `stop` value (pad_id for sources, −1 for greedy outputs).
std::vector<std::vector<int64_t>> rows(const SafetensorsFile& f, const std::string& name, int64_t stop) {
  const auto& info = f.at(name);
  const auto values = f.to_int64(info);
  std::vector<std::vector<int64_t>> out;
  for (int64_t b = 0; b < info.shape[0]; ++b) {
    std::vector<int64_t> row;
    for (int64_t t = 0; t < info.shape[1]; ++t) {
      const int64_t v = values[static_cast<size_t>(b * info.shape[1] + t)];
      if (v == stop) break;
      row.push_back(v);
    }
    out.push_back(row);
  }
  return out;
}

std::vector<int64_t> iota_rows(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

// A layout of the anytok preset small enough for the test models' 260 ids.
VocabularyLayout small_layout() {
  ModelSizes m;
  m.text_pieces = 100, m.text_pad = 0, m.text_unk = 3, m.text_bos = 1, m.text_eos = 2;
  m.image_codes = 16, m.image_grid_h = 2, m.image_grid_w = 3;
  m.audio_codebooks = 2, m.audio_bins = 8, m.location_bins = 20;
  return VocabularyLayout::preset("anytok", m);
}

}  // namespace

TEST_CASE("logits, greedy tokens and scores match the PyTorch reference") {
  ThreadPool::set_threads(2);
  for (const char* name : kCases) {
    CAPTURE(name);
    const Seq2SeqModel model(case_dir(name));
    const SafetensorsFile f(case_dir(name) + "/case.safetensors");
    const auto sources = rows(f, "src", model.config().pad_id);
    const auto tgt_in = rows(f, "tgt_in", -1);
    const Tensor expected = f.to_float(f.at("logits"));
    const EncodedSources encoded = model.encode(sources);
    DecoderCache cache = model.start(encoded, iota_rows(encoded.count), static_cast<int64_t>(tgt_in[0].size()));
    const Tensor logits = model.logits(cache, tgt_in);
    REQUIRE(logits.shape() == expected.shape());
    float error = 0;
    for (int64_t i = 0; i < logits.numel(); ++i) error = std::max(error, std::abs(logits[i] - expected[i]));
    MESSAGE(std::string(name) << ": logits within " << error);
    CHECK(error <= 1e-4f);

    GenerationOptions greedy;
    greedy.max_new_tokens = f.at("greedy").shape[1];
    CHECK(generate(model, sources, greedy) == rows(f, "greedy", -1));

    const auto scores = score(model, sources, rows(f, "score_target", -1));
    const Tensor logprobs = f.to_float(f.at("score_logprobs"));
    for (size_t b = 0; b < scores.size(); ++b)
      for (size_t t = 0; t < scores[b].logprobs.size(); ++t)
        CHECK(std::abs(scores[b].logprobs[t] - logprobs[static_cast<int64_t>(b * scores[b].logprobs.size() + t)]) <= 1e-4f);
  }
}

TEST_CASE("decoding one position at a time from the cache equals decoding all at once") {
  ThreadPool::set_threads(2);
  const Seq2SeqModel model(case_dir("postln-learned-untied"));
  const std::vector<std::vector<int64_t>> sources{{5, 9, 44, 2}, {7, 8, 2}};
  const std::vector<std::vector<int64_t>> targets{{1, 30, 31, 32, 33, 34}, {1, 60, 61, 62, 63, 64}};
  const EncodedSources encoded = model.encode(sources);
  DecoderCache whole = model.start(encoded, {0, 1}, 6);
  const Tensor all = model.logits(whole, targets);
  DecoderCache cache = model.start(encoded, {0, 1}, 6);
  const int64_t v = model.config().vocab_size;
  for (int64_t t = 0; t < 6; ++t) {
    const Tensor step = model.logits(cache, {{targets[0][t]}, {targets[1][t]}});
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t i = 0; i < v; ++i) REQUIRE(std::abs(step[r * v + i] - all[(r * 6 + t) * v + i]) <= 1e-5f);
  }
}

TEST_CASE("sampling is reproducible for a seed, and beam search with one beam is greedy") {
  ThreadPool::set_threads(2);
  const Seq2SeqModel model(case_dir("preln-sinusoidal-tied"));
  const std::vector<std::vector<int64_t>> sources{{10, 11, 12, 13, 2}};
  GenerationOptions o;
  o.max_new_tokens = 20, o.temperature = 1.0f, o.top_k = 50, o.top_p = 0.9f, o.seed = 7;
  const auto first = generate(model, sources, o);
  CHECK(generate(model, sources, o) == first);
  o.seed = 8;
  const auto other = generate(model, sources, o);
  o.seed = 9;
  CHECK((generate(model, sources, o) != first || other != first));

  GenerationOptions greedy;
  greedy.max_new_tokens = 15;
  GenerationOptions beam = greedy;
  beam.beams = 1;
  CHECK(generate(model, sources, beam) == generate(model, sources, greedy));
  beam.beams = 4;
  beam.length_penalty = 0;
  const auto beamed = generate(model, sources, beam).front();
  REQUIRE(!beamed.empty());
  // With no length penalty, beam search maximises the summed log-probability: never below greedy's.
  const auto greedy_ids = generate(model, sources, greedy).front();
  const double beam_total = score(model, sources, {beamed}).front().total;
  const double greedy_total = score(model, sources, {greedy_ids}).front().total;
  MESSAGE("beam " << beam_total << ", greedy " << greedy_total);
  CHECK(beam_total >= greedy_total - 1e-4);

  GenerationOptions banned = greedy;
  banned.disallowed = greedy_ids;
  const auto avoiding = generate(model, sources, banned).front();
  CHECK(avoiding.size() == 15);  // eos is banned too, so it runs to the limit
  for (int64_t id : avoiding) CHECK(std::find(greedy_ids.begin(), greedy_ids.end(), id) == greedy_ids.end());
  GenerationOptions guided = greedy;
  guided.guidance = 3;
  guided.unconditional_source = {2};
  CHECK(!generate(model, sources, guided).front().empty());
}

TEST_CASE("constrained decoding yields spans that parse, even from a random model") {
  ThreadPool::set_threads(2);
  const Seq2SeqModel model(case_dir("preln-learned-tied-bias-1x3"));
  const VocabularyLayout layout = small_layout();
  REQUIRE(layout.size <= model.config().vocab_size);
  const SequenceFormat format(layout);
  const std::vector<std::vector<int64_t>> sources{{20, 21, 22, 2}};
  struct Target {
    TargetModality modality;
    SegmentKind kind;
    int64_t audio_frames;
  };
  for (const Target target : {Target{TargetModality::Text, SegmentKind::Text, 0},
                              Target{TargetModality::Image, SegmentKind::Image, 0},
                              Target{TargetModality::Audio, SegmentKind::Audio, 3},
                              Target{TargetModality::Audio, SegmentKind::Audio, 0},
                              Target{TargetModality::Boxes, SegmentKind::Location, 0}}) {
    const ModalityConstraint constraint(layout, target.modality, "", target.audio_frames);
    int parsed = 0;
    for (uint64_t seed = 0; seed < 12; ++seed) {
      CAPTURE(seed);
      GenerationOptions o;
      o.max_new_tokens = 64, o.temperature = 1.5f, o.seed = seed;
      const auto ids = generate(model, sources, o, &constraint).front();
      if (ids.empty() || ids.back() != layout.eos_id) continue;  // cut off by the length limit
      std::vector<Segment> segments;
      REQUIRE_NOTHROW(segments = format.parse(ids));
      if (target.modality == TargetModality::Text && segments.empty()) continue;  // eos at once: empty text
      REQUIRE(segments.size() == 1);
      CHECK(segments[0].kind == target.kind);
      if (target.kind == SegmentKind::Image) CHECK(segments[0].shape == Shape{2, 3});
      if (target.audio_frames > 0) CHECK(segments[0].shape == Shape{2, 3});
      ++parsed;
    }
    CAPTURE(static_cast<int>(target.modality));
    CHECK(parsed > 0);
  }
  CHECK_THROWS_WITH_AS(parse_target_modality("video"), doctest::Contains("unknown target"), Error);
}

TEST_CASE("bad models are refused with the file and tensor named") {
  const std::string dir = case_dir("preln-sinusoidal-tied");
  test::ScratchDir scratch("seq2seq-bad");
  auto copy = [&](const std::string& to) {
    std::filesystem::create_directories(scratch.path(to));
    for (const char* f : {"config.json", "model.safetensors"})
      std::filesystem::copy_file(dir + "/" + f, scratch.path(to) + "/" + f);
    return scratch.path(to);
  };
  const std::string truncated = copy("truncated");
  std::filesystem::resize_file(truncated + "/model.safetensors", std::filesystem::file_size(truncated + "/model.safetensors") / 2);
  CHECK_THROWS_WITH_AS(Seq2SeqModel{truncated}, doctest::Contains("model.safetensors"), Error);
  const std::string vocab = copy("vocab");
  std::string config = test::read_text(vocab + "/config.json");
  config.replace(config.find("\"vocab_size\": 260"), 17, "\"vocab_size\": 300");
  test::write_text(vocab + "/config.json", config);
  CHECK_THROWS_WITH_AS(Seq2SeqModel{vocab}, doctest::Contains("embed.weight has shape [260,32], config expects [300,32]"), Error);
  const Seq2SeqModel model(dir);
  CHECK_THROWS_WITH_AS(model.encode({{5, 999}}), doctest::Contains("id 999 is outside the model's vocabulary"), Error);
}
