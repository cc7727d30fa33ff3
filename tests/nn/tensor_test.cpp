#include <doctest/doctest.h>

#include "nn/error.h"
#include "nn/tensor.h"

using namespace anytok;

TEST_CASE("a tensor is zero-filled, reshapes in place and clones deeply") {
  Tensor t({2, 3});
  CHECK(t.numel() == 6);
  CHECK(t.rank() == 2);
  CHECK(t.dim(-1) == 3);
  for (int64_t i = 0; i < t.numel(); ++i) CHECK(t[i] == 0.0f);
  t[4] = 7;
  Tensor r = t.reshape({3, 2});
  CHECK(r.data() == t.data());
  CHECK(r[4] == 7);
  Tensor c = t.clone();
  c[4] = 1;
  CHECK(t[4] == 7);
  CHECK_THROWS_WITH_AS(t.reshape({4, 2}), "cannot reshape [2,3] to [4,2]", Error);
  CHECK_THROWS_AS(t.dim(2), Error);
}

TEST_CASE("shapes that overflow or go negative are refused") {
  CHECK(shape_numel({}) == 1);
  CHECK(shape_numel({0, 5}) == 0);
  CHECK_THROWS_AS(shape_numel({-1, 2}), Error);
  CHECK_THROWS_AS(shape_numel({int64_t{1} << 40, int64_t{1} << 40}), Error);
  CHECK_THROWS_AS(Tensor({2, 2}, {1, 2, 3}), Error);
}
