// Convolution-network ops against naive references on random data.
#include <doctest/doctest.h>

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

TEST_CASE("conv2d matches the naive loop for kernels, strides, paddings and odd sizes") {
  ThreadPool::set_threads(2);
  struct Case {
    Shape x, w;
    int64_t stride;
    Padding2d pad;
  };
  const Case cases[] = {{{2, 3, 9, 7}, {5, 3, 3, 3}, 1, Padding2d::same(1)},
                        {{1, 4, 8, 8}, {6, 4, 3, 3}, 2, {0, 1, 0, 1}},  // taming's Downsample
                        {{2, 8, 5, 6}, {3, 8, 1, 1}, 1, {}},
                        {{1, 2, 11, 4}, {2, 2, 3, 1}, 2, {2, 0, 1, 1}},
                        {{1, 3, 300, 40}, {4, 3, 3, 3}, 1, Padding2d::same(1)}};  // several row tiles
  uint32_t seed = 10;
  for (const Case& c : cases) {
    Tensor x = random_tensor(c.x, seed++), w = random_tensor(c.w, seed++), b = random_tensor({c.w[0]}, seed++);
    check_close(conv2d(x, w, b, c.stride, c.pad), naive_conv2d(x, w, b, c.stride, c.pad), 1e-4);
    check_close(conv2d(x, w, Tensor(), c.stride, c.pad), naive_conv2d(x, w, Tensor(), c.stride, c.pad), 1e-4);
  }
  CHECK_THROWS_AS(conv2d(random_tensor({1, 3, 4, 4}, 1), random_tensor({2, 4, 3, 3}, 2), Tensor(), 1, {}), Error);
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
