#include "tokenizers/image_preprocess.h"

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "nn/error.h"

namespace anytok {
namespace {

// A resize that would make more pixels than this (an absurdly elongated image) is refused rather than tried.
constexpr int64_t kMaxResizedPixels = 1LL << 28;

// HWC uint8 rows, `row_bytes` apart, into a [3, H, W] tensor as x/127.5 − 1, computed in float64 and cast to
// float32 as taming's numpy code does.
Tensor unit_range(const uint8_t* rgb, int64_t row_bytes, int64_t height, int64_t width) {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int v = 0; v < 256; ++v) t[v] = static_cast<float>(v / 127.5 - 1.0);
    return t;
  }();
  Tensor out({3, height, width});
  for (int64_t y = 0; y < height; ++y) {
    const uint8_t* row = rgb + y * row_bytes;
    for (int64_t c = 0; c < 3; ++c) {
      float* dst = out.data() + (c * height + y) * width;
      for (int64_t x = 0; x < width; ++x) dst[x] = table[row[3 * x + c]];
    }
  }
  return out;
}

PreparedImage prepare_taming(const RgbImage& image, int64_t resolution) {
  const int64_t w = image.width, h = image.height;
  const cv::Mat source(static_cast<int>(h), static_cast<int>(w), CV_8UC3, const_cast<uint8_t*>(image.pixels.data()));
  cv::Mat resized = source;
  const double scale = static_cast<double>(resolution) / static_cast<double>(std::min(w, h));
  if (scale != 1.0) {
    // albumentations 0.4.3 rounds the new sides with Python's round (half to even), which nearbyint matches.
    const auto new_h = static_cast<int64_t>(std::nearbyint(static_cast<double>(h) * scale));
    const auto new_w = static_cast<int64_t>(std::nearbyint(static_cast<double>(w) * scale));
    if (new_w > kMaxResizedPixels / new_h)
      throw Error(cat("a ", w, "x", h, " image is too elongated for taming at resolution ", resolution,
                      ": its short side scaled to ", resolution, " makes it ", new_w, "x", new_h));
    cv::resize(source, resized, cv::Size(static_cast<int>(new_w), static_cast<int>(new_h)), 0, 0, cv::INTER_LINEAR);
  }
  const int64_t top = (resized.rows - resolution) / 2, left = (resized.cols - resolution) / 2;
  const uint8_t* corner = resized.ptr<uint8_t>(static_cast<int>(top)) + 3 * left;
  return {unit_range(corner, static_cast<int64_t>(resized.step[0]), resolution, resolution), w, h, 0, 0, resolution,
          resolution};
}

// One axis of TensorFlow's ScaleAndTranslate (scale_and_translate_op.cc, ComputeSpansCore) for the triangle
// kernel with zero translation, in its float32 arithmetic: for each output sample, the first input sample and
// the normalized weights of the inputs it reads.
struct Spans {
  std::vector<int64_t> first, count;
  std::vector<float> weights;  // [out, stride]
  int64_t stride = 0;
};

Spans triangle_spans(int64_t in, int64_t out) {
  const float scale = static_cast<float>(out) / static_cast<float>(in);
  const float inv_scale = static_cast<float>(1.0 / scale);
  // Widening the kernel by the downscale factor is what makes it antialiased; upscaling keeps radius 1.
  const float kernel_scale = std::max(inv_scale, 1.0f);
  const float one_over_kernel_scale = 1.0f / kernel_scale;
  Spans s;
  s.stride = std::min<int64_t>(2 * static_cast<int64_t>(std::ceil(kernel_scale)) + 1, in);
  s.first.resize(static_cast<size_t>(out));
  s.count.resize(static_cast<size_t>(out));
  s.weights.assign(static_cast<size_t>(out * s.stride), 0.0f);
  for (int64_t x = 0; x < out; ++x) {
    const float sample = (static_cast<float>(x) + 0.5f) * inv_scale;
    const auto first = std::clamp(static_cast<int64_t>(std::ceil(sample - kernel_scale - 0.5f)), int64_t{0}, in - 1);
    const auto end = std::clamp(static_cast<int64_t>(std::floor(sample + kernel_scale - 0.5f)), int64_t{0}, in - 1) + 1;
    float* w = s.weights.data() + x * s.stride;
    float total = 0.0f;
    for (int64_t i = first; i < end; ++i) {
      const float distance = std::abs((static_cast<float>(i) + 0.5f - sample) * one_over_kernel_scale);
      w[i - first] = distance < 1.0f ? 1.0f - distance : 0.0f;
      total += w[i - first];
    }
    const float inv_total = 1.0f / total;
    for (int64_t i = 0; i < end - first; ++i) w[i] = total >= 1000.0f * FLT_MIN ? w[i] * inv_total : 0.0f;
    s.first[static_cast<size_t>(x)] = first;
    s.count[static_cast<size_t>(x)] = std::min(end - first, s.stride);
  }
  return s;
}

PreparedImage prepare_unified_io_2(const RgbImage& image, int64_t resolution) {
  const int64_t w = image.width, h = image.height;
  const auto [top, left, new_h, new_w] = unified_io_2_content(w, h, resolution);
  const Spans rows = triangle_spans(h, new_h), cols = triangle_spans(w, new_w);

  // tf.image.convert_image_dtype: v · float32(1/255). Each weight·value product is looked up from a table per
  // tap, which is the same float multiplication TensorFlow does, done 256 times instead of once per pixel.
  std::array<float, 256> unit{}, product{};
  for (int v = 0; v < 256; ++v) unit[v] = static_cast<float>(v) * static_cast<float>(1.0 / 255.0);

  // Rows first, then columns, as TensorFlow's GatherSpans; each sum accumulates in the same order.
  const int64_t in_row = w * 3;
  std::vector<float> mid(static_cast<size_t>(new_h * in_row), 0.0f);
  for (int64_t y = 0; y < new_h; ++y) {
    float* dst = mid.data() + y * in_row;
    for (int64_t j = 0; j < rows.count[y]; ++j) {
      const float weight = rows.weights[y * rows.stride + j];
      for (int v = 0; v < 256; ++v) product[v] = weight * unit[v];
      const uint8_t* src = image.pixels.data() + (rows.first[y] + j) * in_row;
      for (int64_t i = 0; i < in_row; ++i) dst[i] += product[src[i]];
    }
  }

  PreparedImage out{Tensor({3, resolution, resolution}), w, h, top, left, new_h, new_w};
  std::fill(out.pixels.data(), out.pixels.data() + out.pixels.numel(), -1.0f);  // zero padding, after x·2 − 1
  for (int64_t y = 0; y < new_h; ++y) {
    const float* src_row = mid.data() + y * in_row;
    for (int64_t x = 0; x < new_w; ++x) {
      const float* weights = cols.weights.data() + x * cols.stride;
      const float* src = src_row + cols.first[x] * 3;
      float sum[3] = {0.0f, 0.0f, 0.0f};
      for (int64_t j = 0; j < cols.count[x]; ++j)
        for (int c = 0; c < 3; ++c) sum[c] += weights[j] * src[3 * j + c];
      for (int c = 0; c < 3; ++c) {
        const float clipped = std::min(std::max(sum[c], 0.0f), 1.0f);
        out.pixels[(c * resolution + top + y) * resolution + left + x] = clipped * 2.0f - 1.0f;
      }
    }
  }
  return out;
}

}  // namespace

ContentRegion unified_io_2_content(int64_t source_width, int64_t source_height, int64_t resolution) {
  // resize_and_pad's sizes, in TensorFlow's float32: int(side · min(R/h, R/w)).
  const float r = static_cast<float>(resolution), h = static_cast<float>(source_height),
              w = static_cast<float>(source_width);
  const float scale = std::min(r / w, r / h);
  const auto height = static_cast<int64_t>(h * scale), width = static_cast<int64_t>(w * scale);
  if (height <= 0 || width <= 0)
    throw Error(cat("a ", source_width, "x", source_height, " image is too elongated for unified-io-2 at resolution ",
                    resolution, ": its short side would shrink to 0 pixels"));
  return {(resolution - height) / 2, (resolution - width) / 2, height, width};
}

ImagePreprocess parse_image_preprocess(std::string_view name) {
  if (name == "taming") return ImagePreprocess::Taming;
  if (name == "unified-io-2") return ImagePreprocess::UnifiedIO2;
  if (name == "none") return ImagePreprocess::None;
  throw Error(cat("unknown image preprocessing '", name, "' (use taming, unified-io-2 or none)"));
}

std::string_view image_preprocess_name(ImagePreprocess preprocess) {
  switch (preprocess) {
    case ImagePreprocess::Taming: return "taming";
    case ImagePreprocess::UnifiedIO2: return "unified-io-2";
    case ImagePreprocess::None: return "none";
  }
  return "none";
}

PreparedImage prepare_image(const RgbImage& image, ImagePreprocess preprocess, int64_t resolution, int64_t factor) {
  check_rgb_image(image, "image to tokenize");
  if (factor < 1) throw Error(cat("the VQ-GAN's downsampling factor must be positive, got ", factor));
  if (preprocess == ImagePreprocess::None) {
    if (image.width % factor != 0 || image.height % factor != 0)
      throw Error(cat("the image is ", image.width, "x", image.height, " pixels, but preprocessing 'none' needs ",
                      "sides that are multiples of the VQ-GAN's downsampling factor ", factor,
                      "; crop or resize it, or use taming or unified-io-2"));
    return {unit_range(image.pixels.data(), image.width * 3, image.height, image.width), image.width, image.height,
            0, 0, image.height, image.width};
  }
  if (resolution < 1 || resolution % factor != 0)
    throw Error(cat("image resolution ", resolution,
                    " must be a positive multiple of the VQ-GAN's downsampling factor ", factor));
  return preprocess == ImagePreprocess::Taming ? prepare_taming(image, resolution)
                                               : prepare_unified_io_2(image, resolution);
}

RgbImage image_from_tensor(const Tensor& chw, int64_t top, int64_t left, int64_t height, int64_t width) {
  if (chw.rank() != 3 || chw.dim(0) != 3)
    throw Error(cat("an image tensor must have shape [3, H, W], not ", shape_to_string(chw.shape())));
  const int64_t full_h = chw.dim(1), full_w = chw.dim(2);
  if (height <= 0 || width <= 0 || top < 0 || left < 0 || top > full_h - height || left > full_w - width)
    throw Error(cat("the crop of ", width, "x", height, " pixels at top ", top, ", left ", left,
                    " does not fit inside the ", full_w, "x", full_h, " image tensor"));
  RgbImage image{width, height, std::vector<uint8_t>(static_cast<size_t>(width * height * 3))};
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < height; ++y) {
      const float* src = chw.data() + (c * full_h + top + y) * full_w + left;
      uint8_t* dst = image.pixels.data() + y * width * 3 + c;
      for (int64_t x = 0; x < width; ++x) {
        const double v = src[x] > -1.0f ? std::min(src[x], 1.0f) : -1.0f;  // NaN becomes −1
        dst[3 * x] = static_cast<uint8_t>(std::lround((v + 1.0) * 127.5));
      }
    }
  return image;
}

}  // namespace anytok
