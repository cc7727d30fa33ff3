// The three upstream VQ-GAN golden cases (taming, Unified-IO 2 and diffusers key names): latents, codes and
// reconstructions equal to what the upstream Python code computed.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "decoders/image_decoder.h"
#include "nn/error.h"
#include "nn/safetensors.h"
#include "nn/thread_pool.h"
#include "tokenizers/image_tokenizer.h"
#include "test_util.h"

using namespace anytok;
using test::golden;
using test::max_abs_diff;

namespace {

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

namespace {

// Rewrites a golden checkpoint into `dir` with every name passed through `rename` (empty drops the tensor) and
// `extra` tensors added, next to a copy of its config.json.
void rewrite_checkpoint(const std::string& name, const std::string& dir,
                        const std::function<std::string(const std::string&)>& rename,
                        const std::vector<std::string>& extra = {}) {
  SafetensorsFile source(golden(name) + "/model.safetensors");
  SafetensorsWriter out;
  for (const auto& t : source.tensors()) {
    const std::string renamed = rename(t.name);
    if (!renamed.empty()) out.add(renamed, source.to_float(t));
  }
  for (const auto& e : extra) out.add(e, test::random_tensor({2}, 1));
  out.write(dir + "/model.safetensors");
  test::write_text(dir + "/config.json", test::read_text(golden(name) + "/config.json"));
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

}  // namespace

TEST_CASE("a full Unified-IO 2 checkpoint is read under its target_embedders.image.vqgan. prefix") {
  test::ScratchDir dir("uio2-prefix");
  rewrite_checkpoint("vqgan-uio2-tiny", dir.path(""), [](const std::string& n) { return "target_embedders.image.vqgan." + n; },
                     {"decoder.layers_0.mlp.wi.kernel", "target_embedders.audio.proj.weight"});
  SafetensorsFile expected(golden("vqgan-uio2-tiny") + "/case.safetensors");
  ImageTokenizer tokenizer(dir.path(""));
  CHECK(VqganCheckpoint(dir.path(""), tokenizer.config()).prefix() == "target_embedders.image.vqgan.");
  CHECK(max_abs_diff(tokenizer.latents(expected.to_float(expected.at("input"))), expected.to_float(expected.at("z"))) <= 1e-4f);
}

TEST_CASE("diffusers checkpoints with the older attention names load too") {
  test::ScratchDir dir("diffusers-old");
  rewrite_checkpoint("vqgan-diffusers-tiny", dir.path(""), [](std::string n) {
    n = replace_all(n, ".to_q.", ".query.");
    n = replace_all(n, ".to_k.", ".key.");
    n = replace_all(n, ".to_v.", ".value.");
    return replace_all(n, ".to_out.0.", ".proj_attn.");
  });
  SafetensorsFile expected(golden("vqgan-diffusers-tiny") + "/case.safetensors");
  ImageDecoder decoder(dir.path(""));
  const Shape grid = expected.at("codes").shape;
  const Tensor recon = decoder.decode(expected.to_int64(expected.at("codes")), grid[0], grid[1], grid[2]);
  CHECK(max_abs_diff(recon, expected.to_float(expected.at("recon"))) <= 1e-4f);
}

TEST_CASE("missing, surplus and misshapen tensors are errors that name them") {
  test::ScratchDir dir("vqgan-bad");
  rewrite_checkpoint("vqgan-taming-tiny", dir.path(""), [](const std::string& n) {
    return n == "encoder.mid.attn_1.q.bias" ? std::string() : n;
  });
  CHECK_THROWS_WITH_AS(ImageTokenizer(dir.path("")), doctest::Contains("missing tensor encoder.mid.attn_1.q.bias"), Error);
  CHECK_NOTHROW(ImageDecoder(dir.path("")));  // the decoder does not need it

  rewrite_checkpoint("vqgan-taming-tiny", dir.path(""), [](const std::string& n) { return n; }, {"encoder.mid.extra.weight"});
  CHECK_THROWS_WITH_AS(ImageTokenizer(dir.path("")), doctest::Contains("unexpected tensor encoder.mid.extra.weight"), Error);

  rewrite_checkpoint("vqgan-taming-tiny", dir.path(""), [](const std::string& n) { return n; });
  test::write_text(dir.path("config.json"), replace_all(test::read_text(dir.path("config.json")), "\"n_embed\": 128", "\"n_embed\": 64"));
  CHECK_THROWS_WITH_AS(ImageTokenizer(dir.path("")),
                       doctest::Contains("tensor quantize.embedding.weight has shape [128,8], config expects [64,8]"), Error);
  test::write_text(dir.path("config.json"), "{\"family\": \"encodec\"}");
  CHECK_THROWS_WITH_AS(ImageTokenizer(dir.path("")), doctest::Contains("family is 'encodec', expected 'vqgan'"), Error);
}

TEST_CASE("non-square inputs encode and decode as the PyTorch reference does") {
  SafetensorsFile expected(std::string(ANYTOK_TEST_DATA) + "/vqgan/nonsquare.safetensors");
  const std::string dir = golden("vqgan-taming-tiny");
  ImageTokenizer tokenizer(dir);
  const Tensor z = tokenizer.latents(expected.to_float(expected.at("input")));
  CHECK(z.shape() == Shape{1, 8, 12, 20});
  CHECK(max_abs_diff(z, expected.to_float(expected.at("z"))) <= 1e-4f);
  const auto codes = tokenizer.quantize(z), reference = expected.to_int64(expected.at("codes"));
  int differ = 0;
  for (size_t i = 0; i < codes.size(); ++i) differ += codes[i] != reference[i];
  CHECK(differ <= 2);  // at most a float32 near-tie or two
  ImageDecoder decoder(dir);
  CHECK(max_abs_diff(decoder.decode(reference, 1, 12, 20), expected.to_float(expected.at("recon"))) <= 1e-4f);
  CHECK_THROWS_WITH_AS(tokenizer.latents(Tensor({1, 3, 30, 32})), doctest::Contains("not a multiple of the model's factor 4"), Error);
}
