#include "tokenizers/encodec.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "nn/error.h"
#include "nn/model_config.h"

namespace anytok {

using json = nlohmann::json;

int64_t SeanetConfig::hop_length() const {
  int64_t hop = 1;
  for (int64_t r : ratios) hop *= r;
  return hop;
}

int64_t EncodecConfig::frame_rate() const {
  return static_cast<int64_t>(std::ceil(static_cast<double>(sample_rate) / static_cast<double>(seanet.hop_length())));
}

int64_t EncodecConfig::codebooks_for(std::optional<double> kbps) const {
  if (kbps) {
    if (!target_bandwidths.empty() &&
        std::find(target_bandwidths.begin(), target_bandwidths.end(), *kbps) == target_bandwidths.end()) {
      std::string choices;
      for (double b : target_bandwidths) choices += cat(choices.empty() ? "" : ", ", b);
      throw Error(cat("bandwidth ", *kbps, " kbps is not one this model was trained for (", choices, ")"));
    }
  } else {
    kbps = bandwidth;
  }
  if (!kbps || *kbps <= 0) return n_q;
  const double per_codebook = std::log2(static_cast<double>(bins)) * static_cast<double>(frame_rate());
  const auto wanted = static_cast<int64_t>(std::max(1.0, std::floor(*kbps * 1000 / per_codebook)));
  return std::min(wanted, n_q);  // upstream's quantizer also stops at the codebooks it has
}

std::optional<int64_t> EncodecConfig::segment_length() const {
  if (!segment) return std::nullopt;
  return static_cast<int64_t>(*segment * static_cast<double>(sample_rate));
}

int64_t EncodecConfig::segment_stride() const {
  const auto length = segment_length();
  if (!length) return 0;
  return std::max<int64_t>(1, static_cast<int64_t>((1 - overlap) * static_cast<double>(*length)));
}

bool EncodecConfig::streams() const { return !segment && !normalize && norm != "time_group_norm"; }

namespace {

int64_t non_negative(const json& j, const std::string& source, const char* key, int64_t fallback) {
  if (!j.contains(key)) return fallback;
  if (!j[key].is_number_integer() || j[key].get<int64_t>() < 0 || j[key].get<int64_t>() > 64)
    throw Error(cat(source, ": '", key, "' must be an integer from 0 to 64"));
  return j[key].get<int64_t>();
}

std::optional<double> optional_positive_number(const json& j, const std::string& source, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  const double v = config::number(j, source, key, 0);
  if (!(v > 0)) throw Error(cat(source, ": '", key, "' must be a positive number or null"));
  return v;
}

SeanetConfig load_seanet(const json& s, const std::string& path) {
  const std::string source = path + " (seanet)";
  SeanetConfig c;
  c.dimension = config::positive(s, source, "dimension", c.dimension);
  c.n_filters = config::positive(s, source, "n_filters", c.n_filters);
  c.ratios = config::positive_list(s, source, "ratios", c.ratios, false);
  c.n_residual_layers = non_negative(s, source, "n_residual_layers", c.n_residual_layers);
  c.lstm = non_negative(s, source, "lstm", c.lstm);
  c.kernel_size = config::positive(s, source, "kernel_size", c.kernel_size);
  c.last_kernel_size = config::positive(s, source, "last_kernel_size", c.last_kernel_size);
  c.residual_kernel_size = config::positive(s, source, "residual_kernel_size", c.residual_kernel_size);
  c.dilation_base = config::positive(s, source, "dilation_base", c.dilation_base);
  c.compress = config::positive(s, source, "compress", c.compress);
  c.true_skip = config::boolean(s, source, "true_skip", c.true_skip);
  c.pad_mode = config::string(s, source, "pad_mode", c.pad_mode);
  parse_pad_mode(c.pad_mode);
  c.trim_right_ratio = config::number(s, source, "trim_right_ratio", c.trim_right_ratio);
  if (!(c.trim_right_ratio >= 0 && c.trim_right_ratio <= 1)) throw Error(cat(source, ": 'trim_right_ratio' must be in [0, 1]"));
  if (config::string(s, source, "activation", "ELU") != "ELU") throw Error(cat(source, ": only the ELU activation is supported"));
  if (s.contains("activation_params"))
    c.elu_alpha = static_cast<float>(config::number(s["activation_params"], source, "alpha", c.elu_alpha));
  if (s.contains("final_activation") && !s["final_activation"].is_null())
    throw Error(cat(source, ": a final activation is not supported"));
  if (c.ratios.size() > 8 || c.hop_length() > 100000) throw Error(cat(source, ": 'ratios' multiply to an implausible hop"));
  for (size_t i = 0; i < c.ratios.size(); ++i)
    if ((c.n_filters << (i + 1)) > 65536) throw Error(cat(source, ": n_filters × 2^levels is implausibly wide"));
  if (c.n_filters < c.compress) throw Error(cat(source, ": 'compress' leaves residual blocks without channels"));
  return c;
}

}  // namespace

EncodecConfig EncodecConfig::load(const std::string& model_dir) {
  std::string path;
  const json j = config::load(model_dir, "encodec", path);
  EncodecConfig c;
  c.sample_rate = config::positive(j, path, "sample_rate", c.sample_rate);
  c.channels = config::positive(j, path, "channels", c.channels);
  if (c.channels > 2) throw Error(cat(path, ": 'channels' must be 1 or 2"));
  c.causal = config::boolean(j, path, "causal", c.causal);
  c.norm = config::string(j, path, "norm", c.norm);
  if (c.norm != "weight_norm" && c.norm != "time_group_norm" && c.norm != "none")
    throw Error(cat(path, ": norm '", c.norm, "' is not supported (weight_norm, time_group_norm or none)"));
  if (c.causal && c.norm == "time_group_norm") throw Error(cat(path, ": time_group_norm cannot be causal"));
  c.normalize = config::boolean(j, path, "normalize", c.normalize);
  c.segment = optional_positive_number(j, path, "segment");
  c.overlap = config::number(j, path, "overlap", c.overlap);
  if (!(c.overlap >= 0 && c.overlap < 1)) throw Error(cat(path, ": 'overlap' must be in [0, 1)"));
  c.n_q = config::positive(j, path, "n_q", c.n_q);
  c.bins = config::positive(j, path, "bins", c.bins);
  if (c.bins & (c.bins - 1)) throw Error(cat(path, ": 'bins' must be a power of 2"));
  if (j.contains("target_bandwidths")) {
    if (!j["target_bandwidths"].is_array()) throw Error(cat(path, ": 'target_bandwidths' must be a list of kbps"));
    for (const auto& b : j["target_bandwidths"]) {
      if (!b.is_number() || !(b.get<double>() > 0)) throw Error(cat(path, ": 'target_bandwidths' must be a list of kbps"));
      c.target_bandwidths.push_back(b.get<double>());
    }
  }
  c.bandwidth = optional_positive_number(j, path, "bandwidth");
  if (j.contains("seanet")) {
    if (!j["seanet"].is_object()) throw Error(cat(path, ": 'seanet' must be an object"));
    c.seanet = load_seanet(j["seanet"], path);
  }
  if (c.segment_length() && *c.segment_length() < 1) throw Error(cat(path, ": 'segment' is shorter than a sample"));
  return c;
}

namespace {

// model.safetensors with its key scheme and prefix found, handing out tensors by upstream's module paths
// (encoder.model.3, decoder.model.4.block.1).
class EncodecCheckpoint {
 public:
  explicit EncodecCheckpoint(const std::string& model_dir)
      : weights_((std::filesystem::path(model_dir) / "model.safetensors").string()) {
    for (const bool transformers : {false, true})
      for (const char* half : {"encoder", "decoder"})
        for (const char* weight : {"weight", "weight_g", "parametrizations.weight.original0"}) {
          const std::string anchor = cat(half, transformers ? ".layers.0.conv." : ".model.0.conv.conv.", weight);
          const auto prefixes = weights_.prefixes_of(anchor);
          if (prefixes.empty()) continue;
          weights_.scope(prefixes.front());
          transformers_ = transformers;
          return;
        }
    throw Error(cat(weights_.path(), ": no tensor named like encoder.model.0.conv.conv.weight (original EnCodec) or ",
                    "encoder.layers.0.conv.weight (transformers); not an EnCodec checkpoint"));
  }

  const std::string& path() const { return weights_.path(); }

  // SConv1d / SConvTranspose1d weights: shape is the conv's [Cout, Cin, K] or the transposed conv's [Cin, Cout, K].
  Conv1dWeights conv(const std::string& module, bool transposed, const Shape& shape, bool time_norm) {
    const std::string conv = transformers_ ? cat(rename(module), ".conv")
                                           : cat(module, transposed ? ".convtr.convtr" : ".conv.conv");
    const std::string norm = transformers_ ? cat(rename(module), ".norm")
                                           : cat(module, transposed ? ".convtr.norm" : ".conv.norm");
    const int64_t out = transposed ? shape[1] : shape[0];
    Conv1dWeights w;
    if (weights_.has(conv + ".weight_g"))
      w.weight = fold_weight_norm(conv + ".weight_g", conv + ".weight_v", shape);
    else if (weights_.has(conv + ".parametrizations.weight.original0"))
      w.weight = fold_weight_norm(conv + ".parametrizations.weight.original0",
                                  conv + ".parametrizations.weight.original1", shape);
    else
      w.weight = weights_.get(conv + ".weight", shape);
    w.bias = weights_.get(conv + ".bias", {out});
    if (time_norm) {
      w.norm_gamma = weights_.get(norm + ".weight", {out});
      w.norm_beta = weights_.get(norm + ".bias", {out});
    }
    return w;
  }

  Lstm lstm(const std::string& module, int64_t dim, int64_t layers) {
    std::vector<LstmLayer> stack;
    const std::string name = cat(rename(module), ".lstm.");
    for (int64_t l = 0; l < layers; ++l) {
      LstmLayer layer;
      layer.w_ih = weights_.get(cat(name, "weight_ih_l", l), {4 * dim, dim});
      layer.w_hh = weights_.get(cat(name, "weight_hh_l", l), {4 * dim, dim});
      const Tensor b_ih = weights_.get(cat(name, "bias_ih_l", l), {4 * dim});
      const Tensor b_hh = weights_.get(cat(name, "bias_hh_l", l), {4 * dim});
      layer.bias = Tensor({4 * dim});
      for (int64_t i = 0; i < 4 * dim; ++i) layer.bias[i] = b_ih[i] + b_hh[i];
      stack.push_back(std::move(layer));
    }
    return Lstm(std::move(stack));
  }

  Codebook codebook(int64_t k, int64_t bins, int64_t dim) {
    const std::string name = transformers_ ? cat("quantizer.layers.", k, ".codebook.")
                                           : cat("quantizer.vq.layers.", k, "._codebook.");
    for (const char* training_state : {"embed_avg", "cluster_size", "inited"})
      if (weights_.has(name + training_state)) weights_.get(name + training_state);  // not needed to run
    return Codebook(weights_.get(name + "embed", {bins, dim}));
  }

  // Marks everything under `part` (the half of the model not loaded) as taken, then reports any tensor left over.
  void check_all_used(const std::string& unused_part) {
    if (!unused_part.empty())
      for (const auto& name : weights_.names())
        if (name.starts_with(unused_part)) weights_.get(name);
    weights_.check_all_used();
  }

 private:
  std::string rename(const std::string& module) const {
    if (!transformers_) return module;
    const size_t at = module.find(".model.");
    return at == std::string::npos ? module : cat(module.substr(0, at), ".layers.", module.substr(at + 7));
  }

  // weight = g · v / ‖v‖, the norm over every axis but the first (PyTorch's weight_norm with dim 0).
  Tensor fold_weight_norm(const std::string& g_name, const std::string& v_name, const Shape& shape) {
    const Tensor g = weights_.get(g_name, {shape[0], 1, 1});
    const Tensor v = weights_.get(v_name, shape);
    Tensor w(shape);
    const int64_t per_row = v.numel() / shape[0];
    for (int64_t i = 0; i < shape[0]; ++i) {
      const float* row = v.data() + i * per_row;
      double squares = 0;
      for (int64_t j = 0; j < per_row; ++j) squares += static_cast<double>(row[j]) * row[j];
      const float factor = g[i] / static_cast<float>(std::sqrt(squares));
      for (int64_t j = 0; j < per_row; ++j) w[i * per_row + j] = row[j] * factor;
    }
    return w;
  }

  Weights weights_;
  bool transformers_ = false;
};

// Builds SEANet's encoder or decoder as upstream numbers its modules, reading each block's weights on the way.
class SeanetBuilder {
 public:
  SeanetBuilder(EncodecCheckpoint& checkpoint, const EncodecConfig& config)
      : ck_(checkpoint), c_(config), s_(config.seanet), pad_(parse_pad_mode(config.seanet.pad_mode)) {}

  std::unique_ptr<StreamBlock> encoder() {
    auto net = std::make_unique<StreamSequence>();
    std::string half = "encoder.model.";
    int64_t index = 0, mult = 1;
    auto next = [&] { return cat(half, index++); };
    net->add(conv(next(), c_.channels, s_.n_filters, s_.kernel_size, 1, 1));
    for (auto ratio = s_.ratios.rbegin(); ratio != s_.ratios.rend(); ++ratio) {
      for (int64_t j = 0; j < s_.n_residual_layers; ++j) net->add(residual(next(), mult * s_.n_filters, j));
      net->add(elu(next()));
      net->add(conv(next(), mult * s_.n_filters, 2 * mult * s_.n_filters, 2 * *ratio, *ratio, 1));
      mult *= 2;
    }
    if (s_.lstm) net->add(lstm(next(), mult * s_.n_filters));
    net->add(elu(next()));
    net->add(conv(next(), mult * s_.n_filters, s_.dimension, s_.last_kernel_size, 1, 1));
    return net;
  }

  std::unique_ptr<StreamBlock> decoder() {
    auto net = std::make_unique<StreamSequence>();
    std::string half = "decoder.model.";
    int64_t index = 0, mult = int64_t{1} << s_.ratios.size();
    auto next = [&] { return cat(half, index++); };
    net->add(conv(next(), s_.dimension, mult * s_.n_filters, s_.kernel_size, 1, 1));
    if (s_.lstm) net->add(lstm(next(), mult * s_.n_filters));
    for (int64_t ratio : s_.ratios) {
      net->add(elu(next()));
      const Shape shape{mult * s_.n_filters, mult * s_.n_filters / 2, 2 * ratio};
      net->add(std::make_unique<StreamingConvTranspose1d>(ck_.conv(next(), true, shape, time_norm()), ratio, c_.causal,
                                                          s_.trim_right_ratio));
      for (int64_t j = 0; j < s_.n_residual_layers; ++j) net->add(residual(next(), mult * s_.n_filters / 2, j));
      mult /= 2;
    }
    net->add(elu(next()));
    net->add(conv(next(), s_.n_filters, c_.channels, s_.last_kernel_size, 1, 1));
    return net;
  }

 private:
  bool time_norm() const { return c_.norm == "time_group_norm"; }

  std::unique_ptr<StreamBlock> conv(const std::string& module, int64_t in, int64_t out, int64_t kernel,
                                    int64_t stride, int64_t dilation) {
    return std::make_unique<StreamingConv1d>(ck_.conv(module, false, {out, in, kernel}, time_norm()), stride, dilation,
                                             c_.causal, pad_);
  }

  std::unique_ptr<StreamBlock> elu(const std::string&) { return std::make_unique<StreamingElu>(s_.elu_alpha); }

  std::unique_ptr<StreamBlock> lstm(const std::string& module, int64_t dim) {
    return std::make_unique<StreamingLstm>(ck_.lstm(module, dim, s_.lstm));
  }

  // ELU, conv (residual kernel, dilation base^j) to dim/compress channels, ELU, 1-wide conv back to dim.
  std::unique_ptr<StreamBlock> residual(const std::string& module, int64_t dim, int64_t j) {
    const int64_t hidden = dim / s_.compress;
    int64_t dilation = 1;
    for (int64_t i = 0; i < j; ++i) dilation *= s_.dilation_base;
    auto block = std::make_unique<StreamSequence>();
    block->add(elu(module + ".block.0"));
    block->add(conv(module + ".block.1", dim, hidden, s_.residual_kernel_size, 1, dilation));
    block->add(elu(module + ".block.2"));
    block->add(conv(module + ".block.3", hidden, dim, 1, 1, 1));
    auto shortcut = s_.true_skip ? nullptr : conv(module + ".shortcut", dim, dim, 1, 1, 1);
    return std::make_unique<StreamingResidual>(dim, std::move(block), std::move(shortcut));
  }

  EncodecCheckpoint& ck_;
  const EncodecConfig& c_;
  const SeanetConfig& s_;
  PadMode pad_;
};

// [C, T] ↔ [T, C].
Tensor transpose(const Tensor& x) {
  const int64_t rows = x.dim(0), cols = x.dim(1);
  Tensor y = Tensor::uninitialized({cols, rows});
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) y[c * rows + r] = x[r * cols + c];
  return y;
}

void check_samples(const Tensor& block, int64_t channels) {
  if (block.rank() != 2 || block.dim(0) != channels)
    throw Error(cat("audio block ", block.shape(), " does not have the model's ", channels, " channel(s)"));
  for (int64_t i = 0; i < block.numel(); ++i)
    if (!std::isfinite(block[i])) throw Error("audio contains NaN or infinite samples");
}

// Upstream's triangular overlap-add weights for frames of `length` samples: 0.5 − |t − 0.5| over the inner
// points of a float32 linspace(0, 1, length + 2), evaluated as PyTorch does (from whichever end is nearer).
std::vector<float> overlap_weights(int64_t length) {
  const int64_t steps = length + 2, halfway = steps / 2;
  const float step = 1.0f / static_cast<float>(steps - 1);
  std::vector<float> w(static_cast<size_t>(length));
  for (int64_t i = 1; i <= length; ++i) {
    const float t = i < halfway ? step * static_cast<float>(i) : 1.0f - step * static_cast<float>(steps - i - 1);
    w[static_cast<size_t>(i - 1)] = 0.5f - std::fabs(t - 0.5f);
  }
  return w;
}

}  // namespace

EncodecModel::EncodecModel(const std::string& model_dir, Halves halves) : config_(EncodecConfig::load(model_dir)) {
  EncodecCheckpoint checkpoint(model_dir);
  SeanetBuilder builder(checkpoint, config_);
  if (halves & kEncoder) encoder_ = builder.encoder();
  if (halves & kDecoder) decoder_ = builder.decoder();
  std::vector<Codebook> codebooks;
  for (int64_t k = 0; k < config_.n_q; ++k)
    codebooks.push_back(checkpoint.codebook(k, config_.bins, config_.seanet.dimension));
  quantizer_ = std::make_unique<ResidualCodebook>(std::move(codebooks));
  checkpoint.check_all_used(halves == kBoth ? "" : halves == kEncoder ? "decoder." : "encoder.");
}

EncodecModel::~EncodecModel() = default;

std::vector<int64_t> EncodecModel::encode_frames(const Tensor& audio, bool last, int64_t codebooks) {
  const Tensor features = encoder_->push(audio, last);  // [dimension, t]
  if (features.dim(1) == 0) return {};
  const Tensor steps = transpose(features);
  return quantizer_->encode(steps.data(), steps.dim(0), codebooks);
}

EncodedAudio EncodecModel::encode(const AudioSource& source, int64_t codebooks, const Progress& progress,
                                  int64_t samples_per_block) {
  if (!encoder_) throw Error("this EnCodec model was loaded without its encoder");
  if (codebooks < 1 || codebooks > quantizer_->layers())
    throw Error(cat(codebooks, " codebooks asked for; the model has ", quantizer_->layers()));
  EncodedAudio out;
  out.codebooks = codebooks;
  std::vector<std::vector<int64_t>> rows(static_cast<size_t>(codebooks));  // codes of each codebook
  auto keep = [&](const std::vector<int64_t>& codes) {
    const int64_t t = static_cast<int64_t>(codes.size()) / codebooks;
    for (int64_t k = 0; k < codebooks; ++k)
      rows[k].insert(rows[k].end(), codes.begin() + k * t, codes.begin() + (k + 1) * t);
    out.frames += t;
  };
  const int64_t channels = config_.channels;
  encoder_->reset();
  if (config_.streams()) {
    // Blocks of a fixed size, however the source delivers: each block's arithmetic then depends on the input
    // alone, so codes never change with the reader's chunking. About a second each: big enough for efficient
    // GEMMs, small enough for activations to stay in cache.
    const int64_t block = samples_per_block > 0 ? samples_per_block
                                                : config_.seanet.hop_length() * std::max<int64_t>(1, config_.frame_rate());
    TimeBuffer pending(channels);
    bool exhausted = false;
    while (!exhausted) {
      while (!exhausted && pending.length() < block) {
        const Tensor chunk = source(block - pending.length());
        if (chunk.empty()) {
          exhausted = true;
        } else {
          check_samples(chunk, channels);
          pending.append(chunk);
          out.length += chunk.dim(1);
        }
      }
      if (exhausted && out.length == 0) throw Error("no audio samples to encode");
      keep(encode_frames(pending.take(pending.length()), exhausted, codebooks));
      if (progress) progress(out.length);
    }
  } else {
    // Segments of segment_length() samples every segment_stride(), the last one shorter, or the whole input as
    // one segment; each normalised by its own RMS when the model asks for it.
    const int64_t length = config_.segment_length().value_or(std::numeric_limits<int64_t>::max());
    const int64_t stride = config_.segment_length() ? config_.segment_stride() : length;
    TimeBuffer pending(channels);
    bool exhausted = false;
    for (;;) {
      while (!exhausted && pending.length() < length) {
        const Tensor chunk = source(std::min<int64_t>(length - pending.length(), int64_t{1} << 20));
        if (chunk.empty()) {
          exhausted = true;
        } else {
          check_samples(chunk, channels);
          pending.append(chunk);
          out.length += chunk.dim(1);
        }
      }
      if (pending.length() == 0) break;
      Tensor segment = pending.slice(0, std::min(length, pending.length()));
      if (config_.normalize) {
        const int64_t n = segment.dim(1);
        double squares = 0;
        for (int64_t t = 0; t < n; ++t) {
          float mono = 0;
          for (int64_t c = 0; c < channels; ++c) mono += segment[c * n + t];
          mono /= static_cast<float>(channels);
          squares += static_cast<double>(mono) * mono;
        }
        const float scale = 1e-8f + static_cast<float>(std::sqrt(squares / static_cast<double>(n)));
        for (int64_t i = 0; i < segment.numel(); ++i) segment[i] /= scale;
        out.scales.push_back(scale);
      }
      keep(encode_frames(segment, true, codebooks));
      if (progress) progress(out.length - pending.length() + std::min(stride, pending.length()));
      if (exhausted && pending.length() <= stride) break;
      pending.drop(std::min(stride, pending.length()));
    }
    if (out.length == 0) throw Error("no audio samples to encode");
  }
  out.codes.reserve(static_cast<size_t>(codebooks * out.frames));
  for (const auto& row : rows) out.codes.insert(out.codes.end(), row.begin(), row.end());
  return out;
}

EncodedAudio EncodecModel::encode(const Tensor& audio, int64_t codebooks) {
  if (audio.rank() != 2) throw Error(cat("audio ", audio.shape(), " must be [channels, samples]"));
  int64_t offset = 0;
  TimeBuffer all;
  all.append(audio);
  return encode([&](int64_t max_samples) {
    const int64_t n = std::min(max_samples, all.length() - offset);
    Tensor block = n > 0 ? all.slice(offset, offset + n) : Tensor();
    offset += std::max<int64_t>(n, 0);
    return block;
  }, codebooks);
}

void EncodecModel::check_codes(const EncodedAudio& e) const {
  if (e.codebooks < 1 || e.codebooks > quantizer_->layers())
    throw Error(cat("codes from ", e.codebooks, " codebooks; the model has ", quantizer_->layers()));
  if (e.frames < 1 || static_cast<int64_t>(e.codes.size()) != e.codebooks * e.frames)
    throw Error(cat(e.codes.size(), " codes do not form ", e.codebooks, " codebooks of ", e.frames, " frames"));
  for (int64_t code : e.codes)
    if (code < 0 || code >= quantizer_->size())
      throw Error(cat("code ", code, " is outside the codebooks' 0..", quantizer_->size() - 1));
}

Tensor EncodecModel::decode_frames(const int64_t* codes, int64_t codebooks, int64_t stride, int64_t count, bool last) {
  std::vector<int64_t> block(static_cast<size_t>(codebooks * count));
  for (int64_t k = 0; k < codebooks; ++k) std::copy_n(codes + k * stride, count, block.begin() + k * count);
  const Tensor steps = quantizer_->decode(block.data(), codebooks, count);  // [count, dimension]
  return decoder_->push(count > 0 ? transpose(steps) : Tensor({config_.seanet.dimension, 0}), last);
}

void EncodecModel::decode(const EncodedAudio& e, const AudioSink& sink, const Progress& progress,
                          int64_t frames_per_block) {
  if (!decoder_) throw Error("this EnCodec model was loaded without its decoder");
  check_codes(e);
  decoder_->reset();
  const int64_t frames = e.frames, channels = config_.channels;
  auto scaled = [&](Tensor audio, size_t segment) {
    if (config_.normalize)
      for (int64_t i = 0; i < audio.numel(); ++i) audio[i] *= e.scales[segment];
    return audio;
  };
  const auto segment_length = config_.segment_length();
  if (!segment_length) {
    if (config_.normalize && e.scales.size() != 1)
      throw Error(cat("the model normalizes: one scale expected, got ", e.scales.size()));
    const int64_t block = frames_per_block > 0 ? frames_per_block : std::max<int64_t>(1, config_.frame_rate());
    for (int64_t t = 0; t < frames; t += block) {
      const int64_t count = std::min(block, frames - t);
      const bool last = t + count == frames;
      const Tensor audio = decode_frames(e.codes.data() + t, e.codebooks, frames, count, last);
      if (audio.dim(1) > 0) sink(scaled(audio, 0));
      if (progress) progress(t + count);
    }
    return;
  }
  // Segments: each decoded on its own, then overlap-added with upstream's triangular weights, written out as soon
  // as the next segment can no longer reach them.
  // Frames per segment: from the encoded length when known (a short input can end in two short segments), else
  // every segment full but the last.
  const int64_t hop = config_.seanet.hop_length(), stride = config_.segment_stride();
  const int64_t per_segment = (*segment_length + hop - 1) / hop;
  std::vector<int64_t> counts;
  if (e.length > 0) {
    for (int64_t offset = 0; offset < e.length; offset += stride)
      counts.push_back((std::min(*segment_length, e.length - offset) + hop - 1) / hop);
  } else {
    for (int64_t t = 0; t < frames; t += per_segment) counts.push_back(std::min(per_segment, frames - t));
    // After a full segment the last one holds at least segment_length − stride samples; fewer frames than that
    // means the one before was short too, and only the length can tell where it ended.
    const int64_t least = (*segment_length - stride + hop - 1) / hop;
    if (counts.size() > 1 && counts.back() < least)
      throw Error(cat(frames, " frames do not split into segments unambiguously; the encoded length is needed"));
  }
  int64_t counted = 0;
  for (int64_t c : counts) counted += c;
  if (counted != frames)
    throw Error(cat(e.length, " samples encode to ", counted, " frames in segments, but ", frames, " were given"));
  const auto segments = static_cast<int64_t>(counts.size());
  if (config_.normalize && static_cast<int64_t>(e.scales.size()) != segments)
    throw Error(cat(frames, " frames make ", segments, " segments, but ", e.scales.size(), " scales were given"));
  if (!config_.normalize && !e.scales.empty()) throw Error("scales given, but the model does not normalize");
  std::vector<float> weights;
  std::vector<float> sum(0), weight_sum(0);  // [C][span] and [span], positions from `base`
  int64_t base = 0, span = 0, first = 0;
  for (int64_t s = 0; s < segments; first += counts[s++]) {
    const int64_t count = counts[s];
    const Tensor audio = scaled(decode_frames(e.codes.data() + first, e.codebooks, frames, count, true), s);
    const int64_t n = audio.dim(1), offset = s * stride - base;
    if (s == 0) weights = overlap_weights(n);
    if (n > static_cast<int64_t>(weights.size())) throw Error("a later segment decodes longer than the first");
    if (offset + n > span) {  // grow the window
      std::vector<float> grown(static_cast<size_t>(channels * (offset + n)));
      for (int64_t c = 0; c < channels; ++c) std::copy_n(sum.data() + c * span, span, grown.data() + c * (offset + n));
      sum = std::move(grown);
      weight_sum.resize(static_cast<size_t>(offset + n));
      span = offset + n;
    }
    for (int64_t t = 0; t < n; ++t) {
      const float w = weights[static_cast<size_t>(t)];
      for (int64_t c = 0; c < channels; ++c) sum[c * span + offset + t] += w * audio[c * n + t];
      weight_sum[offset + t] += w;
    }
    const bool last = s + 1 == segments;
    const int64_t ready = last ? span : std::min(span, (s + 1) * stride - base);
    Tensor out({channels, ready});
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t t = 0; t < ready; ++t) out[c * ready + t] = sum[c * span + t] / weight_sum[t];
    if (ready > 0) sink(out);
    // Keep what later segments still add to.
    const int64_t rest = span - ready;
    std::vector<float> kept(static_cast<size_t>(channels * rest));
    for (int64_t c = 0; c < channels; ++c) std::copy_n(sum.data() + c * span + ready, rest, kept.data() + c * rest);
    sum = std::move(kept);
    weight_sum.erase(weight_sum.begin(), weight_sum.begin() + ready);
    span = rest;
    base += ready;
    if (progress) progress(first + count);
  }
}

Tensor EncodecModel::decode(const EncodedAudio& encoded) {
  TimeBuffer all(config_.channels);
  decode(encoded, [&](const Tensor& block) { all.append(block); });
  return all.slice(0, all.length());
}

}  // namespace anytok
