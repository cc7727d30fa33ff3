// PyTorch's torch.nn.Transformer (batch_first, dropout off) read from its own state_dict() names: encoder and
// decoder stacks of pre-LN or post-LN layers, ReLU or GELU feed-forward, final encoder and decoder norms. The
// decoder runs incrementally: each call appends positions to a preallocated self-attention cache, and
// cross-attention keys and values are computed once per source.
// Layouts: activations [rows, T, d_model]; padding masks [rows, S] with 1 at padding.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "nn/model_config.h"
#include "nn/tensor.h"
#include "nn/weights.h"

namespace anytok {

struct TransformerConfig {
  int64_t d_model = 512, nhead = 8, num_encoder_layers = 6, num_decoder_layers = 6, dim_feedforward = 2048;
  std::string activation = "relu";  // relu | gelu
  bool norm_first = false;
  double layer_norm_eps = 1e-5;
  int64_t head_dim() const { return d_model / nhead; }
  // The fields of a config.json object; `source` names the file in errors.
  static TransformerConfig from_json(const config::json& j, const std::string& source);
};

// What the decoder keeps between calls for `rows` sequences.
struct DecoderCache {
  int64_t rows = 0, capacity = 0, length = 0;  // positions held so far, of at most `capacity`
  int64_t source_length = 0;
  std::vector<Tensor> self_k, self_v;    // per layer [rows, capacity, d_model]
  std::vector<Tensor> cross_k, cross_v;  // per layer [rows, source_length, d_model]
  std::vector<uint8_t> source_pad;       // [rows, source_length]
  // Row r continues what row from[r] held (beam search keeps the best continuations).
  void reorder(const std::vector<int64_t>& from);
};

class TransformerStack {
 public:
  // Tensors named "<prefix>encoder.layers.0.self_attn.in_proj_weight" and so on.
  TransformerStack(const TransformerConfig& config, Weights& weights, const std::string& prefix);
  const TransformerConfig& config() const { return config_; }

  // x [B, S, D] → memory [B, S, D]; rows at padding come out zero (as PyTorch's fast path gives them).
  Tensor encode(const Tensor& x, const std::vector<uint8_t>& pad) const;
  // A cache for rows whose sources are memory rows source_of[r] (a source may serve several rows: beams,
  // guidance), with room for `capacity` target positions.
  DecoderCache start(const Tensor& memory, const std::vector<uint8_t>& pad, const std::vector<int64_t>& source_of,
                     int64_t capacity) const;
  // x [rows, T, D], the embedded next T target positions → their outputs [rows, T, D] after the final norm,
  // each attending to the cache's earlier positions and causally to each other; the cache grows by T.
  Tensor decode(DecoderCache& cache, const Tensor& x) const;

 private:
  struct Norm {
    Tensor gamma, beta;
  };
  struct Attention {
    Tensor in_proj_weight, in_proj_bias;  // [3D, D], [3D]: q, k, v stacked
    Tensor q_weight, q_bias, kv_weight, kv_bias;  // the same split, for cross-attention
    Tensor out_weight, out_bias;
  };
  struct Layer {
    Attention self_attn, cross_attn;  // cross only in decoder layers
    Tensor linear1_weight, linear1_bias, linear2_weight, linear2_bias;
    Norm norm1, norm2, norm3;
  };
  Tensor norm(const Tensor& x, const Norm& n) const;
  Tensor feed_forward(const Tensor& x, const Layer& layer) const;
  Tensor encoder_self_attention(const Tensor& x, const Attention& a, const std::vector<uint8_t>& pad) const;
  Tensor decoder_self_attention(const Tensor& x, const Attention& a, DecoderCache& cache, size_t layer) const;
  Tensor cross_attention(const Tensor& x, const Attention& a, const DecoderCache& cache, size_t layer) const;

  TransformerConfig config_;
  std::vector<Layer> encoder_, decoder_;
  Norm encoder_norm_, decoder_norm_;
};

}  // namespace anytok
