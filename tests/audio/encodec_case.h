// EnCodec parity cases as tests/data/golden and tests/data/encodec-variants hold them (case.safetensors: input,
// codes, scales, decoded, margin, nearest, runner_up), and the checks every such case gets: codes by the near-tie
// rule, scales, decoding of the reference codes, and for models that stream, encoding and decoding in small
// blocks.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>

#include "nn/safetensors.h"
#include "nn/thread_pool.h"
#include "test_util.h"
#include "tokenizers/encodec.h"

namespace anytok::test {

// Item b of a [B, ...] tensor.
inline Tensor item(const Tensor& batch, int64_t b) {
  Shape shape(batch.shape().begin() + 1, batch.shape().end());
  const int64_t n = shape_numel(shape);
  Tensor out(shape);
  std::copy_n(batch.data() + b * n, n, out.data());
  return out;
}

struct EncodecCase {
  SafetensorsFile file;
  Tensor input, decoded, margin, scales;
  std::vector<int64_t> codes, nearest, runner_up;
  Shape code_shape;
  explicit EncodecCase(const std::string& dir) : file(dir + "/case.safetensors") {
    input = file.to_float(file.at("input"));
    decoded = file.to_float(file.at("decoded"));
    margin = file.to_float(file.at("margin"));
    if (file.find("scales")) scales = file.to_float(file.at("scales"));
    codes = file.to_int64(file.at("codes"));
    nearest = file.to_int64(file.at("nearest"));
    runner_up = file.to_int64(file.at("runner_up"));
    code_shape = file.at("codes").shape;
  }
  // Item b's reference codes as an EncodedAudio.
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

// Codes equal to the reference's where the nearest code wins clearly; at a near-tie either candidate, after which
// that frame's later codebooks quantize another residual and are not compared.
inline void check_codes(const EncodecCase& g, int64_t b, const EncodedAudio& ours) {
  const int64_t k_count = g.code_shape[1], frames = g.code_shape[2], base = b * k_count * frames;
  REQUIRE(ours.codebooks == k_count);
  REQUIRE(ours.frames == frames);
  int near_ties = 0, compared = 0, wrong = 0;
  for (int64_t t = 0; t < frames; ++t)
    for (int64_t k = 0; k < k_count; ++k) {
      const size_t i = static_cast<size_t>(base + k * frames + t);
      const int64_t code = ours.codes[static_cast<size_t>(k * frames + t)];
      ++compared;
      if (g.margin[static_cast<int64_t>(i)] >= 1e-3f) {
        wrong += code != g.codes[i];
        continue;
      }
      ++near_ties;
      wrong += code != g.nearest[i] && code != g.runner_up[i];
      if (code != g.codes[i]) break;
    }
  MESSAGE("item " << b << ": " << compared << " codes compared, " << near_ties << " near-ties, " << wrong
                  << " wrong");
  CHECK(wrong == 0);
}

// Audio fed in chunks of random sizes (1 to max_chunk samples).
inline AudioSource chunked(const Tensor& audio, uint32_t seed, int64_t max_chunk) {
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

inline void check_encodec_case(const std::string& dir, bool expect_streams) {
  CAPTURE(dir);
  ThreadPool::set_threads(2);
  const EncodecCase g(dir);
  EncodecModel model(dir);
  CHECK(model.config().streams() == expect_streams);
  const int64_t codebooks = model.config().codebooks_for(std::nullopt);
  CHECK(codebooks == g.code_shape[1]);
  for (int64_t b = 0; b < g.input.dim(0); ++b) {
    CAPTURE(b);
    const Tensor audio = item(g.input, b);
    const EncodedAudio ours = model.encode(audio, codebooks);
    check_codes(g, b, ours);
    CHECK(ours.length == g.input.dim(2));
    const EncodedAudio expected = g.encoded(b);
    REQUIRE(ours.scales.size() == expected.scales.size());
    for (size_t s = 0; s < ours.scales.size(); ++s)
      CHECK(ours.scales[s] == doctest::Approx(expected.scales[s]).epsilon(1e-5));
    // Decoding starts from the reference codes, so that a near-tie flip above is not taken for a decoding error.
    const Tensor decoded = model.decode(expected);
    const float error = max_abs_diff(decoded, item(g.decoded, b));
    MESSAGE("item " << b << ": decoded within " << error);
    CHECK(error <= 1e-4f);
    if (!expect_streams) continue;
    // Streaming: blocks of 37 samples (not a multiple of any hop), and blocks shorter than the padding, fed in
    // random chunks of up to 50 samples.
    for (const int64_t block : {37, 7, 1}) {
      CAPTURE(block);
      const EncodedAudio small = model.encode(chunked(audio, static_cast<uint32_t>(block), 50), codebooks, {}, block);
      MESSAGE("encoded in blocks of " << block << " samples:");
      check_codes(g, b, small);
      CHECK(small.length == g.input.dim(2));
    }
    for (const int64_t block : {1, 2, 5}) {
      CAPTURE(block);
      TimeBuffer pieces(g.input.dim(1));
      model.decode(expected, [&](const Tensor& piece) { pieces.append(piece); }, {}, block);
      const float err = max_abs_diff(pieces.slice(0, pieces.length()), item(g.decoded, b));
      MESSAGE("item " << b << ": decoded in blocks of " << block << " frames within " << err);
      CHECK(err <= 1e-4f);
    }
  }
}

}  // namespace anytok::test
