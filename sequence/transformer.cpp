#include "sequence/transformer.h"

#include <algorithm>
#include <cstring>

#include "nn/attention.h"
#include "nn/error.h"
#include "nn/ops.h"

namespace anytok {

TransformerConfig TransformerConfig::from_json(const config::json& j, const std::string& source) {
  TransformerConfig c;
  c.d_model = config::positive(j, source, "d_model", c.d_model);
  c.nhead = config::positive(j, source, "nhead", c.nhead);
  c.num_encoder_layers = config::positive(j, source, "num_encoder_layers", c.num_encoder_layers);
  c.num_decoder_layers = config::positive(j, source, "num_decoder_layers", c.num_decoder_layers);
  c.dim_feedforward = config::positive(j, source, "dim_feedforward", c.dim_feedforward);
  c.activation = config::string(j, source, "activation", c.activation);
  if (c.activation != "relu" && c.activation != "gelu")
    throw Error(cat(source, ": activation '", c.activation, "' is not relu or gelu"));
  c.norm_first = config::boolean(j, source, "norm_first", c.norm_first);
  c.layer_norm_eps = config::number(j, source, "layer_norm_eps", c.layer_norm_eps);
  if (!(c.layer_norm_eps > 0)) throw Error(cat(source, ": 'layer_norm_eps' must be positive"));
  if (c.d_model % c.nhead) throw Error(cat(source, ": d_model ", c.d_model, " does not split into ", c.nhead, " heads"));
  return c;
}

void DecoderCache::reorder(const std::vector<int64_t>& from) {
  if (static_cast<int64_t>(from.size()) != rows) throw Error("decoder cache: reorder needs one source row per row");
  auto permute = [&](Tensor& t) {
    const int64_t per_row = t.numel() / rows;
    Tensor moved = Tensor::uninitialized(t.shape());
    for (int64_t r = 0; r < rows; ++r) std::copy_n(t.data() + from[r] * per_row, per_row, moved.data() + r * per_row);
    t = moved;
  };
  for (auto* group : {&self_k, &self_v, &cross_k, &cross_v})
    for (Tensor& t : *group) permute(t);
  std::vector<uint8_t> pad(source_pad.size());
  for (int64_t r = 0; r < rows; ++r)
    std::copy_n(source_pad.begin() + from[r] * source_length, source_length, pad.begin() + r * source_length);
  source_pad = std::move(pad);
}

namespace {

// Rows [first, first + count) of a [rows, cols] tensor, copied.
Tensor rows_of(const Tensor& t, int64_t first, int64_t count) {
  const int64_t cols = t.numel() / t.dim(0);
  Shape shape = t.shape();
  shape[0] = count;
  Tensor out = Tensor::uninitialized(shape);
  std::copy_n(t.data() + first * cols, count * cols, out.data());
  return out;
}

}  // namespace

TransformerStack::TransformerStack(const TransformerConfig& c, Weights& w, const std::string& prefix) : config_(c) {
  const int64_t d = c.d_model, f = c.dim_feedforward;
  auto norm = [&](const std::string& name) { return Norm{w.get(name + ".weight", {d}), w.get(name + ".bias", {d})}; };
  auto attention = [&](const std::string& name) {
    Attention a;
    a.in_proj_weight = w.get(name + ".in_proj_weight", {3 * d, d});
    a.in_proj_bias = w.get(name + ".in_proj_bias", {3 * d});
    a.q_weight = rows_of(a.in_proj_weight, 0, d);
    a.q_bias = rows_of(a.in_proj_bias, 0, d);
    a.kv_weight = rows_of(a.in_proj_weight, d, 2 * d);
    a.kv_bias = rows_of(a.in_proj_bias, d, 2 * d);
    a.out_weight = w.get(name + ".out_proj.weight", {d, d});
    a.out_bias = w.get(name + ".out_proj.bias", {d});
    return a;
  };
  auto layer = [&](const std::string& name, bool decoder) {
    Layer l;
    l.self_attn = attention(name + ".self_attn");
    if (decoder) l.cross_attn = attention(name + ".multihead_attn");
    l.linear1_weight = w.get(name + ".linear1.weight", {f, d});
    l.linear1_bias = w.get(name + ".linear1.bias", {f});
    l.linear2_weight = w.get(name + ".linear2.weight", {d, f});
    l.linear2_bias = w.get(name + ".linear2.bias", {d});
    l.norm1 = norm(name + ".norm1");
    l.norm2 = norm(name + ".norm2");
    if (decoder) l.norm3 = norm(name + ".norm3");
    return l;
  };
  for (int64_t i = 0; i < c.num_encoder_layers; ++i) encoder_.push_back(layer(cat(prefix, "encoder.layers.", i), false));
  for (int64_t i = 0; i < c.num_decoder_layers; ++i) decoder_.push_back(layer(cat(prefix, "decoder.layers.", i), true));
  encoder_norm_ = norm(prefix + "encoder.norm");
  decoder_norm_ = norm(prefix + "decoder.norm");
}

Tensor TransformerStack::norm(const Tensor& x, const Norm& n) const {
  return layer_norm(x, n.gamma, n.beta, static_cast<float>(config_.layer_norm_eps));
}

Tensor TransformerStack::feed_forward(const Tensor& x, const Layer& layer) const {
  Tensor h = linear(x, layer.linear1_weight, layer.linear1_bias);
  if (config_.activation == "gelu") gelu_(h);
  else relu_(h);
  return linear(h, layer.linear2_weight, layer.linear2_bias);
}

Tensor TransformerStack::encoder_self_attention(const Tensor& x, const Attention& a, const std::vector<uint8_t>& pad) const {
  const int64_t d = config_.d_model, rows = x.dim(0), length = x.dim(1);
  const Tensor qkv = linear(x, a.in_proj_weight, a.in_proj_bias);  // [B, S, 3D]
  Tensor out = Tensor::uninitialized({rows, length, d});
  const AttentionShape shape{config_.nhead, config_.head_dim(), length, length, 3 * d, 3 * d, d};
  for (int64_t r = 0; r < rows; ++r) {
    const float* base = qkv.data() + r * length * 3 * d;
    attention(shape, base, base + d, base + 2 * d, pad.data() + r * length, false, 0, out.data() + r * length * d);
  }
  return linear(out, a.out_weight, a.out_bias);
}

Tensor TransformerStack::decoder_self_attention(const Tensor& x, const Attention& a, DecoderCache& cache,
                                                size_t layer) const {
  const int64_t d = config_.d_model, rows = x.dim(0), steps = x.dim(1), past = cache.length;
  const Tensor qkv = linear(x, a.in_proj_weight, a.in_proj_bias);  // [rows, T, 3D]
  Tensor& keys = cache.self_k[layer];
  Tensor& values = cache.self_v[layer];
  Tensor out = Tensor::uninitialized({rows, steps, d});
  const AttentionShape shape{config_.nhead, config_.head_dim(), steps, past + steps, 3 * d, d, d};
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t t = 0; t < steps; ++t) {
      const float* src = qkv.data() + (r * steps + t) * 3 * d;
      std::memcpy(keys.data() + (r * cache.capacity + past + t) * d, src + d, sizeof(float) * d);
      std::memcpy(values.data() + (r * cache.capacity + past + t) * d, src + 2 * d, sizeof(float) * d);
    }
    attention(shape, qkv.data() + r * steps * 3 * d, keys.data() + r * cache.capacity * d,
              values.data() + r * cache.capacity * d, nullptr, true, past, out.data() + r * steps * d);
  }
  return linear(out, a.out_weight, a.out_bias);
}

Tensor TransformerStack::cross_attention(const Tensor& x, const Attention& a, const DecoderCache& cache,
                                         size_t layer) const {
  const int64_t d = config_.d_model, rows = x.dim(0), steps = x.dim(1), source = cache.source_length;
  const Tensor q = linear(x, a.q_weight, a.q_bias);
  Tensor out = Tensor::uninitialized({rows, steps, d});
  const AttentionShape shape{config_.nhead, config_.head_dim(), steps, source, d, d, d};
  for (int64_t r = 0; r < rows; ++r)
    attention(shape, q.data() + r * steps * d, cache.cross_k[layer].data() + r * source * d,
              cache.cross_v[layer].data() + r * source * d, cache.source_pad.data() + r * source, false, 0,
              out.data() + r * steps * d);
  return linear(out, a.out_weight, a.out_bias);
}

Tensor TransformerStack::encode(const Tensor& x, const std::vector<uint8_t>& pad) const {
  if (x.rank() != 3 || x.dim(2) != config_.d_model || static_cast<int64_t>(pad.size()) != x.dim(0) * x.dim(1))
    throw Error(cat("transformer encoder: input ", x.shape(), " and its padding mask do not fit"));
  Tensor h = x.clone();
  for (const Layer& l : encoder_) {
    if (config_.norm_first) {
      add_(h, encoder_self_attention(norm(h, l.norm1), l.self_attn, pad));
      add_(h, feed_forward(norm(h, l.norm2), l));
    } else {
      add_(h, encoder_self_attention(h, l.self_attn, pad));
      h = norm(h, l.norm1);
      add_(h, feed_forward(h, l));
      h = norm(h, l.norm2);
    }
  }
  h = norm(h, encoder_norm_);
  const int64_t d = config_.d_model;
  for (size_t i = 0; i < pad.size(); ++i)
    if (pad[i]) std::fill(h.data() + static_cast<int64_t>(i) * d, h.data() + static_cast<int64_t>(i + 1) * d, 0.0f);
  return h;
}

DecoderCache TransformerStack::start(const Tensor& memory, const std::vector<uint8_t>& pad,
                                     const std::vector<int64_t>& source_of, int64_t capacity) const {
  const int64_t d = config_.d_model, sources = memory.dim(0), length = memory.dim(1);
  DecoderCache cache;
  cache.rows = static_cast<int64_t>(source_of.size());
  cache.capacity = capacity;
  cache.source_length = length;
  cache.source_pad.resize(static_cast<size_t>(cache.rows * length));
  for (int64_t r = 0; r < cache.rows; ++r) {
    if (source_of[r] < 0 || source_of[r] >= sources) throw Error("decoder cache: a row names no source");
    std::copy_n(pad.begin() + source_of[r] * length, length, cache.source_pad.begin() + r * length);
  }
  for (const Layer& l : decoder_) {
    cache.self_k.push_back(Tensor::uninitialized({cache.rows, capacity, d}));
    cache.self_v.push_back(Tensor::uninitialized({cache.rows, capacity, d}));
    // Keys and values of every source once, then copied to the rows that read it.
    const Tensor kv = linear(memory, l.cross_attn.kv_weight, l.cross_attn.kv_bias);  // [B, S, 2D]
    Tensor k = Tensor::uninitialized({cache.rows, length, d}), v = Tensor::uninitialized({cache.rows, length, d});
    for (int64_t r = 0; r < cache.rows; ++r)
      for (int64_t s = 0; s < length; ++s) {
        const float* src = kv.data() + (source_of[r] * length + s) * 2 * d;
        std::copy_n(src, d, k.data() + (r * length + s) * d);
        std::copy_n(src + d, d, v.data() + (r * length + s) * d);
      }
    cache.cross_k.push_back(k);
    cache.cross_v.push_back(v);
  }
  return cache;
}

Tensor TransformerStack::decode(DecoderCache& cache, const Tensor& x) const {
  if (x.rank() != 3 || x.dim(0) != cache.rows || x.dim(2) != config_.d_model)
    throw Error(cat("transformer decoder: input ", x.shape(), " does not fit a cache of ", cache.rows, " rows"));
  if (cache.length + x.dim(1) > cache.capacity)
    throw Error(cat("transformer decoder: ", cache.length + x.dim(1), " positions exceed the cache's ", cache.capacity));
  Tensor h = x.clone();
  for (size_t i = 0; i < decoder_.size(); ++i) {
    const Layer& l = decoder_[i];
    if (config_.norm_first) {
      add_(h, decoder_self_attention(norm(h, l.norm1), l.self_attn, cache, i));
      add_(h, cross_attention(norm(h, l.norm2), l.cross_attn, cache, i));
      add_(h, feed_forward(norm(h, l.norm3), l));
    } else {
      add_(h, decoder_self_attention(h, l.self_attn, cache, i));
      h = norm(h, l.norm1);
      add_(h, cross_attention(h, l.cross_attn, cache, i));
      h = norm(h, l.norm2);
      add_(h, feed_forward(h, l));
      h = norm(h, l.norm3);
    }
  }
  cache.length += x.dim(1);
  return norm(h, decoder_norm_);
}

}  // namespace anytok
