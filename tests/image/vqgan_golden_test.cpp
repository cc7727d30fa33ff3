// The three upstream VQ-GAN golden cases (taming, Unified-IO 2 and diffusers key names): latents, codes and
// reconstructions equal to what the upstream Python code computed.
#include <doctest/doctest.h>

#include <cmath>

#include "decoders/image_decoder.h"
#include "nn/error.h"
#include "nn/safetensors.h"
#include "nn/thread_pool.h"
#include "tokenizers/image_tokenizer.h"
#include "test_util.h"

using namespace anytok;

namespace {

std::string golden(const std::string& name) { return std::string(ANYTOK_TEST_DATA) + "/golden/" + name; }

float max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  float m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

void check_case(const std::string& name, VqganKeys keys) {
  CAPTURE(name);
  ThreadPool::set_threads(2);
  const std::string dir = golden(name);
  SafetensorsFile expected(dir + "/case.safetensors");
  const Tensor input = expected.to_float(expected.at("input"));
  const Tensor z = expected.to_float(expected.at("z"));
  const auto codes = expected.to_int64(expected.at("codes"));
  const auto nearest = expected.to_int64(expected.at("nearest"));
  const auto runner_up = expected.to_int64(expected.at("runner_up"));
  const Tensor margin = expected.to_float(expected.at("margin"));

  ImageTokenizer tokenizer(dir);
  CHECK(VqganCheckpoint(dir, tokenizer.config()).keys() == keys);
  const Tensor latents = tokenizer.latents(input);
  CHECK(max_abs_diff(latents, z) <= 1e-4f);

  const auto ours = tokenizer.quantize(latents);
  REQUIRE(ours.size() == codes.size());
  int near_ties = 0;
  for (size_t i = 0; i < codes.size(); ++i) {
    if (margin[static_cast<int64_t>(i)] >= 1e-3f) {
      CHECK(ours[i] == codes[i]);
    } else {
      ++near_ties;
      CHECK((ours[i] == nearest[i] || ours[i] == runner_up[i]));
    }
  }
  MESSAGE(name << ": " << codes.size() << " codes, " << near_ties << " near-ties");

  ImageDecoder decoder(dir);
  const Shape grid = expected.at("codes").shape;
  const Tensor recon = decoder.decode(codes, grid[0], grid[1], grid[2]);
  CHECK(max_abs_diff(recon, expected.to_float(expected.at("recon"))) <= 1e-4f);
  CHECK(max_abs_diff(decoder.decode_latents(expected.to_float(expected.at("zq"))), recon) <= 1e-5f);
}

}  // namespace

TEST_CASE("taming-transformers golden case") { check_case("vqgan-taming-tiny", VqganKeys::Taming); }
TEST_CASE("Unified-IO 2 golden case") { check_case("vqgan-uio2-tiny", VqganKeys::UnifiedIO2); }
TEST_CASE("diffusers golden case") { check_case("vqgan-diffusers-tiny", VqganKeys::Diffusers); }
