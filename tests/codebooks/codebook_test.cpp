#include <doctest/doctest.h>

#include <cmath>

#include "codebooks/codebook.h"
#include "nn/error.h"
#include "test_util.h"

using namespace anytok;

TEST_CASE("nearest codes match a float32 ‖z‖² + ‖e‖² − 2·z·e argmin, for any batch size") {
  const int64_t n = 300, d = 8;
  Codebook book(test::random_tensor({n, d}, 1));
  for (int64_t count : {1, 5, 19, 20, 1000}) {
    CAPTURE(count);
    Tensor z = test::random_tensor({count, d}, 2 + static_cast<uint32_t>(count));
    auto codes = book.nearest(z.data(), count);
    for (int64_t i = 0; i < count; ++i) {
      // The reference in float64; a code may differ only at a float32 near-tie.
      double best = 1e300, second = 1e300;
      int64_t best_code = -1;
      for (int64_t c = 0; c < n; ++c) {
        double dist = 0;
        for (int64_t k = 0; k < d; ++k) dist += std::pow(double(z[i * d + k]) - book.embedding()[c * d + k], 2);
        if (dist < best) {
          second = best;
          best = dist;
          best_code = c;
        } else if (dist < second) {
          second = dist;
        }
      }
      if ((second - best) / best > 1e-3) CHECK(codes[i] == best_code);
    }
  }
}

TEST_CASE("ties go to the first code") {
  Tensor e({4, 2}, {1, 0, 0, 1, 1, 0, -1, 0});  // codes 0 and 2 are the same vector
  Codebook book(e);
  float z[] = {0.9f, 0.1f};
  CHECK(book.nearest(z, 1) == std::vector<int64_t>{0});
}

TEST_CASE("look-up returns the rows, and refuses codes outside the codebook") {
  Codebook book(test::random_tensor({10, 3}, 5));
  int64_t codes[] = {7, 0};
  float out[6];
  book.lookup(codes, 2, out);
  for (int k = 0; k < 3; ++k) {
    CHECK(out[k] == book.embedding()[7 * 3 + k]);
    CHECK(out[3 + k] == book.embedding()[k]);
  }
  int64_t bad[] = {10};
  CHECK_THROWS_WITH_AS(book.lookup(bad, 1, out), "code 10 is outside the codebook's 0..9", Error);
  float nan[] = {NAN, 0, 0};
  CHECK_THROWS_AS(book.nearest(nan, 1), Error);
}

TEST_CASE("statistics count usage and perplexity") {
  auto s = Codebook::statistics({0, 1, 2, 3, 0, 1, 2, 3}, 8);
  CHECK(s.used == 4);
  CHECK(s.total == 8);
  CHECK(s.perplexity == doctest::Approx(4.0));
  CHECK(s.counts[3] == 2);
  CHECK(Codebook::statistics({5, 5}, 8).perplexity == doctest::Approx(1.0));
  CHECK_THROWS_AS(Codebook::statistics({9}, 8), Error);
}
