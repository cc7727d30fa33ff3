// PSNR and SSIM against scikit-image (tests/data/images/make_fixtures.py).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "nn/error.h"
#include "nn/safetensors.h"
#include "tokenizers/image_quality.h"

using namespace anytok;

namespace {

SafetensorsFile fixtures() { return SafetensorsFile(std::string(ANYTOK_TEST_DATA) + "/images/quality.safetensors"); }

RgbImage image(const SafetensorsFile& file, const std::string& name) {
  const TensorInfo& info = file.at(name);
  const uint8_t* bytes = file.bytes(info);
  return {info.shape[1], info.shape[0], std::vector<uint8_t>(bytes, bytes + info.end - info.begin)};
}

double scalar(const SafetensorsFile& file, const std::string& name) {
  double v = 0;
  std::memcpy(&v, file.bytes(file.at(name)), sizeof v);
  return v;
}

}  // namespace

TEST_CASE("psnr and ssim agree with scikit-image") {
  const SafetensorsFile file = fixtures();
  const RgbImage a = image(file, "a"), b = image(file, "b");
  REQUIRE(a.width != a.height);
  CHECK(psnr(a, b) == doctest::Approx(scalar(file, "psnr")).epsilon(1e-12));
  CHECK(ssim(a, b) == doctest::Approx(scalar(file, "ssim")).epsilon(1e-9));
  CHECK(ssim(b, a) == doctest::Approx(ssim(a, b)).epsilon(1e-12));
}

TEST_CASE("identical images, and images that cannot be compared") {
  const SafetensorsFile file = fixtures();
  const RgbImage a = image(file, "a");
  CHECK(std::isinf(psnr(a, a)));
  CHECK(psnr(a, a) > 0);
  CHECK(ssim(a, a) == doctest::Approx(1.0).epsilon(1e-12));
  RgbImage smaller{a.width - 1, a.height, std::vector<uint8_t>(static_cast<size_t>((a.width - 1) * a.height * 3))};
  CHECK_THROWS_WITH_AS(psnr(a, smaller), "psnr: the images differ in size (24x20 and 23x20)", Error);
  CHECK_THROWS_WITH_AS(ssim(a, smaller), "ssim: the images differ in size (24x20 and 23x20)", Error);
  RgbImage tiny{10, 12, std::vector<uint8_t>(360)};
  CHECK_THROWS_WITH_AS(ssim(tiny, tiny), doctest::Contains("needs at least 11x11"), Error);
  CHECK(psnr(tiny, tiny) > 0);
}
