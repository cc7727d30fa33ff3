#include "nn/lstm.h"

#include <cblas.h>

#include <cmath>

#include "nn/error.h"
#include "nn/gemm.h"

namespace anytok {

Lstm::Lstm(std::vector<LstmLayer> layers) : layers_(std::move(layers)) {
  for (size_t l = 0; l < layers_.size(); ++l) {
    const LstmLayer& layer = layers_[l];
    const int64_t h = layer.w_hh.dim(1);
    if (layer.w_hh.dim(0) != 4 * h || layer.w_ih.dim(0) != 4 * h || layer.bias.numel() != 4 * h ||
        (l > 0 && layer.w_ih.dim(1) != layers_[l - 1].w_hh.dim(1)))
      throw Error(cat("LSTM layer ", l, ": weights ", layer.w_ih.shape(), ", ", layer.w_hh.shape(), " and bias ",
                      layer.bias.shape(), " do not fit together"));
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

namespace {
inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
}  // namespace

Tensor Lstm::operator()(const Tensor& x) {
  if (x.rank() != 2) throw Error(cat("LSTM: input ", x.shape(), " must be [T, features]"));
  Tensor input = x;
  for (size_t l = 0; l < layers_.size(); ++l) {
    const LstmLayer& layer = layers_[l];
    const int64_t steps = input.dim(0), in = input.dim(1), hidden = layer.w_hh.dim(1), width = 4 * hidden;
    if (in != layer.w_ih.dim(1)) throw Error(cat("LSTM: input ", input.shape(), " does not fit ", layer.w_ih.shape()));
    // The input's share of every gate for all steps at once, one GEMM; only the recurrent part is step by step.
    Tensor gates({steps, width});
    for (int64_t t = 0; t < steps; ++t) std::copy(layer.bias.data(), layer.bias.data() + width, gates.data() + t * width);
    gemm(false, true, steps, width, in, 1.0f, input.data(), in, layer.w_ih.data(), in, 1.0f, gates.data(), width);
    Tensor output({steps, hidden});
    float* h = h_[l].data();
    float* c = c_[l].data();
    for (int64_t t = 0; t < steps; ++t) {
      float* g = gates.data() + t * width;
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<blasint>(width), static_cast<blasint>(hidden), 1.0f,
                  layer.w_hh.data(), static_cast<blasint>(hidden), h, 1, 1.0f, g, 1);
      float* out = output.data() + t * hidden;
      for (int64_t j = 0; j < hidden; ++j) {
        const float i_gate = sigmoid(g[j]), f_gate = sigmoid(g[hidden + j]);
        const float cell = std::tanh(g[2 * hidden + j]), o_gate = sigmoid(g[3 * hidden + j]);
        c[j] = f_gate * c[j] + i_gate * cell;
        h[j] = o_gate * std::tanh(c[j]);
        out[j] = h[j];
      }
    }
    input = output;
  }
  return input;
}

}  // namespace anytok
