// The streamable 1-d building blocks of SEANet audio codecs (EnCodec's encoder and decoder). Every block works
// on one sequence [C, T] and can take it in chunks: push() takes the next chunk and returns the output that chunk
// completes, keeping the context it needs (a conv's receptive field, a transposed conv's overlap, an LSTM's
// state) until the next call. A sequence pushed in any chunking gives the outputs of the whole sequence at once,
// including upstream's padding at both ends, which is decided when `last` arrives.
//
// A block normalised over time (GroupNorm(1, C) after the conv, "time_group_norm") needs the whole sequence, so
// it buffers its input until `last`; models with such norms process bounded segments instead of streams.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include "nn/lstm.h"
#include "nn/tensor.h"

namespace anytok {

// [C, n] samples that arrive at the end and leave from the front. Each channel's row has room to grow, so that
// appending and dropping move only what arrives, not what is kept.
class TimeBuffer {
 public:
  explicit TimeBuffer(int64_t channels = 0) : channels_(channels) {}
  int64_t channels() const { return channels_; }
  int64_t length() const { return length_; }
  void append(const Tensor& x);                    // [C, m]
  void append(const Tensor& x, int64_t begin, int64_t end);  // columns begin..end of x [C, m]
  Tensor slice(int64_t begin, int64_t end) const;  // a copy of [C, begin..end)
  Tensor take(int64_t n);                          // removes and returns the first n
  void drop(int64_t n);
  void clear() { begin_ = length_ = 0; }
  float at(int64_t channel, int64_t t) const { return data_[static_cast<size_t>(channel * stride_ + begin_ + t)]; }
  const float* data() const { return data_.data() + begin_; }  // channel c's row at data() + c·row_stride()
  int64_t row_stride() const { return stride_; }

 private:
  int64_t channels_ = 0, length_ = 0, begin_ = 0, stride_ = 0;
  std::vector<float> data_;  // [C][stride_], the samples at begin_ .. begin_ + length_ of each row
};

enum class PadMode { Reflect, Zero, Replicate };
PadMode parse_pad_mode(const std::string& name);  // PyTorch's names: "reflect", "constant", "replicate"

// Pads x [C, L] on the left and right as EnCodec's pad1d: for reflect padding of an input no longer than the pad,
// zeros are appended first so that the reflection exists, and taken off again afterwards.
Tensor pad1d(const Tensor& x, int64_t left, int64_t right, PadMode mode);

class StreamBlock {
 public:
  virtual ~StreamBlock() = default;
  // The next chunk [C_in, n] (n may be 0) → the outputs it completes [C_out, m]; `last` ends the sequence.
  virtual Tensor push(const Tensor& chunk, bool last) = 0;
  virtual void reset() = 0;  // forget the sequence so far
};

// Convolution weights, with weight norm already folded in. weight: Conv1d [Cout, Cin, K] or ConvTranspose1d
// [Cin, Cout, K]. norm_gamma/norm_beta: GroupNorm(1, Cout) after the conv, or empty.
struct Conv1dWeights {
  Tensor weight, bias, norm_gamma, norm_beta;
};

// EnCodec's SConv1d: a conv whose padding keeps the output at ceil(T / stride) frames. The effective kernel
// (K−1)·dilation+1 minus the stride is padded, all on the left when causal, else split with the odd one on the
// left, and extra padding at the end makes the last window full.
class StreamingConv1d : public StreamBlock {
 public:
  StreamingConv1d(Conv1dWeights weights, int64_t stride, int64_t dilation, bool causal, PadMode pad_mode);
  Tensor push(const Tensor& chunk, bool last) override;
  void reset() override;

 private:
  // Conv (and norm) of the `length` padded steps at x, whose channels are rows `row_stride` apart.
  Tensor convolve(const float* x, int64_t row_stride, int64_t length) const;
  Conv1dWeights w_;
  int64_t stride_, dilation_, span_, pad_left_, pad_right_;
  PadMode pad_mode_;
  TimeBuffer buffer_;     // a suffix of the padded input, starting at padded position buffer_start_
  int64_t buffer_start_ = 0, next_frame_ = 0, seen_ = 0;
  bool started_ = false;  // left padding written
};

// EnCodec's SConvTranspose1d: the transposed conv's K − stride surplus samples are trimmed, on the right when
// causal (a `trim_right_ratio` share of them), else split with the odd one on the right.
class StreamingConvTranspose1d : public StreamBlock {
 public:
  StreamingConvTranspose1d(Conv1dWeights weights, int64_t stride, bool causal, double trim_right_ratio);
  Tensor push(const Tensor& chunk, bool last) override;
  void reset() override;

 private:
  Conv1dWeights w_;
  int64_t stride_, trim_left_, trim_right_;
  TimeBuffer whole_;     // the input so far, for time-normalised layers only
  TimeBuffer overlap_;   // the partial sums that the next input frames add to, without bias
  TimeBuffer held_;      // finished outputs held back, as the last trim_right_ of them are trimmed
  int64_t produced_ = 0;  // untrimmed outputs finished so far
};

// EnCodec's SLSTM: an LSTM over time with a skip connection, on [C, T].
class StreamingLstm : public StreamBlock {
 public:
  explicit StreamingLstm(Lstm lstm) : lstm_(std::move(lstm)) {}
  Tensor push(const Tensor& chunk, bool last) override;
  void reset() override { lstm_.reset(); }

 private:
  Lstm lstm_;
};

class StreamingElu : public StreamBlock {
 public:
  explicit StreamingElu(float alpha) : alpha_(alpha) {}
  Tensor push(const Tensor& chunk, bool last) override;
  void reset() override {}

 private:
  float alpha_;
};

// Blocks run one after another.
class StreamSequence : public StreamBlock {
 public:
  void add(std::unique_ptr<StreamBlock> block) { blocks_.push_back(std::move(block)); }
  Tensor push(const Tensor& chunk, bool last) override;
  void reset() override;

 private:
  std::vector<std::unique_ptr<StreamBlock>> blocks_;
};

// SEANet's residual block: shortcut(x) + block(x), the shortcut a 1-wide conv or (true_skip) x itself. The two
// branches can lag by different amounts, so each one's output waits for the other's.
class StreamingResidual : public StreamBlock {
 public:
  StreamingResidual(int64_t channels, std::unique_ptr<StreamBlock> block, std::unique_ptr<StreamBlock> shortcut);
  Tensor push(const Tensor& chunk, bool last) override;
  void reset() override;

 private:
  std::unique_ptr<StreamBlock> block_, shortcut_;  // shortcut_ null for the identity
  TimeBuffer block_out_, shortcut_out_;
};

}  // namespace anytok
