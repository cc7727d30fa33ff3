#include <doctest/doctest.h>

#include "nn/error.h"
#include "test_util.h"
#include "tokenizers/text_tokenizer.h"

using namespace anytok;

namespace {
const std::string kModel = std::string(ANYTOK_MODELS_DIR) + "/text/tokenizer.model";
}

TEST_CASE("the shipped text model round-trips any text exactly") {
  TextTokenizer t(kModel);
  CHECK(t.size() == 8000);
  CHECK(t.pad_id() == 0);
  CHECK(t.unk_id() == 1);
  CHECK(t.bos_id() == 2);
  CHECK(t.eos_id() == 3);
  for (const std::string text :
       {"The quick brown fox, 2026!", "", "  two  spaces\tand a tab\n", "naïve café — Ελληνικά, 日本語, 🦊",
        "a small red circle above a large blue square on a gray background"}) {
    CAPTURE(text);
    auto ids = t.encode(text);
    for (int64_t id : ids) CHECK((id >= 0 && id < t.size()));
    CHECK(t.decode(ids) == text);
  }
}

TEST_CASE("the demo world's caption words are single pieces") {
  TextTokenizer t(kModel);
  for (const std::string word : {"red", "green", "blue", "yellow", "circle", "square", "triangle", "left", "right",
                                 "above", "below", "small", "large", "background"}) {
    CAPTURE(word);
    CHECK(t.encode(word).size() == 1);  // "▁red": the model adds the leading space itself
  }
  CHECK(t.id_of("<s>") == 2);
  CHECK(t.id_of("no such piece at all") == -1);
  CHECK(t.piece(3) == "</s>");
}

TEST_CASE("bad models and bad ids give clear errors") {
  test::ScratchDir dir("text");
  test::write_text(dir.path("bad.model"), "this is not a sentencepiece model");
  CHECK_THROWS_WITH_AS(TextTokenizer(dir.path("bad.model")), doctest::Contains("not a usable SentencePiece model"), Error);
  CHECK_THROWS_WITH_AS(TextTokenizer(dir.path("missing.model")), doctest::Contains("missing.model"), Error);
  TextTokenizer t(kModel);
  CHECK_THROWS_WITH_AS(t.decode({5, 8000}), "text piece id 8000 is outside the text model's 0..7999", Error);
  CHECK_THROWS_AS(t.decode({-1}), Error);
}
