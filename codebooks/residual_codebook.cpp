#include "codebooks/residual_codebook.h"

#include <algorithm>

#include "nn/error.h"
#include "nn/gemm.h"

namespace anytok {

ResidualCodebook::ResidualCodebook(std::vector<Codebook> layers) : layers_(std::move(layers)) {
  if (layers_.empty()) throw Error("residual codebook: no codebooks");
  for (const Codebook& layer : layers_)
    if (layer.size() != size() || layer.dim() != dim())
      throw Error(cat("residual codebook: codebooks of ", layer.size(), "×", layer.dim(), " and ", size(), "×", dim(),
                      " cannot be mixed"));
}

std::vector<int64_t> ResidualCodebook::encode(const float* vectors, int64_t count, int64_t n_q) const {
  if (n_q < 1 || n_q > layers())
    throw Error(cat("residual codebook: ", n_q, " codebooks asked for, ", layers(), " available"));
  SerialBlas serial;  // the search is small; OpenBLAS's threads would only spin against the pool's
  std::vector<int64_t> codes(static_cast<size_t>(n_q * count));
  std::vector<float> residual(vectors, vectors + count * dim()), quantized(residual.size());
  for (int64_t k = 0; k < n_q; ++k) {
    const std::vector<int64_t> nearest = layers_[k].nearest(residual.data(), count);
    std::copy(nearest.begin(), nearest.end(), codes.begin() + k * count);
    if (k + 1 == n_q) break;
    layers_[k].lookup(nearest.data(), count, quantized.data());
    for (size_t i = 0; i < residual.size(); ++i) residual[i] -= quantized[i];
  }
  return codes;
}

Tensor ResidualCodebook::decode(const int64_t* codes, int64_t n_q, int64_t count) const {
  if (n_q < 1 || n_q > layers())
    throw Error(cat("residual codebook: codes from ", n_q, " codebooks, the model has ", layers()));
  Tensor sum({count, dim()});
  std::vector<float> quantized(static_cast<size_t>(count * dim()));
  for (int64_t k = 0; k < n_q; ++k) {
    layers_[k].lookup(codes + k * count, count, quantized.data());
    for (int64_t i = 0; i < sum.numel(); ++i) sum[i] += quantized[static_cast<size_t>(i)];
  }
  return sum;
}

}  // namespace anytok
