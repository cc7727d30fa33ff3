#include "nn/lstm.h"

#include <cmath>

#include "nn/error.h"
#include "nn/gemm.h"
#include "nn/thread_pool.h"

namespace anytok {

namespace {

// PyTorch stacks the gates by kind (all i, then all f, g, o); here each unit's four gates sit together, so that
// a thread that computes some units' gate rows can finish those units without waiting for the others.
Tensor interleave_units(const Tensor& stacked, int64_t hidden) {
  const int64_t cols = stacked.numel() / (4 * hidden);
  Tensor out = Tensor::uninitialized(stacked.shape());
  for (int64_t gate = 0; gate < 4; ++gate)
    for (int64_t j = 0; j < hidden; ++j)
      std::copy_n(stacked.data() + (gate * hidden + j) * cols, cols, out.data() + (4 * j + gate) * cols);
  return out;
}

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

Lstm::Lstm(std::vector<LstmLayer> layers) : layers_(std::move(layers)) {
  for (size_t l = 0; l < layers_.size(); ++l) {
    LstmLayer& layer = layers_[l];
    const int64_t h = layer.w_hh.dim(1);
    if (layer.w_hh.dim(0) != 4 * h || layer.w_ih.dim(0) != 4 * h || layer.bias.numel() != 4 * h ||
        (l > 0 && layer.w_ih.dim(1) != layers_[l - 1].w_hh.dim(1)))
      throw Error(cat("LSTM layer ", l, ": weights ", layer.w_ih.shape(), ", ", layer.w_hh.shape(), " and bias ",
                      layer.bias.shape(), " do not fit together"));
    layer.w_ih = interleave_units(layer.w_ih, h);
    layer.w_hh = interleave_units(layer.w_hh, h);
    layer.bias = interleave_units(layer.bias, h);
  }
  reset();
}

void Lstm::reset() {
  h_.assign(layers_.size(), {});
  c_.assign(layers_.size(), {});
  for (size_t l = 0; l < layers_.size(); ++l) {
    h_[l].assign(static_cast<size_t>(layers_[l].w_hh.dim(1)), 0.0f);
    c_[l].assign(h_[l].size(), 0.0f);
  }
}

Tensor Lstm::operator()(const Tensor& x) {
  if (x.rank() != 2) throw Error(cat("LSTM: input ", x.shape(), " must be [T, features]"));
  Tensor input = x;
  for (size_t l = 0; l < layers_.size(); ++l) {
    const LstmLayer& layer = layers_[l];
    const int64_t steps = input.dim(0), in = input.dim(1), hidden = layer.w_hh.dim(1), width = 4 * hidden;
    if (in != layer.w_ih.dim(1)) throw Error(cat("LSTM: input ", input.shape(), " does not fit ", layer.w_ih.shape()));
    // The input's share of every gate for all steps at once, one GEMM; only the recurrent part is step by step.
    Tensor gates = Tensor::uninitialized({steps, width});
    for (int64_t t = 0; t < steps; ++t) std::copy(layer.bias.data(), layer.bias.data() + width, gates.data() + t * width);
    gemm_parallel(false, true, steps, width, in, 1.0f, input.data(), in, layer.w_ih.data(), in, 1.0f, gates.data(),
                  width);
    Tensor output = Tensor::uninitialized({steps, hidden});
    float* c = c_[l].data();
    for (int64_t t = 0; t < steps; ++t) {
      // Units split across threads: each reads the previous hidden state and writes its units' new one.
      const float* h_prev = t == 0 ? h_[l].data() : output.data() + (t - 1) * hidden;
      float* h_next = output.data() + t * hidden;
      float* g = gates.data() + t * width;
      ThreadPool::global().parallel_for(hidden, [&](int64_t begin, int64_t end) {
        add_small_matmul(layer.w_hh.data() + 4 * begin * hidden, h_prev, 1, hidden, g + 4 * begin, width,
                         4 * (end - begin), hidden);
        for (int64_t j = begin; j < end; ++j) {
          const float* u = g + 4 * j;  // i, f, g, o of unit j
          c[j] = sigmoid(u[1]) * c[j] + sigmoid(u[0]) * std::tanh(u[2]);
          h_next[j] = sigmoid(u[3]) * std::tanh(c[j]);
        }
      }, 64);
    }
    if (steps > 0) std::copy_n(output.data() + (steps - 1) * hidden, hidden, h_[l].data());
    input = output;
  }
  return input;
}

}  // namespace anytok
