// Matrix products through OpenBLAS. All matrices are row-major float32.
#pragma once

#include <cstdint>

namespace anytok {

// C[m,n] = alpha · op(A) · op(B) + beta · C, where op(A) is [m,k] and op(B) is [k,n]; op transposes when asked.
// lda/ldb/ldc are the row strides of A, B and C as stored.
void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace anytok
