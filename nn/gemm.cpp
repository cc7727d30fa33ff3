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
constexpr int64_t kLanes = 16;

// M input rows against `rows` weight rows: each weight row is loaded once and multiplied into all M inputs, whose
// sums stay in vector lanes (a single running float would serialise the loop). Sums are reduced lane by lane, so
// results do not depend on how the rows are split.
template <int M>
[[gnu::always_inline]] inline void small_matmul(const float* w, const float* x, int64_t ldx, float* y, int64_t ldy,
                                                int64_t rows, int64_t n) {
  const int64_t body = n / kLanes * kLanes;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = w + r * n;
    Lanes acc[M] = {};
    for (int64_t c = 0; c < body; c += kLanes) {
      const Lanes wv = *reinterpret_cast<const Lanes*>(row + c);
      for (int i = 0; i < M; ++i) acc[i] += wv * *reinterpret_cast<const Lanes*>(x + i * ldx + c);
    }
    for (int i = 0; i < M; ++i) {
      float sum = 0;
      for (int l = 0; l < kLanes; ++l) sum += acc[i][l];
      for (int64_t c = body; c < n; ++c) sum += row[c] * x[i * ldx + c];
      y[i * ldy + r] += sum;
    }
  }
}

}  // namespace

ANYTOK_SIMD_CLONES void add_small_matmul(const float* w, const float* x, int64_t m, int64_t ldx, float* y, int64_t ldy,
                                         int64_t rows, int64_t n) {
  switch (m) {
    case 1: return small_matmul<1>(w, x, ldx, y, ldy, rows, n);
    case 2: return small_matmul<2>(w, x, ldx, y, ldy, rows, n);
    case 3: return small_matmul<3>(w, x, ldx, y, ldy, rows, n);
    case 4: return small_matmul<4>(w, x, ldx, y, ldy, rows, n);
    case 5: return small_matmul<5>(w, x, ldx, y, ldy, rows, n);
    case 6: return small_matmul<6>(w, x, ldx, y, ldy, rows, n);
    case 7: return small_matmul<7>(w, x, ldx, y, ldy, rows, n);
    case 8: return small_matmul<8>(w, x, ldx, y, ldy, rows, n);
    default:
      for (int64_t i = 0; i < m; i += 8)
        add_small_matmul(w, x + i * ldx, std::min<int64_t>(8, m - i), ldx, y + i * ldy, ldy, rows, n);
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
