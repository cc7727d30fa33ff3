#include "sequence/seq2seq_model.h"

#include <cmath>
#include <filesystem>

#include "nn/error.h"
#include "nn/ops.h"

namespace anytok {

Seq2SeqConfig Seq2SeqConfig::load(const std::string& model_dir) {
  std::string path;
  const config::json j = config::load(model_dir, "seq2seq", path);
  Seq2SeqConfig c;
  c.transformer = TransformerConfig::from_json(j, path);
  for (const char* key : {"d_model", "nhead", "num_encoder_layers", "num_decoder_layers", "dim_feedforward",
                          "vocab_size", "max_positions", "bos_id", "eos_id", "pad_id"})
    if (!j.contains(key)) throw Error(cat(path, ": missing '", key, "'"));
  c.vocab_size = config::positive(j, path, "vocab_size", 0);
  c.max_positions = config::positive(j, path, "max_positions", 0);
  c.positions = config::string(j, path, "positions", c.positions);
  if (c.positions != "sinusoidal" && c.positions != "learned")
    throw Error(cat(path, ": positions '", c.positions, "' is not sinusoidal or learned"));
  c.scale_embeddings = config::boolean(j, path, "scale_embeddings", c.scale_embeddings);
  c.tie_embeddings = config::boolean(j, path, "tie_embeddings", c.tie_embeddings);
  auto id = [&](const char* key) {
    if (!j[key].is_number_integer() || j[key].get<int64_t>() < 0 || j[key].get<int64_t>() >= c.vocab_size)
      throw Error(cat(path, ": '", key, "' must be an id below vocab_size ", c.vocab_size));
    return j[key].get<int64_t>();
  };
  c.bos_id = id("bos_id");
  c.eos_id = id("eos_id");
  c.pad_id = id("pad_id");
  const std::string vocab = config::string(j, path, "vocab", "");
  if (!vocab.empty()) c.vocab = (std::filesystem::path(model_dir) / vocab).string();
  return c;
}

Seq2SeqModel::Seq2SeqModel(const std::string& model_dir) : config_(Seq2SeqConfig::load(model_dir)) {
  Weights w((std::filesystem::path(model_dir) / "model.safetensors").string());
  const int64_t v = config_.vocab_size, d = config_.transformer.d_model;
  embedding_ = w.get("embed.weight", {v, d});
  if (config_.positions == "learned") {
    positions_ = w.get("pos.weight", {config_.max_positions, d});
  } else {
    positions_ = Tensor::uninitialized({config_.max_positions, d});
    for (int64_t p = 0; p < config_.max_positions; ++p)
      for (int64_t i = 0; 2 * i < d; ++i) {
        const double angle = static_cast<double>(p) / std::pow(10000.0, static_cast<double>(2 * i) / static_cast<double>(d));
        positions_[p * d + 2 * i] = static_cast<float>(std::sin(angle));
        if (2 * i + 1 < d) positions_[p * d + 2 * i + 1] = static_cast<float>(std::cos(angle));
      }
  }
  transformer_ = std::make_unique<TransformerStack>(config_.transformer, w, "transformer.");
  if (config_.tie_embeddings) {
    if (w.has("lm_head.weight")) throw Error(cat(w.path(), ": lm_head.weight is present, but tie_embeddings is true"));
    head_weight_ = embedding_;
  } else {
    head_weight_ = w.get("lm_head.weight", {v, d});
  }
  if (w.has("lm_head.bias")) head_bias_ = w.get("lm_head.bias", {v});
  w.check_all_used();
}

Seq2SeqModel::~Seq2SeqModel() = default;

Tensor Seq2SeqModel::embed(const std::vector<std::vector<int64_t>>& ids, int64_t length, int64_t first_position) const {
  const int64_t d = config_.transformer.d_model, rows = static_cast<int64_t>(ids.size());
  if (first_position + length > config_.max_positions)
    throw Error(cat("sequence of ", first_position + length, " positions exceeds the model's max_positions ",
                    config_.max_positions));
  const float scale = config_.scale_embeddings ? std::sqrt(static_cast<float>(d)) : 1.0f;
  Tensor x = Tensor::uninitialized({rows, length, d});
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t = 0; t < length; ++t) {
      const int64_t id = t < static_cast<int64_t>(ids[r].size()) ? ids[r][t] : config_.pad_id;
      if (id < 0 || id >= config_.vocab_size)
        throw Error(cat("id ", id, " is outside the model's vocabulary 0..", config_.vocab_size - 1));
      const float* e = embedding_.data() + id * d;
      const float* p = positions_.data() + (first_position + t) * d;
      float* out = x.data() + (r * length + t) * d;
      for (int64_t i = 0; i < d; ++i) out[i] = e[i] * scale + p[i];
    }
  return x;
}

EncodedSources Seq2SeqModel::encode(const std::vector<std::vector<int64_t>>& sources) const {
  EncodedSources e;
  e.count = static_cast<int64_t>(sources.size());
  if (e.count == 0) throw Error("no sources to encode");
  for (const auto& s : sources) {
    if (s.empty()) throw Error("an encoder input is empty");
    e.length = std::max<int64_t>(e.length, static_cast<int64_t>(s.size()));
  }
  const Tensor x = embed(sources, e.length, 0);
  e.pad.assign(static_cast<size_t>(e.count * e.length), 1);
  for (int64_t r = 0; r < e.count; ++r)
    for (int64_t t = 0; t < static_cast<int64_t>(sources[r].size()); ++t)
      e.pad[r * e.length + t] = sources[r][t] == config_.pad_id;
  e.memory = transformer_->encode(x, e.pad);
  return e;
}

DecoderCache Seq2SeqModel::start(const EncodedSources& sources, const std::vector<int64_t>& source_of,
                                 int64_t capacity) const {
  if (capacity > config_.max_positions)
    throw Error(cat(capacity, " decoder positions exceed the model's max_positions ", config_.max_positions));
  return transformer_->start(sources.memory, sources.pad, source_of, capacity);
}

Tensor Seq2SeqModel::logits(DecoderCache& cache, const std::vector<std::vector<int64_t>>& tokens) const {
  if (static_cast<int64_t>(tokens.size()) != cache.rows) throw Error("decoder: one token list per cache row expected");
  const int64_t steps = tokens.empty() ? 0 : static_cast<int64_t>(tokens[0].size());
  for (const auto& row : tokens)
    if (static_cast<int64_t>(row.size()) != steps) throw Error("decoder: every row must add the same number of tokens");
  const Tensor out = transformer_->decode(cache, embed(tokens, steps, cache.length));
  return linear(out, head_weight_, head_bias_);
}

}  // namespace anytok
