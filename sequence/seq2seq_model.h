// The encoder-decoder sequence model, format v1: a shared token embedding, sinusoidal or learned positions, a
// torch.nn.Transformer, and an output head (tied to the embedding, or its own with an optional bias).
//
//   config.json        {"family": "seq2seq", "d_model", "nhead", "num_encoder_layers", "num_decoder_layers",
//                       "dim_feedforward", "activation", "norm_first", "layer_norm_eps", "vocab_size",
//                       "max_positions", "positions", "scale_embeddings", "tie_embeddings", "bos_id", "eos_id",
//                       "pad_id", "vocab" (optional: a vocabulary-layout JSON beside it)}
//   model.safetensors  embed.weight [V, D]; pos.weight [P, D] (learned positions); transformer.* (the
//                      state_dict() of torch.nn.Transformer(batch_first=True)); lm_head.weight [V, D] (untied);
//                      lm_head.bias [V] (optional)
//
// x = embed[ids]·(√D if scale_embeddings) + P[0..n); memory = encoder(x_src, padding where src == pad_id);
// out = decoder(x_tgt, memory, causal); logits = out·W_headᵀ (+ bias). Sinusoidal P[p, 2i] = sin(p/10000^(2i/D)),
// P[p, 2i+1] = cos(p/10000^(2i/D)), computed in double and rounded to float.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include "sequence/transformer.h"

namespace anytok {

struct Seq2SeqConfig {
  TransformerConfig transformer;
  int64_t vocab_size = 0, max_positions = 0;
  std::string positions = "sinusoidal";  // sinusoidal | learned
  bool scale_embeddings = false, tie_embeddings = true;
  int64_t bos_id = 0, eos_id = 0, pad_id = 0;
  std::string vocab;  // path of the vocabulary layout, empty when the model names none
  static Seq2SeqConfig load(const std::string& model_dir);  // throws Error naming the field
};

// Sources right-padded to one length, through the encoder.
struct EncodedSources {
  int64_t count = 0, length = 0;
  Tensor memory;             // [count, length, D]
  std::vector<uint8_t> pad;  // [count, length], 1 where the source holds pad_id
};

class Seq2SeqModel {
 public:
  explicit Seq2SeqModel(const std::string& model_dir);
  ~Seq2SeqModel();
  const Seq2SeqConfig& config() const { return config_; }

  // Throws Error on an empty source, an id outside the vocabulary or a source longer than max_positions.
  EncodedSources encode(const std::vector<std::vector<int64_t>>& sources) const;
  // A decoder cache whose row r reads source source_of[r], with room for `capacity` target positions.
  DecoderCache start(const EncodedSources& sources, const std::vector<int64_t>& source_of, int64_t capacity) const;
  // The next tokens of every row, [rows][T] with one T for all rows → logits [rows, T, V] of the positions after
  // them. The cache grows by T.
  Tensor logits(DecoderCache& cache, const std::vector<std::vector<int64_t>>& tokens) const;

 private:
  Tensor embed(const std::vector<std::vector<int64_t>>& ids, int64_t length, int64_t first_position) const;
  Seq2SeqConfig config_;
  std::unique_ptr<TransformerStack> transformer_;
  Tensor embedding_, positions_, head_weight_, head_bias_;
};

}  // namespace anytok
