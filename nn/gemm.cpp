#include "nn/gemm.h"

#include <cblas.h>

#include <algorithm>

#include "nn/simd.h"
#include "nn/thread_pool.h"

namespace anytok {

void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}


namespace {
// 16 floats as one value, loaded from any float address; each SIMD clone maps it onto its widest registers.
typedef float Lanes __attribute__((vector_size(64), aligned(4)));

// Four rows at a time share each load of h, each row's sum kept in vector lanes (a single running float would
// serialise the loop).
}  // namespace

ANYTOK_SIMD_CLONES void add_matvec(const float* w, const float* h, float* g, int64_t rows, int64_t n) {
  constexpr int64_t kLanes = 16;
  const int64_t body = n / kLanes * kLanes;
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* w0 = w + r * n;
    Lanes a0 = {}, a1 = {}, a2 = {}, a3 = {};
    for (int64_t c = 0; c < body; c += kLanes) {
      const Lanes x = *reinterpret_cast<const Lanes*>(h + c);
      a0 += *reinterpret_cast<const Lanes*>(w0 + c) * x;
      a1 += *reinterpret_cast<const Lanes*>(w0 + n + c) * x;
      a2 += *reinterpret_cast<const Lanes*>(w0 + 2 * n + c) * x;
      a3 += *reinterpret_cast<const Lanes*>(w0 + 3 * n + c) * x;
    }
    const Lanes* sums[4] = {&a0, &a1, &a2, &a3};
    for (int q = 0; q < 4; ++q) {
      float sum = 0;
      for (int l = 0; l < kLanes; ++l) sum += (*sums[q])[l];
      for (int64_t c = body; c < n; ++c) sum += w0[q * n + c] * h[c];
      g[r + q] += sum;
    }
  }
  for (; r < rows; ++r) {
    float sum = 0;
    for (int64_t c = 0; c < n; ++c) sum += w[r * n + c] * h[c];
    g[r] += sum;
  }
}

SerialBlas::SerialBlas() {
  std::lock_guard lock(mutex_);
  if (users_++ == 0) {
    saved_ = openblas_get_num_threads();
    openblas_set_num_threads(1);
  }
}

SerialBlas::~SerialBlas() {
  std::lock_guard lock(mutex_);
  if (--users_ == 0) openblas_set_num_threads(saved_);
}

void gemm_parallel(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  SerialBlas serial;
  ThreadPool& pool = ThreadPool::global();
  // Column tiles of at least 64 (narrower ones waste the GEMM kernel's width), a few per thread for balance.
  const int64_t tile = std::max<int64_t>(64, (n + 2 * pool.size() - 1) / (2 * pool.size()));
  pool.parallel_for((n + tile - 1) / tile, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n0 = t * tile, cols = std::min(tile, n - n0);
      gemm(transpose_a, transpose_b, m, cols, k, alpha, a, lda, transpose_b ? b + n0 * ldb : b + n0, ldb, beta, c + n0,
           ldc);
    }
  });
}

}  // namespace anytok
