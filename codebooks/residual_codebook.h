// Residual vector quantization, as EnCodec's quantizer: codebook k quantizes what codebooks 0 .. k−1 left of
// each vector, so that the first few codebooks give a coarse code and each further one refines it.
// Layouts: vectors [T, dim] (one row per time step), codes [K, T] (one row per codebook, K ≤ layers()).
#pragma once
#include <cstdint>
#include <vector>
#include "codebooks/codebook.h"

namespace anytok {

class ResidualCodebook {
 public:
  explicit ResidualCodebook(std::vector<Codebook> layers);
  int64_t layers() const { return static_cast<int64_t>(layers_.size()); }
  int64_t size() const { return layers_.front().size(); }  // codes per codebook
  int64_t dim() const { return layers_.front().dim(); }
  const Codebook& layer(int64_t k) const { return layers_[static_cast<size_t>(k)]; }
  // vectors [count, dim] → codes [n_q, count] from the first n_q codebooks.
  std::vector<int64_t> encode(const float* vectors, int64_t count, int64_t n_q) const;
  // codes [n_q, count] → [count, dim]: each step's code vectors summed in codebook order. Throws Error on a code
  // outside 0 .. size−1.
  Tensor decode(const int64_t* codes, int64_t n_q, int64_t count) const;

 private:
  std::vector<Codebook> layers_;
};

}  // namespace anytok
