// The EnCodec neural audio codec (facebookresearch/encodec, also in Hugging Face transformers): a SEANet
// convolutional encoder with an LSTM turns audio into frames of `dimension` features, a residual VQ turns those
// into codes, and the mirrored decoder turns codes back into audio. The audio tokenizer and decoder share it.
//
// A model is a directory:
//   config.json        {"family": "encodec", "sample_rate", "channels", "causal", "norm", "normalize", "segment",
//                       "overlap", "n_q", "bins", "target_bandwidths", "bandwidth", "seanet": {...}}
//   model.safetensors  original (encoder.model.0.conv.conv.weight_g) or transformers (encoder.layers.0.conv.weight_g,
//                      ...conv.parametrizations.weight.original0) key names, recognised from the names, under any
//                      common prefix. Weight norm is folded at load.
//
// Layouts: audio [channels, samples] at sample_rate, in [−1, 1]; codes [K, T], K codebooks by T frames.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include "codebooks/residual_codebook.h"
#include "nn/seanet_blocks.h"
#include "nn/weights.h"

namespace anytok {

// SEANet arguments; absent ones take upstream's defaults.
struct SeanetConfig {
  int64_t dimension = 128, n_filters = 32, n_residual_layers = 1, lstm = 2;
  std::vector<int64_t> ratios{8, 5, 4, 2};  // the decoder's upsampling order; the encoder runs them reversed
  int64_t kernel_size = 7, last_kernel_size = 7, residual_kernel_size = 3, dilation_base = 2, compress = 2;
  bool true_skip = false;
  std::string pad_mode = "reflect";
  double trim_right_ratio = 1.0;
  float elu_alpha = 1.0f;
  int64_t hop_length() const;  // samples per frame: the product of the ratios
};

struct EncodecConfig {
  int64_t sample_rate = 24000, channels = 1;
  bool causal = true;
  std::string norm = "weight_norm";  // weight_norm | time_group_norm | none
  bool normalize = false;            // scale each segment by its RMS before encoding, and back after decoding
  std::optional<double> segment;     // seconds per separately coded segment; none: the whole input at once
  double overlap = 0.01;             // share of a segment overlapped by the next
  int64_t n_q = 32, bins = 1024;     // codebooks, and codes per codebook
  std::vector<double> target_bandwidths;
  std::optional<double> bandwidth;   // kbps used when none is asked for; none: all n_q codebooks
  SeanetConfig seanet;

  int64_t frame_rate() const;  // frames per second, ceil(sample_rate / hop)
  // Codebooks coding `kbps` as upstream computes it: max(1, floor(kbps·1000 / (log2(bins)·frame_rate))). Throws
  // Error when kbps is not one of target_bandwidths. No kbps: the configured bandwidth, else every codebook.
  int64_t codebooks_for(std::optional<double> kbps) const;
  std::optional<int64_t> segment_length() const;  // samples: int(segment · sample_rate)
  int64_t segment_stride() const;                 // samples between segment starts: max(1, int((1 − overlap)·length))
  // Whether encoding can run as one stream over the input (no segments, normalisation or time-wide norms), with
  // memory that does not grow with its length.
  bool streams() const;
  static EncodecConfig load(const std::string& model_dir);  // reads config.json; throws Error naming the field
};

// What encoding gives: codes of every segment, concatenated along time.
struct EncodedAudio {
  int64_t codebooks = 0, frames = 0;  // K, T
  std::vector<int64_t> codes;         // [K, T]
  std::vector<float> scales;          // one per segment when the model normalizes, else empty
  int64_t length = 0;                 // samples encoded, at the model's rate; 0 when unknown
};

// Supplies the next block of input, [channels, n] with n ≤ max_samples; n = 0 at the end.
using AudioSource = std::function<Tensor(int64_t max_samples)>;
// Takes the next block of output, [channels, n].
using AudioSink = std::function<void(const Tensor& block)>;
// Told how many input samples (encoding) or frames (decoding) are done.
using Progress = std::function<void(int64_t done)>;

class EncodecModel {
 public:
  enum Halves { kEncoder = 1, kDecoder = 2, kBoth = 3 };
  explicit EncodecModel(const std::string& model_dir, Halves halves = kBoth);
  ~EncodecModel();
  const EncodecConfig& config() const { return config_; }
  const ResidualCodebook& quantizer() const { return *quantizer_; }

  // Audio read block by block → codes from `codebooks` codebooks. Streams where config().streams(), in blocks of
  // `samples_per_block` (0: about a second's worth) whatever sizes the source delivers; segment by segment
  // otherwise.
  EncodedAudio encode(const AudioSource& source, int64_t codebooks, const Progress& progress = {},
                      int64_t samples_per_block = 0);
  EncodedAudio encode(const Tensor& audio, int64_t codebooks);  // [channels, samples]
  // Codes → audio, block by block, not trimmed (up to a frame's worth longer than what was encoded). Throws Error
  // on codes outside the codebooks or scales that do not match the segments. Unsegmented models decode
  // `frames_per_block` frames at a time (0: about a second's worth).
  void decode(const EncodedAudio& encoded, const AudioSink& sink, const Progress& progress = {},
              int64_t frames_per_block = 0);
  Tensor decode(const EncodedAudio& encoded);  // [channels, samples]

 private:
  std::vector<int64_t> encode_frames(const Tensor& audio, bool last, int64_t codebooks);
  Tensor decode_frames(const int64_t* codes, int64_t codebooks, int64_t stride, int64_t count, bool last);
  void check_codes(const EncodedAudio& encoded) const;
  EncodecConfig config_;
  std::unique_ptr<StreamBlock> encoder_, decoder_;
  std::unique_ptr<ResidualCodebook> quantizer_;
};

}  // namespace anytok
