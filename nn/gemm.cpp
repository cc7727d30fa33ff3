#include "nn/gemm.h"

#include <cblas.h>

#include <algorithm>

#include "nn/thread_pool.h"

namespace anytok {

void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
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
