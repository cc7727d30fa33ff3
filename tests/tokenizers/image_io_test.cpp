// Reading and writing images: every format and sample layout becomes the 8-bit RGB that
// tests/data/images/make_fixtures.py expects, and bad files are refused with a message naming them.
#include <doctest/doctest.h>

#include <chrono>
#include <cstring>

#include "nn/error.h"
#include "nn/safetensors.h"
#include "test_util.h"
#include "tokenizers/image_io.h"

using namespace anytok;
using anytok::test::read_text;
using anytok::test::ScratchDir;
using anytok::test::write_text;

namespace {

std::string fixture(const std::string& name) { return std::string(ANYTOK_TEST_DATA) + "/images/" + name; }

void check_decodes_to(const std::string& file, const std::string& key) {
  CAPTURE(file);
  SafetensorsFile expected(fixture("io.safetensors"));
  const TensorInfo& info = expected.at(key);
  const RgbImage image = read_image(fixture(file));
  REQUIRE(info.shape == Shape{image.height, image.width, 3});
  CHECK(std::memcmp(image.pixels.data(), expected.bytes(info), image.pixels.size()) == 0);
}

std::string error_of(const std::string& path, int64_t max_pixels = kDefaultMaxImagePixels) {
  try {
    read_image(path, max_pixels);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("every format and sample layout decodes to the expected 8-bit RGB") {
  check_decodes_to("rgb.png", "rgb");
  check_decodes_to("rgb.bmp", "rgb");
  check_decodes_to("rgb.tiff", "rgb");
  check_decodes_to("rgb.webp", "rgb");
  check_decodes_to("photo.jpg", "photo_jpg");  // the pixels PIL decodes
  check_decodes_to("gray.png", "gray");
  check_decodes_to("rgba.png", "rgba");
  check_decodes_to("gray_alpha.png", "gray_alpha");
  check_decodes_to("rgb16.png", "rgb16");
  check_decodes_to("rgba16.png", "rgba16");
}

TEST_CASE("a fully transparent pixel becomes white") {
  const RgbImage rgba = read_image(fixture("rgba.png"));  // its alpha runs from 0 (first pixel) to 255 (last)
  CHECK(rgba.pixels[0] == 255);
  CHECK(rgba.pixels[1] == 255);
  CHECK(rgba.pixels[2] == 255);
}

TEST_CASE("decode_image reads bytes in memory as read_image reads the file") {
  const std::string bytes = read_text(fixture("photo.jpg"));
  const RgbImage from_memory =
      decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "photo", kDefaultMaxImagePixels);
  CHECK(from_memory.pixels == read_image(fixture("photo.jpg")).pixels);
  CHECK_THROWS_WITH_AS(decode_image(nullptr, 0, "upload #3", 100), "upload #3: is empty (0 bytes)", Error);
}

TEST_CASE("bad files are refused with a message that names the file and says why") {
  ScratchDir dir("image-io");
  const std::string png = read_text(fixture("rgb.png")), jpeg = read_text(fixture("photo.jpg"));

  CHECK(error_of(dir.path("missing.png")).find("missing.png: cannot open") != std::string::npos);
  write_text(dir.path("empty.png"), "");
  CHECK(error_of(dir.path("empty.png")) == dir.path("empty.png") + ": is empty (0 bytes)");
  write_text(dir.path("notes.png"), "not an image at all");
  CHECK(error_of(dir.path("notes.png")) == dir.path("notes.png") + ": is not a PNG, JPEG, WebP, BMP or TIFF image");

  write_text(dir.path("half.png"), png.substr(0, png.size() / 2));
  CHECK(error_of(dir.path("half.png")) == dir.path("half.png") + ": is a truncated PNG (it ends inside a chunk)");
  write_text(dir.path("short.png"), png.substr(0, 20));
  CHECK(error_of(dir.path("short.png")) == dir.path("short.png") + ": is a truncated or corrupt PNG (no IHDR header)");
  // Whole chunks, damaged pixel data: only the decoder can tell.
  std::string damaged = png;
  const size_t idat = damaged.find("IDAT");
  REQUIRE(idat != std::string::npos);
  for (size_t i = idat + 6; i < idat + 40; ++i) damaged[i] = static_cast<char>(damaged[i] ^ 0x5A);
  write_text(dir.path("damaged.png"), damaged);
  CHECK(error_of(dir.path("damaged.png")) == dir.path("damaged.png") + ": is a corrupt PNG (OpenCV cannot decode it)");

  // libjpeg would pad a truncated JPEG with gray and call it a success.
  write_text(dir.path("half.jpg"), jpeg.substr(0, jpeg.size() / 2));
  CHECK(error_of(dir.path("half.jpg")) ==
        dir.path("half.jpg") + ": is a truncated JPEG (it has no end-of-image marker)");
  write_text(dir.path("head.jpg"), jpeg.substr(0, 100));
  CHECK(error_of(dir.path("head.jpg")) ==
        dir.path("head.jpg") + ": is a truncated JPEG (it ends inside a marker segment)");
  const std::string webp = read_text(fixture("rgb.webp"));
  write_text(dir.path("half.webp"), webp.substr(0, webp.size() / 2));
  CHECK(error_of(dir.path("half.webp")) == dir.path("half.webp") + ": is a truncated WebP");
  const std::string tiff = read_text(fixture("rgb.tiff"));
  write_text(dir.path("head.tiff"), tiff.substr(0, 8));
  CHECK(error_of(dir.path("head.tiff")) ==
        dir.path("head.tiff") + ": is a truncated TIFF (its directory is incomplete)");
}

TEST_CASE("a header claiming too many pixels is refused before anything is decoded") {
  // huge.png is a well-formed 69-byte PNG that claims 80000x80000 pixels (19 GB of RGB).
  const auto start = std::chrono::steady_clock::now();
  CHECK(error_of(fixture("huge.png")) ==
        fixture("huge.png") + ": its header claims 80000x80000 pixels, more than the limit of 268435456");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  // The limit applies to every format's header.
  for (const char* file : {"rgb.png", "rgb.bmp", "rgb.tiff", "rgb.webp"})
    CHECK(error_of(fixture(file), 390).find("its header claims 23x17 pixels, more than the limit of 390") !=
          std::string::npos);
  CHECK(error_of(fixture("photo.jpg"), 1199).find("its header claims 40x30 pixels") != std::string::npos);
  CHECK(read_image(fixture("rgb.png"), 391).width == 23);
}

TEST_CASE("write_png round-trips and names the file it cannot write") {
  ScratchDir dir("image-io-write");
  const RgbImage image = read_image(fixture("photo.jpg"));
  write_png(dir.path("out.png"), image);
  const RgbImage back = read_image(dir.path("out.png"));
  CHECK(back.width == image.width);
  CHECK(back.height == image.height);
  CHECK(back.pixels == image.pixels);
  CHECK_THROWS_WITH_AS(write_png(dir.path("no/such/dir.png"), image),
                       doctest::Contains("no/such/dir.png: cannot write"), Error);
  CHECK_THROWS_WITH_AS(write_png(dir.path("bad.png"), RgbImage{2, 2, std::vector<uint8_t>(5)}),
                       doctest::Contains("a 2x2 RGB image needs 12 pixel bytes, not 5"), Error);
}
