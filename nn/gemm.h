// Matrix products through OpenBLAS. All matrices are row-major float32.
#pragma once

#include <cstdint>
#include <mutex>

namespace anytok {

// C[m,n] = alpha · op(A) · op(B) + beta · C, where op(A) is [m,k] and op(B) is [k,n]; op transposes when asked.
// lda/ldb/ldc are the row strides of A, B and C as stored.
void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);


// The same with the columns of C split over the thread pool, each part a single-threaded OpenBLAS call: for the
// many mid-sized GEMMs of audio networks, where OpenBLAS's own threads cost more in start-up and spinning than
// they save.
void gemm_parallel(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// y[i, r] += Σ_c w[r, c]·x[i, c] for i < m and r < rows, w [rows, n] row-major, x rows ldx apart, y rows ldy
// apart, on the calling thread. For few inputs (an LSTM step, a decoding step), where the weights are read once
// and the work is memory-bound; callers split the weight rows over the pool. OpenBLAS would repack the weights
// on every call.
void add_small_matmul(const float* w, const float* x, int64_t m, int64_t ldx, float* y, int64_t ldy, int64_t rows,
                      int64_t n);

// OpenBLAS runs single-threaded while this lives, for convolutions that spread their GEMMs over the thread pool
// themselves: OpenBLAS's own threads would otherwise spin (sched_yield) against the pool's for a while after each
// GEMM, taking a tenth of the cores' time.
class SerialBlas {
 public:
  SerialBlas();
  ~SerialBlas();
  SerialBlas(const SerialBlas&) = delete;
  SerialBlas& operator=(const SerialBlas&) = delete;

 private:
  static inline std::mutex mutex_;
  static inline int users_ = 0, saved_ = 1;
};

}  // namespace anytok
