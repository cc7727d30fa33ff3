// The CLI as users run it: exit codes, one-line errors, and round trips through pipes.
#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "test_util.h"

using anytok::test::run_anytok;
using json = nlohmann::json;

TEST_CASE("tokenize | detokenize gives back the text") {
  auto tok = run_anytok("tokenize --text 'The quick brown fox, 2026!'");
  REQUIRE(tok.exit_code == 0);
  json record = json::parse(tok.out);
  CHECK(record["input"].is_null());
  CHECK(record["modality"] == "text");
  CHECK(record["shape"][0] == record["codes"].size());
  CHECK(record["tokens"] == record["codes"]);  // the anytok layout keeps text pieces at their own ids
  auto detok = run_anytok("detokenize", tok.out);
  CHECK(detok.exit_code == 0);
  CHECK(detok.out == "The quick brown fox, 2026!\n");
  // Without codes, the tokens go through the vocabulary layout.
  record.erase("codes");
  CHECK(run_anytok("detokenize -", record.dump() + "\n").out == "The quick brown fox, 2026!\n");
}

TEST_CASE("text files and several texts give one record each, in order") {
  anytok::test::ScratchDir dir("cli-text");
  anytok::test::write_text(dir.path("a.txt"), "first file\n");
  auto r = run_anytok("tokenize '" + dir.path("a.txt") + "' --text second --text third -o '" + dir.path("t.jsonl") + "'");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.empty());
  auto d = run_anytok("detokenize '" + dir.path("t.jsonl") + "'");
  CHECK(d.out == "first file\nsecond\nthird\n");
}

TEST_CASE("reconstruct gives text back byte for byte and says so") {
  anytok::test::ScratchDir dir("cli-reconstruct-text");
  const std::string text = "caf\xc3\xa9  \t2026\r\nline two\n";
  anytok::test::write_text(dir.path("a.txt"), text);
  anytok::test::write_text(dir.path("b.md"), "# Title\n");
  auto r = run_anytok("reconstruct '" + dir.path("a.txt") + "' '" + dir.path("b.md") + "' -o '" + dir.path("out") + "'");
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto pieces = run_anytok("tokenize '" + dir.path("a.txt") + "'");
  const size_t count = json::parse(pieces.out)["codes"].size();
  CHECK(r.out == dir.path("a.txt") + ": " + std::to_string(text.size()) + " bytes → " + std::to_string(count) +
                     " pieces, decoded exactly\n" + dir.path("b.md") + ": 8 bytes → " +
                     std::to_string(json::parse(run_anytok("tokenize '" + dir.path("b.md") + "'").out)["codes"].size()) +
                     " pieces, decoded exactly\n");
  CHECK(anytok::test::read_text(dir.path("out/a.txt")) == text);
  CHECK(anytok::test::read_text(dir.path("out/b.txt")) == "# Title\n");

  auto bad = run_anytok("reconstruct '" + dir.path("a.xyz") + "'");
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("a.xyz: reconstruct takes text (.txt, .md), images") != std::string::npos);
}

TEST_CASE("box and keypoint round trips through the CLI stay within the binning error") {
  for (std::string convention : {"unified-io-2", "pix2seq"}) {
    CAPTURE(convention);
    auto tok = run_anytok("tokenize --boxes '12.5,40,300,479.9;0,0,640,480' --keypoints '100,200' --image-size 640,480 "
                          "--box-convention " + convention);
    REQUIRE(tok.exit_code == 0);
    auto lines = tok.out;
    auto first = json::parse(lines.substr(0, lines.find('\n')));
    CHECK(first["modality"] == "boxes");
    CHECK(first["shape"] == json::array({2, 4}));
    CHECK(first["codes"][1] == json::array({0, 0, 999, 999}));
    auto detok = run_anytok("detokenize", tok.out);
    REQUIRE(detok.exit_code == 0);
    auto boxes = json::parse(detok.out.substr(0, detok.out.find('\n')));
    auto points = json::parse(detok.out.substr(detok.out.find('\n') + 1));
    const double bound = (convention == "unified-io-2" ? 1.0 : 0.5) / 999;
    const double expected[2][4] = {{12.5, 40, 300, 479.9}, {0, 0, 640, 480}};
    for (int b = 0; b < 2; ++b)
      for (int c = 0; c < 4; ++c) {
        double side = c % 2 == 0 ? 640 : 480;
        CHECK(std::abs(boxes["boxes"][b][c].get<double>() - expected[b][c]) <= bound * side + 1e-9);
      }
    CHECK(std::abs(points["keypoints"][0][0].get<double>() - 100) <= bound * 640 + 1e-9);
    CHECK(std::abs(points["keypoints"][0][1].get<double>() - 200) <= bound * 480 + 1e-9);
    CHECK(boxes["image_size"] == json::array({640, 480}));
  }
}

TEST_CASE("the three presets print and validate") {
  for (std::string preset : {"anytok", "unified-io-2", "anygpt"}) {
    CAPTURE(preset);
    auto table = run_anytok("vocab --preset " + preset);
    CHECK(table.exit_code == 0);
    CHECK(table.out.find("vocabulary layout " + preset) == 0);
    auto j = run_anytok("vocab --json --preset " + preset);
    REQUIRE(j.exit_code == 0);
    anytok::test::ScratchDir dir("vocab");
    anytok::test::write_text(dir.path("v.json"), j.out);
    auto again = run_anytok("vocab --json --vocab '" + dir.path("v.json") + "'");
    CHECK(again.exit_code == 0);
    CHECK(json::parse(again.out) == json::parse(j.out));
  }
  CHECK(run_anytok("vocab --preset anygpt").out.find("32004..40195  image: 8192 codes") != std::string::npos);
}

TEST_CASE("usage and input errors exit 1 with one line on stderr") {
  struct Case {
    std::string args, stdin_text, message;
  };
  anytok::test::ScratchDir dir("cli-errors");
  anytok::test::write_text(dir.path("x.xyz"), "?");
  const Case cases[] = {
      {"", "", "usage: anytok"},
      {"frobnicate", "", "unknown command 'frobnicate'"},
      {"tokenize", "", "nothing to tokenize"},
      {"tokenize --bogus", "", "unrecognised option '--bogus'"},
      {"tokenize --boxes 1,2,3,4", "", "--boxes and --keypoints need --image-size W,H"},
      {"tokenize --boxes 5,2,3,4 --image-size 10,10", "", "x2 < x1"},
      {"tokenize --boxes nan,2,3,4 --image-size 10,10", "", "non-finite"},
      {"tokenize --boxes 1,2,3 --image-size 10,10", "", "has 3 numbers, expected 4"},
      {"tokenize --boxes 1,2,3,4 --image-size 0,10", "", "--image-size"},
      {"tokenize '" + dir.path("x.xyz") + "'", "", "unknown file type"},
      {"tokenize '" + dir.path("absent.txt") + "'", "", "absent.txt: cannot open"},
      {"tokenize --text hi --text-model '" + dir.path("x.xyz") + "'", "", "not a usable SentencePiece model"},
      {"tokenize --text hi --preset unified-io-2 --text-model '" + std::string(ANYTOK_MODELS_DIR) + "/text/tokenizer.model'", "",
       "needs LLaMA's SentencePiece model of 32000 pieces"},
      {"vocab --preset bert", "", "unknown vocabulary preset 'bert'"},
      {"detokenize", "{not json\n", "<stdin>:1: not valid JSON"},
      {"detokenize", "{\"modality\":\"text\",\"tokens\":[5,99999]}\n", "<stdin>:1: position 1: id 99999 is outside the vocabulary"},
      {"detokenize", "{\"modality\":\"text\",\"shape\":[2],\"codes\":[5,8000]}\n", "text piece id 8000 is outside"},
      {"detokenize", "{\"modality\":\"text\",\"shape\":[3],\"codes\":[5,6]}\n", "not nested as its shape [3]"},
      {"detokenize", "{\"modality\":\"boxes\",\"shape\":[1,4],\"codes\":[[1,2,3,4]]}\n", "needs \"image_size\""},
      {"detokenize", "{\"modality\":\"boxes\",\"shape\":[1,4],\"codes\":[[1,2,3,4000]],\"image_size\":[5,5]}\n", "location bin 4000 is outside"},
      {"detokenize", "{\"modality\":\"smell\",\"codes\":[]}\n", "unknown modality 'smell'"},
      {"detokenize '" + dir.path("absent.jsonl") + "'", "", "absent.jsonl: cannot open"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.args);
    auto r = run_anytok(c.args, c.stdin_text);
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.err.find(c.message) != std::string::npos, r.err);
    if (c.args.empty()) continue;  // the bare command prints its usage
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}

TEST_CASE("every command answers --help") {
  for (std::string command : {"", "tokenize ", "detokenize ", "vocab "}) {
    auto r = run_anytok(command + "--help");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("usage: anytok") == 0);
  }
}
