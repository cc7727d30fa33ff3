// Boxes and keypoints ↔ location bins. Pixel coordinates are divided by the image side, clipped to [0, 1] and
// quantized into `bins` levels; both directions live here because each is one line of arithmetic.
//
// Conventions (the coordinate order is y before x in both):
//   unified-io-2  q = floor(v·(bins−1)), v = q/(bins−1)   (Unified-IO 2's values_to_tokens truncates)
//   pix2seq       q = round(v·(bins−1)), v = q/(bins−1)
// Boxes become 4 bins each (y1, x1, y2, x2); keypoints 2 bins each (y, x).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace anytok {

enum class BoxConvention { UnifiedIO2, Pix2Seq };
BoxConvention parse_box_convention(std::string_view name);  // "unified-io-2" | "pix2seq"
std::string_view box_convention_name(BoxConvention convention);

struct Box {  // pixels
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};
struct Point {  // pixels
  double x = 0, y = 0;
};
struct ImageSize {
  int64_t width = 0, height = 0;
};

// "x1,y1,x2,y2;x1,y1,x2,y2", "x,y;x,y" and "W,H" as typed on a command line; throw Error when malformed.
std::vector<Box> parse_boxes(std::string_view text);
std::vector<Point> parse_points(std::string_view text);
ImageSize parse_image_size(std::string_view text);

class LocationTokenizer {
 public:
  explicit LocationTokenizer(BoxConvention convention = BoxConvention::UnifiedIO2, int64_t bins = 1000);

  BoxConvention convention() const { return convention_; }
  int64_t bins() const { return bins_; }

  int64_t quantize(double normalized) const;  // clips to [0, 1] first
  double dequantize(int64_t bin) const;       // throws Error outside 0 .. bins−1

  // Throw Error on NaN or infinite coordinates, x2 < x1 or y2 < y1, or an image without area.
  std::vector<int64_t> encode_boxes(const std::vector<Box>& boxes, ImageSize size) const;       // [n·4]
  std::vector<Box> decode_boxes(const std::vector<int64_t>& bins, ImageSize size) const;        // n·4 bins
  std::vector<int64_t> encode_points(const std::vector<Point>& points, ImageSize size) const;   // [n·2]
  std::vector<Point> decode_points(const std::vector<int64_t>& bins, ImageSize size) const;     // n·2 bins

 private:
  BoxConvention convention_;
  int64_t bins_;
};

}  // namespace anytok
