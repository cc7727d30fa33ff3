// Generation with a Seq2SeqModel: greedy, sampled (temperature, top-k, top-p, seeded) or beam search, with a
// repetition penalty, disallowed ids, classifier-free guidance and an optional constraint on which ids may come
// next (sequence/decoding_constraint.h keeps outputs to well-formed spans of one modality).
#pragma once
#include <cstdint>
#include <vector>
#include "sequence/seq2seq_model.h"

namespace anytok {

struct GenerationOptions {
  int64_t max_new_tokens = 256;
  float temperature = 0;          // 0: greedy (argmax); otherwise logits are divided by it and sampled
  int64_t top_k = 0;              // sample among the k most likely ids; 0: all
  float top_p = 1;                // sample among the most likely ids whose probabilities reach p; 1: all
  uint64_t seed = 0;              // sampling is reproducible for a given seed
  float repetition_penalty = 1;   // > 1 discourages ids already generated (divides positive logits, multiplies negative)
  std::vector<int64_t> disallowed;
  int64_t beams = 1;              // > 1: beam search (deterministic; sampling options are ignored)
  float length_penalty = 1;       // beam scores are Σ log p / length^length_penalty
  float guidance = 1;             // logits = uncond + g·(cond − uncond); 1: off
  std::vector<int64_t> unconditional_source;  // the encoder input of the unconditional pass (an empty prompt)
};

// Which ids may come next after `prefix` (the generated ids, without bos).
class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  // allowed has vocab_size entries; set 1 for every id that may follow, 0 for the rest.
  virtual void allowed(const std::vector<int64_t>& prefix, std::vector<uint8_t>& allowed) const = 0;
};

// For each source, the generated ids without the start token, ending with eos when one was produced.
std::vector<std::vector<int64_t>> generate(const Seq2SeqModel& model, const std::vector<std::vector<int64_t>>& sources,
                                           const GenerationOptions& options, const TokenConstraint* constraint = nullptr);

struct TargetScore {
  std::vector<float> logprobs;  // log p(target[i] | source, bos, target[0..i))
  double total = 0;
};
// Teacher-forced log-probabilities: the decoder reads bos followed by the target minus its last id.
std::vector<TargetScore> score(const Seq2SeqModel& model, const std::vector<std::vector<int64_t>>& sources,
                               const std::vector<std::vector<int64_t>>& targets);

}  // namespace anytok
