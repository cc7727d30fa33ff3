// The upstream EnCodec golden cases (original and transformers key names, causal and segmented models): codes and
// decoded audio equal to what facebookresearch/encodec computed, and streaming equal to whole-input coding.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "nn/error.h"
#include "nn/safetensors.h"
#include "nn/thread_pool.h"
#include "test_util.h"
#include "tokenizers/encodec.h"

using namespace anytok;

namespace {

std::string golden(const std::string& name) { return std::string(ANYTOK_TEST_DATA) + "/golden/" + name; }

// Item b of a [B, ...] tensor.
Tensor item(const Tensor& batch, int64_t b) {
  Shape shape(batch.shape().begin() + 1, batch.shape().end());
  const int64_t n = shape_numel(shape);
  Tensor out(shape);
  std::copy_n(batch.data() + b * n, n, out.data());
  return out;
}

float max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  float m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

struct GoldenCase {
  SafetensorsFile file;
  Tensor input, decoded, margin, scales;
  std::vector<int64_t> codes, nearest, runner_up;
  Shape code_shape;
  explicit GoldenCase(const std::string& dir) : file(dir + "/case.safetensors") {
    input = file.to_float(file.at("input"));
    decoded = file.to_float(file.at("decoded"));
    margin = file.to_float(file.at("margin"));
    if (file.find("scales")) scales = file.to_float(file.at("scales"));
    codes = file.to_int64(file.at("codes"));
    nearest = file.to_int64(file.at("nearest"));
    runner_up = file.to_int64(file.at("runner_up"));
    code_shape = file.at("codes").shape;
  }
  // Item b's golden codes as an EncodedAudio.
  EncodedAudio encoded(int64_t b) const {
    EncodedAudio e;
    e.codebooks = code_shape[1], e.frames = code_shape[2];
    const int64_t n = e.codebooks * e.frames;
    e.codes.assign(codes.begin() + b * n, codes.begin() + (b + 1) * n);
    if (!scales.empty())
      for (int64_t s = 0; s < scales.dim(1); ++s) e.scales.push_back(scales[b * scales.dim(1) + s]);
    e.length = input.dim(2);
    return e;
  }
};

// Codes equal to upstream's where the nearest code wins clearly; at a near-tie either candidate, after which that
// frame's later codebooks quantize another residual and are not compared.
void check_codes(const GoldenCase& g, int64_t b, const EncodedAudio& ours) {
  const int64_t k_count = g.code_shape[1], frames = g.code_shape[2], base = b * k_count * frames;
  REQUIRE(ours.codebooks == k_count);
  REQUIRE(ours.frames == frames);
  int near_ties = 0, compared = 0;
  for (int64_t t = 0; t < frames; ++t)
    for (int64_t k = 0; k < k_count; ++k) {
      const size_t i = static_cast<size_t>(base + k * frames + t);
      const int64_t code = ours.codes[static_cast<size_t>(k * frames + t)];
      ++compared;
      if (g.margin[static_cast<int64_t>(i)] >= 1e-3f) {
        CHECK(code == g.codes[i]);
        continue;
      }
      ++near_ties;
      CHECK((code == g.nearest[i] || code == g.runner_up[i]));
      if (code != g.codes[i]) break;
    }
  MESSAGE("item " << b << ": " << compared << " codes compared, " << near_ties << " near-ties");
}

void check_case(const std::string& name) {
  CAPTURE(name);
  ThreadPool::set_threads(2);
  const std::string dir = golden(name);
  const GoldenCase g(dir);
  EncodecModel model(dir);
  const int64_t codebooks = model.config().codebooks_for(std::nullopt);
  CHECK(codebooks == g.code_shape[1]);
  for (int64_t b = 0; b < g.input.dim(0); ++b) {
    CAPTURE(b);
    const EncodedAudio ours = model.encode(item(g.input, b), codebooks);
    check_codes(g, b, ours);
    CHECK(ours.length == g.input.dim(2));
    const EncodedAudio expected = g.encoded(b);
    REQUIRE(ours.scales.size() == expected.scales.size());
    for (size_t s = 0; s < ours.scales.size(); ++s) CHECK(ours.scales[s] == doctest::Approx(expected.scales[s]).epsilon(1e-5));
    // Decoding starts from upstream's codes, so that a near-tie flip above is not taken for a decoding error.
    const Tensor decoded = model.decode(expected);
    const float error = max_abs_diff(decoded, item(g.decoded, b));
    MESSAGE("item " << b << ": decoded within " << error);
    CHECK(error <= 1e-4f);
  }
}

// Audio fed in chunks of random sizes (1 to max_chunk samples).
AudioSource chunked(const Tensor& audio, uint32_t seed, int64_t max_chunk) {
  auto offset = std::make_shared<int64_t>(0);
  auto rng = std::make_shared<std::mt19937>(seed);
  return [=](int64_t max_samples) {
    const int64_t length = audio.dim(1);
    const int64_t want = std::uniform_int_distribution<int64_t>(1, max_chunk)(*rng);
    const int64_t n = std::min({want, max_samples, length - *offset});
    if (n <= 0) return Tensor();
    Tensor block({audio.dim(0), n});
    for (int64_t c = 0; c < audio.dim(0); ++c)
      std::copy_n(audio.data() + c * length + *offset, n, block.data() + c * n);
    *offset += n;
    return block;
  };
}

}  // namespace

TEST_CASE("EnCodec 24 kHz golden case: original key names, weight norm, causal, LSTM") { check_case("encodec-24k-tiny"); }

TEST_CASE("EnCodec 48 kHz golden case: transformers key names, time_group_norm, stereo, segments") {
  check_case("encodec-48k-tiny");
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
  const GoldenCase g(dir);
  EncodecModel model(dir);
  const Tensor audio = item(g.input, 0);
  const EncodedAudio whole = model.encode(audio, 4);
  const EncodedAudio streamed = model.encode(chunked(audio, 3, 777), 4);
  CHECK(streamed.codes == whole.codes);
  CHECK(streamed.scales == whole.scales);
}
