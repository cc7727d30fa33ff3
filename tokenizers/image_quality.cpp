#include "tokenizers/image_quality.h"

#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "nn/error.h"

namespace anytok {
namespace {

void check_same_size(const RgbImage& a, const RgbImage& b, const char* what) {
  check_rgb_image(a, what);
  check_rgb_image(b, what);
  if (a.width != b.width || a.height != b.height)
    throw Error(cat(what, ": the images differ in size (", a.width, "x", a.height, " and ", b.width, "x", b.height,
                    ")"));
}

constexpr int kRadius = 5;  // int(3.5·σ + 0.5), scipy's radius for skimage's truncate = 3.5

// scipy.ndimage.gaussian_filter(σ = 1.5, truncate = 3.5, mode="reflect"): along rows of pixels, then columns.
std::vector<double> gaussian_filter(const std::vector<double>& in, int64_t h, int64_t w) {
  static const std::array<double, 2 * kRadius + 1> kernel = [] {
    std::array<double, 2 * kRadius + 1> k{};
    double sum = 0;
    for (int i = -kRadius; i <= kRadius; ++i) sum += k[i + kRadius] = std::exp(-0.5 / (1.5 * 1.5) * i * i);
    for (double& v : k) v /= sum;
    return k;
  }();
  // "reflect" mirrors about the edge, repeating the edge sample: d c b a | a b c d.
  auto mirror = [](int64_t i, int64_t n) { return i < 0 ? -i - 1 : i >= n ? 2 * n - i - 1 : i; };
  std::vector<double> vertical(in.size()), out(in.size());
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      double sum = 0;
      for (int k = -kRadius; k <= kRadius; ++k) sum += kernel[k + kRadius] * in[mirror(y + k, h) * w + x];
      vertical[y * w + x] = sum;
    }
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      double sum = 0;
      for (int k = -kRadius; k <= kRadius; ++k) sum += kernel[k + kRadius] * vertical[y * w + mirror(x + k, w)];
      out[y * w + x] = sum;
    }
  return out;
}

double ssim_channel(const RgbImage& a, const RgbImage& b, int channel) {
  const int64_t h = a.height, w = a.width, n = h * w;
  std::vector<double> x(n), y(n), xx(n), yy(n), xy(n);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = a.pixels[3 * i + channel];
    y[i] = b.pixels[3 * i + channel];
    xx[i] = x[i] * x[i];
    yy[i] = y[i] * y[i];
    xy[i] = x[i] * y[i];
  }
  const auto ux = gaussian_filter(x, h, w), uy = gaussian_filter(y, h, w);
  const auto uxx = gaussian_filter(xx, h, w), uyy = gaussian_filter(yy, h, w), uxy = gaussian_filter(xy, h, w);
  const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
  double sum = 0;
  for (int64_t r = kRadius; r < h - kRadius; ++r)
    for (int64_t c = kRadius; c < w - kRadius; ++c) {
      const int64_t i = r * w + c;
      const double vx = uxx[i] - ux[i] * ux[i], vy = uyy[i] - uy[i] * uy[i], vxy = uxy[i] - ux[i] * uy[i];
      sum += (2 * ux[i] * uy[i] + c1) * (2 * vxy + c2) / ((ux[i] * ux[i] + uy[i] * uy[i] + c1) * (vx + vy + c2));
    }
  return sum / static_cast<double>((h - 2 * kRadius) * (w - 2 * kRadius));
}

}  // namespace

double psnr(const RgbImage& a, const RgbImage& b) {
  check_same_size(a, b, "psnr");
  uint64_t squares = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    const int d = a.pixels[i] - b.pixels[i];
    squares += static_cast<uint64_t>(d * d);
  }
  if (squares == 0) return std::numeric_limits<double>::infinity();
  const double mse = static_cast<double>(squares) / static_cast<double>(a.pixels.size());
  return 10.0 * std::log10(255.0 * 255.0 / mse);
}

double ssim(const RgbImage& a, const RgbImage& b) {
  check_same_size(a, b, "ssim");
  if (a.width < 2 * kRadius + 1 || a.height < 2 * kRadius + 1)
    throw Error(cat("ssim: the images are ", a.width, "x", a.height, " pixels; its 11x11 window needs at least 11x11"));
  return (ssim_channel(a, b, 0) + ssim_channel(a, b, 1) + ssim_channel(a, b, 2)) / 3.0;
}

}  // namespace anytok
