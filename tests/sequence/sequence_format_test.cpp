#include <doctest/doctest.h>

#include "nn/error.h"
#include "sequence/sequence_format.h"

using namespace anytok;

namespace {

VocabularyLayout small_layout() {
  ModelSizes m;
  m.text_pieces = 100;
  m.text_pad = 0;
  m.text_unk = 1;
  m.text_bos = 2;
  m.text_eos = 3;
  m.image_codes = 16;
  m.image_grid_h = 2;
  m.image_grid_w = 3;
  m.audio_codebooks = 2;
  m.audio_bins = 8;
  m.location_bins = 10;
  return VocabularyLayout::preset("anytok", m);
}

std::vector<Segment> example(const VocabularyLayout& v) {
  return {Segment::token(v, "<task:caption>"),
          Segment::text({10, 11, 12}),
          Segment::image(2, 3, {0, 1, 2, 13, 14, 15}),
          Segment::audio(2, 3, {0, 1, 2, 7, 6, 5}),
          Segment::boxes({1, 2, 3, 4, 0, 0, 9, 9}),
          Segment::keypoints({5, 6}),
          Segment::text({42})};
}

}  // namespace

TEST_CASE("segments flatten to ids and parse back into the same segments") {
  SequenceFormat f(small_layout());
  const auto& v = f.layout();
  auto segments = example(v);
  auto ids = f.encode(segments);
  CHECK(ids.front() == v.token("<task:caption>"));
  CHECK(ids[1] == 10);
  CHECK(ids[4] == v.token("<image>"));
  CHECK(ids[5] == v.find_range("image")->first);
  CHECK(f.parse(ids) == segments);
  // bos in front and eos plus padding behind are not part of the content.
  std::vector<int64_t> framed{v.bos_id};
  framed.insert(framed.end(), ids.begin(), ids.end());
  framed.insert(framed.end(), {v.eos_id, v.pad_id, v.pad_id});
  CHECK(f.parse(framed) == segments);
}

TEST_CASE("audio flattens frame-major, codebook-major or keeping the first k codebooks") {
  auto v = small_layout();
  const CodeRange audio = *v.find_range("audio");
  Segment a = Segment::audio(2, 3, {0, 1, 2, 7, 6, 5});  // codebook 0: 0 1 2, codebook 1: 7 6 5
  auto body = [&](const SequenceFormat& f, const Segment& s) {
    auto ids = f.encode(s);
    return std::vector<int64_t>(ids.begin() + 1, ids.end() - 1);
  };
  SequenceFormat frame_major(v);
  CHECK(body(frame_major, a) == std::vector<int64_t>{audio.id(0, 0), audio.id(1, 7), audio.id(0, 1), audio.id(1, 6),
                                                     audio.id(0, 2), audio.id(1, 5)});
  v.spans[1].order = AudioOrder::CodebookMajor;
  SequenceFormat codebook_major(v);
  CHECK(body(codebook_major, a) == std::vector<int64_t>{audio.id(0, 0), audio.id(0, 1), audio.id(0, 2), audio.id(1, 7),
                                                        audio.id(1, 6), audio.id(1, 5)});
  CHECK(codebook_major.parse(codebook_major.encode(a)) == std::vector<Segment>{a});
  v.spans[1].order = AudioOrder::FirstK;
  v.spans[1].codebooks = 1;
  SequenceFormat first_k(v);
  CHECK(body(first_k, a) == std::vector<int64_t>{audio.id(0, 0), audio.id(0, 1), audio.id(0, 2)});
  CHECK(first_k.parse(first_k.encode(a)) == std::vector<Segment>{Segment::audio(1, 3, {0, 1, 2})});
}

TEST_CASE("parsing names the position of every kind of malformed sequence") {
  SequenceFormat f(small_layout());
  const auto& v = f.layout();
  const int64_t img = v.token("<image>"), img_end = v.token("</image>"), code0 = v.find_range("image")->first;
  CHECK_THROWS_WITH_AS(f.parse({10, img, code0, code0}), "position 1: unterminated image span (<image> without </image>)", Error);
  CHECK_THROWS_WITH_AS(f.parse({img, code0, code0, img_end}),
                       "image span at position 1 has 2 codes; its grid [2,3] needs 6", Error);
  CHECK_THROWS_WITH_AS(f.parse({img, code0, code0, 50, code0, code0, code0, img_end}),
                       doctest::Contains("position 3: image span at position 1 expects image ids"), Error);
  CHECK_THROWS_WITH_AS(f.parse({10, v.size + 5}), doctest::Contains(("position 1: id " + std::to_string(v.size + 5) + " is outside the vocabulary").c_str()), Error);
  CHECK_THROWS_WITH_AS(f.parse({10, code0}), doctest::Contains("position 1: image code 0 outside a <image> … </image> span"), Error);
  CHECK_THROWS_WITH_AS(f.parse({img_end}), "position 0: </image> without a matching <image>", Error);
  CHECK_THROWS_WITH_AS(f.parse({10, v.eos_id, 11}), doctest::Contains("position 2: text piece 11 after the end"), Error);
  const int64_t au = v.token("<audio>"), au_end = v.token("</audio>");
  const CodeRange& audio = *v.find_range("audio");
  // Frame-major order wants codebook 0 then codebook 1; two codebook-0 codes in a row are refused.
  CHECK_THROWS_WITH_AS(f.parse({au, audio.id(0, 1), audio.id(0, 2), au_end}),
                       doctest::Contains("position 2: audio span at position 1 expects audio codebook 1"), Error);
  CHECK_THROWS_WITH_AS(f.parse({au, audio.id(0, 1), au_end}), doctest::Contains("not a whole number of frames"), Error);
  CHECK_THROWS_WITH_AS(f.encode({Segment::image(2, 3, {0, 1, 2, 3, 4, 16})}), doctest::Contains("code 16 is outside"), Error);
  CHECK_THROWS_WITH_AS(f.encode({Segment::audio(1, 2, {0, 1})}), doctest::Contains("has 1 codebooks; span audio carries 2"), Error);
  CHECK_THROWS_WITH_AS(f.encode({Segment::text({100})}), doctest::Contains("text piece 100 is outside"), Error);
}

TEST_CASE("bare runs parse by range in a layout without markers (unified-io-2)") {
  SequenceFormat f(VocabularyLayout::preset("unified-io-2", {}));
  // "y1 x1 y2 x2 name": a box is four location tokens followed by text.
  std::vector<Segment> detection{Segment::boxes({0, 10, 500, 999}), Segment::text({3000, 3001})};
  auto ids = f.encode(detection);
  CHECK(ids[0] == 32999);
  CHECK(ids[3] == 32000);
  CHECK(f.parse(ids) == detection);
  std::vector<int64_t> image(1024);
  for (int64_t i = 0; i < 1024; ++i) image[i] = i * 16 % 16384;
  auto img_ids = f.encode({Segment::image(32, 32, image)});
  CHECK(img_ids.size() == 1024);
  CHECK(img_ids[1] == 33280 + 2 + 16);
  CHECK(f.parse(img_ids) == std::vector<Segment>{Segment::image(32, 32, image)});
  CHECK_THROWS_WITH_AS(f.parse({33282, 33283}), doctest::Contains("image span at position 0 has 2 codes"), Error);
}

TEST_CASE("a seq2seq example puts the prompt and inputs on the encoder side and the target on the decoder side") {
  SequenceFormat f(small_layout());
  const auto& v = f.layout();
  Seq2SeqExample ex{{Segment::token(v, "<task:detect>"), Segment::image(2, 3, {1, 2, 3, 4, 5, 6})},
                    {Segment::boxes({1, 2, 3, 4})}};
  auto enc = f.encoder_ids(ex), dec = f.decoder_ids(ex);
  CHECK(enc.front() == v.token("<task:detect>"));
  CHECK(enc.back() == v.eos_id);
  CHECK(dec.front() == v.token("<boxes>"));
  CHECK(dec.back() == v.eos_id);
  Seq2SeqExample back = f.parse_example(enc, dec);
  CHECK(back.inputs == ex.inputs);
  CHECK(back.targets == ex.targets);
}
