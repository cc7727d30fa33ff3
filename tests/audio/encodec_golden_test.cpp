// The upstream EnCodec golden cases (original and transformers key names, causal and segmented models): codes and
// decoded audio equal to what facebookresearch/encodec computed, and streaming equal to whole-input coding.
#include <doctest/doctest.h>

#include "audio/encodec_case.h"
#include "nn/error.h"
#include "test_util.h"

using namespace anytok;
using test::check_encodec_case;
using test::chunked;
using test::golden;
using test::item;
using test::max_abs_diff;

TEST_CASE("EnCodec 24 kHz golden case: original key names, weight norm, causal, LSTM") {
  check_encodec_case(golden("encodec-24k-tiny"), true);
}

TEST_CASE("EnCodec 48 kHz golden case: transformers key names, time_group_norm, stereo, segments") {
  check_encodec_case(golden("encodec-48k-tiny"), false);
}

TEST_CASE("streaming a causal model gives the codes and audio of the whole input at once") {
  ThreadPool::set_threads(2);
  const std::string dir = golden("encodec-24k-tiny");
  EncodecModel model(dir);
  REQUIRE(model.config().streams());
  // Three seconds: several encoder blocks, every layer's context carried across their boundaries.
  Tensor audio = test::random_tensor({1, 72001}, 7, 0.2f);
  const EncodedAudio blocks = model.encode(audio, 4);
  SUBCASE("however the source chunks the input, the codes are identical") {
    for (const int64_t max_chunk : {1, 333, 5000}) {
      CAPTURE(max_chunk);
      const EncodedAudio streamed = model.encode(chunked(audio, 11, max_chunk), 4);
      CHECK(streamed.frames == blocks.frames);
      CHECK(streamed.codes == blocks.codes);
    }
  }
  SUBCASE("blocks of any size match the whole input in one block, but for float rounding at near-ties") {
    const EncodedAudio whole = model.encode(chunked(audio, 5, 100000), 4, {}, 100000);
    for (const int64_t block : {32, 1000, 7001}) {
      CAPTURE(block);
      const EncodedAudio small = model.encode(chunked(audio, 5, 100000), 4, {}, block);
      REQUIRE(small.codes.size() == whole.codes.size());
      int64_t differ = 0;
      for (size_t i = 0; i < whole.codes.size(); ++i) differ += small.codes[i] != whole.codes[i];
      MESSAGE(differ << " of " << whole.codes.size() << " codes differ");
      CHECK(differ <= static_cast<int64_t>(whole.codes.size()) / 500);
    }
  }
  SUBCASE("decoding in blocks of any size") {
    const Tensor decoded = model.decode(blocks);
    for (const int64_t block : {1, 7, 100}) {
      CAPTURE(block);
      TimeBuffer pieces(1);
      model.decode(blocks, [&](const Tensor& b) { pieces.append(b); }, {}, block);
      CHECK(max_abs_diff(pieces.slice(0, pieces.length()), decoded) <= 1e-5f);
    }
  }
}

TEST_CASE("a segmented model reads its input in any chunking") {
  ThreadPool::set_threads(2);
  const std::string dir = golden("encodec-48k-tiny");
  const test::EncodecCase g(dir);
  EncodecModel model(dir);
  const Tensor audio = item(g.input, 0);
  const EncodedAudio whole = model.encode(audio, 4);
  const EncodedAudio streamed = model.encode(chunked(audio, 3, 777), 4);
  CHECK(streamed.codes == whole.codes);
  CHECK(streamed.scales == whole.scales);
}
