#include <doctest/doctest.h>

#include "nn/error.h"
#include "sequence/vocabulary_layout.h"
#include "test_util.h"

using namespace anytok;

namespace {
ModelSizes our_sizes() {
  ModelSizes m;
  m.text_pieces = 8000;
  m.text_pad = 0;
  m.text_unk = 1;
  m.text_bos = 2;
  m.text_eos = 3;
  return m;
}
}  // namespace

TEST_CASE("the anytok preset takes every size from the models") {
  ModelSizes m = our_sizes();
  m.image_codes = 512;
  m.audio_codebooks = 2;
  m.audio_bins = 100;
  m.location_bins = 50;
  VocabularyLayout v = VocabularyLayout::preset("anytok", m);
  CHECK(v.text.first == 0);
  CHECK(v.text.size == 8000);
  CHECK(v.eos_id == 3);
  CHECK(v.token("<image>") == 8000);
  CHECK(v.find_range("image")->size == 512);
  CHECK(v.find_range("audio")->codebooks == 2);
  CHECK(v.find_range("location")->size == 50);
  CHECK(v.size == 8000 + 13 + 512 + 200 + 50);
  CHECK(v.span("audio").codebooks == 2);
  // Swapping a model moves the ranges after it.
  m.image_codes = 1024;
  CHECK(VocabularyLayout::preset("anytok", m).size == v.size + 512);
}

TEST_CASE("a text model without pad or bos gets tokens for them") {
  ModelSizes m;
  m.text_pieces = 32000;
  m.text_unk = 0;
  m.text_bos = 1;
  m.text_eos = 2;  // LLaMA's: no pad
  VocabularyLayout v = VocabularyLayout::preset("anytok", m);
  CHECK(v.pad_id == 32000);
  CHECK(v.tokens.at("<pad>") == 32000);
  CHECK(v.bos_id == 1);
}

TEST_CASE("the unified-io-2 preset puts location bin q at 32999 − q") {
  VocabularyLayout v = VocabularyLayout::preset("unified-io-2", {});
  const CodeRange& loc = *v.find_range("location");
  CHECK(loc.id(0, 0) == 32999);
  CHECK(loc.id(0, 999) == 32000);
  CHECK(loc.lowest() == 32000);
  CHECK(v.find_range("sentinels")->id(0, 0) == 33199);  // <extra_id_0>
  CHECK(v.token("[Text] [S]") == 33218);
  CHECK(v.token("<image:start>") == 33280);
  CHECK(v.find_range("image")->id(0, 0) == 33282);  // code + 2 in the image vocabulary
  CHECK(v.find_range("audio")->id(0, 0) == 33280 + 16512 + 2);
  CHECK(v.size == 33280 + 16512 + 8320);
  CHECK(v.bos_id == 0);
  CHECK(v.eos_id == 1);
  CHECK(v.span("image").grid_h * v.span("image").grid_w == 1024);
  CHECK(!v.span("boxes").has_markers());
  CHECK_THROWS_WITH_AS(VocabularyLayout::preset("unified-io-2", our_sizes()), doctest::Contains("32000 pieces"), Error);
}

TEST_CASE("the anygpt preset puts image codes at 32004..40195") {
  VocabularyLayout v = VocabularyLayout::preset("anygpt", {});
  CHECK(v.token("[Human]") == 32000);
  CHECK(v.token("<eos>") == 32003);
  CHECK(v.find_range("image")->lowest() == 32004);
  CHECK(v.find_range("image")->highest() == 40195);
  CHECK(v.token("<soim>") == 40196);
  CHECK(v.token("<eoim>") == 40197);
  CHECK(v.find_range("speech")->lowest() == 40198);
  CHECK(v.token("<eosp>") == 41223);
  CHECK(v.find_range("music")->id(1, 5) == 41224 + 2048 + 5);
  CHECK(v.token("<eomu>") == 49417);
  CHECK(v.size == 49418);
  CHECK(v.describe(32004) == "image code 0");
  CHECK(v.describe(41224 + 2048 * 3 + 7) == "music codebook 3 code 7");
  CHECK(v.describe(40196) == "<soim>");
}

TEST_CASE("every preset survives a JSON round trip") {
  for (const auto& name : VocabularyLayout::preset_names()) {
    CAPTURE(name);
    VocabularyLayout v = VocabularyLayout::preset(name, name == "anytok" ? our_sizes() : ModelSizes{});
    VocabularyLayout back = VocabularyLayout::from_json(v.to_json(), "test");
    CHECK(back.to_json() == v.to_json());
  }
}

TEST_CASE("a layout whose ranges or tokens overlap is refused") {
  auto j = VocabularyLayout::preset("anytok", our_sizes()).to_json();
  auto overlap = j;
  overlap["ranges"][1]["first"] = overlap["ranges"][0]["first"].get<int64_t>() + 3;
  CHECK_THROWS_WITH_AS(VocabularyLayout::from_json(overlap, "v.json"), doctest::Contains("overlap"), Error);
  auto token_in_range = j;
  token_in_range["tokens"]["<image>"] = 5;
  CHECK_THROWS_WITH_AS(VocabularyLayout::from_json(token_in_range, "v.json"),
                       "v.json: token <image> (id 5) lies inside range text", Error);
  auto outside = j;
  outside["size"] = 100;
  CHECK_THROWS_WITH_AS(VocabularyLayout::from_json(outside, "v.json"), doctest::Contains("is outside 0..99"), Error);
  auto bad_span = j;
  bad_span["spans"][0]["range"] = "nope";
  CHECK_THROWS_WITH_AS(VocabularyLayout::from_json(bad_span, "v.json"), doctest::Contains("uses range 'nope'"), Error);
  auto missing = j;
  missing["ranges"][0].erase("first");
  CHECK_THROWS_WITH_AS(VocabularyLayout::from_json(missing, "v.json"), "v.json: ranges[0]: missing 'first'", Error);
  auto dup = j;
  dup["tokens"]["<boxes>"] = dup["tokens"]["<image>"];
  CHECK_THROWS_WITH_AS(VocabularyLayout::from_json(dup, "v.json"), doctest::Contains("share id"), Error);
  CHECK_THROWS_WITH_AS(VocabularyLayout::preset("bert", our_sizes()), doctest::Contains("unknown vocabulary preset"), Error);

  test::ScratchDir dir("layout");
  test::write_text(dir.path("bad.json"), "{ nope");
  CHECK_THROWS_WITH_AS(VocabularyLayout::load(dir.path("bad.json")), doctest::Contains("not valid JSON"), Error);
}
