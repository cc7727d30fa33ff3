#include "tokenizers/audio_quality.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>
#include <opencv2/core.hpp>

#include "nn/error.h"

namespace anytok {
namespace {

constexpr int kFft = 1024, kHop = 256, kBins = kFft / 2 + 1, kMels = 80;
constexpr double kFloor = 1e-5;

void check_samples(const Tensor& t, const char* what, const char* which) {
  if (t.rank() != 2 || t.dim(0) == 0)
    throw Error(cat(what, ": the ", which, " has shape ", t.shape(), "; expected [channels, length]"));
}

// The length both signals are compared over.
int64_t common_length(const Tensor& reference, const Tensor& estimate, const char* what) {
  check_samples(reference, what, "reference");
  check_samples(estimate, what, "estimate");
  if (reference.dim(0) != estimate.dim(0))
    throw Error(cat(what, ": the reference has ", reference.dim(0), " channels and the estimate ", estimate.dim(0)));
  return std::min(reference.dim(1), estimate.dim(1));
}

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

// Log-mel frames of one channel. The triangles are kept as the run of bins where each is nonzero.
class MelAnalyzer {
 public:
  explicit MelAnalyzer(int64_t sample_rate) : window_(kFft) {
    for (int n = 0; n < kFft; ++n) window_[n] = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * n / kFft);
    // torchaudio's bin frequencies and top corner both use the integer sample_rate // 2.
    const double nyquist = static_cast<double>(sample_rate / 2), top = hz_to_mel(nyquist);
    std::vector<double> corners(kMels + 2);
    for (int i = 0; i < kMels + 2; ++i) corners[i] = mel_to_hz(top * i / (kMels + 1));
    for (int m = 0; m < kMels; ++m) {
      Band band;
      const double lo = corners[m], mid = corners[m + 1], hi = corners[m + 2];
      for (int k = 0; k < kBins; ++k) {
        const double f = nyquist * k / (kBins - 1);
        const double w = std::max(0.0, std::min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
        if (w <= 0) continue;
        if (band.weights.empty()) band.first = k;
        band.weights.resize(static_cast<size_t>(k - band.first + 1));  // a triangle's bins are contiguous
        band.weights.back() = w;
      }
      bands_.push_back(std::move(band));
    }
  }

  // Frames [first, first + count) of x (length samples, at least kFft/2 + 1), into out[count][kMels].
  void run(const float* x, int64_t length, int64_t first, int64_t count, double* out) {
    frames_.create(static_cast<int>(count), kFft, CV_64F);
    for (int64_t t = 0; t < count; ++t) {
      double* row = frames_.ptr<double>(static_cast<int>(t));
      for (int n = 0; n < kFft; ++n) {
        int64_t i = (first + t) * kHop + n - kFft / 2;
        if (i < 0) i = -i;                           // mirrored about the first sample
        if (i >= length) i = 2 * (length - 1) - i;  // and about the last
        row[n] = window_[n] * x[i];
      }
    }
    cv::dft(frames_, spectrum_, cv::DFT_ROWS | cv::DFT_COMPLEX_OUTPUT);
    std::vector<double> power(kBins);
    for (int64_t t = 0; t < count; ++t) {
      const cv::Vec2d* bins = spectrum_.ptr<cv::Vec2d>(static_cast<int>(t));
      for (int k = 0; k < kBins; ++k) power[k] = bins[k][0] * bins[k][0] + bins[k][1] * bins[k][1];
      for (int m = 0; m < kMels; ++m) {
        const Band& band = bands_[m];
        double sum = 0;
        for (size_t j = 0; j < band.weights.size(); ++j) sum += band.weights[j] * power[band.first + j];
        out[t * kMels + m] = std::log(sum + kFloor);
      }
    }
  }

 private:
  struct Band {
    int first = 0;
    std::vector<double> weights;
  };
  std::vector<double> window_;
  std::vector<Band> bands_;
  cv::Mat frames_, spectrum_;
};

constexpr int64_t kChunkFrames = 256;  // frames transformed at once, bounding memory for long signals

void check_mel_input(int64_t length, int64_t sample_rate, const char* what) {
  if (sample_rate <= 1) throw Error(cat(what, ": a sample rate of ", sample_rate, " Hz is not supported"));
  if (length <= kFft / 2)
    throw Error(cat(what, ": the signals are ", length, " samples long; its mirrored padding needs at least ",
                    kFft / 2 + 1));
}

}  // namespace

double si_snr(const Tensor& reference, const Tensor& estimate) {
  const int64_t length = common_length(reference, estimate, "si_snr");
  if (length == 0) throw Error("si_snr: the signals are empty");
  const int64_t channels = reference.dim(0);
  std::vector<double> s(static_cast<size_t>(channels * length)), e(s.size());
  for (int64_t c = 0; c < channels; ++c) {
    const float* sc = reference.data() + c * reference.dim(1);
    const float* ec = estimate.data() + c * estimate.dim(1);
    double s_mean = 0, e_mean = 0;
    for (int64_t i = 0; i < length; ++i) s_mean += sc[i], e_mean += ec[i];
    s_mean /= static_cast<double>(length);
    e_mean /= static_cast<double>(length);
    for (int64_t i = 0; i < length; ++i) {
      s[c * length + i] = sc[i] - s_mean;
      e[c * length + i] = ec[i] - e_mean;
    }
  }
  double dot = 0, energy = 0;
  for (size_t i = 0; i < s.size(); ++i) dot += e[i] * s[i], energy += s[i] * s[i];
  if (energy == 0) throw Error("si_snr: the reference is silent once its mean is removed, so SI-SNR is undefined");
  const double alpha = dot / energy;
  double target = 0, noise = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const double t = alpha * s[i], d = t - e[i];
    target += t * t;
    noise += d * d;
  }
  if (target == 0) return -std::numeric_limits<double>::infinity();
  if (noise == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(target / noise);
}

double log_mel_distance(const Tensor& reference, const Tensor& estimate, int64_t sample_rate) {
  const int64_t length = common_length(reference, estimate, "log_mel_distance");
  check_mel_input(length, sample_rate, "log_mel_distance");
  const int64_t channels = reference.dim(0), frames = 1 + length / kHop;
  MelAnalyzer analyzer(sample_rate);
  std::vector<double> a(static_cast<size_t>(kChunkFrames * kMels)), b(a.size());
  double sum = 0;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t first = 0; first < frames; first += kChunkFrames) {
      const int64_t count = std::min(kChunkFrames, frames - first);
      analyzer.run(reference.data() + c * reference.dim(1), length, first, count, a.data());
      analyzer.run(estimate.data() + c * estimate.dim(1), length, first, count, b.data());
      for (int64_t i = 0; i < count * kMels; ++i) sum += std::abs(a[i] - b[i]);
    }
  return sum / static_cast<double>(channels * frames * kMels);
}

Tensor log_mel_spectrogram(const Tensor& samples, int64_t sample_rate) {
  check_samples(samples, "log_mel_spectrogram", "signal");
  const int64_t channels = samples.dim(0), length = samples.dim(1), frames = 1 + length / kHop;
  check_mel_input(length, sample_rate, "log_mel_spectrogram");
  MelAnalyzer analyzer(sample_rate);
  Tensor out({channels, kMels, frames});
  std::vector<double> chunk(static_cast<size_t>(kChunkFrames * kMels));
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t first = 0; first < frames; first += kChunkFrames) {
      const int64_t count = std::min(kChunkFrames, frames - first);
      analyzer.run(samples.data() + c * length, length, first, count, chunk.data());
      for (int64_t t = 0; t < count; ++t)
        for (int m = 0; m < kMels; ++m)
          out[(c * kMels + m) * frames + first + t] = static_cast<float>(chunk[t * kMels + m]);
    }
  return out;
}

}  // namespace anytok
