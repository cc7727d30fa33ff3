// Image files ↔ 8-bit RGB pixels, decoded with OpenCV. PNG, JPEG, WebP, BMP and TIFF are read; PNG is written.
//
// Every image becomes 8-bit RGB: grayscale is copied into the three channels, 16-bit samples are scaled as
// round(v·255/65535), and alpha is composited on white, out = a·c + (1−a)·255 with a in the alpha's own bit
// depth. EXIF orientation is ignored, as PIL's Image.open does. Upstream differs for these inputs: its PIL
// `.convert("RGB")` drops alpha, keeps the high byte of 16-bit RGB and clips 16-bit gray at 255. For 8-bit RGB,
// gray and JPEG the pixels are the ones PIL gives (both use libjpeg-turbo).
//
// The size an image's header claims is checked against `max_pixels` before anything is decoded, so a forged
// header cannot make anytok allocate gigabytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace anytok {

struct RgbImage {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> pixels;  // HWC, 8-bit RGB: width·height·3 bytes
};

constexpr int64_t kDefaultMaxImagePixels = 16384LL * 16384;

// Throw Error naming the file when it is missing or unreadable, empty, not one of the five formats, truncated,
// corrupt, or larger than `max_pixels`.
RgbImage read_image(const std::string& path, int64_t max_pixels = kDefaultMaxImagePixels);
// The same from bytes in memory; `name` is what error messages call them.
RgbImage decode_image(const uint8_t* data, size_t size, const std::string& name,
                      int64_t max_pixels = kDefaultMaxImagePixels);

// Throws Error, saying what `what` is, unless the image has an area and width·height·3 pixel bytes.
void check_rgb_image(const RgbImage& image, const std::string& what);

// Writes an 8-bit RGB PNG; throws Error naming the file when the image is malformed or cannot be written.
void write_png(const std::string& path, const RgbImage& image);

}  // namespace anytok
