// Convolution-network ops against naive references on random data.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "nn/conv.h"
#include "nn/conv_blocks.h"
#include "nn/error.h"
#include "nn/thread_pool.h"
#include "test_util.h"

using namespace anytok;
using anytok::test::random_tensor;

namespace {

Tensor naive_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, Padding2d p) {
  const int64_t n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3), cout = w.dim(0), kh = w.dim(2), kw = w.dim(3);
  const int64_t ho = (h + p.top + p.bottom - kh) / stride + 1, wo = (wd + p.left + p.right - kw) / stride + 1;
  Tensor y({n, cout, ho, wo});
  for (int64_t bi = 0; bi < n; ++bi)
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t i = 0; i < ho; ++i)
        for (int64_t j = 0; j < wo; ++j) {
          double s = b.empty() ? 0 : b[o];
          for (int64_t c = 0; c < cin; ++c)
            for (int64_t a = 0; a < kh; ++a)
              for (int64_t e = 0; e < kw; ++e) {
                int64_t yi = i * stride + a - p.top, xi = j * stride + e - p.left;
                if (yi >= 0 && yi < h && xi >= 0 && xi < wd)
                  s += double(x[((bi * cin + c) * h + yi) * wd + xi]) * w[((o * cin + c) * kh + a) * kw + e];
              }
          y[((bi * cout + o) * ho + i) * wo + j] = static_cast<float>(s);
        }
  return y;
}

void check_close(const Tensor& a, const Tensor& b, double eps) {
  REQUIRE(a.shape() == b.shape());
  for (int64_t i = 0; i < a.numel(); ++i) REQUIRE(a[i] == doctest::Approx(b[i]).epsilon(eps).scale(1.0));
}

}  // namespace

TEST_CASE("conv2d matches the naive loop for kernels, strides, paddings, odd sizes and each path") {
  ThreadPool::set_threads(2);
  struct Case {
    Shape x, w;
    int64_t stride;
    Padding2d pad;
  };
  const Case cases[] = {{{2, 3, 9, 7}, {5, 3, 3, 3}, 1, Padding2d::same(1)},
                        {{1, 4, 8, 8}, {6, 4, 3, 3}, 2, {0, 1, 0, 1}},  // taming's Downsample
                        {{2, 8, 5, 6}, {5, 8, 1, 1}, 1, {}},
                        {{1, 16, 40, 50}, {24, 16, 1, 1}, 1, {}},  // pointwise, several row tiles
                        {{1, 2, 11, 4}, {2, 2, 3, 1}, 2, {2, 0, 1, 1}},
                        {{1, 3, 300, 40}, {6, 3, 3, 3}, 1, Padding2d::same(1)},  // several row tiles
                        {{2, 40, 9, 13}, {3, 40, 3, 3}, 1, Padding2d::same(1)},   // few outputs: direct
                        {{1, 5, 6, 7}, {2, 5, 3, 2}, 1, {2, 0, 1, 3}},            // direct, uneven
                        {{2, 24, 16, 14}, {20, 24, 3, 3}, 1, {1, 0, 0, 1}}};  // Winograd
  uint32_t seed = 10;
  for (const Case& c : cases) {
    Tensor x = random_tensor(c.x, seed++), w = random_tensor(c.w, seed++), b = random_tensor({c.w[0]}, seed++);
    check_close(conv2d(x, w, b, c.stride, c.pad), naive_conv2d(x, w, b, c.stride, c.pad), 1e-4);
    check_close(conv2d(x, w, Tensor(), c.stride, c.pad), naive_conv2d(x, w, Tensor(), c.stride, c.pad), 1e-4);
  }
  CHECK_THROWS_AS(conv2d(random_tensor({1, 3, 4, 4}, 1), random_tensor({2, 4, 3, 3}, 2), Tensor(), 1, {}), Error);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(double(a[i]) - b[i]));
  return m;
}

TEST_CASE("Winograd 3×3 convolution matches the naive loop on realistic channel counts and ragged tiles") {
  struct Case {
    Shape x;
    int64_t cout;
    Padding2d pad;
  };
  // Odd sizes leave partial 2×2 tiles at the right and bottom; images narrower than a group of 16 tiles put
  // several rows, and images, in one group; output channels not a multiple of the 12-row panels leave partial
  // panels; the last case has more tiles than one block holds.
  const Case cases[] = {{{2, 3, 9, 7}, 5, Padding2d::same(1)},      {{3, 16, 13, 5}, 24, Padding2d::same(1)},
                        {{2, 128, 17, 19}, 128, Padding2d::same(1)}, {{1, 256, 9, 11}, 256, Padding2d::same(1)},
                        {{1, 512, 10, 6}, 64, Padding2d::same(1)},   {{2, 64, 7, 10}, 512, {0, 2, 1, 0}},
                        {{1, 32, 1, 1}, 8, Padding2d::same(1)},      {{1, 16, 6, 5}, 16, {3, 1, 5, 2}},
                        {{2, 24, 150, 90}, 16, Padding2d::same(1)}};
  uint32_t seed = 50;
  double worst = 0;
  for (const Case& c : cases) {
    CAPTURE(shape_to_string(c.x));
    // Weights at PyTorch's initialisation scale, so that outputs are O(1) as in a trained network.
    const float scale = 1.0f / std::sqrt(9.0f * c.x[1]);
    Tensor x = random_tensor(c.x, seed++), w = random_tensor({c.cout, c.x[1], 3, 3}, seed++, scale);
    Tensor b = random_tensor({c.cout}, seed++, 0.1f);
    for (const Tensor& bias : {b, Tensor()}) {
      const Tensor expected = naive_conv2d(x, w, bias, 1, c.pad);
      for (int threads : {1, 2}) {
        ThreadPool::set_threads(threads);
        const double err = max_abs_diff(conv2d_winograd(x, w, bias, c.pad), expected);
        CHECK(err < 1e-5);
        worst = std::max(worst, err);
      }
    }
  }
  MESSAGE("Winograd F(2x2,3x3): max abs error vs the naive loop (double) " << worst);
}

TEST_CASE("conv2d takes a prepared Winograd filter, and layers prepare theirs at load") {
  ThreadPool::set_threads(2);
  Tensor x = random_tensor({1, 32, 20, 20}, 60), b = random_tensor({48}, 61);
  Tensor w = random_tensor({48, 32, 3, 3}, 62, 0.06f);
  const Tensor expected = naive_conv2d(x, w, b, 1, Padding2d::same(1));
  const WinogradFilter filter = winograd_filter(w);
  CHECK(max_abs_diff(conv2d(x, w, b, 1, Padding2d::same(1), &filter), expected) < 2e-5);
  CHECK(max_abs_diff(conv2d(x, w, b, 1, Padding2d::same(1)), expected) < 2e-5);  // transformed for the call
  uint32_t seed = 70;
  WeightSource source = [&](const std::string&, const Shape& shape) { return random_tensor(shape, seed++, 0.06f); };
  Conv2dLayer layer = Conv2dLayer::load(source, "conv", 32, 48, 3, 1, Padding2d::same(1));
  REQUIRE(layer.winograd);
  CHECK(max_abs_diff(layer(x), naive_conv2d(x, layer.weight, layer.bias, 1, Padding2d::same(1))) < 2e-5);
  CHECK(!Conv2dLayer::load(source, "down", 32, 32, 3, 2, {0, 1, 0, 1}).winograd);
  const WinogradFilter other = winograd_filter(random_tensor({16, 32, 3, 3}, 1));
  CHECK_THROWS_AS(conv2d(x, w, b, 1, Padding2d::same(1), &other), Error);
  CHECK_THROWS_AS(conv2d_winograd(x, random_tensor({4, 32, 1, 1}, 1), Tensor(), {}), Error);
}

TEST_CASE("group_norm normalises each group over its channels and positions") {
  Tensor x = random_tensor({2, 64, 3, 5}, 20, 2.0f), g = random_tensor({64}, 21), b = random_tensor({64}, 22);
  Tensor y = group_norm(x, 32, g, b, 1e-6f);
  const int64_t per = 2 * 15;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t grp = 0; grp < 32; ++grp) {
      const float* in = x.data() + (n * 32 + grp) * per;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < per; ++i) mean += in[i];
      mean /= per;
      for (int64_t i = 0; i < per; ++i) var += (in[i] - mean) * (in[i] - mean);
      var /= per;
      for (int64_t i = 0; i < per; ++i) {
        int64_t ch = grp * 2 + i / 15;
        double expected = (in[i] - mean) / std::sqrt(var + 1e-6) * g[ch] + b[ch];
        REQUIRE(y[(n * 32 + grp) * per + i] == doctest::Approx(expected).epsilon(1e-4).scale(1.0));
      }
    }
  CHECK_THROWS_AS(group_norm(x, 5, g, b, 1e-6f), Error);
}

TEST_CASE("group_norm with silu equals group_norm, then x·sigmoid(x)") {
  // gamma up to ±100 sends the normalised values far into both tails of the sigmoid (and past exp's range).
  Tensor x = random_tensor({2, 64, 7, 9}, 23, 3.0f), g = random_tensor({64}, 24, 30.0f), b = random_tensor({64}, 25);
  Tensor plain = group_norm(x, 32, g, b, 1e-6f), fused = group_norm(x, 32, g, b, 1e-6f, true);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double v = plain[i], expected = v / (1 + std::exp(-v));
    REQUIRE(fused[i] == doctest::Approx(expected).epsilon(1e-6).scale(1e-24));  // relative, bar the far tail
  }
}

TEST_CASE("nearest upsampling repeats each pixel in a 2×2 square") {
  Tensor x = random_tensor({2, 3, 4, 5}, 30);
  Tensor y = upsample_nearest2x(x);
  REQUIRE(y.shape() == Shape{2, 3, 8, 10});
  for (int64_t p = 0; p < 6; ++p)
    for (int64_t i = 0; i < 8; ++i)
      for (int64_t j = 0; j < 10; ++j) REQUIRE(y[(p * 8 + i) * 10 + j] == x[(p * 4 + i / 2) * 5 + j / 2]);
}

TEST_CASE("AttnBlock equals single-head attention computed naively") {
  const int64_t c = 32, h = 3, w = 4, hw = h * w;
  uint32_t seed = 40;
  WeightSource source = [&](const std::string&, const Shape& shape) { return random_tensor(shape, seed++, 0.3f); };
  AttnBlock block = AttnBlock::load(source, "attn", c);
  seed = 40;  // replay the same weights in load order: norm w/b, q w/b, k w/b, v w/b, proj_out w/b
  Tensor gw = source("", {c}), gb = source("", {c});
  Tensor qw = source("", {c, c, 1, 1}), qb = source("", {c}), kw = source("", {c, c, 1, 1}), kb = source("", {c});
  Tensor vw = source("", {c, c, 1, 1}), vb = source("", {c}), pw = source("", {c, c, 1, 1}), pb = source("", {c});
  Tensor x = random_tensor({1, c, h, w}, 99);
  Tensor y = block(x);
  Tensor hn = group_norm(x, 32, gw, gb, 1e-6f);
  auto proj = [&](const Tensor& wt, const Tensor& bt, const Tensor& in) { return naive_conv2d(in, wt, bt, 1, {}); };
  Tensor q = proj(qw, qb, hn), k = proj(kw, kb, hn), v = proj(vw, vb, hn);
  Tensor att({1, c, h, w});
  for (int64_t i = 0; i < hw; ++i) {
    std::vector<double> s(hw);
    double max = -1e300, sum = 0;
    for (int64_t j = 0; j < hw; ++j) {
      for (int64_t ch = 0; ch < c; ++ch) s[j] += double(q[ch * hw + i]) * k[ch * hw + j];
      s[j] /= std::sqrt(double(c));
      max = std::max(max, s[j]);
    }
    for (auto& e : s) sum += e = std::exp(e - max);
    for (int64_t ch = 0; ch < c; ++ch) {
      double acc = 0;
      for (int64_t j = 0; j < hw; ++j) acc += v[ch * hw + j] * s[j] / sum;
      att[ch * hw + i] = static_cast<float>(acc);
    }
  }
  Tensor expected = proj(pw, pb, att);
  for (int64_t i = 0; i < x.numel(); ++i) expected[i] += x[i];
  check_close(y, expected, 1e-4);
}

TEST_CASE("conv1d matches the naive loop for strides and dilations") {
  ThreadPool::set_threads(2);
  struct Case {
    int64_t n, cin, cout, length, k, stride, dilation;
  };
  uint32_t seed = 200;
  for (const Case& c : {Case{2, 3, 5, 40, 7, 1, 1}, Case{1, 8, 4, 33, 3, 1, 9}, Case{3, 4, 6, 50, 8, 4, 1},
                        Case{1, 2, 3, 7, 7, 2, 1}, Case{2, 20, 6, 45, 3, 1, 2}, Case{1, 16, 5, 30, 1, 1, 1}}) {
    Tensor x = random_tensor({c.n, c.cin, c.length}, seed++), w = random_tensor({c.cout, c.cin, c.k}, seed++);
    Tensor b = random_tensor({c.cout}, seed++);
    const int64_t out = (c.length - c.dilation * (c.k - 1) - 1) / c.stride + 1;
    Tensor expected({c.n, c.cout, out});
    for (int64_t bi = 0; bi < c.n; ++bi)
      for (int64_t o = 0; o < c.cout; ++o)
        for (int64_t t = 0; t < out; ++t) {
          double s = b[o];
          for (int64_t ch = 0; ch < c.cin; ++ch)
            for (int64_t j = 0; j < c.k; ++j)
              s += double(w[(o * c.cin + ch) * c.k + j]) * x[(bi * c.cin + ch) * c.length + t * c.stride + j * c.dilation];
          expected[(bi * c.cout + o) * out + t] = static_cast<float>(s);
        }
    check_close(conv1d(x, w, b, c.stride, c.dilation), expected, 1e-4);
  }
  CHECK_THROWS_AS(conv1d(random_tensor({1, 2, 4}, 1), random_tensor({3, 2, 5}, 2), Tensor(), 1, 1), Error);
}

TEST_CASE("conv_transpose1d matches the naive scatter, untrimmed") {
  uint32_t seed = 300;
  for (auto [n, cin, cout, length, k, stride] : {std::array<int64_t, 6>{2, 4, 3, 9, 8, 4}, {1, 5, 2, 6, 3, 1},
                                                 {1, 3, 3, 5, 2, 3}}) {
    Tensor x = random_tensor({n, cin, length}, seed++), w = random_tensor({cin, cout, k}, seed++);
    Tensor b = random_tensor({cout}, seed++);
    const int64_t out = (length - 1) * stride + k;
    std::vector<double> acc(static_cast<size_t>(n * cout * out));
    for (int64_t bi = 0; bi < n; ++bi)
      for (int64_t o = 0; o < cout; ++o) {
        for (int64_t t = 0; t < out; ++t) acc[(bi * cout + o) * out + t] = b[o];
        for (int64_t ch = 0; ch < cin; ++ch)
          for (int64_t t = 0; t < length; ++t)
            for (int64_t j = 0; j < k; ++j)
              acc[(bi * cout + o) * out + t * stride + j] += double(x[(bi * cin + ch) * length + t]) * w[(ch * cout + o) * k + j];
      }
    Tensor expected({n, cout, out});
    for (int64_t i = 0; i < expected.numel(); ++i) expected[i] = static_cast<float>(acc[i]);
    check_close(conv_transpose1d(x, w, b, stride), expected, 1e-4);
  }
}
