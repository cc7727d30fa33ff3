// anytok generate and score on a reference seq2seq case: the reference's greedy tokens and scores through the
// CLI, constrained output that parses, and one-line errors.
#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nn/safetensors.h"
#include "sequence/vocabulary_layout.h"
#include "test_util.h"

using anytok::test::run_anytok;
using json = nlohmann::json;

namespace {

std::string case_dir(const std::string& name) { return std::string(ANYTOK_TEST_DATA) + "/seq2seq/" + name; }

// Row b of an int64 [B, N] tensor as a space-separated string and a list, cut at `stop`.
std::vector<int64_t> row(const anytok::SafetensorsFile& f, const std::string& name, int64_t b, int64_t stop) {
  const auto& info = f.at(name);
  const auto values = f.to_int64(info);
  std::vector<int64_t> out;
  for (int64_t t = 0; t < info.shape[1]; ++t) {
    const int64_t v = values[static_cast<size_t>(b * info.shape[1] + t)];
    if (v == stop) break;
    out.push_back(v);
  }
  return out;
}

std::string joined(const std::vector<int64_t>& ids) {
  std::string s;
  for (int64_t id : ids) {
    if (!s.empty()) s += ' ';
    s += std::to_string(id);
  }
  return s;
}

}  // namespace

TEST_CASE("generate gives the reference's greedy tokens and score its log-probabilities") {
  const std::string dir = case_dir("postln-learned-untied");
  anytok::SafetensorsFile f(dir + "/case.safetensors");
  const json config = json::parse(anytok::test::read_text(dir + "/config.json"));
  const int64_t pad = config["pad_id"].get<int64_t>();
  for (int64_t b = 0; b < f.at("src").shape[0]; ++b) {
    CAPTURE(b);
    const std::string src = joined(row(f, "src", b, pad));
    auto r = run_anytok("generate --model '" + dir + "' --input-ids '" + src + "' --max-new-tokens " +
                        std::to_string(f.at("greedy").shape[1]));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(json::parse(r.out)["tokens"].get<std::vector<int64_t>>() == row(f, "greedy", b, -1));

    const auto target = row(f, "score_target", b, -1);
    auto s = run_anytok("score --model '" + dir + "' --input-ids '" + src + "' --target-ids '" + joined(target) + "'");
    REQUIRE_MESSAGE(s.exit_code == 0, s.err);
    const json scored = json::parse(s.out);
    const anytok::Tensor expected = f.to_float(f.at("score_logprobs"));
    double total = 0;
    for (size_t t = 0; t < target.size(); ++t) {
      const double lp = scored["logprobs"][t].get<double>();
      CHECK(std::abs(lp - expected[static_cast<int64_t>(b * target.size() + t)]) <= 1e-4);
      total += lp;
    }
    CHECK(std::abs(scored["total"].get<double>() - total) <= 1e-4);
  }
}

TEST_CASE("generate --target gives ids that parse, with the parsed codes in the record") {
  const std::string dir = case_dir("preln-learned-tied-bias-1x3");
  anytok::test::ScratchDir scratch("generate");
  // An anytok layout small enough for the model's 260 ids: 100 text pieces, a 2×3 image grid of 16 codes, 2
  // audio codebooks of 8, 20 location bins.
  anytok::ModelSizes m;
  m.text_pieces = 100, m.text_pad = 0, m.text_unk = 3, m.text_bos = 1, m.text_eos = 2;
  m.image_codes = 16, m.image_grid_h = 2, m.image_grid_w = 3, m.audio_codebooks = 2, m.audio_bins = 8;
  m.location_bins = 20;
  const std::string vocab = scratch.path("vocab.json");
  anytok::test::write_text(vocab, anytok::VocabularyLayout::preset("anytok", m).to_json().dump());
  for (const std::string target : {"image", "audio --audio-frames 3", "text"}) {
    CAPTURE(target);
    auto r = run_anytok("generate --model '" + dir + "' --vocab '" + vocab + "' --input-ids '5 6 7 2' --target " + target +
                        " --temperature 1 --seed 3 --max-new-tokens 30");
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const json record = json::parse(r.out);
    const auto tokens = record["tokens"].get<std::vector<int64_t>>();
    REQUIRE(!tokens.empty());
    CHECK(tokens.back() == 2);  // ended with eos within the limit
    if (target == "image") CHECK(record["shape"] == json::array({2, 3}));
    if (target != "image" && target != "text") CHECK(record["shape"] == json::array({2, 3}));
  }
  // The shipped text model has 8000 pieces, the layout's text range 100: its text cannot be written.
  auto text = run_anytok("generate --model '" + dir + "' --vocab '" + vocab + "' --input-ids '5 6 7 2' --target text "
                         "--max-new-tokens 30 -o '" + scratch.path("out.txt") + "'");
  CHECK(text.exit_code == 1);
  CHECK(text.err.find("give the matching --text-model") != std::string::npos);
  // Without the model's layout, the default one is far larger than its vocabulary.
  auto too_big = run_anytok("generate --model '" + dir + "' --input-ids '5 6 7 2' --target text");
  CHECK(too_big.exit_code == 1);
  CHECK(too_big.err.find("more than the model's 260") != std::string::npos);
}

TEST_CASE("generate and score refuse bad ids and options with one line") {
  const std::string dir = case_dir("preln-sinusoidal-tied");
  struct Case {
    std::string args, message;
  };
  for (const Case& c : {Case{"generate --model '" + dir + "' --input-ids '5 999 2'", "input id 999"},
                        Case{"generate --model '" + dir + "' --input-ids '5 x 2'", "'x' is not an id"},
                        Case{"generate --input-ids '5 2'", "--model DIR is required"},
                        Case{"generate --model '" + dir + "' --input-ids '5 2' --top-p 0", "top_p"},
                        Case{"generate --model '" + dir + "' --input-ids '5 2' --target video", "unknown target"},
                        Case{"generate --model '" + dir + "' --input-ids '5 2' --max-new-tokens 100", "max_positions"},
                        Case{"score --model '" + dir + "' --input-ids '5 2' --target-ids '7 -1'", "target id -1"},
                        Case{"generate --model '/nonexistent' --input-ids '5 2'", "config.json"}}) {
    CAPTURE(c.args);
    auto r = run_anytok(c.args);
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.err.find(c.message) != std::string::npos, r.err);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}
