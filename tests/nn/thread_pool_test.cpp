#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "nn/thread_pool.h"

using namespace anytok;

TEST_CASE("parallel_for covers every index exactly once, for any size and grain") {
  ThreadPool pool(4);
  for (int64_t n : {0, 1, 7, 1000, 100003})
    for (int64_t grain : {1, 3, 5000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool.parallel_for(n, [&](int64_t b, int64_t e) {
        CHECK(b < e);
        for (int64_t i = b; i < e; ++i) hits[i]++;
      }, grain);
      for (auto& h : hits) REQUIRE(h.load() == 1);
    }
}

TEST_CASE("an exception inside the work reaches the caller, and the pool keeps working") {
  ThreadPool pool(3);
  CHECK_THROWS_WITH(pool.parallel_for(1000, [](int64_t b, int64_t) {
    if (b > 500) throw std::runtime_error("boom");
  }), "boom");
  std::atomic<int64_t> sum = 0;
  pool.parallel_for(1000, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) sum += i;
  });
  CHECK(sum == 999 * 1000 / 2);
}

TEST_CASE("nested parallel_for runs serially instead of deadlocking") {
  ThreadPool pool(2);
  std::atomic<int> count = 0;
  pool.parallel_for(8, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) pool.parallel_for(10, [&](int64_t b2, int64_t e2) { count += int(e2 - b2); });
  });
  CHECK(count == 80);
}
