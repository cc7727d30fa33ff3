#include "nn/seanet_blocks.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "nn/conv.h"
#include "nn/error.h"
#include "nn/ops.h"

namespace anytok {

namespace {

int64_t length_of(const Tensor& x) { return x.empty() && x.rank() < 2 ? 0 : x.dim(1); }

Tensor no_frames(int64_t channels) { return Tensor({channels, 0}); }

// GroupNorm(1, C) over [C, T]: every channel and step of the sequence together.
Tensor time_group_norm(const Tensor& y, const Conv1dWeights& w) {
  return group_norm(y.reshape({1, y.dim(0), y.dim(1)}), 1, w.norm_gamma, w.norm_beta, 1e-5f)
      .reshape({y.dim(0), y.dim(1)});
}

}  // namespace

void TimeBuffer::append(const Tensor& x) { append(x, 0, length_of(x)); }

void TimeBuffer::append(const Tensor& x, int64_t begin, int64_t end) {
  const int64_t m = end - begin;
  if (m <= 0) return;
  if (begin < 0 || end > length_of(x)) throw Error(cat("time buffer: columns ", begin, "..", end, " outside ", x.shape()));
  if (length_ == 0 && channels_ == 0) channels_ = x.dim(0);
  if (x.rank() != 2 || x.dim(0) != channels_)
    throw Error(cat("time buffer of ", channels_, " channels cannot take ", x.shape()));
  if (length_ + m > stride_) {
    // Wider rows, the kept samples moved to their front; a quarter more room than now needed, since a stream
    // appends chunks of much the same size.
    const int64_t stride = (length_ + m) * 5 / 4 + 16;
    std::vector<float> moved(static_cast<size_t>(channels_ * stride));
    for (int64_t c = 0; c < channels_; ++c)
      std::copy_n(data_.data() + c * stride_ + begin_, length_, moved.data() + c * stride);
    data_ = std::move(moved);
    stride_ = stride;
    begin_ = 0;
  } else if (begin_ + length_ + m > stride_) {
    for (int64_t c = 0; c < channels_; ++c)  // the kept samples back to the front of their rows
      std::memmove(data_.data() + c * stride_, data_.data() + c * stride_ + begin_, sizeof(float) * length_);
    begin_ = 0;
  }
  const int64_t width = x.dim(1);
  for (int64_t c = 0; c < channels_; ++c)
    std::copy_n(x.data() + c * width + begin, m, data_.data() + c * stride_ + begin_ + length_);
  length_ += m;
}

Tensor TimeBuffer::slice(int64_t begin, int64_t end) const {
  if (begin < 0 || end < begin || end > length_)
    throw Error(cat("time buffer: range ", begin, "..", end, " outside 0..", length_));
  Tensor out = Tensor::uninitialized({channels_, end - begin});
  for (int64_t c = 0; c < channels_; ++c)
    std::copy_n(data_.data() + c * stride_ + begin_ + begin, end - begin, out.data() + c * (end - begin));
  return out;
}

Tensor TimeBuffer::take(int64_t n) {
  Tensor out = slice(0, n);
  drop(n);
  return out;
}

void TimeBuffer::drop(int64_t n) {
  if (n <= 0) return;
  if (n > length_) throw Error(cat("time buffer: cannot drop ", n, " of ", length_, " steps"));
  begin_ += n;
  length_ -= n;
  if (length_ == 0) begin_ = 0;
}

PadMode parse_pad_mode(const std::string& name) {
  if (name == "reflect") return PadMode::Reflect;
  if (name == "constant" || name == "zero") return PadMode::Zero;
  if (name == "replicate") return PadMode::Replicate;
  throw Error(cat("unknown pad mode \"", name, "\" (expected reflect, constant or replicate)"));
}

namespace {

// Value of row (length n) at index i of its padded extension, i < 0 or i ≥ n; reflect needs |overhang| < n.
float padded_value(const float* row, int64_t n, int64_t i, PadMode mode) {
  switch (mode) {
    case PadMode::Zero: return 0.0f;
    case PadMode::Replicate: return row[std::clamp<int64_t>(i, 0, n - 1)];
    case PadMode::Reflect: return row[i < 0 ? -i : 2 * (n - 1) - i];
  }
  return 0.0f;
}

}  // namespace

Tensor pad1d(const Tensor& x, int64_t left, int64_t right, PadMode mode) {
  if (x.rank() != 2) throw Error(cat("pad1d: input ", x.shape(), " must be [C, T]"));
  if (left < 0 || right < 0) throw Error("pad1d: negative padding");
  const int64_t channels = x.dim(0), n = x.dim(1);
  if (mode == PadMode::Reflect && n <= std::max(left, right)) {
    const int64_t extra = std::max(left, right) - n + 1;
    Tensor extended({channels, n + extra});  // zeros after the samples
    for (int64_t c = 0; c < channels; ++c) std::copy_n(x.data() + c * n, n, extended.data() + c * (n + extra));
    const Tensor padded = pad1d(extended, left, right, mode);
    const int64_t kept = padded.dim(1) - extra;
    Tensor out({channels, kept});
    for (int64_t c = 0; c < channels; ++c)
      std::copy_n(padded.data() + c * padded.dim(1), kept, out.data() + c * kept);
    return out;
  }
  if (n == 0 && mode != PadMode::Zero) throw Error("pad1d: cannot extend an empty sequence");
  const int64_t total = left + n + right;
  Tensor out = Tensor::uninitialized({channels, total});
  for (int64_t c = 0; c < channels; ++c) {
    const float* row = x.data() + c * n;
    float* dst = out.data() + c * total;
    for (int64_t i = 0; i < left; ++i) dst[i] = padded_value(row, n, i - left, mode);
    std::copy_n(row, n, dst + left);
    for (int64_t i = 0; i < right; ++i) dst[left + n + i] = padded_value(row, n, n + i, mode);
  }
  return out;
}

// --- StreamingConv1d ---

StreamingConv1d::StreamingConv1d(Conv1dWeights weights, int64_t stride, int64_t dilation, bool causal,
                                 PadMode pad_mode)
    : w_(std::move(weights)), stride_(stride), dilation_(dilation), pad_mode_(pad_mode) {
  span_ = (w_.weight.dim(2) - 1) * dilation_ + 1;
  if (stride_ < 1 || dilation_ < 1 || span_ < stride_)
    throw Error(cat("conv1d: kernel ", w_.weight.dim(2), ", dilation ", dilation_, " and stride ", stride_,
                    " leave negative padding"));
  const int64_t padding = span_ - stride_;
  pad_right_ = causal ? 0 : padding / 2;
  pad_left_ = padding - pad_right_;
}

void StreamingConv1d::reset() {
  buffer_.clear();
  buffer_start_ = next_frame_ = seen_ = 0;
  started_ = false;
}

Tensor StreamingConv1d::convolve(const float* x, int64_t row_stride, int64_t length) const {
  Tensor y = Tensor::uninitialized({w_.weight.dim(0), (length - span_) / stride_ + 1});
  conv1d_rows(x, row_stride, w_.weight.dim(1), length, w_.weight, w_.bias, stride_, dilation_, y.data());
  return w_.norm_gamma.empty() ? y : time_group_norm(y, w_);
}

Tensor StreamingConv1d::push(const Tensor& chunk, bool last) {
  seen_ += length_of(chunk);
  // Padding at the end that makes the last window full, for a sequence of seen_ steps (as upstream computes it).
  auto end_padding = [&] {
    const double frames = static_cast<double>(seen_ - span_ + (span_ - stride_)) / static_cast<double>(stride_) + 1;
    return pad_right_ + (static_cast<int64_t>(std::ceil(frames)) - 1) * stride_ + stride_ - seen_;
  };
  const bool time_normalised = !w_.norm_gamma.empty();
  if (time_normalised || !started_) {
    buffer_.append(chunk);
    // Until more input than any padding has come, the padding may need upstream's short-input rule, which only
    // the whole sequence decides.
    const int64_t enough = std::max(pad_left_, pad_right_ + stride_ - 1) + 1;
    if (time_normalised || buffer_.length() < enough) {
      if (!last) return no_frames(w_.weight.dim(0));
      const Tensor x = buffer_.slice(0, buffer_.length());
      const int64_t right = end_padding();
      reset();
      if (x.dim(1) == 0) throw Error("conv1d: empty sequence");
      const Tensor padded = pad1d(x, pad_left_, right, pad_mode_);
      return convolve(padded.data(), padded.dim(1), padded.dim(1));
    }
    const Tensor x = buffer_.slice(0, buffer_.length());
    buffer_.clear();
    buffer_.append(pad1d(x, pad_left_, 0, pad_mode_));
    started_ = true;
  } else {
    buffer_.append(chunk);
  }
  if (last) {
    // The last steps of the input are still buffered (see the retention below), so the end padding is theirs.
    const int64_t right = end_padding(), n = buffer_.length();
    Tensor tail({buffer_.channels(), right});
    for (int64_t c = 0; c < buffer_.channels(); ++c)
      for (int64_t i = 0; i < right; ++i)
        tail[c * right + i] = pad_mode_ == PadMode::Zero      ? 0.0f
                              : pad_mode_ == PadMode::Replicate ? buffer_.at(c, n - 1)
                                                                : buffer_.at(c, n - 2 - i);
    buffer_.append(tail);
  }
  const int64_t end = buffer_start_ + buffer_.length(), first = next_frame_ * stride_;
  Tensor y = no_frames(w_.weight.dim(0));
  if (first + span_ <= end) {
    const int64_t count = (end - span_ - first) / stride_ + 1, offset = first - buffer_start_;
    y = convolve(buffer_.data() + offset, buffer_.row_stride(), (count - 1) * stride_ + span_);
    next_frame_ += count;
  }
  if (last) {
    reset();
    return y;
  }
  // Keep what later windows read, and enough of the input's end to reflect it into the end padding.
  const int64_t keep_from = std::min(next_frame_ * stride_, end - (pad_right_ + stride_));
  if (keep_from > buffer_start_) {
    buffer_.drop(keep_from - buffer_start_);
    buffer_start_ = keep_from;
  }
  return y;
}

// --- StreamingConvTranspose1d ---

StreamingConvTranspose1d::StreamingConvTranspose1d(Conv1dWeights weights, int64_t stride, bool causal,
                                                   double trim_right_ratio)
    : w_(std::move(weights)),
      stride_(stride),
      whole_(w_.weight.dim(0)),
      overlap_(w_.weight.dim(1)),
      held_(w_.weight.dim(1)) {
  const int64_t kernel = w_.weight.dim(2);
  if (stride_ < 1 || kernel < stride_)
    throw Error(cat("conv_transpose1d: kernel ", kernel, " is shorter than its stride ", stride_));
  const int64_t surplus = kernel - stride_;
  trim_right_ = causal ? static_cast<int64_t>(std::ceil(static_cast<double>(surplus) * trim_right_ratio)) : surplus / 2;
  trim_left_ = surplus - trim_right_;
}

void StreamingConvTranspose1d::reset() {
  whole_.clear();
  overlap_.clear();
  held_.clear();
  produced_ = 0;
}

Tensor StreamingConvTranspose1d::push(const Tensor& chunk, bool last) {
  const int64_t cin = w_.weight.dim(0), cout = w_.weight.dim(1), n = length_of(chunk);
  if (n > 0 && (chunk.rank() != 2 || chunk.dim(0) != cin))
    throw Error(cat("conv_transpose1d: input ", chunk.shape(), " does not have ", cin, " channels"));
  if (!w_.norm_gamma.empty()) {
    whole_.append(chunk);
    if (!last) return no_frames(cout);
    const int64_t length = whole_.length();
    if (length == 0) throw Error("conv_transpose1d: empty sequence");
    const Tensor x = whole_.slice(0, length);
    reset();
    Tensor y = conv_transpose1d(x.reshape({1, cin, length}), w_.weight, w_.bias, stride_);
    y = time_group_norm(y.reshape({cout, y.dim(2)}), w_);
    TimeBuffer all;
    all.append(y);
    return all.slice(trim_left_, y.dim(1) - trim_right_);
  }
  // Every input step adds a kernel-wide run of outputs at stride spacing: with the overlap carried from the
  // previous chunk added, the first n·stride columns are complete (all of them at the end), the rest carries on.
  Tensor columns;
  int64_t width = 0;
  if (n > 0) {
    columns = conv_transpose1d(chunk.reshape({1, cin, n}), w_.weight, Tensor(), stride_);
    width = columns.dim(2);
    columns = columns.reshape({cout, width});
    for (int64_t c = 0; c < cout; ++c) {
      const float* carried = overlap_.data() + c * overlap_.row_stride();
      for (int64_t t = 0; t < overlap_.length(); ++t) columns[c * width + t] += carried[t];
    }
  } else {
    columns = overlap_.slice(0, overlap_.length());
    width = columns.dim(1);
  }
  const int64_t complete = last ? width : std::min(width, n * stride_);
  overlap_.clear();
  overlap_.append(columns, complete, width);
  if (!w_.bias.empty())
    for (int64_t c = 0; c < cout; ++c)
      for (int64_t t = 0; t < complete; ++t) columns[c * width + t] += w_.bias[c];
  const int64_t skip = std::clamp<int64_t>(trim_left_ - produced_, 0, complete);
  produced_ += complete;
  held_.append(columns, skip, complete);
  const int64_t ready = held_.length() - trim_right_;
  Tensor out = ready > 0 ? held_.take(ready) : no_frames(cout);
  if (last) reset();
  return out;
}

// --- the rest ---

Tensor StreamingLstm::push(const Tensor& chunk, bool last) {
  const int64_t channels = chunk.dim(0), n = length_of(chunk);
  Tensor out = Tensor::uninitialized({channels, n});
  if (n > 0) {
    Tensor steps = Tensor::uninitialized({n, channels});
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t t = 0; t < n; ++t) steps[t * channels + c] = chunk[c * n + t];
    const Tensor y = lstm_(steps);
    if (y.dim(1) != channels) throw Error(cat("LSTM: ", y.dim(1), " outputs cannot skip-connect ", channels, " inputs"));
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t t = 0; t < n; ++t) out[c * n + t] = y[t * channels + c] + chunk[c * n + t];
  }
  if (last) lstm_.reset();
  return out;
}

Tensor StreamingElu::push(const Tensor& chunk, bool) {
  Tensor y = chunk.clone();
  elu_(y, alpha_);
  return y;
}

Tensor StreamSequence::push(const Tensor& chunk, bool last) {
  Tensor x = chunk;
  for (auto& block : blocks_) x = block->push(x, last);
  return x;
}

void StreamSequence::reset() {
  for (auto& block : blocks_) block->reset();
}

StreamingResidual::StreamingResidual(int64_t channels, std::unique_ptr<StreamBlock> block,
                                     std::unique_ptr<StreamBlock> shortcut)
    : block_(std::move(block)), shortcut_(std::move(shortcut)), block_out_(channels), shortcut_out_(channels) {}

void StreamingResidual::reset() {
  block_->reset();
  if (shortcut_) shortcut_->reset();
  block_out_.clear();
  shortcut_out_.clear();
}

Tensor StreamingResidual::push(const Tensor& chunk, bool last) {
  Tensor a = block_->push(chunk, last);
  const Tensor b = shortcut_ ? shortcut_->push(chunk, last) : chunk;
  if (block_out_.length() == 0 && shortcut_out_.length() == 0 && a.shape() == b.shape()) {
    add_(a, b);  // the branches kept pace (always so in causal models): no buffering
    return a;
  }
  block_out_.append(a);
  shortcut_out_.append(b);
  if (last && block_out_.length() != shortcut_out_.length())
    throw Error(cat("residual block: branches end at ", block_out_.length(), " and ", shortcut_out_.length(), " steps"));
  const int64_t ready = std::min(block_out_.length(), shortcut_out_.length());
  Tensor out = block_out_.take(ready);
  const Tensor skip = shortcut_out_.take(ready);
  if (ready > 0 && out.dim(0) != skip.dim(0))
    throw Error(cat("residual block: ", out.dim(0), " and ", skip.dim(0), " channels cannot be added"));
  add_(out, skip);
  return out;
}

}  // namespace anytok
