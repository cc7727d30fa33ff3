// A multi-layer LSTM (PyTorch's nn.LSTM, unidirectional, gates stacked i, f, g, o) that can run over a sequence
// in pieces: the hidden and cell state of every layer carry from one call to the next, so that running a
// sequence in chunks gives the same outputs as running it at once.
#pragma once
#include <cstdint>
#include <vector>
#include "nn/tensor.h"

namespace anytok {

struct LstmLayer {
  Tensor w_ih;  // [4H, in]
  Tensor w_hh;  // [4H, H]
  Tensor bias;  // [4H], b_ih + b_hh, summed once at load
};

class Lstm {
 public:
  Lstm() = default;
  explicit Lstm(std::vector<LstmLayer> layers);
  int64_t hidden() const { return layers_.empty() ? 0 : layers_[0].w_hh.dim(1); }
  // x [T, in] (time-major) → [T, H], the last layer's hidden states. State carries over to the next call.
  Tensor operator()(const Tensor& x);
  void reset();  // zero state, as at the start of a sequence

 private:
  std::vector<LstmLayer> layers_;
  std::vector<std::vector<float>> h_, c_;  // per layer, [H]
};

}  // namespace anytok
