#include <doctest/doctest.h>

#include "nn/error.h"
#include "nn/weights.h"
#include "test_util.h"

using namespace anytok;

TEST_CASE("weights are taken by name with their shapes checked, and surplus tensors are reported") {
  test::ScratchDir dir("weights");
  SafetensorsWriter w;
  w.add("model.vq.encoder.conv_in.weight", test::random_tensor({4, 3, 3, 3}, 1));
  w.add("model.vq.encoder.conv_in.bias", test::random_tensor({4}, 2));
  w.add("model.vq.quantize.embedding.weight", test::random_tensor({16, 4}, 3));
  std::vector<uint16_t> half(4, 0x3c00);
  w.add("model.vq.half", DType::F16, {4}, half.data(), 8);
  w.add("other.thing", test::random_tensor({2}, 4));
  std::vector<int64_t> steps{7};
  w.add_int64("model.vq.steps", {1}, steps);
  const std::string path = dir.path("model.safetensors");
  w.write(path);

  Weights weights(path);
  CHECK(weights.prefixes_of("encoder.conv_in.weight") == std::vector<std::string>{"model.vq."});
  CHECK(weights.prefixes_of("decoder.conv_in.weight").empty());
  weights.scope("model.vq.");
  CHECK(weights.has("encoder.conv_in.bias"));
  CHECK(weights.get("encoder.conv_in.weight", {4, 3, 3, 3}).numel() == 108);
  CHECK(weights.get("half")[0] == 1.0f);
  CHECK_THROWS_WITH_AS(weights.get("encoder.conv_in.bias", {8}),
                       (path + ": tensor model.vq.encoder.conv_in.bias has shape [4], config expects [8]").c_str(), Error);
  CHECK_THROWS_WITH_AS(weights.get("decoder.conv_out.weight"),
                       (path + ": missing tensor model.vq.decoder.conv_out.weight").c_str(), Error);
  CHECK_THROWS_WITH_AS(weights.get("steps"), doctest::Contains("is I64, expected a float dtype"), Error);
  weights.get("encoder.conv_in.bias");
  // steps and quantize.embedding.weight were not taken; other.thing is outside the scope.
  CHECK_THROWS_WITH_AS(weights.check_all_used(),
                       (path + ": unexpected tensor model.vq.quantize.embedding.weight (and 1 more) that the configuration does not use").c_str(),
                       Error);
}
