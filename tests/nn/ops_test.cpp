// Every op against a naive reference on random data.
#include <doctest/doctest.h>

#include <cmath>

#include "nn/error.h"
#include "nn/gemm.h"
#include "nn/ops.h"
#include "nn/thread_pool.h"
#include "test_util.h"

using namespace anytok;
using anytok::test::random_tensor;

TEST_CASE("gemm matches the naive triple loop for every transpose") {
  ThreadPool::set_threads(2);
  const int64_t m = 37, n = 29, k = 53;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Tensor a = random_tensor(ta ? Shape{k, m} : Shape{m, k}, 1);
      Tensor b = random_tensor(tb ? Shape{n, k} : Shape{k, n}, 2);
      Tensor c = random_tensor({m, n}, 3);
      Tensor expected({m, n});
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double s = 0;
          for (int64_t p = 0; p < k; ++p) s += double(ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
          expected[i * n + j] = static_cast<float>(0.5 * s + 2.0 * c[i * n + j]);
        }
      gemm(ta, tb, m, n, k, 0.5f, a.data(), ta ? m : k, b.data(), tb ? k : n, 2.0f, c.data(), n);
      for (int64_t i = 0; i < m * n; ++i) CHECK(c[i] == doctest::Approx(expected[i]).epsilon(1e-4));
    }
}

TEST_CASE("linear is x·Wᵀ + b over every leading axis") {
  Tensor x = random_tensor({2, 3, 16}, 4), w = random_tensor({8, 16}, 5), b = random_tensor({8}, 6);
  Tensor y = linear(x, w, b);
  REQUIRE(y.shape() == Shape{2, 3, 8});
  for (int64_t r = 0; r < 6; ++r)
    for (int64_t o = 0; o < 8; ++o) {
      double s = b[o];
      for (int64_t i = 0; i < 16; ++i) s += double(x[r * 16 + i]) * w[o * 16 + i];
      CHECK(y[r * 8 + o] == doctest::Approx(s).epsilon(1e-5));
    }
  Tensor no_bias = linear(x, w, Tensor());
  CHECK(no_bias[0] == doctest::Approx(y[0] - b[0]).epsilon(1e-5));
  CHECK_THROWS_AS(linear(x, random_tensor({8, 15}, 7), Tensor()), Error);
}

TEST_CASE("softmax rows sum to one and follow exp ratios, even for large logits") {
  Tensor x = random_tensor({5, 33}, 8, 30.0f);
  Tensor ref = x.clone();
  softmax_(x);
  for (int64_t r = 0; r < 5; ++r) {
    double max = -1e30, sum = 0;
    for (int64_t c = 0; c < 33; ++c) max = std::max<double>(max, ref[r * 33 + c]);
    for (int64_t c = 0; c < 33; ++c) sum += std::exp(ref[r * 33 + c] - max);
    for (int64_t c = 0; c < 33; ++c)
      CHECK(x[r * 33 + c] == doctest::Approx(std::exp(ref[r * 33 + c] - max) / sum).epsilon(1e-5));
  }
}

TEST_CASE("layer_norm normalises each row with the biased variance") {
  Tensor x = random_tensor({4, 64}, 9, 3.0f), g = random_tensor({64}, 10), b = random_tensor({64}, 11);
  Tensor y = layer_norm(x, g, b, 1e-5f);
  for (int64_t r = 0; r < 4; ++r) {
    double mean = 0, var = 0;
    for (int64_t c = 0; c < 64; ++c) mean += x[r * 64 + c];
    mean /= 64;
    for (int64_t c = 0; c < 64; ++c) var += (x[r * 64 + c] - mean) * (x[r * 64 + c] - mean);
    var /= 64;
    for (int64_t c = 0; c < 64; ++c)
      CHECK(y[r * 64 + c] == doctest::Approx((x[r * 64 + c] - mean) / std::sqrt(var + 1e-5) * g[c] + b[c]).epsilon(1e-4));
  }
}

TEST_CASE("activations match their definitions") {
  Tensor x = random_tensor({1000}, 12, 4.0f);
  Tensor r = x.clone(), g = x.clone(), s = x.clone(), e = x.clone();
  relu_(r);
  gelu_(g);
  silu_(s);
  elu_(e, 0.7f);
  for (int64_t i = 0; i < x.numel(); ++i) {
    double v = x[i];
    CHECK(r[i] == doctest::Approx(v > 0 ? v : 0));
    CHECK(g[i] == doctest::Approx(0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))).epsilon(1e-5));
    CHECK(s[i] == doctest::Approx(v / (1 + std::exp(-v))).epsilon(1e-5));
    CHECK(e[i] == doctest::Approx(v > 0 ? v : 0.7 * (std::exp(v) - 1)).epsilon(1e-5));
  }
  Tensor a = random_tensor({7, 3}, 13), b = random_tensor({7, 3}, 14), sum = a.clone();
  add_(sum, b);
  for (int64_t i = 0; i < a.numel(); ++i) CHECK(sum[i] == doctest::Approx(a[i] + b[i]));
}
