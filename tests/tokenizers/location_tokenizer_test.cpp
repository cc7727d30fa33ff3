#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>

#include "nn/error.h"
#include "tokenizers/location_tokenizer.h"

using namespace anytok;

TEST_CASE("the two conventions quantize as their upstream code does") {
  LocationTokenizer uio2(BoxConvention::UnifiedIO2, 1000), p2s(BoxConvention::Pix2Seq, 1000);
  CHECK(uio2.quantize(0.0) == 0);
  CHECK(uio2.quantize(1.0) == 999);
  CHECK(uio2.quantize(0.5) == 499);  // 499.5 truncates
  CHECK(p2s.quantize(0.5) == 500);   // 499.5 rounds away from zero
  CHECK(uio2.quantize(-0.3) == 0);   // clipped
  CHECK(p2s.quantize(1.7) == 999);
  CHECK(uio2.dequantize(999) == 1.0);
  CHECK_THROWS_AS(uio2.dequantize(1000), Error);
  // Token order is y1, x1, y2, x2.
  auto bins = uio2.encode_boxes({{10, 20, 30, 40}}, {100, 200});
  CHECK(bins == std::vector<int64_t>{uio2.quantize(0.1), uio2.quantize(0.1), uio2.quantize(0.2), uio2.quantize(0.3)});
  CHECK(bins == std::vector<int64_t>{99, 99, 199, 299});
}

TEST_CASE("box and keypoint round trips stay within the convention's error") {
  std::mt19937 rng(7);
  for (auto convention : {BoxConvention::UnifiedIO2, BoxConvention::Pix2Seq})
    for (int64_t bins : {2, 100, 1000, 4096}) {
      LocationTokenizer loc(convention, bins);
      const double bound = (convention == BoxConvention::UnifiedIO2 ? 1.0 : 0.5) / static_cast<double>(bins - 1);
      for (int trial = 0; trial < 200; ++trial) {
        ImageSize size{1 + static_cast<int64_t>(rng() % 2000), 1 + static_cast<int64_t>(rng() % 2000)};
        std::uniform_real_distribution<double> x(0, static_cast<double>(size.width)), y(0, static_cast<double>(size.height));
        double x1 = x(rng), x2 = x(rng), y1 = y(rng), y2 = y(rng);
        Box box{std::min(x1, x2), std::min(y1, y2), std::max(x1, x2), std::max(y1, y2)};
        Box back = loc.decode_boxes(loc.encode_boxes({box}, size), size)[0];
        const double w = static_cast<double>(size.width), h = static_cast<double>(size.height), eps = 1e-9;
        CHECK(std::abs(back.x1 - box.x1) <= bound * w + eps);
        CHECK(std::abs(back.y1 - box.y1) <= bound * h + eps);
        CHECK(std::abs(back.x2 - box.x2) <= bound * w + eps);
        CHECK(std::abs(back.y2 - box.y2) <= bound * h + eps);
        if (convention == BoxConvention::UnifiedIO2) CHECK(back.x1 <= box.x1 + eps);  // truncation never overshoots
        Point p{x(rng), y(rng)};
        Point q = loc.decode_points(loc.encode_points({p}, size), size)[0];
        CHECK(std::abs(q.x - p.x) <= bound * w + eps);
        CHECK(std::abs(q.y - p.y) <= bound * h + eps);
      }
    }
}

TEST_CASE("malformed boxes are refused with a message that says why") {
  LocationTokenizer loc;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(loc.encode_boxes({{30, 0, 10, 5}}, {100, 100}), doctest::Contains("x2 < x1"), Error);
  CHECK_THROWS_WITH_AS(loc.encode_boxes({{0, 9, 10, 5}}, {100, 100}), doctest::Contains("y2 < y1"), Error);
  CHECK_THROWS_WITH_AS(loc.encode_boxes({{nan, 0, 10, 5}}, {100, 100}), doctest::Contains("non-finite"), Error);
  CHECK_THROWS_WITH_AS(loc.encode_boxes({{0, 0, 10, 5}}, {0, 100}), doctest::Contains("has no area"), Error);
  CHECK_THROWS_WITH_AS(loc.decode_boxes({1, 2, 3}, {10, 10}), doctest::Contains("whole boxes"), Error);
  CHECK_THROWS_WITH_AS(parse_boxes("1,2,3"), "--boxes: '1,2,3' has 3 numbers, expected 4", Error);
  CHECK_THROWS_WITH_AS(parse_boxes("1,2,3,x"), "--boxes: 'x' is not a number", Error);
  CHECK_THROWS_WITH_AS(parse_boxes(""), "--boxes: nothing given", Error);
  CHECK_THROWS_AS(parse_image_size("0,10"), Error);
  CHECK_THROWS_AS(parse_image_size("10"), Error);
  CHECK_THROWS_AS(parse_image_size("10.5,3"), Error);
  CHECK(parse_boxes("1,2,3,4; 5,6,7,8;").size() == 2);
  CHECK(parse_image_size("640,480").width == 640);
  CHECK(parse_points("3,4").at(0).y == 4);
  CHECK_THROWS_WITH_AS(parse_box_convention("yolo"), doctest::Contains("unknown box convention 'yolo'"), Error);
  CHECK_THROWS_AS(LocationTokenizer(BoxConvention::Pix2Seq, 1), Error);
}
