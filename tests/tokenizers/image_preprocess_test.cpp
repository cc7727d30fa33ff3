// The three preprocessings against what upstream's Python computes (tests/data/images/make_fixtures.py), and
// tensors back to pixels.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "nn/error.h"
#include "test_util.h"
#include "nn/safetensors.h"
#include "tokenizers/image_preprocess.h"

using namespace anytok;
using test::max_abs_diff;

namespace {

std::string fixture(const std::string& name) { return std::string(ANYTOK_TEST_DATA) + "/images/" + name; }

RgbImage source(const SafetensorsFile& file, const std::string& name) {
  const TensorInfo& info = file.at(name + "/source");
  const uint8_t* bytes = file.bytes(info);
  return {info.shape[1], info.shape[0], std::vector<uint8_t>(bytes, bytes + info.end - info.begin)};
}

RgbImage gradient(int64_t width, int64_t height) {
  RgbImage image{width, height, std::vector<uint8_t>(static_cast<size_t>(width * height * 3))};
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<uint8_t>(i * 7 % 256);
  return image;
}

}  // namespace

TEST_CASE("preprocessing names") {
  for (auto p : {ImagePreprocess::Taming, ImagePreprocess::UnifiedIO2, ImagePreprocess::None})
    CHECK(parse_image_preprocess(image_preprocess_name(p)) == p);
  CHECK(image_preprocess_name(ImagePreprocess::UnifiedIO2) == "unified-io-2");
  CHECK_THROWS_WITH_AS(parse_image_preprocess("clip"),
                       "unknown image preprocessing 'clip' (use taming, unified-io-2 or none)", Error);
}

TEST_CASE("taming is bit-identical to albumentations' SmallestMaxSize + CenterCrop on cv2") {
  SafetensorsFile expected(fixture("taming.safetensors"));
  // Downscaled wide and tall, upscaled, already the right short side, and a long side of exactly 8.5 pixels
  // that Python's round makes 8.
  for (auto [name, resolution] : {std::pair{"wide", 16}, {"tall", 16}, {"small", 16}, {"exact", 16}, {"tie", 8}}) {
    CAPTURE(name);
    const RgbImage image = source(expected, name);
    const PreparedImage p = prepare_image(image, ImagePreprocess::Taming, resolution, 4);
    CHECK(max_abs_diff(p.pixels, expected.to_float(expected.at(cat(name, "/", resolution)))) == 0.0f);
    CHECK(p.source_width == image.width);
    CHECK(p.source_height == image.height);
    CHECK((p.top == 0 && p.left == 0 && p.content_height == resolution && p.content_width == resolution));
  }
}

TEST_CASE("unified-io-2 reproduces TensorFlow's antialiased resize and padding bit for bit") {
  SafetensorsFile expected(fixture("unified_io_2.safetensors"));
  // wide: 41x30 → 15x11, where float32 makes the long side 15, not 16; tall and exact downscale, small upscales.
  for (const char* name : {"wide", "tall", "small", "exact"}) {
    CAPTURE(name);
    const RgbImage image = source(expected, name);
    const PreparedImage p = prepare_image(image, ImagePreprocess::UnifiedIO2, 16, 8);
    const Tensor tf = expected.to_float(expected.at(cat(name, "/tf")));
    CHECK(max_abs_diff(p.pixels, tf) == 0.0f);
    // PyTorch's antialiased bilinear is the same filter up to float32 rounding; on images this small they agree.
    if (const TensorInfo* torch = expected.find(cat(name, "/torch")))
      CHECK(max_abs_diff(p.pixels, expected.to_float(*torch)) <= 1e-5f);
    const auto rect = expected.to_int64(expected.at(cat(name, "/rect")));
    CHECK(std::vector<int64_t>{p.top, p.left, p.content_height, p.content_width} == rect);
    const ContentRegion region = unified_io_2_content(image.width, image.height, 16);  // from the size alone
    CHECK(std::vector<int64_t>{region.top, region.left, region.height, region.width} == rect);
    if (p.top > 0 || p.left > 0) CHECK(p.pixels[0] == -1.0f);  // the corner is padding
  }
  CHECK_THROWS_WITH_AS(prepare_image(gradient(100, 1), ImagePreprocess::UnifiedIO2, 16, 8),
                       doctest::Contains("a 100x1 image is too elongated for unified-io-2"), Error);
}

TEST_CASE("none keeps the image, and needs sides that are multiples of the factor") {
  const RgbImage image = gradient(16, 8);
  const PreparedImage p = prepare_image(image, ImagePreprocess::None, 0, 8);
  REQUIRE(p.pixels.shape() == Shape{3, 8, 16});
  CHECK(p.pixels[0] == static_cast<float>(image.pixels[0] / 127.5 - 1.0));
  CHECK(p.pixels[8 * 16 + 5] == static_cast<float>(image.pixels[3 * 5 + 1] / 127.5 - 1.0));  // green, (0, 5)
  CHECK((p.content_width == 16 && p.content_height == 8));
  CHECK_THROWS_WITH_AS(prepare_image(gradient(20, 8), ImagePreprocess::None, 0, 8),
                       "the image is 20x8 pixels, but preprocessing 'none' needs sides that are multiples of the "
                       "VQ-GAN's downsampling factor 8; crop or resize it, or use taming or unified-io-2",
                       Error);
  CHECK_THROWS_WITH_AS(prepare_image(image, ImagePreprocess::Taming, 20, 8),
                       "image resolution 20 must be a positive multiple of the VQ-GAN's downsampling factor 8", Error);
  CHECK_THROWS_AS(prepare_image(RgbImage{4, 4, {}}, ImagePreprocess::None, 0, 4), Error);
}

TEST_CASE("image_from_tensor clips, rounds half away from zero and crops") {
  const RgbImage image = gradient(16, 8);
  const PreparedImage p = prepare_image(image, ImagePreprocess::None, 0, 8);
  CHECK(image_from_tensor(p.pixels, 0, 0, 8, 16).pixels == image.pixels);  // every level survives the round trip

  Tensor t({3, 2, 3});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float values[] = {-2.0f, 2.0f, nan, 0.0f, -0.996f, 1.0f};
  for (int i = 0; i < 6; ++i) t[i] = values[i];  // red channel
  const RgbImage out = image_from_tensor(t, 0, 0, 2, 3);
  // 0 → 127.5 → 128 (upstream's truncation would give 127); −0.996 → 0.51 → 1.
  const uint8_t red[] = {0, 255, 0, 128, 1, 255};
  for (int i = 0; i < 6; ++i) CHECK(out.pixels[3 * i] == red[i]);
  const RgbImage crop = image_from_tensor(t, 1, 1, 1, 2);
  CHECK((crop.width == 2 && crop.height == 1 && crop.pixels[0] == 1 && crop.pixels[3] == 255));
  CHECK_THROWS_WITH_AS(image_from_tensor(t, 1, 0, 2, 3),
                       "the crop of 3x2 pixels at top 1, left 0 does not fit inside the 3x2 image tensor", Error);
  CHECK_THROWS_WITH_AS(image_from_tensor(Tensor({1, 3, 2, 3}), 0, 0, 2, 3),
                       "an image tensor must have shape [3, H, W], not [1,3,2,3]", Error);
}

TEST_CASE("a large photo goes through both resizers") {
  const RgbImage photo = gradient(1203, 907);
  for (auto p : {ImagePreprocess::Taming, ImagePreprocess::UnifiedIO2}) {
    const PreparedImage out = prepare_image(photo, p, 256, 16);
    CHECK(out.pixels.shape() == Shape{3, 256, 256});
    for (int64_t i = 0; i < out.pixels.numel(); i += 97) CHECK((out.pixels[i] >= -1.0f && out.pixels[i] <= 1.0f));
  }
}
