#include "nn/ops.h"

#include <algorithm>
#include <cmath>

#include "nn/error.h"
#include "nn/gemm.h"
#include "nn/simd.h"
#include "nn/thread_pool.h"

namespace anytok {
namespace {

int64_t last_dim(const Tensor& x, const char* op) {
  if (x.rank() == 0) throw Error(cat(op, ": needs a tensor of rank 1 or more"));
  return x.dim(-1);
}

template <typename F>
void for_each_element(Tensor& x, F f) {
  float* p = x.data();
  ThreadPool::global().parallel_for(
      x.numel(), [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) p[i] = f(p[i]);
      },
      1 << 14);
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  int64_t in = last_dim(x, "linear");
  if (weight.rank() != 2 || weight.dim(1) != in)
    throw Error(cat("linear: weight ", weight.shape(), " does not take inputs of width ", in));
  int64_t out = weight.dim(0);
  if (!bias.empty() && (bias.rank() != 1 || bias.dim(0) != out))
    throw Error(cat("linear: bias ", bias.shape(), " does not match ", out, " outputs"));
  Shape shape = x.shape();
  shape.back() = out;
  Tensor y = Tensor::uninitialized(shape);
  int64_t rows = x.numel() / std::max<int64_t>(in, 1);
  for (int64_t r = 0; r < rows; ++r)
    if (bias.empty()) std::fill(y.data() + r * out, y.data() + (r + 1) * out, 0.0f);
    else std::copy(bias.data(), bias.data() + out, y.data() + r * out);
  if (rows <= 8) {
    // A few rows (decoding steps): memory-bound, so the weight's rows are split over the threads and each is read
    // once for all inputs.
    ThreadPool::global().parallel_for(out, [&](int64_t begin, int64_t end) {
      add_small_matmul(weight.data() + begin * in, x.data(), rows, in, y.data() + begin, out, end - begin, in);
    }, 256);
  } else {
    gemm_parallel(false, true, rows, out, in, 1.0f, x.data(), in, weight.data(), in, 1.0f, y.data(), out);
  }
  return y;
}

void softmax_(Tensor& x) {
  int64_t cols = last_dim(x, "softmax");
  int64_t rows = cols ? x.numel() / cols : 0;
  ThreadPool::global().parallel_for(
      rows, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          float* row = x.data() + r * cols;
          float max = *std::max_element(row, row + cols);
          float sum = 0;
          for (int64_t c = 0; c < cols; ++c) sum += row[c] = std::exp(row[c] - max);
          float inv = 1.0f / sum;
          for (int64_t c = 0; c < cols; ++c) row[c] *= inv;
        }
      },
      std::max<int64_t>(1, 4096 / std::max<int64_t>(cols, 1)));
}

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps) {
  int64_t cols = last_dim(x, "layer_norm");
  if (gamma.numel() != cols || beta.numel() != cols)
    throw Error(cat("layer_norm: gamma ", gamma.shape(), " and beta ", beta.shape(), " must have ", cols, " values"));
  Tensor y(x.shape());
  int64_t rows = cols ? x.numel() / cols : 0;
  ThreadPool::global().parallel_for(
      rows, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const float* in = x.data() + r * cols;
          float* out = y.data() + r * cols;
          double mean = 0, var = 0;
          for (int64_t c = 0; c < cols; ++c) mean += in[c];
          mean /= cols;
          for (int64_t c = 0; c < cols; ++c) var += (in[c] - mean) * (in[c] - mean);
          var /= cols;
          float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
          for (int64_t c = 0; c < cols; ++c)
            out[c] = (in[c] - static_cast<float>(mean)) * inv * gamma[c] + beta[c];
        }
      },
      std::max<int64_t>(1, 4096 / std::max<int64_t>(cols, 1)));
  return y;
}

void relu_(Tensor& x) {
  for_each_element(x, [](float v) { return v > 0 ? v : 0.0f; });
}

void gelu_(Tensor& x) {
  for_each_element(x, [](float v) { return 0.5f * v * (1.0f + std::erf(v * static_cast<float>(M_SQRT1_2))); });
}

void silu_(Tensor& x) {
  for_each_element(x, [](float v) { return v / (1.0f + std::exp(-v)); });
}

namespace {

// In chunks, clamping to exp's range in a loop of its own: in the same loop the compiler specialises the clamp
// into branches and no longer vectorises. e^x − 1 by subtraction loses relative precision near 0, but stays
// within a float ulp of 1 absolutely, which is what the next layer sees.
ANYTOK_SIMD_CLONES void elu_span(float* p, int64_t n, float alpha) {
  constexpr int64_t kChunk = 256;
  float e[kChunk];
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t len = std::min(kChunk, n - i0);
    float* v = p + i0;
    for (int64_t i = 0; i < len; ++i) e[i] = std::max(std::min(v[i], 0.0f), -87.0f);
    for (int64_t i = 0; i < len; ++i) v[i] = v[i] > 0 ? v[i] : alpha * (exp_vectorisable(e[i]) - 1.0f);
  }
}

}  // namespace

void elu_(Tensor& x, float alpha) {
  float* p = x.data();
  ThreadPool::global().parallel_for(x.numel(), [&](int64_t begin, int64_t end) { elu_span(p + begin, end - begin, alpha); },
                                    1 << 14);
}

void add_(Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) throw Error(cat("add: shapes ", a.shape(), " and ", b.shape(), " differ"));
  float* p = a.data();
  const float* q = b.data();
  ThreadPool::global().parallel_for(
      a.numel(), [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) p[i] += q[i];
      },
      1 << 14);
}

}  // namespace anytok
