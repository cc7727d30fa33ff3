#include "tokenizers/location_tokenizer.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "nn/error.h"

namespace anytok {
namespace {

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t at = text.find(separator, start);
    parts.push_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

double parse_number(std::string_view text, std::string_view what) {
  std::string s(text);
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || errno == ERANGE) throw Error(cat(what, ": '", s, "' is not a number"));
  return v;
}

// Each group of `count` numbers separated by commas, groups separated by semicolons.
std::vector<std::vector<double>> parse_groups(std::string_view text, size_t count, std::string_view what) {
  std::vector<std::vector<double>> groups;
  if (text.find_first_not_of(" \t") == std::string_view::npos) throw Error(cat(what, ": nothing given"));
  for (std::string_view group : split(text, ';')) {
    if (group.find_first_not_of(" \t") == std::string_view::npos) continue;  // tolerate a trailing ';'
    auto parts = split(group, ',');
    if (parts.size() != count)
      throw Error(cat(what, ": '", group, "' has ", parts.size(), " numbers, expected ", count));
    std::vector<double> values;
    for (auto p : parts) values.push_back(parse_number(p, what));
    groups.push_back(std::move(values));
  }
  return groups;
}

void check_size(ImageSize size) {
  if (size.width <= 0 || size.height <= 0)
    throw Error(cat("image size ", size.width, "x", size.height, " has no area"));
}

void check_finite(double v, const char* what) {
  if (!std::isfinite(v)) throw Error(cat(what, " has a non-finite coordinate (", v, ")"));
}

}  // namespace

BoxConvention parse_box_convention(std::string_view name) {
  if (name == "unified-io-2") return BoxConvention::UnifiedIO2;
  if (name == "pix2seq") return BoxConvention::Pix2Seq;
  throw Error(cat("unknown box convention '", name, "' (use unified-io-2 or pix2seq)"));
}

std::string_view box_convention_name(BoxConvention convention) {
  return convention == BoxConvention::UnifiedIO2 ? "unified-io-2" : "pix2seq";
}

std::vector<Box> parse_boxes(std::string_view text) {
  std::vector<Box> boxes;
  for (const auto& g : parse_groups(text, 4, "--boxes")) boxes.push_back({g[0], g[1], g[2], g[3]});
  return boxes;
}

std::vector<Point> parse_points(std::string_view text) {
  std::vector<Point> points;
  for (const auto& g : parse_groups(text, 2, "--keypoints")) points.push_back({g[0], g[1]});
  return points;
}

ImageSize parse_image_size(std::string_view text) {
  auto groups = parse_groups(text, 2, "--image-size");
  if (groups.size() != 1) throw Error("--image-size: give one W,H pair");
  for (double v : groups[0])
    if (v != std::floor(v) || v <= 0 || v > 1e9) throw Error(cat("--image-size: '", text, "' is not a W,H pair of positive integers"));
  return {static_cast<int64_t>(groups[0][0]), static_cast<int64_t>(groups[0][1])};
}

LocationTokenizer::LocationTokenizer(BoxConvention convention, int64_t bins) : convention_(convention), bins_(bins) {
  if (bins < 2) throw Error(cat("location bins must be at least 2, got ", bins));
}

int64_t LocationTokenizer::quantize(double v) const {
  v = std::clamp(v, 0.0, 1.0) * static_cast<double>(bins_ - 1);
  return static_cast<int64_t>(convention_ == BoxConvention::UnifiedIO2 ? std::floor(v) : std::round(v));
}

double LocationTokenizer::dequantize(int64_t bin) const {
  if (bin < 0 || bin >= bins_) throw Error(cat("location bin ", bin, " is outside 0..", bins_ - 1));
  return static_cast<double>(bin) / static_cast<double>(bins_ - 1);
}

std::vector<int64_t> LocationTokenizer::encode_boxes(const std::vector<Box>& boxes, ImageSize size) const {
  check_size(size);
  std::vector<int64_t> out;
  for (const Box& b : boxes) {
    for (double v : {b.x1, b.y1, b.x2, b.y2}) check_finite(v, "box");
    if (b.x2 < b.x1 || b.y2 < b.y1)
      throw Error(cat("box ", b.x1, ",", b.y1, ",", b.x2, ",", b.y2, " has x2 < x1 or y2 < y1"));
    double w = static_cast<double>(size.width), h = static_cast<double>(size.height);
    for (double v : {b.y1 / h, b.x1 / w, b.y2 / h, b.x2 / w}) out.push_back(quantize(v));
  }
  return out;
}

std::vector<Box> LocationTokenizer::decode_boxes(const std::vector<int64_t>& bins, ImageSize size) const {
  check_size(size);
  if (bins.size() % 4) throw Error(cat(bins.size(), " location bins do not make whole boxes of 4"));
  std::vector<Box> boxes;
  double w = static_cast<double>(size.width), h = static_cast<double>(size.height);
  for (size_t i = 0; i < bins.size(); i += 4)
    boxes.push_back({dequantize(bins[i + 1]) * w, dequantize(bins[i]) * h, dequantize(bins[i + 3]) * w,
                     dequantize(bins[i + 2]) * h});
  return boxes;
}

std::vector<int64_t> LocationTokenizer::encode_points(const std::vector<Point>& points, ImageSize size) const {
  check_size(size);
  std::vector<int64_t> out;
  for (const Point& p : points) {
    check_finite(p.x, "keypoint");
    check_finite(p.y, "keypoint");
    out.push_back(quantize(p.y / static_cast<double>(size.height)));
    out.push_back(quantize(p.x / static_cast<double>(size.width)));
  }
  return out;
}

std::vector<Point> LocationTokenizer::decode_points(const std::vector<int64_t>& bins, ImageSize size) const {
  check_size(size);
  if (bins.size() % 2) throw Error(cat(bins.size(), " location bins do not make whole (y, x) keypoints"));
  std::vector<Point> points;
  for (size_t i = 0; i < bins.size(); i += 2)
    points.push_back({dequantize(bins[i + 1]) * static_cast<double>(size.width),
                      dequantize(bins[i]) * static_cast<double>(size.height)});
  return points;
}

}  // namespace anytok
