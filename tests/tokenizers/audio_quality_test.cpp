// SI-SNR and the log-mel distance on signals whose answer is known: copies, scaled copies, noise added at a set
// SNR; and the log-mel spectrogram against a direct evaluation of its definition.
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <functional>
#include <limits>
#include <numbers>
#include <random>

#include "nn/error.h"
#include "test_util.h"
#include "tokenizers/audio_quality.h"

using namespace anytok;

namespace {

// A few harmonics with a slow amplitude swell, and a DC offset that SI-SNR must ignore.
Tensor music(int64_t channels, int64_t length, double rate) {
  Tensor t({channels, length});
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < length; ++i) {
      const double time = i / rate, swell = 0.6 + 0.4 * std::sin(2 * std::numbers::pi * 1.3 * time);
      double v = 0.1 * (c + 1);
      for (int h = 1; h <= 4; ++h) v += swell * 0.3 / h * std::sin(2 * std::numbers::pi * 220.0 * (c + 1) * h * time);
      t[c * length + i] = static_cast<float>(v);
    }
  return t;
}

double energy_without_mean(const Tensor& t) {
  const int64_t channels = t.dim(0), length = t.dim(1);
  double sum = 0;
  for (int64_t c = 0; c < channels; ++c) {
    double mean = 0;
    for (int64_t i = 0; i < length; ++i) mean += t[c * length + i];
    mean /= static_cast<double>(length);
    for (int64_t i = 0; i < length; ++i) sum += (t[c * length + i] - mean) * (t[c * length + i] - mean);
  }
  return sum;
}

// `clean` plus white Gaussian noise scaled so that signal energy / noise energy is exactly `snr_db`.
Tensor with_noise(const Tensor& clean, double snr_db, uint32_t seed) {
  const Tensor noise = test::random_tensor(clean.shape(), seed);
  const double scale = std::sqrt(energy_without_mean(clean) / energy_without_mean(noise) / std::pow(10.0, snr_db / 10));
  Tensor out(clean.shape());
  for (int64_t i = 0; i < out.numel(); ++i) out[i] = static_cast<float>(clean[i] + scale * noise[i]);
  return out;
}

Tensor scaled(const Tensor& t, float factor) {
  Tensor out(t.shape());
  for (int64_t i = 0; i < t.numel(); ++i) out[i] = t[i] * factor;
  return out;
}

Tensor prefix(const Tensor& t, int64_t length) {
  Tensor out({t.dim(0), length});
  for (int64_t c = 0; c < t.dim(0); ++c)
    for (int64_t i = 0; i < length; ++i) out[c * length + i] = t[c * t.dim(1) + i];
  return out;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("si_snr of copies, scaled copies and noise at a known SNR") {
  const Tensor clean = music(2, 48000, 24000);
  CHECK(std::isinf(si_snr(clean, clean)));
  CHECK(si_snr(clean, clean) > 0);
  CHECK(std::isinf(si_snr(clean, scaled(clean, 2.0f))));

  for (double snr : {-5.0, 0.0, 10.0, 20.0, 40.0}) {
    CAPTURE(snr);
    const Tensor noisy = with_noise(clean, snr, 11);
    const double measured = si_snr(clean, noisy);
    CHECK(std::abs(measured - snr) < 0.5);
    // The estimate's scale and offset do not matter.
    Tensor louder = scaled(noisy, 0.37f);
    for (int64_t i = 0; i < louder.numel(); ++i) louder[i] += 0.25f;
    CHECK(si_snr(clean, louder) == doctest::Approx(measured).epsilon(1e-5));
  }
  CHECK(si_snr(clean, with_noise(clean, 10, 12)) > si_snr(clean, with_noise(clean, 5, 12)));
}

TEST_CASE("si_snr: inverted, silent and mismatched signals") {
  const Tensor clean = music(1, 8000, 16000);
  CHECK(si_snr(clean, scaled(clean, -1.0f)) > 100);  // a sign flip is a scale too
  CHECK(si_snr(clean, Tensor(clean.shape())) == -std::numeric_limits<double>::infinity());
  CHECK(error_of([&] { si_snr(Tensor({1, 100}), clean); }) ==
        "si_snr: the reference is silent once its mean is removed, so SI-SNR is undefined");
  CHECK(error_of([&] { si_snr(clean, music(2, 8000, 16000)); }) ==
        "si_snr: the reference has 1 channels and the estimate 2");
  CHECK(error_of([&] { si_snr(Tensor({8000}), clean); }) ==
        "si_snr: the reference has shape [8000]; expected [channels, length]");
  CHECK(error_of([&] { si_snr(Tensor({1, 0}), clean); }) == "si_snr: the signals are empty");
  // Only the shorter length counts: a tail of noise on the estimate changes nothing.
  const Tensor noisy = with_noise(clean, 15, 13);
  Tensor longer({1, 9000});
  for (int64_t i = 0; i < 9000; ++i) longer[i] = i < 8000 ? noisy[i] : 5.0f;
  CHECK(si_snr(clean, longer) == si_snr(clean, noisy));
}

TEST_CASE("log_mel_distance is 0 for copies and grows with noise") {
  const Tensor clean = music(2, 24000, 24000);
  CHECK(log_mel_distance(clean, clean, 24000) == 0.0);
  double previous = 0;
  for (double snr : {40.0, 20.0, 10.0, 0.0}) {
    CAPTURE(snr);
    const Tensor noisy = with_noise(clean, snr, 21);
    const double d = log_mel_distance(clean, noisy, 24000);
    CHECK(d > previous);
    CHECK(d == doctest::Approx(log_mel_distance(noisy, clean, 24000)).epsilon(1e-12));
    previous = d;
  }
  // Compared over the shorter length.
  const Tensor noisy = with_noise(clean, 20, 22);
  CHECK(log_mel_distance(clean, prefix(noisy, 20000), 24000) ==
        doctest::Approx(log_mel_distance(prefix(clean, 20000), prefix(noisy, 20000), 24000)).epsilon(1e-12));
  CHECK(error_of([&] { log_mel_distance(prefix(clean, 512), clean, 24000); }) ==
        "log_mel_distance: the signals are 512 samples long; its mirrored padding needs at least 513");
  CHECK(error_of([&] { log_mel_distance(clean, music(1, 24000, 24000), 24000); }) ==
        "log_mel_distance: the reference has 2 channels and the estimate 1");
}

TEST_CASE("log_mel_spectrogram agrees with its definition evaluated directly") {
  const int64_t rate = 16000, length = 2000;
  Tensor x = test::random_tensor({2, length}, 31, 0.2f);
  const Tensor mel = log_mel_spectrogram(x, rate);
  const int64_t frames = 1 + length / 256;
  REQUIRE(mel.shape() == Shape{2, 80, frames});

  // The HTK filterbank, from the formulas in audio_quality.h.
  auto to_mel = [](double f) { return 2595 * std::log10(1 + f / 700); };
  auto to_hz = [](double m) { return 700 * (std::pow(10, m / 2595) - 1); };
  std::vector<double> corners(82);
  for (int i = 0; i < 82; ++i) corners[i] = to_hz(to_mel(rate / 2) * i / 81);
  double worst = 0;
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t t : {int64_t{0}, int64_t{1}, frames / 2, frames - 1}) {
      // Frame t centred on sample 256·t, mirrored at the ends; a plain O(n²) DFT.
      std::vector<double> frame(1024);
      for (int n = 0; n < 1024; ++n) {
        int64_t i = t * 256 + n - 512;
        i = i < 0 ? -i : i >= length ? 2 * (length - 1) - i : i;
        frame[n] = (0.5 - 0.5 * std::cos(2 * std::numbers::pi * n / 1024)) * x[c * length + i];
      }
      std::vector<double> power(513);
      for (int k = 0; k < 513; ++k) {
        std::complex<double> sum = 0;
        for (int n = 0; n < 1024; ++n) sum += frame[n] * std::polar(1.0, -2 * std::numbers::pi * k * n / 1024);
        power[k] = std::norm(sum);
      }
      for (int m = 0; m < 80; ++m) {
        double sum = 0;
        for (int k = 0; k < 513; ++k) {
          const double f = 8000.0 * k / 512;
          const double up = (f - corners[m]) / (corners[m + 1] - corners[m]);
          const double down = (corners[m + 2] - f) / (corners[m + 2] - corners[m + 1]);
          sum += std::max(0.0, std::min(up, down)) * power[k];
        }
        worst = std::max(worst, std::abs(std::log(sum + 1e-5) - mel[(c * 80 + m) * frames + t]));
      }
    }
  CHECK(worst < 1e-5);
}

TEST_CASE("log_mel_spectrogram puts a tone in its band and silence at the floor") {
  const int64_t rate = 24000, length = 12000;
  Tensor tone({1, length});
  for (int64_t i = 0; i < length; ++i) tone[i] = static_cast<float>(0.5 * std::sin(2 * std::numbers::pi * 3000 * i / rate));
  const Tensor mel = log_mel_spectrogram(tone, rate);
  const int64_t frames = mel.dim(2), t = frames / 2;
  int loudest = 0;
  for (int m = 1; m < 80; ++m)
    if (mel[m * frames + t] > mel[loudest * frames + t]) loudest = m;
  // The band whose peak lies nearest 3 kHz: corner m + 1 of 82 evenly spaced in mel up to 12 kHz.
  const double top = 2595 * std::log10(1 + 12000.0 / 700), tone_mel = 2595 * std::log10(1 + 3000.0 / 700);
  CHECK(std::abs((loudest + 1) - tone_mel / top * 81) <= 1.0);

  const Tensor silence = log_mel_spectrogram(Tensor({1, 1000}), rate);
  CHECK(silence.shape() == Shape{1, 80, 4});
  for (int64_t i = 0; i < silence.numel(); ++i) CHECK(silence[i] == static_cast<float>(std::log(1e-5)));
}
