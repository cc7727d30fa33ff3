#include "codebooks/codebook.h"

#include <faiss/IndexFlat.h>
#include <faiss/utils/distances.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <mutex>

#include "nn/error.h"

namespace anytok {

Codebook::Codebook(Tensor embedding) : embedding_(std::move(embedding)) {
  if (embedding_.rank() != 2 || embedding_.dim(0) < 1 || embedding_.dim(1) < 1)
    throw Error(cat("a codebook needs an embedding of shape [codes, dim], got ", embedding_.shape()));
  index_ = std::make_unique<faiss::IndexFlatL2>(static_cast<faiss::Index::idx_t>(dim()));
  index_->add(size(), embedding_.data());
}

Codebook::~Codebook() = default;
Codebook::Codebook(Codebook&&) noexcept = default;
Codebook& Codebook::operator=(Codebook&&) noexcept = default;

std::vector<int64_t> Codebook::nearest(const float* vectors, int64_t count) const {
  std::vector<int64_t> codes(static_cast<size_t>(count));
  if (count == 0) return codes;
  for (int64_t i = 0; i < count * dim(); ++i)
    if (!std::isfinite(vectors[i])) throw Error("cannot quantize: the latent holds NaN or infinite values");
  // FAISS computes small batches as Σ(z − e)², other arithmetic than upstream's; the BLAS path computes
  // ‖z‖² + ‖e‖² − 2·z·e, which is upstream's. Threshold 0 takes that path for every batch. FAISS keeps the
  // threshold in a global, so it is set once, not by every search that may run beside another.
  static std::once_flag blas_path;
  std::call_once(blas_path, [] { faiss::distance_compute_blas_threshold = 0; });
  // One OpenMP thread: the distance GEMM is OpenBLAS's, threaded as the pool is. A team of OpenMP threads would
  // add little and keep spinning after the search, slowing whatever runs next.
  omp_set_num_threads(1);
  std::vector<float> distances(static_cast<size_t>(count));
  std::vector<faiss::Index::idx_t> labels(static_cast<size_t>(count));
  index_->search(count, vectors, 1, distances.data(), labels.data());
  for (int64_t i = 0; i < count; ++i) codes[i] = labels[i];
  return codes;
}

void Codebook::lookup(const int64_t* codes, int64_t count, float* out) const {
  const int64_t d = dim();
  for (int64_t i = 0; i < count; ++i) {
    if (codes[i] < 0 || codes[i] >= size())
      throw Error(cat("code ", codes[i], " is outside the codebook's 0..", size() - 1));
    std::memcpy(out + i * d, embedding_.data() + codes[i] * d, sizeof(float) * d);
  }
}

CodebookStats Codebook::statistics(const std::vector<int64_t>& codes, int64_t size) {
  CodebookStats s;
  s.counts.assign(static_cast<size_t>(size), 0);
  for (int64_t c : codes) {
    if (c < 0 || c >= size) throw Error(cat("code ", c, " is outside the codebook's 0..", size - 1));
    ++s.counts[c];
  }
  s.total = static_cast<int64_t>(codes.size());
  double entropy = 0;
  for (int64_t n : s.counts) {
    if (!n) continue;
    ++s.used;
    double p = static_cast<double>(n) / static_cast<double>(s.total);
    entropy -= p * std::log(p);
  }
  s.perplexity = s.total ? std::exp(entropy) : 0;
  return s;
}

}  // namespace anytok
