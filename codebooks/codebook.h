// A VQ codebook: `size` code vectors of dimension `dim`, rows of embedding [size, dim].
// Nearest-code search runs through FAISS with the arithmetic upstream VQ layers use, so that codes match:
// d(z, e) = ‖z‖² + ‖e‖² − 2·z·e in float32, argmin, the first index on ties.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "nn/tensor.h"

namespace faiss {
struct IndexFlatL2;
}

namespace anytok {

struct CodebookStats {
  std::vector<int64_t> counts;  // [size]: how often each code was used
  int64_t total = 0;            // codes counted
  int64_t used = 0;             // codes used at least once
  double perplexity = 0;        // exp(entropy of the usage distribution); `size` when usage is uniform
};

class Codebook {
 public:
  explicit Codebook(Tensor embedding);  // [size, dim]
  ~Codebook();
  Codebook(Codebook&&) noexcept;
  Codebook& operator=(Codebook&&) noexcept;

  int64_t size() const { return embedding_.dim(0); }
  int64_t dim() const { return embedding_.dim(1); }
  const Tensor& embedding() const { return embedding_; }

  // vectors: [count, dim] row-major → the nearest code of each, batched in one search.
  std::vector<int64_t> nearest(const float* vectors, int64_t count) const;
  // codes → their vectors, out: [count, dim]. Throws Error on a code outside 0 .. size−1.
  void lookup(const int64_t* codes, int64_t count, float* out) const;

  static CodebookStats statistics(const std::vector<int64_t>& codes, int64_t size);

 private:
  Tensor embedding_;
  std::unique_ptr<faiss::IndexFlatL2> index_;
};

}  // namespace anytok
