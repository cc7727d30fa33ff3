#include "tokenizers/image_io.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <string_view>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "nn/error.h"
#include "nn/mapped_file.h"

namespace anytok {
namespace {

[[noreturn]] void fail(const std::string& name, const std::string& what) { throw Error(cat(name, ": ", what)); }

uint32_t be16(const uint8_t* p) { return uint32_t{p[0]} << 8 | p[1]; }
uint32_t be32(const uint8_t* p) { return be16(p) << 16 | be16(p + 2); }
uint32_t le16(const uint8_t* p) { return uint32_t{p[1]} << 8 | p[0]; }
uint32_t le24(const uint8_t* p) { return uint32_t{p[2]} << 16 | le16(p); }
uint32_t le32(const uint8_t* p) { return le16(p + 2) << 16 | le16(p); }

bool starts_with(const uint8_t* data, size_t size, std::string_view magic) {
  return size >= magic.size() && std::memcmp(data, magic.data(), magic.size()) == 0;
}

// What an image's header says, read without decoding anything.
struct Header {
  const char* format;
  int64_t width = 0, height = 0;
};

// IHDR comes first; walking the chunks to IEND refuses a truncated file here, before libpng half-decodes it.
Header probe_png(const uint8_t* d, size_t n, const std::string& name) {
  if (n < 33 || std::memcmp(d + 12, "IHDR", 4) != 0) fail(name, "is a truncated or corrupt PNG (no IHDR header)");
  Header header{"PNG", be32(d + 16), be32(d + 20)};
  for (size_t pos = 8;;) {
    if (n - pos < 12 || be32(d + pos) > n - pos - 12) fail(name, "is a truncated PNG (it ends inside a chunk)");
    if (std::memcmp(d + pos + 4, "IEND", 4) == 0) return header;
    pos += 12 + be32(d + pos);
  }
}

// Walks the marker segments up to the first scan. libjpeg pads a truncated file with gray and calls it a
// success, so the end-of-image marker must follow the scan; entropy-coded data cannot contain FF D9.
Header probe_jpeg(const uint8_t* d, size_t n, const std::string& name) {
  Header header{"JPEG"};
  bool have_frame = false;
  for (size_t pos = 2;;) {
    if (pos >= n) fail(name, "is a truncated JPEG (it ends before its image data)");
    if (d[pos] != 0xFF) fail(name, "is a corrupt JPEG (a marker is missing)");
    while (pos < n && d[pos] == 0xFF) ++pos;
    if (n - pos < 3) fail(name, "is a truncated JPEG (it ends before its image data)");
    const uint8_t marker = d[pos++];
    if (marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length field
    if (marker == 0xD9) fail(name, "is a corrupt JPEG (it has no image data)");
    const size_t length = be16(d + pos);
    if (length < 2 || length > n - pos) fail(name, "is a truncated JPEG (it ends inside a marker segment)");
    const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame && !have_frame) {
      if (length < 8) fail(name, "is a corrupt JPEG (its frame header is too short)");
      header.height = be16(d + pos + 3);
      header.width = be16(d + pos + 5);
      have_frame = true;
    }
    if (marker == 0xDA) {
      if (!have_frame) fail(name, "is a corrupt JPEG (its image data comes before its frame header)");
      for (const uint8_t* p = d + pos + length; p < d + n - 1; ++p) {
        p = static_cast<const uint8_t*>(std::memchr(p, 0xFF, static_cast<size_t>(d + n - 1 - p)));
        if (!p) break;
        if (p[1] == 0xD9) return header;
      }
      fail(name, "is a truncated JPEG (it has no end-of-image marker)");
    }
    pos += length;
  }
}

Header probe_bmp(const uint8_t* d, size_t n, const std::string& name) {
  if (n < 26) fail(name, "is a truncated BMP (its header is incomplete)");
  if (le32(d + 14) == 12) return {"BMP", le16(d + 18), le16(d + 20)};  // OS/2 1.x: 16-bit sides
  // Height is negative for top-down rows.
  const int64_t height = static_cast<int32_t>(le32(d + 22));
  return {"BMP", static_cast<int32_t>(le32(d + 18)), height < 0 ? -height : height};
}

Header probe_webp(const uint8_t* d, size_t n, const std::string& name) {
  if (n < 30 || uint64_t{le32(d + 4)} + 8 > n) fail(name, "is a truncated WebP");
  if (std::memcmp(d + 12, "VP8 ", 4) == 0 && d[23] == 0x9D && d[24] == 0x01 && d[25] == 0x2A)
    return {"WebP", le16(d + 26) & 0x3FFF, le16(d + 28) & 0x3FFF};
  if (std::memcmp(d + 12, "VP8L", 4) == 0 && d[20] == 0x2F)
    return {"WebP", (le32(d + 21) & 0x3FFF) + 1, (le32(d + 21) >> 14 & 0x3FFF) + 1};
  if (std::memcmp(d + 12, "VP8X", 4) == 0) return {"WebP", le24(d + 24) + 1, le24(d + 27) + 1};
  fail(name, "is a corrupt WebP (no VP8, VP8L or VP8X header)");
}

// The first image file directory's ImageWidth (256) and ImageLength (257) tags, in classic or BigTIFF layout.
Header probe_tiff(const uint8_t* d, size_t n, const std::string& name) {
  const bool little = d[0] == 'I', big_tiff = d[2] == 43 || d[3] == 43;
  auto read = [&](uint64_t pos, int bytes) -> uint64_t {
    if (pos > n || static_cast<uint64_t>(bytes) > n - pos)
      fail(name, "is a truncated TIFF (its directory is incomplete)");
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t{d[pos + (little ? i : bytes - 1 - i)]} << (8 * i);
    return v;
  };
  const int word = big_tiff ? 8 : 4, entry_size = big_tiff ? 20 : 12;
  const uint64_t ifd = read(big_tiff ? 8 : 4, word);
  const uint64_t count = read(ifd, big_tiff ? 8 : 2);
  Header header{"TIFF"};
  for (uint64_t i = 0; i < count; ++i) {  // a forged count ends at the file's end, where read() fails
    const uint64_t entry = ifd + (big_tiff ? 8 : 2) + i * entry_size;
    const uint64_t tag = read(entry, 2), type = read(entry + 2, 2), value = entry + 4 + word;
    if (tag != 256 && tag != 257) continue;
    const int bytes = type == 3 ? 2 : type == 4 ? 4 : type == 16 ? 8 : 0;  // SHORT, LONG, LONG8
    (tag == 256 ? header.width : header.height) = bytes ? static_cast<int64_t>(read(value, bytes)) : 0;
  }
  return header;
}

Header probe(const uint8_t* d, size_t n, const std::string& name) {
  if (starts_with(d, n, "\x89PNG\r\n\x1a\n")) return probe_png(d, n, name);
  if (starts_with(d, n, "\xFF\xD8\xFF")) return probe_jpeg(d, n, name);
  if (starts_with(d, n, "BM")) return probe_bmp(d, n, name);
  if (starts_with(d, n, "RIFF") && n >= 12 && std::memcmp(d + 8, "WEBP", 4) == 0) return probe_webp(d, n, name);
  for (std::string_view magic : {std::string_view("II*\0", 4), std::string_view("MM\0*", 4),
                                 std::string_view("II+\0", 4), std::string_view("MM\0+", 4)})
    if (starts_with(d, n, magic)) return probe_tiff(d, n, name);
  fail(name, "is not a PNG, JPEG, WebP, BMP or TIFF image");
}

// One output sample, composited on white and scaled to 8 bits in a single rounding:
// round((a·c + (M−a)·M) / M · 255 / M), M the largest sample. Never a tie, as M² is odd.
template <uint64_t M>
uint8_t to_8bit(uint64_t c, uint64_t a) {
  const uint64_t n = a * c + (M - a) * M;
  return static_cast<uint8_t>((510 * n + M * M) / (2 * M * M));
}

template <typename T, uint64_t M>
void convert_to_rgb(const cv::Mat& m, uint8_t* out) {
  const int channels = m.channels();
  for (int y = 0; y < m.rows; ++y) {
    const T* p = m.ptr<T>(y);
    for (int x = 0; x < m.cols; ++x, p += channels, out += 3) {
      const bool gray = channels <= 2, alpha = channels == 2 || channels == 4;
      const uint64_t a = alpha ? p[channels - 1] : M;
      out[0] = to_8bit<M>(gray ? p[0] : p[2], a);  // OpenCV's order is BGR
      out[1] = to_8bit<M>(gray ? p[0] : p[1], a);
      out[2] = to_8bit<M>(p[0], a);
    }
  }
}

}  // namespace

void check_rgb_image(const RgbImage& image, const std::string& what) {
  if (image.width <= 0 || image.height <= 0 || image.width > INT_MAX || image.height > INT_MAX)
    throw Error(cat(what, ": an image of ", image.width, "x", image.height, " pixels is not supported"));
  const size_t expected = static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3;
  if (image.pixels.size() != expected)
    throw Error(cat(what, ": a ", image.width, "x", image.height, " RGB image needs ", expected, " pixel bytes, not ",
                    image.pixels.size()));
}

RgbImage decode_image(const uint8_t* data, size_t size, const std::string& name, int64_t max_pixels) {
  if (size == 0) fail(name, "is empty (0 bytes)");
  if (size > INT_MAX) fail(name, "is larger than 2 GiB, which OpenCV cannot decode");
  const Header header = probe(data, size, name);
  if (header.width <= 0 || header.height <= 0)
    fail(name, cat("is a corrupt ", header.format, " (its header claims ", header.width, "x", header.height,
                   " pixels)"));
  if (header.width > max_pixels / header.height)
    fail(name, cat("its header claims ", header.width, "x", header.height, " pixels, more than the limit of ",
                   max_pixels));

  cv::Mat decoded;
  try {
    decoded = cv::imdecode(cv::Mat(1, static_cast<int>(size), CV_8U, const_cast<uint8_t*>(data)), cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    fail(name, cat("cannot be decoded as ", header.format, " (", e.err, ")"));
  }
  if (decoded.empty()) fail(name, cat("is a corrupt ", header.format, " (OpenCV cannot decode it)"));
  const int depth = decoded.depth(), channels = decoded.channels();
  if ((depth != CV_8U && depth != CV_16U) || channels > 4)
    fail(name, cat("has ", channels, " channels of ", cv::typeToString(decoded.type()),
                   " samples; anytok reads 8- and 16-bit gray, gray+alpha, RGB and RGBA"));

  RgbImage image{decoded.cols, decoded.rows, std::vector<uint8_t>(static_cast<size_t>(decoded.total()) * 3)};
  cv::Mat rgb(decoded.rows, decoded.cols, CV_8UC3, image.pixels.data());
  if (depth == CV_8U && channels == 3) cv::cvtColor(decoded, rgb, cv::COLOR_BGR2RGB);
  else if (depth == CV_8U && channels == 1) cv::cvtColor(decoded, rgb, cv::COLOR_GRAY2RGB);
  else if (depth == CV_8U) convert_to_rgb<uint8_t, 255>(decoded, image.pixels.data());
  else convert_to_rgb<uint16_t, 65535>(decoded, image.pixels.data());
  return image;
}

RgbImage read_image(const std::string& path, int64_t max_pixels) {
  MappedFile file(path);
  return decode_image(file.data(), file.size(), path, max_pixels);
}

void write_png(const std::string& path, const RgbImage& image) {
  check_rgb_image(image, path);
  const cv::Mat rgb(static_cast<int>(image.height), static_cast<int>(image.width), CV_8UC3,
                    const_cast<uint8_t*>(image.pixels.data()));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<uint8_t> bytes;
  try {
    if (!cv::imencode(".png", bgr, bytes)) fail(path, "OpenCV cannot encode the image as PNG");
  } catch (const cv::Exception& e) {
    fail(path, cat("cannot encode the image as PNG (", e.err, ")"));
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) fail(path, cat("cannot write (", std::strerror(errno), ")"));
}

}  // namespace anytok
