#include "nn/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nn/gemm.h"
#include "nn/thread_pool.h"

namespace anytok {

void attention(const AttentionShape& s, const float* q, const float* k, const float* v, const uint8_t* key_masked,
               bool causal, int64_t causal_offset, float* out) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  SerialBlas serial;
  // Heads in parallel; within a head, query rows in blocks so that the scores stay small.
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (s.q_len + kBlock - 1) / kBlock;
  ThreadPool::global().parallel_for(s.heads * blocks, [&](int64_t begin, int64_t end) {
    std::vector<float> scores;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t h = item / blocks, i0 = item % blocks * kBlock, rows = std::min(kBlock, s.q_len - i0);
      // Keys past the last one any query of the block may see need no scores.
      const int64_t keys = causal ? std::min(s.kv_len, causal_offset + i0 + rows) : s.kv_len;
      scores.assign(static_cast<size_t>(rows * std::max<int64_t>(keys, 1)), 0.0f);
      const float* qh = q + i0 * s.q_stride + h * s.head_dim;
      const float* kh = k + h * s.head_dim;
      const float* vh = v + h * s.head_dim;
      float* oh = out + i0 * s.out_stride + h * s.head_dim;
      if (keys > 0) gemm(false, true, rows, keys, s.head_dim, scale, qh, s.q_stride, kh, s.kv_stride, 0.0f, scores.data(), keys);
      for (int64_t r = 0; r < rows; ++r) {
        float* row = scores.data() + r * keys;
        const int64_t visible = causal ? std::min(keys, causal_offset + i0 + r + 1) : keys;
        float max = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j < visible; ++j)
          if (!key_masked || !key_masked[j]) max = std::max(max, row[j]);
        float sum = 0;
        for (int64_t j = 0; j < keys; ++j) {
          const bool seen = j < visible && (!key_masked || !key_masked[j]) && max > -std::numeric_limits<float>::infinity();
          row[j] = seen ? std::exp(row[j] - max) : 0.0f;
          sum += row[j];
        }
        const float inv = sum > 0 ? 1.0f / sum : 0.0f;
        for (int64_t j = 0; j < keys; ++j) row[j] *= inv;
      }
      for (int64_t r = 0; r < rows; ++r) std::fill(oh + r * s.out_stride, oh + r * s.out_stride + s.head_dim, 0.0f);
      if (keys > 0) gemm(false, false, rows, s.head_dim, keys, 1.0f, scores.data(), keys, vh, s.kv_stride, 0.0f, oh, s.out_stride);
    }
  });
}

}  // namespace anytok
